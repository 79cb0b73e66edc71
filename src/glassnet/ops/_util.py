"""Helpers shared by op wrappers: turning scalars and arrays into tensors, checking axes."""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import OPS, no_grad_result
from glassnet.autograd.grad_mode import is_grad_enabled, no_grad
from glassnet.backend import xp_of
from glassnet.backend.dtypes import default_complex, default_float
from glassnet.ops.promotion import CATEGORY, combine, promote_types, result_type_of
from glassnet.tensor import Tensor


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Wrap a constant (Python scalar or array) as a tensor that does not require grad.

    Next to a float tensor ``like`` the constant takes ``like``'s float dtype, so ``x * 0.5``
    and ``x * numpy_float64_array`` keep a float32 model in float32 (a NumPy array would
    otherwise promote everything to float64). It also moves to ``like``'s device.
    """
    if isinstance(value, Tensor):
        return value
    if like is None:
        return Tensor._new(value)
    xp = xp_of(like._data)
    dtype = like._data.dtype
    if isinstance(value, complex):  # PyTorch: complex of a float tensor's width, else default
        dtype = np.promote_types(dtype, np.complex64) if dtype.kind in "fc" else default_complex()
        return Tensor._make(xp.asarray(value, dtype=dtype), False)
    if dtype.kind == "f":
        return Tensor._make(xp.asarray(value, dtype=dtype), False)
    # PyTorch's promotion next to an int/bool tensor: a Python float is a float32 (the default
    # float dtype), a Python int keeps an int tensor's dtype; arrays keep their own dtype
    if isinstance(value, float):
        return Tensor._make(xp.asarray(value, dtype=default_float()), False)
    if isinstance(value, int) and not isinstance(value, bool) and dtype.kind in "iu":
        try:
            return Tensor._make(xp.asarray(value, dtype=dtype), False)
        except OverflowError:  # PyTorch wraps a Python int around (uint8 tensor - 1: 255)
            return Tensor._make(xp.asarray(value, dtype=np.int64).astype(dtype), False)
    return Tensor._make(xp.asarray(value), False)


def pair(a, b) -> tuple[Tensor, Tensor]:
    """Make both operands tensors; the constant side takes the tensor side's dtype."""
    if isinstance(a, Tensor):
        b = b if isinstance(b, Tensor) else as_tensor(b, a)
    elif isinstance(b, Tensor):
        a = as_tensor(a, b)
    else:
        raise TypeError(f"expected at least one Tensor, got {type(a).__name__}, {type(b).__name__}")
    if a._data.dtype != b._data.dtype:
        return promote(a, b)
    return a, b


def promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's type promotion of two tensors of different dtypes (see ``ops/promotion.py``).

    A float beats an int or bool (int64 with float32 is float32; NumPy would give float64),
    and a 0-d tensor only raises the dtype when its category is higher: float32 (n,) with a
    float64 0-d stays float32, int32 (n,) with an int64 0-d int32. Pairs of one category and
    one priority are left to NumPy, whose rules there are PyTorch's.
    """
    x, y = a._data, b._data
    da, db = x.dtype, y.dtype
    za, zb = x.ndim == 0, y.ndim == 0
    if za == zb:
        if CATEGORY[da.kind] == CATEGORY[db.kind]:
            return a, b
        out = promote_types(da, db)
    else:
        out = combine(db, da) if za else combine(da, db)
    return (a if da == out else cast_to(a, out)), (b if db == out else cast_to(b, out))


def promote_all(tensors: list, op: str) -> list:
    """``tensors`` in their PyTorch result dtype (``torch.cat`` and ``torch.stack``: int64 with
    float32 is float32, int64 with float16 float16); the same list when the dtypes agree."""
    first = tensors[0]._data.dtype
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of tensors, got {type(t).__name__}")
        if t._data.dtype != first:
            break
    else:
        return tensors
    out = result_type_of(tensors)
    return [t if t._data.dtype == out else cast_to(t, out) for t in tensors]


def cast_to(x: Tensor, dtype) -> Tensor:
    """``x`` as ``dtype``: differentiable between float dtypes, else a recorded cast (a replay
    of ``gn.compile`` casts that call's tensor)."""
    if x.requires_grad and dtype.kind == "f":
        return OPS["cast"].apply(x, dtype=dtype)
    return no_grad_result(astype, x, dtype=dtype.str)


def floating(x: Tensor) -> Tensor:
    """``x`` itself when it is a float (or complex) tensor, else ``x`` as float32 (PyTorch: exp,
    cos, true division and the like of an int or bool tensor give the default float dtype)."""
    if x._data.dtype.kind in "fc":
        return x
    return no_grad_result(astype, x, dtype=default_float().str)


def floating_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Both operands in their promoted dtype, made float when that is an integer or bool one
    (true division: uint8 / float16 is float16, int / int float32, complex kept)."""
    out = result_type_of((a, b))
    if out.kind not in "fc":
        out = default_float()
    return (a if a._data.dtype == out else cast_to(a, out)), (
        b if b._data.dtype == out else cast_to(b, out)
    )


def astype(a, dtype):
    """``a`` cast to ``dtype`` (a dtype string): the function of a recorded cast."""
    return a.astype(dtype)


def normalize_axis(axis, shape, op: str):
    """Return ``axis`` as a sorted tuple of non-negative ints (None means all axes).

    ``shape`` is the input's shape (named in the error messages) or just its number of dims.
    """
    ndim = shape if isinstance(shape, int) else len(shape)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Tensor):  # a 0-d int tensor is one axis (PyTorch), a 1-d one a tuple
        if axis.dtype.kind not in "iu" or axis.ndim > 1:
            raise TypeError(
                f"{op}: a tensor given as axis must hold integers in 0 or 1 dims, got dtype "
                f"{axis.dtype} and shape {axis.shape}"
            )
        axis = axis.tolist()
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    else:
        try:
            axes = tuple(axis)
        except TypeError:
            axes = (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            where = f"{ndim} dims" if isinstance(shape, int) else f"a tensor of shape {shape}"
            raise ValueError(
                f"{op}: axis {a} is out of range for {where} "
                f"(valid axes: {-ndim}..{ndim - 1}, {ndim} dimensions)"
            )
        out.append(int(a) % max(ndim, 1))
    if ndim == 0:  # a 0-d tensor takes axis 0 or -1 (PyTorch) and has no axis to reduce
        return ()
    if len(set(out)) != len(out):
        where = f"{ndim} dims" if isinstance(shape, int) else f"a tensor of shape {shape}"
        raise ValueError(f"{op}: axis {axis!r} repeats an axis of {where}; list each axis once")
    return tuple(sorted(out))


def expand_reduced(grad, shape, axes, keepdims: bool):
    """Put reduced axes back (size 1) so ``grad`` broadcasts against the input ``shape``."""
    if not keepdims and axes:
        new_shape = list(grad.shape)
        for a in axes:
            new_shape.insert(a, 1)
        grad = grad.reshape(new_shape)
    return grad


#: Last axes shorter than this take their max across a transposed copy (:func:`max_kept`).
NARROW_AXIS = 64


def max_kept(x, axis: int):
    """``x.max(axis=axis, keepdims=True)``. For a host array reduced along a short last axis
    (a classifier's 10 classes), across a transposed copy: NumPy reduces a short contiguous
    axis one row at a time (float32 (1024, 10): 53 -> 6 us; (8192, 10): 413 -> 36 us; even
    at 64 classes). A max is exact: the values are the same."""
    if (
        type(x) is np.ndarray
        and x.ndim >= 2
        and axis in (-1, x.ndim - 1)
        and 1 < x.shape[-1] < NARROW_AXIS
        and x.size
    ):
        rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]).T)
        return np.maximum.reduce(rows, axis=0).reshape(*x.shape[:-1], 1)
    return x.max(axis=axis, keepdims=True)


def check_same_device(op: str, *tensors: Tensor) -> None:
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device != dev:
            raise ValueError(
                f"{op}: tensors are on different devices ({dev} and {t.device}); "
                "move them with .to(device) first"
            )


def inplace_result(x: Tensor, out: Tensor, inplace: bool, name: str = "inplace=True") -> Tensor:
    """PyTorch's ``inplace=True`` of an activation or dropout, given its out-of-place result.

    ``out`` is computed out of place; with ``inplace`` it is written into ``x``'s storage and
    ``x`` is returned, as PyTorch does. Outside the graph (``x`` requires no grad, or grad
    mode is off) through ``x.copy_``, which bumps the version counter, so a graph that saved
    ``x`` sees the change. An intermediate ``x`` takes ``out``'s node, recorded as PyTorch
    records the in-place op (``glassnet.autograd.inplace.adopt``; until then ``x`` kept its
    old values, silently). A leaf that requires grad, where PyTorch raises, gets ``out``
    (same values and gradient; the leaf keeps its values).
    """
    if not inplace or out is x or not isinstance(x, Tensor):
        return out
    if out.shape != x.shape or out.dtype != x.dtype:
        return out  # (a shape or dtype x cannot hold: PyTorch would raise)
    if x.requires_grad and is_grad_enabled():
        if x._ctx is None:
            return out
        from glassnet.autograd import inplace as _inplace

        return _inplace.adopt(x, out, name)
    with no_grad():
        x.copy_(out)
    return x
