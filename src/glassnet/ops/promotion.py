"""PyTorch's type promotion (``torch.result_type``, ``promote_types``, ``can_cast``) and the
dtype facts (``finfo``, ``iinfo``).

Operands fall in three priorities: tensors with dimensions, 0-d tensors, and Python numbers.
Within one priority, dtypes promote as ``promote_types``: bool < integers < floats < complex
by category, and within a category the wider dtype (uint8 with int8: int16). Across priorities
a lower-priority operand only counts when its category is higher than every higher-priority
operand's: ``float32 (n,) + float64 0-d`` is float32, ``int32 (n,) * int64 0-d`` int32, but
``int32 (n,) + float64 0-d`` float64. A Python float next to an int or bool tensor is the
default float dtype (float32), a Python int next to a bool tensor int64.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import to_dtype
from glassnet.backend.dtypes import CATEGORY, default_complex, default_float, set_default_float
from glassnet.tensor import Tensor

__all__ = [
    "can_cast",
    "finfo",
    "get_default_dtype",
    "iinfo",
    "is_complex",
    "is_floating_point",
    "promote_types",
    "result_type",
    "set_default_dtype",
]


def promote_types(type1, type2) -> np.dtype:
    """``torch.promote_types``: the smallest dtype both convert to without leaving their
    category (int64 with float16 is float16, not NumPy's float64; uint8 with int8 int16)."""
    a, b = to_dtype(type1), to_dtype(type2)
    ca, cb = CATEGORY[a.kind], CATEGORY[b.kind]
    if ca == cb or {ca, cb} == {2, 3}:
        return np.promote_types(a, b)
    return a if ca > cb else b


def combine(high, low):
    """The dtype of a higher-priority group (``high``) with a lower one (``low``): ``low`` only
    counts when its category is above ``high``'s (PyTorch's ``combine_categories``)."""
    if high is None:
        return low
    if low is None:
        return high
    ch, cl = CATEGORY[high.kind], CATEGORY[low.kind]
    if cl <= ch:
        return high
    if ch == 2:  # a float tensor with a complex 0-d or scalar: complex of the float's width
        return np.promote_types(high, np.complex64)
    return low


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, np.generic):  # a NumPy scalar counts as the Python number
        value = value.item()
    if isinstance(value, bool):
        return np.dtype(bool)
    if isinstance(value, int):
        return np.dtype(np.int64)
    if isinstance(value, float):
        return default_float()
    if isinstance(value, complex):
        return default_complex()
    raise TypeError(f"result_type: expected tensors or Python numbers, got {type(value).__name__}")


def result_type(tensor, other) -> np.dtype:
    """``torch.result_type(tensor, other)``: the dtype an arithmetic op of the two gives.

    >>> import glassnet as gn
    >>> gn.result_type(gn.ones(2), gn.tensor(1.0, dtype=gn.float64))
    dtype('float32')
    """
    return result_type_of((tensor, other))


def result_type_of(values) -> np.dtype:
    """The promoted dtype of tensors and Python numbers (PyTorch's three priorities)."""
    dims = zero = wrapped = None
    for v in values:
        if isinstance(v, Tensor):
            d = v._data.dtype
            if v._data.ndim:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = _scalar_dtype(v)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return combine(dims, combine(zero, wrapped))


def can_cast(from_, to) -> bool:
    """``torch.can_cast``: False only where the cast would lower the category (float to int,
    int to bool, complex to float); narrowing within a category is allowed."""
    a, b = to_dtype(from_), to_dtype(to)
    return CATEGORY[a.kind] <= CATEGORY[b.kind]


class finfo:  # noqa: N801 - PyTorch's name
    """``torch.finfo(dtype)``: ``bits, eps, max, min, tiny, smallest_normal, resolution`` of a
    float dtype (the default float dtype when none is given)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's name
        dt = default_float() if type is None else to_dtype(type)
        if dt.kind != "f":
            raise TypeError(f"finfo: {dt} is not a floating-point dtype; use gn.iinfo")
        info = np.finfo(dt)
        self.dtype = str(dt)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(str(info.resolution))  # 1e-06, as PyTorch (not 9.99e-07)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
            f"eps={self.eps}, smallest_normal={self.smallest_normal}, tiny={self.tiny}, "
            f"dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - PyTorch's name
    """``torch.iinfo(dtype)``: ``bits, max, min`` of an integer dtype."""

    def __init__(self, type):  # noqa: A002 - PyTorch's name
        dt = to_dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"iinfo: {dt} is not an integer dtype; use gn.finfo")
        info = np.iinfo(dt)
        self.dtype = str(dt)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def is_floating_point(input: Tensor) -> bool:  # noqa: A002
    """True for a float dtype (``torch.is_floating_point``)."""
    return input.dtype.kind == "f"


def is_complex(input: Tensor) -> bool:  # noqa: A002
    """True for a complex dtype (``torch.is_complex``)."""
    return input.dtype.kind == "c"


def get_default_dtype():
    """The dtype Python floats, ``zeros()`` and new parameters get (``torch.get_default_dtype``):
    float32 unless :func:`set_default_dtype` changed it."""
    return default_float()


def set_default_dtype(d) -> None:
    """``torch.set_default_dtype(d)``: from now on, in the whole process, Python floats, float
    lists, ``zeros``/``ones``/``randn``/``arange`` with float bounds and new layers' parameters
    are ``d`` (float16, float32 or float64), and complex numbers the matching complex dtype.
    Existing tensors keep their dtype; an explicit ``dtype=`` wins. Scientific codes (PINNs,
    LBFGS) call ``gn.set_default_dtype(gn.float64)`` first."""
    if isinstance(d, Tensor) or not isinstance(d, (np.dtype, type, str)):
        raise TypeError(
            f"set_default_dtype(): argument 'd' must be a dtype (e.g. glassnet.float64), not "
            f"{type(d).__name__}"
        )
    dtype = to_dtype(d)
    if dtype.kind != "f":
        raise TypeError(
            f"set_default_dtype({d}): only floating-point types are supported as the default "
            "type (float16, float32, float64)"
        )
    set_default_float(dtype)
