"""More of PyTorch's ``Tensor`` methods that are not one op: the augmented assignments
(``//=``, ``%=``, ``**=``, ``&=``, ...), in-place changes of the shape (``unsqueeze_``,
``t_``, ``resize_``, ...), ``div_(rounding_mode=)``, ``copy_`` with broadcasting,
``masked_scatter_``, ``put_``, strides, ``mH``/``H``/``adjoint``, and ``== None``.

Attached to :class:`glassnet.Tensor` when ``glassnet`` imports this module (after the ops and
``glassnet._tensor_torch``). In-place methods follow autograd's rule (``_check_inplace``): no
in-place change of a tensor that requires grad while grad mode is on; the augmented
assignments then compute out of place and rebind the name, as ``+=`` does (``__iadd__``).
"""

from __future__ import annotations

import numpy as np

from glassnet import ops
from glassnet.autograd import inplace as _inplace
from glassnet.autograd import overlap as _overlap
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import to_device, xp_of
from glassnet.backend.sim import SimArray
from glassnet.ops._util import normalize_axis
from glassnet.ops.fill_values import wrap_int
from glassnet.ops.getitem import setitem as _setitem
from glassnet.tensor import Tensor


# -- augmented assignment: in place, like += -------------------------------------------------
def _augmented(dunder: str, method: str, op):
    def augmented(self, other):
        if self.requires_grad and _GRAD.enabled:
            return op(self, other)  # out of place: the name is rebound (see Tensor.__iadd__)
        return getattr(self, method)(other)

    augmented.__name__ = augmented.__qualname__ = dunder
    augmented.__doc__ = f"``x {dunder[3:-2]}= y`` in place (``x.{method}(y)``), as PyTorch."
    return augmented


_AUGMENTED = {
    "__ifloordiv__": ("floor_divide_", ops.floor_divide),
    "__imod__": ("remainder_", ops.remainder),
    "__ipow__": ("pow_", ops.pow),
    "__iand__": ("bitwise_and_", ops.bitwise_and),
    "__ior__": ("bitwise_or_", ops.bitwise_or),
    "__ixor__": ("bitwise_xor_", ops.bitwise_xor),
    "__ilshift__": ("bitwise_left_shift_", ops.bitwise_left_shift),
    "__irshift__": ("bitwise_right_shift_", ops.bitwise_right_shift),
}


# -- in-place changes of the shape: the same storage seen anew ---------------------------------
def _reshape_in_place(self, name: str, op, *args):
    """Rebind this tensor's data to ``op(self)``'s view of the same storage (PyTorch's
    metadata-changing in-place methods). On an intermediate the graph records it (the tensor
    takes the view op's node, as PyTorch); on a leaf that requires grad it raises while grad
    mode is on, as PyTorch."""
    if _GRAD.enabled and self._records_inplace(()):  # an intermediate: recorded, as PyTorch
        return _inplace.rebase_view(self, op, *args)
    self._check_inplace(name)
    with no_grad():
        view = op(Tensor._make(self._data, False), *args)
    self._data = view._data
    self._bump()
    return self


def _shape_method(name: str, op):
    def method(self, *args, **kwargs):
        return _reshape_in_place(self, name, lambda t, *a: op(t, *a, **kwargs), *args)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: this tensor takes the new shape (same storage)."
    return method


def resize_(self, *sizes):
    """Give the tensor shape ``sizes``. The same number of elements: a reshape of contiguous
    data in place; otherwise new storage holding the old elements in row-major order, the
    rest zeros (PyTorch leaves them uninitialized)."""
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"resize_: sizes must be non-negative, got {shape}")
    if self.requires_grad:  # in grad mode or not, as PyTorch
        raise RuntimeError(
            "resize_: cannot resize variables that require grad (PyTorch raises too); resize "
            "a detached copy (x.detach().clone().resize_(...)), or use reshape"
        )
    data = self._data
    if int(np.prod(shape)) == data.size and data.flags.c_contiguous:
        self._data = data.reshape(shape)
    else:
        xp = xp_of(data)
        new = xp.zeros(shape, dtype=data.dtype)
        n = min(new.size, data.size)
        new.reshape(-1)[:n] = data.reshape(-1)[:n]
        self._data = new
    self._bump()
    return self


# -- in-place writes --------------------------------------------------------------------------
def _readonly(self, name: str) -> ValueError:
    return ValueError(
        f"{name}: this tensor cannot be written: it is a broadcast view (from expand or "
        "broadcast_to), whose elements share memory; write into the tensor it was expanded "
        "from, or into a copy (x.clone())"
    )


