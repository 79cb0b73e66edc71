"""Fill values as PyTorch stores them: Python ints and floats written into int tensors
(wrap-around and overflow checks), the zero that keeps a dtype, and scatter_reduce of int
tensors (no gradient to route)."""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
from glassnet.tensor import Tensor

__all__ = ["check_fill_value", "int_scatter_reduce", "wrap_int", "zero_of"]


def wrap_int(value, dtype):
    """A Python int stored into an int ``dtype`` as PyTorch stores it: a negative one into an
    unsigned dtype wraps around (uint8 x[0] = -1 gives 255, down to -255; NumPy raises
    OverflowError), one beyond the range raises (PyTorch's overflow check); else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool) and np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        if info.min <= value <= info.max:
            return value
        if info.min == 0 and -info.max <= value < 0:
            return np.array(value, dtype=np.int64).astype(dtype)[()]
        raise ValueError(
            f"value {value} cannot be converted to {np.dtype(dtype)} without overflow "
            "(PyTorch raises too)"
        )
    return value


def check_fill_value(op: str, x: Tensor, value):
    """An int tensor cannot hold a float nan, inf or beyond its range: PyTorch raises rather
    than store the cast's garbage (a finite float is truncated toward zero, and an int wraps,
    as PyTorch). Returns the value to fill with."""
    if x.dtype.kind not in "iu":
        return value
    v = value.item() if isinstance(value, Tensor) and value.ndim == 0 else value
    wrap_int(v, x.dtype)  # raises where PyTorch's overflow check does
    if isinstance(v, (float, np.floating)):
        info = np.iinfo(x.dtype)
        if not (info.min <= v <= info.max) or v != v:
            raise ValueError(
                f"{op}: value {v!r} cannot be converted to {x.dtype} without overflow "
                "(PyTorch raises too); convert the tensor to a float dtype first"
            )
        # cast first, as PyTorch: mixed with the ints in a float32 where(), large ints
        # would lose their low digits (2**31 - 1 came back as -2**31)
        return int(v)
    return value


def int_scatter_reduce(x, src, coords, reduce, include_self, hit):
    """scatter_reduce's prod/amax/amin of an int or bool tensor, in its dtype (PyTorch)."""
    xp = xp_of(x)
    ufunc = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
    out = x.copy()
    if not include_self:  # the first source of each target replaces x's value
        if x.dtype.kind == "b":
            out[hit] = reduce != "amax"  # the identity: True for prod (and) and amin
        else:
            info = xp.iinfo(x.dtype)
            out[hit] = {"prod": 1, "amax": info.min, "amin": info.max}[reduce]
    ufunc.at(out, coords, src)
    return out


def zero_of(x: Tensor):
    """A Python zero that keeps ``x``'s dtype in ``where`` (False for bool: 0 makes int64)."""
    return False if x.dtype.kind == "b" else 0
