"""Dtype rules: float32 by default for float data, float64 kept, int64 for integers."""

from __future__ import annotations

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
complex64 = np.dtype("complex64")
complex128 = np.dtype("complex128")

_NAMES = {
    "float16": float16,
    "half": float16,
    "float32": float32,
    "float": float32,
    "float64": float64,
    "double": float64,
    "int8": int8,
    "char": int8,
    "int16": int16,
    "short": int16,
    "int32": int32,
    "int": int32,  # PyTorch's torch.int is int32
    "int64": int64,
    "long": int64,
    "uint8": uint8,
    "byte": uint8,
    "bool": bool_,
    "complex64": complex64,
    "cfloat": complex64,
    "complex128": complex128,
    "cdouble": complex128,
}


_DEFAULT_FLOAT = [float32]  # torch.set_default_dtype's process-wide setting


def default_float() -> np.dtype:
    """The dtype that Python floats and lists of floats, ``zeros()``, ``randn()`` and new
    parameters get: float32 (PyTorch's default) unless :func:`set_default_float` changed it."""
    return _DEFAULT_FLOAT[0]


def default_complex() -> np.dtype:
    """The dtype Python complex numbers get: complex128 when the default float is float64,
    else complex64 (PyTorch's; NumPy has no complex32 for a float16 default)."""
    return complex128 if _DEFAULT_FLOAT[0] == float64 else complex64


def set_default_float(dtype: np.dtype) -> None:
    """Make ``dtype`` (float16, float32 or float64) the default float dtype of the process."""
    _DEFAULT_FLOAT[0] = dtype


def to_dtype(dtype) -> np.dtype:
    """Normalise a dtype given as a string, NumPy dtype or type."""
    if isinstance(dtype, str):
        try:
            return _NAMES[dtype.removeprefix("glassnet.").removeprefix("torch.")]
        except KeyError:
            raise TypeError(f"unknown dtype {dtype!r}: expected one of {sorted(_NAMES)}") from None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}") from None


def is_float(dtype) -> bool:
    """True for floating-point dtypes (the only ones that can carry gradients)."""
    return np.dtype(dtype).kind == "f"


# -- PyTorch's casting rules for values written into a tensor ---------------------------------
#: bool 0, integers 1, floats 2, complex 3: the categories of PyTorch's promotion and casts
CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def inplace_ufunc(data, ufunc, v, name: str) -> None:
    """``data op= v`` with PyTorch's casting rule: NumPy's same_kind refuses int16 into uint8,
    which PyTorch writes (wrapping); a float into an int tensor raises, as in PyTorch."""
    try:
        ufunc(data, v, out=data)
    except TypeError:
        result = ufunc(data, v).dtype if not isinstance(v, float) else np.dtype("float32")
        if CATEGORY[result.kind] > CATEGORY[data.dtype.kind]:  # PyTorch's can_cast
            raise TypeError(
                f"{name}: the result type {result} can't be cast to this tensor's dtype "
                f"{data.dtype} (PyTorch raises too); use the out-of-place {name[:-1]}, or "
                "convert the tensor first"
            ) from None
        ufunc(data, v, out=data, casting="unsafe")


def check_int_range(arr, dtype) -> None:
    """Python numbers into an int dtype: PyTorch's overflow check (a negative int into an
    unsigned dtype wraps, down to -max; nan, inf and values beyond the range raise)."""
    target = np.dtype(np.int64) if dtype is None else to_dtype(dtype)
    if arr.dtype == np.uint64 and dtype is None or (
        dtype is not None and target.kind in "iu" and arr.size and arr.dtype.kind in "iuf"
        and arr.dtype != target
        and _beyond(arr, np.iinfo(target))
    ):  # fmt: skip
        raise ValueError(
            f"tensor: a value cannot be converted to {target} without overflow (PyTorch raises "
            "too); pick a wider dtype"
        )


def _beyond(arr, info) -> bool:
    with np.errstate(invalid="ignore"):
        low = -int(info.max) if info.min == 0 else int(info.min)
        lo, hi = arr.min(), arr.max()
        return bool(not (np.isfinite(lo) and np.isfinite(hi)) or lo < low or hi > int(info.max))
