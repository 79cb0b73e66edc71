"""PyTorch ``Tensor`` members that are not one op: the sizes ``nbytes`` and ``itemsize``, the
element-wise Python callbacks ``apply_`` and ``map_`` (CPU only, as PyTorch), ``narrow_copy``,
and the ``svd`` / ``qr`` methods (``torch.svd`` / ``torch.qr``).

Attached to :class:`glassnet.Tensor` when ``glassnet`` imports this module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.ops import linalg_qr
from glassnet.ops.shape_extra import narrow_copy
from glassnet.tensor import Tensor


def _nbytes(self) -> int:
    """Bytes of the tensor's elements: ``numel() * element_size()`` (of the view, not of the
    storage behind it, as PyTorch)."""
    return int(self._data.size) * self._data.dtype.itemsize


def _itemsize(self) -> int:
    """Bytes per element (``element_size()``)."""
    return self._data.dtype.itemsize


def _check_callback(self, name: str, fn) -> None:
    if self.device.type != "cpu":
        raise TypeError(
            f"{name} is only implemented on CPU tensors (it calls a Python function per "
            f"element); this one is on '{self.device}': use x.cpu().{name}(...) and move back"
        )
    if self.requires_grad:
        raise RuntimeError(
            f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
            "instead."
        )
    if not callable(fn):
        raise TypeError(f"{name} expects a callable, got {type(fn).__name__}")


def _write(self, values: list) -> Tensor:
    """Store Python results in place, cast to the tensor's dtype (floats into an int tensor
    truncate toward zero, as C++'s cast in PyTorch)."""
    with np.errstate(invalid="ignore"):
        new = np.asarray(values).astype(self._data.dtype).reshape(self._data.shape)
    with no_grad():
        self.copy_(Tensor._make(new, False))
    return self


def apply_(self, callable: Callable) -> Tensor:  # noqa: A002 - PyTorch's name
    """Replace each element x by ``callable(x)`` (a Python number in, a number out), in place;
    CPU only and slow (one Python call per element), as PyTorch's ``Tensor.apply_``.

    >>> import glassnet as gn
    >>> gn.tensor([1, 2, 3]).apply_(lambda v: v * 1.7).tolist()
    [1, 3, 5]
    """
    _check_callback(self, "apply_", callable)
    return _write(self, [callable(v) for v in self._data.ravel().tolist()])


def map_(self, tensor: Tensor, callable: Callable) -> Tensor:  # noqa: A002 - PyTorch's names
    """Replace each element x by ``callable(x, y)``, y the matching element of ``tensor``
    (broadcast to this tensor's shape, same dtype), in place; CPU only, as PyTorch's."""
    _check_callback(self, "map_", callable)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"map_ expects a Tensor as 'tensor', got {type(tensor).__name__}")
    if tensor._data.dtype != self._data.dtype:
        raise TypeError(
            f"map_: expected 'tensor' of dtype {self._data.dtype} (this tensor's), got "
            f"{tensor._data.dtype}; cast it with .to(x.dtype)"
        )
    if tensor.device.type != "cpu":
        raise TypeError("map_ is only implemented on CPU tensors; move 'tensor' with .cpu()")
    try:
        other = np.broadcast_to(tensor._data, self._data.shape)
    except ValueError:
        raise ValueError(
            f"map_: 'tensor' of shape {tuple(tensor.shape)} cannot be broadcast to this "
            f"tensor's shape {tuple(self.shape)}"
        ) from None
    pairs = zip(self._data.ravel().tolist(), other.ravel().tolist())
    return _write(self, [callable(a, b) for a, b in pairs])


def _svd(self, some: bool = True, compute_uv: bool = True):
    """``torch.Tensor.svd``: see :func:`glassnet.svd`."""
    return linalg_qr.svd(self, some, compute_uv)


def _qr(self, some: bool = True):
    """``torch.Tensor.qr``: see :func:`glassnet.qr`."""
    return linalg_qr.qr_root(self, some)


_METHODS = {
    "nbytes": property(_nbytes),
    "itemsize": property(_itemsize),
    "apply_": apply_,
    "map_": map_,
    "narrow_copy": narrow_copy,
    "svd": _svd,
    "qr": _qr,
}

for _name, _method in _METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _method)
