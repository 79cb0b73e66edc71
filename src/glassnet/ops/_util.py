"""Helpers shared by op wrappers: turning scalars and arrays into tensors, checking axes."""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
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
        return Tensor(value)
    xp = xp_of(like.data)
    dtype = like.data.dtype
    if dtype.kind == "f":
        return Tensor._make(xp.asarray(value, dtype=dtype), False)
    return Tensor._make(xp.asarray(value), False)  # int/bool tensors: NumPy's promotion


def pair(a, b) -> tuple[Tensor, Tensor]:
    """Make both operands tensors; the constant side takes the tensor side's dtype."""
    if isinstance(a, Tensor):
        return a, (b if isinstance(b, Tensor) else as_tensor(b, a))
    if isinstance(b, Tensor):
        return as_tensor(a, b), b
    raise TypeError(f"expected at least one Tensor, got {type(a).__name__}, {type(b).__name__}")


def normalize_axis(axis, shape, op: str):
    """Return ``axis`` as a sorted tuple of non-negative ints (None means all axes).

    ``shape`` is the input's shape (named in the error messages) or just its number of dims.
    """
    ndim = shape if isinstance(shape, int) else len(shape)
    if axis is None:
        return tuple(range(ndim))
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
        if not -ndim <= a < max(ndim, 1):
            where = f"{ndim} dims" if isinstance(shape, int) else f"a tensor of shape {shape}"
            raise ValueError(
                f"{op}: axis {a} is out of range for {where} "
                f"(valid axes: {-ndim}..{ndim - 1}, {ndim} dimensions)"
            )
        out.append(int(a) % max(ndim, 1))
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


def check_same_device(op: str, *tensors: Tensor) -> None:
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device != dev:
            raise ValueError(
                f"{op}: tensors are on different devices ({dev} and {t.device}); "
                "move them with .to(device) first"
            )
