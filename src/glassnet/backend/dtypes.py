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
}


def default_float() -> np.dtype:
    """The dtype that Python floats and lists of floats become (float32, like PyTorch)."""
    return float32


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
