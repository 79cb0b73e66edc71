"""PyTorch's process settings and tensor queries that ported programs call, with their meaning
on glassnet (NumPy/CuPy, dense row-major tensors only):

- ``set_default_device`` / ``get_default_device``: where factory functions create tensors;
- ``set_num_interop_threads`` / ``get_num_interop_threads``: recorded; glassnet runs no
  inter-op pool;
- ``set_flush_denormal``: False (NumPy cannot flush denormals; PyTorch's answer where the CPU
  cannot);
- ``set_printoptions``: precision, threshold, edgeitems, linewidth, sci_mode and the profiles
  of ``print(tensor)``;
- tensor queries: ``is_cpu``, ``is_sparse``, ``is_quantized``, ``is_meta``, ``is_nested``,
  ``layout`` (``glassnet.strided``), ``get_device()``, ``is_signed()``, ``is_nonzero()``,
  ``is_same_size()``, ``sum_to_size()``; and ``unravel_index``.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import printing
from glassnet.backend.device import Device
from glassnet.backend.device import get_default_device as _default_device
from glassnet.backend.device import set_default_device as _set_device
from glassnet.tensor import Tensor

__all__ = [
    "get_default_device", "get_num_interop_threads",
    "is_nonzero", "is_same_size", "is_signed", "layout", "set_default_device",
    "set_flush_denormal", "set_num_interop_threads",
    "set_printoptions", "sparse_coo", "strided", "unravel_index",
]  # fmt: skip

_SETTINGS = {"interop_threads": 1}


class layout:  # noqa: N801 - PyTorch's class name
    """PyTorch's tensor layouts; every glassnet tensor is ``strided`` (dense)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"glassnet.{self._name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def set_default_device(device) -> None:
    """``torch.set_default_device``: factory functions create tensors on ``device`` (None:
    the CPU again)."""
    _set_device("cpu" if device is None else device)


def get_default_device() -> Device:
    """The device factory functions create tensors on."""
    return _default_device()


def set_num_interop_threads(count: int) -> None:
    """Recorded only: glassnet parallelizes inside ops (``set_num_threads``), not across them."""
    if not isinstance(count, int) or count < 1:
        raise RuntimeError(f"Expected positive number of threads, got {count!r}")
    _SETTINGS["interop_threads"] = count


def get_num_interop_threads() -> int:
    """What :func:`set_num_interop_threads` recorded (1: ops run one after another)."""
    return _SETTINGS["interop_threads"]


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy keeps denormal floats (PyTorch also answers False where it cannot
    flush them)."""
    return False


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """How ``print(tensor)`` looks: digits after the point (``precision``), the element count
    above which the middle is summarized (``threshold``), the items kept at each edge
    (``edgeitems``), the line width, ``sci_mode`` (True: always scientific, False: never,
    None: NumPy's choice). ``profile`` "default" (glassnet's), "short" or "full" (PyTorch's
    profiles) sets them all first."""
    printing.set_options(precision, threshold, edgeitems, linewidth, profile, sci_mode)


def is_nonzero(input: Tensor) -> bool:  # noqa: A002
    """True when the one-element tensor is not zero (``torch.is_nonzero``)."""
    if input.numel() != 1:
        what = "no values" if input.numel() == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """Whether the two tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:  # noqa: A002
    """Whether the dtype is signed (floats and signed ints; not bool or uint8)."""
    return input.dtype.kind in "fic"


def unravel_index(indices, shape) -> tuple[Tensor, ...]:
    """The coordinates of flat ``indices`` in an array of ``shape`` (row-major), one int64
    tensor per dimension (``torch.unravel_index``)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    flat = indices if isinstance(indices, Tensor) else Tensor(np.asarray(indices))
    if flat.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected an integer tensor, got {flat.dtype}")
    values = np.asarray(flat.tolist(), dtype=np.int64)
    size = int(np.prod(shape))
    if values.size and (values.min() < -size or values.max() >= size):
        raise RuntimeError("unravel_index: index out of bounds for the given shape")
    coords = np.unravel_index(np.where(values < 0, values + size, values), shape)
    return tuple(Tensor(np.asarray(c, dtype=np.int64), device=flat.device) for c in coords)


def _get_device(self: Tensor) -> int:
    return -1 if self.device.type == "cpu" else (self.device.index or 0)


def _sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum over the axes where ``size`` is 1 (or missing at the front), giving ``size``."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    from glassnet.ops.shape import sum_to  # the adjoint of broadcasting

    try:
        fits = np.broadcast_shapes(shape, tuple(self.shape)) == tuple(self.shape)
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(self.shape)}")
    return sum_to(self, shape)


_PROPERTIES = {
    "is_cpu": lambda self: self.device.type == "cpu",
    "is_sparse": lambda self: False,
    "is_sparse_csr": lambda self: False,
    "is_quantized": lambda self: False,
    "is_meta": lambda self: False,
    "is_mkldnn": lambda self: False,
    "is_nested": lambda self: False,
    "layout": lambda self: strided,
}
for _name, _fn in _PROPERTIES.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, property(_fn))
for _name, _fn in (("get_device", _get_device), ("is_signed", is_signed),
                   ("is_nonzero", is_nonzero), ("is_same_size", is_same_size),
                   ("sum_to_size", _sum_to_size)):  # fmt: skip
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)
