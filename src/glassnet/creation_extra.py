"""More creation and random functions by PyTorch's names, each with ``dtype=`` and ``device=``:
full_like, empty, empty_like, rand_like, randn_like, randint_like, randperm, bernoulli,
normal. Random draws come from glassnet's one seeded generator (``gn.manual_seed``), on the
host, so CPU runs are bit-reproducible."""

from __future__ import annotations

import numpy as np

from glassnet.backend import get_rng, to_dtype
from glassnet.backend.dtypes import default_float
from glassnet.creation import _place, _shape, full, rand, randint, randn, zeros
from glassnet.tensor import Tensor

__all__ = [
    "bernoulli",
    "empty",
    "empty_like",
    "full_like",
    "normal",
    "rand_like",
    "randint_like",
    "randn_like",
    "randperm",
]


def _like(t: Tensor, dtype):
    return t.shape, (dtype or t.dtype), t.device


def empty(*shape, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor in PyTorch; here zeros (deterministic, and as fast on NumPy)."""
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``empty`` with t's shape (and dtype and device unless given)."""
    shape, dt, dev = _like(t, dtype)
    return zeros(shape, dtype=dt, device=device or dev, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of t's shape (and dtype and device unless given) filled with ``fill_value``."""
    shape, dt, dev = _like(t, dtype)
    return full(shape, fill_value, dtype=dt, device=device or dev, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of t's shape (a float dtype: t's when it is float)."""
    shape, dt, dev = _like(t, dtype)
    dt = dt if to_dtype(dt).kind == "f" else default_float()
    return rand(shape, dtype=dt, device=device or dev, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of t's shape (a float dtype: t's when it is float)."""
    shape, dt, dev = _like(t, dtype)
    dt = dt if to_dtype(dt).kind == "f" else default_float()
    return randn(shape, dtype=dt, device=device or dev, requires_grad=requires_grad)


def randint_like(t: Tensor, low: int = 0, high: int | None = None, *, dtype=None, device=None):
    """Integers in [low, high) of t's shape (``randint_like(t, high)`` draws from [0, high)),
    in t's dtype unless ``dtype`` is given."""
    if high is None:
        low, high = 0, low
    shape, dt, dev = _like(t, dtype)
    out = randint(low, high, shape, device=device or dev)
    return out if out.dtype == to_dtype(dt) else out.astype(dt)


def randperm(n: int, *, dtype="int64", device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    arr = get_rng().permutation(int(n)).astype(to_dtype(dtype))
    return _place(arr, device, requires_grad)


def bernoulli(p: Tensor, *, generator=None) -> Tensor:
    """0/1 draws with P(1) = p elementwise (p in [0, 1]), in p's dtype; no gradient."""
    if generator is not None:
        raise ValueError("bernoulli: glassnet has one seeded generator; use gn.manual_seed")
    data = p.numpy()
    if data.size and (np.nanmin(data) < 0 or np.nanmax(data) > 1 or np.isnan(data).any()):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    draws = (get_rng().random(data.shape) < data).astype(p.dtype)
    return _place(draws, p.device, False)


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False):
    """Normal samples: elementwise N(mean, std^2) for tensor ``mean``/``std`` (broadcast), or
    of shape ``size`` for numbers. No gradient flows through the draw."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean.numpy() if isinstance(mean, Tensor) else np.asarray(mean)
        s = std.numpy() if isinstance(std, Tensor) else np.asarray(std)
        if (s < 0).any():
            raise ValueError("normal: std must be non-negative")
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(m.shape, s.shape)
        draws = m + s * get_rng().standard_normal(shape)
        return _place(draws.astype(dtype and to_dtype(dtype) or ref.dtype), ref.device, False)
    if size is None:
        raise TypeError("normal: give size= when mean and std are numbers")
    if std < 0:
        raise ValueError(f"normal: std must be non-negative, got {std}")
    dt = to_dtype(dtype) if dtype else default_float()
    draws = mean + std * get_rng().standard_normal(_shape((size,) if isinstance(size, int)
                                                          else (tuple(size),)))  # fmt: skip
    return _place(draws.astype(dt), device, requires_grad)
