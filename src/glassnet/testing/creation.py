"""PyTorch's ``torch.testing.make_tensor``: a tensor of random test values of a given shape and
dtype, uniform in [low, high) (floats default to [-9, 9), integers to [-9, 10) clamped to
the dtype's range, bool to {False, True}), drawn from glassnet's seeded generator."""

from __future__ import annotations

import numpy as np

from glassnet.backend import random as _random
from glassnet.tensor import Tensor

__all__ = ["make_tensor"]


def make_tensor(
    *shape,
    dtype,
    device=None,
    low=None,
    high=None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format=None,
) -> Tensor:
    """A random tensor for tests (values differ from PyTorch's: another generator).

    ``noncontiguous=True`` gives a strided view of a larger array (same values);
    ``exclude_zero=True`` replaces zeros by the smallest positive value (1 for integers).

    >>> import glassnet as gn
    >>> t = gn.testing.make_tensor(2, 3, dtype=gn.float64, low=0, high=1)
    >>> t.shape, bool(((t >= 0) & (t < 1)).all())
    ((2, 3), True)
    """
    if memory_format is not None:
        raise NotImplementedError("make_tensor: memory_format is not supported by glassnet")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    dt = np.dtype(dtype)
    rng = _random.get_rng()
    if dt == np.bool_:
        values = rng.integers(0, 2, size=shape).astype(np.bool_)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        lo = max(-9 if low is None else int(np.ceil(low)), int(info.min))
        hi = min(10 if high is None else int(np.ceil(high)), int(info.max) + 1)
        if lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        values = rng.integers(lo, hi, size=shape).astype(dt)
    elif dt.kind in "fc":
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if not lo < hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        part = np.dtype(np.float32 if dt == np.complex64 else np.float64)
        values = rng.uniform(lo, hi, size=shape).astype(part)
        if dt.kind == "c":
            values = values + 1j * rng.uniform(lo, hi, size=shape).astype(part)
        values = values.astype(dt)
    else:
        raise TypeError(f"make_tensor: unsupported dtype {dtype}")
    if exclude_zero:
        tiny = 1 if dt.kind in "iub" else np.finfo(dt).tiny
        values[values == 0] = tiny
    if noncontiguous and values.size > 1:
        wide = np.empty(shape[:-1] + (shape[-1] * 2,), dtype=dt)
        wide[..., ::2] = values
        values = wide[..., ::2]
    t = Tensor(values, requires_grad=requires_grad)
    return t.to(device) if device is not None else t