def _check_writable(self, name: str) -> None:
    flags = getattr(self._data, "flags", None)
    if flags is not None and not flags.writeable:
        raise _readonly(self, name)


def fill_(self, value):
    """Fill with ``value`` (a number or a one-element tensor). On an intermediate (or with a
    value that requires grad) the write is recorded, as PyTorch: the old values get a zero
    gradient, a 0-d ``value`` the summed one."""
    _check_writable(self, "fill_")
    value = wrap_int(value, self.dtype)
    if _GRAD.enabled and self._records_inplace((value,)):
        return self._rebase("fill_", _setitem, Ellipsis, value, keep_old=False)
    return _TENSOR_FILL(self, value)


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast to this tensor's shape, cast to its dtype) into this tensor."""
    if _GRAD.enabled and self._records_inplace((src,)):
        _check_writable(self, "copy_")
        return self._rebase("copy_", _setitem, Ellipsis, src, keep_old=False)
    self._check_inplace("copy_")
    _check_writable(self, "copy_")
    v = src._data if isinstance(src, Tensor) else src
    xp = xp_of(self._data)
    if type(v) is not type(self._data):
        v = to_device(np.asarray(v) if not hasattr(v, "shape") else v, self.device)
    if tuple(v.shape) != self.shape:
        try:
            v = xp.broadcast_to(v, self.shape)
        except ValueError:
            raise ValueError(
                f"copy_: the source of shape {tuple(v.shape)} does not broadcast to this "
                f"tensor's shape {self.shape}"
            ) from None
    _store(self._data, v, "copy_")
    self._bump()
    return self


def _store(data, v, name: str) -> None:
    """``data[...] = v``, as PyTorch where ``data`` or ``v`` is a view (overlaps)."""
    if getattr(data, "base", None) is not None or getattr(v, "base", None) is not None:
        _overlap.check_operand(data, v, name)
        if _overlap.overlaps(data):
            return _overlap.write(data, v, name)
    data[...] = v


def _basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(i is Ellipsis or i is None or isinstance(i, (int, slice)) for i in parts)


def __setitem__(self, index, value):  # noqa: N807
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, Tensor) and i.dtype == np.uint8 for i in parts):
        raise TypeError(
            "x[mask] = ...: a uint8 mask is refused, as in PyTorch (it needs a bool mask); "
            "convert it with mask.bool()"
        )
    _check_writable(self, "x[...] = ...")
    value = wrap_int(value, self.dtype)
    if (self._ctx is not None or (isinstance(value, Tensor) and value.requires_grad)) and (
        _GRAD.enabled and self._records_inplace((value,))
    ):
        self._rebase("x[...] = ...", _setitem, index, value, keep_old=False)
        return
    v = value._data if isinstance(value, Tensor) else value
    if _basic(index) and (
        getattr(self._data, "base", None) is not None or getattr(v, "base", None) is not None
    ):
        target = self._data[index]
        if isinstance(target, np.ndarray) and target.ndim:  # one element: plain write below
            self._check_inplace("x[...] = ...")
            _store(target, v, "x[...] = ...")
            self._bump()
            return
    _TENSOR_SETITEM(self, index, value)


def div_(self, other, *, rounding_mode=None):
    """In-place division; ``rounding_mode`` "trunc" or "floor" rounds the quotient (an int
    tensor stays int then; true division of one raises, as PyTorch)."""
    if rounding_mode is None:
        return _TENSOR_DIV(self, other)

    def rounded(x):
        out = ops.div(x, other, rounding_mode=rounding_mode)
        if not np.can_cast(out.dtype, self.dtype, "same_kind") or out.shape != self.shape:
            raise TypeError(
                f"div_: the result ({out.dtype}, shape {out.shape}) does not fit this tensor "
                f"({self.dtype}, shape {self.shape}); use the out-of-place div"
            )
        return out

    if _GRAD.enabled and self._records_inplace((other,)):  # zero gradient, as PyTorch
        return self._rebase("div_", rounded)
    self._check_inplace("div_")
    with no_grad():
        out = rounded(self)
    return _write_result(self, "div_", out)


def _write_result(self, name: str, out):
    self._check_inplace(name)
    _check_writable(self, name)
    if _overlap.overlaps(self._data):
        raise _overlap.refuse(name)
    self._data[...] = out._data
    self._bump()
    return self


def masked_scatter_(self, mask, source):
    """In-place ``masked_scatter``: the mask broadcasts to this tensor's shape."""
    if _GRAD.enabled and self._records_inplace((source,)):
        return self._rebase("masked_scatter_", ops.masked_scatter, mask, source)
    with no_grad():
        out = ops.masked_scatter(self, mask, source)
    if out.shape != self.shape:
        raise ValueError(f"masked_scatter_: mask must broadcast to {self.shape}")
    return _write_result(self, "masked_scatter_", out)


def put_(self, index, source, accumulate: bool = False):
    """In-place ``put``: ``source`` written (or added) at the flat positions ``index``."""
    if _GRAD.enabled and self._records_inplace((source,)):
        return self._rebase("put_", ops.put, index, source, accumulate)
    with no_grad():
        out = ops.put(self, index, source, accumulate)
    return _write_result(self, "put_", out)


# -- strides and storage ----------------------------------------------------------------------
def _address(data) -> int:
    if type(data) is SimArray:
        data = data._a
    if isinstance(data, np.ndarray):
        return data.__array_interface__["data"][0]
    return int(data.data.ptr)  # CuPy


def data_ptr(self) -> int:
    """The address of the first element (PyTorch's ``data_ptr``): views of one storage that
    start at the same element share it, copies do not."""
    return _address(self._data)


def stride(self, dim=None):
    """The step in elements between neighbours along each dim (``dim``: that one), as
    PyTorch (NumPy's strides are in bytes)."""
    steps = tuple(s // self._data.itemsize for s in self._data.strides)
    if dim is None:
        return steps
    (d,) = normalize_axis(dim, self.shape, "stride")
    return steps[d]


def storage_offset(self) -> int:
    """Where this tensor starts in its storage, in elements."""
    root = obj = self._data
    while getattr(obj, "base", None) is not None:  # views down to the array that owns memory
        obj = obj.base
        if hasattr(obj, "strides"):
            root = obj
    return (_address(self._data) - _address(root)) // self._data.itemsize


def _matrix_adjoint(self):
    """The last two dims swapped: the conjugate transpose of each matrix (real tensors)."""
    if self.ndim < 2:
        raise ValueError(
            f"mH/adjoint() need a matrix or a batch of matrices, got a {self.ndim}-D tensor"
        )
    return ops.swapaxes(self, -1, -2)


def _hermitian(self):
    """``x.H``: the conjugate transpose of a matrix (0-d: itself; real tensors: x.T)."""
    if self.ndim not in (0, 2):
        raise ValueError(
            f"x.H needs a matrix (2-D tensor), got a {self.ndim}-D tensor; for a batch of "
            "matrices use x.mH"
        )
    return ops.transpose(self, 0, 1) if self.ndim == 2 else self


def __eq__(self, other):  # noqa: N807
    return False if other is None else _EQ(self, other)


def __ne__(self, other):  # noqa: N807
    return True if other is None else _NE(self, other)


_TENSOR_FILL = Tensor.fill_
_TENSOR_SETITEM = Tensor.__setitem__
_TENSOR_DIV = Tensor.div_
_EQ, _NE = Tensor.__eq__, Tensor.__ne__


_METHODS = {
    **{dunder: _augmented(dunder, method, op) for dunder, (method, op) in _AUGMENTED.items()},
    **{
        name: _shape_method(name, op)
        for name, op in (
            ("unsqueeze_", ops.unsqueeze),
            ("squeeze_", ops.squeeze),
            ("t_", lambda x: x.t()),
            ("transpose_", ops.transpose),
            ("swapaxes_", ops.swapaxes),
            ("swapdims_", ops.swapdims),
            ("as_strided_", ops.as_strided),
        )
    },  # fmt: skip
    "resize_": resize_,
    "fill_": fill_,
    "copy_": copy_,
    "__setitem__": __setitem__,
    "div_": div_,
    "masked_scatter": ops.masked_scatter,
    "masked_scatter_": masked_scatter_,
    "put": ops.put,
    "put_": put_,
    "rsub": ops.rsub,
    "stride": stride,
    "data_ptr": data_ptr,
    "storage_offset": storage_offset,
    "adjoint": _matrix_adjoint,
    "mH": property(_matrix_adjoint),
    "H": property(_hermitian),
    "__eq__": __eq__,
    "__ne__": __ne__,
    "__hash__": object.__hash__,  # defining __eq__ must not make tensors unhashable
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
