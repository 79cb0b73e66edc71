"""PyTorch's in-place random fills of a ``Tensor``: ``uniform_``, ``normal_``,
``bernoulli_``, ``exponential_``, ``log_normal_``, ``cauchy_``, ``geometric_`` and
``random_``, drawn from glassnet's seeded generator (or ``generator=``).

Attached to :class:`glassnet.Tensor` when ``glassnet`` imports this module. As in PyTorch, a
fill of an intermediate tensor (one with a graph node) is recorded while grad mode is on: the
old values get a zero gradient (``glassnet.autograd.inplace``); a fill of a leaf that
requires grad raises.
"""

from __future__ import annotations

import numpy as np

from glassnet._tensor_torch import _write
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.backend import get_rng, to_device
from glassnet.tensor import Tensor


def _random_fill(self, name, generator, draw):
    recorded = _GRAD.enabled and self._records_inplace(())
    if not recorded:
        self._check_inplace(name)
    if generator is None:  # glassnet's host generator: the same draws on every device
        sample = to_device(draw(get_rng()).astype(self.dtype), self.device)
    else:  # the generator's own, on this tensor's device (no host round trip)
        from glassnet.generator import rng_for

        sample = draw(rng_for(name, generator, self.device)).astype(self.dtype)
    if recorded:
        return record_draw(self, name, sample)
    return _write(self, name, sample, any_order=True)


def record_draw(self, name, sample, p=None):
    """An in-place random fill of an intermediate, recorded as PyTorch records it: the drawn
    values are a write over the old ones (which get a zero gradient); a probability tensor
    ``p`` that requires grad gets a zero gradient too (``bernoulli_``)."""
    from glassnet.ops.getitem import setitem

    value = Tensor._make(sample, False)
    if isinstance(p, Tensor) and p.requires_grad:
        value = value + p * 0.0  # PyTorch's derivative for p: zeros_like(p)
    return self._rebase(name, setitem, Ellipsis, value, keep_old=False)


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with U(a, b) samples from glassnet's seeded generator, or from ``generator``."""
    return _random_fill(self, "uniform_", generator, lambda g: a + (b - a) * g.random(self.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std^2) samples from glassnet's seeded generator, or ``generator``."""
    return _random_fill(
        self, "normal_", generator, lambda g: mean + std * g.standard_normal(self.shape)
    )


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws, 1 with probability ``p`` (a number or a tensor broadcast to self),
    drawn on this tensor's device (its generator, or ``generator``)."""
    from glassnet.generator import rng_for

    recorded = _GRAD.enabled and self._records_inplace((p,))
    if not recorded:
        self._check_inplace("bernoulli_")
    prob = p._data if isinstance(p, Tensor) else p
    u = rng_for("bernoulli_", generator, self.device).random(self.shape)
    if recorded:
        return record_draw(self, "bernoulli_", (u < prob).astype(self.dtype), p)
    return _write(self, "bernoulli_", (u < prob).astype(self.dtype), any_order=True)


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with Exp(lambd) samples: -ln(1 - U) / lambd."""
    return _random_fill(
        self, "exponential_", generator, lambda g: -np.log1p(-g.random(self.shape)) / lambd
    )


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std^2)) samples."""
    return _random_fill(
        self, "log_normal_", generator, lambda g: np.exp(mean + std * g.standard_normal(self.shape))
    )


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy(median, sigma) samples: median + sigma tan(pi (U - 1/2))."""
    return _random_fill(
        self,
        "cauchy_",
        generator,
        lambda g: median + sigma * np.tan(np.pi * (g.random(self.shape) - 0.5)),
    )


def geometric_(self, p, *, generator=None):
    """Fill with Geometric(p) samples (trials to the first success, from 1):
    ceil(ln(1 - U) / ln(1 - p))."""
    if not 0 < p < 1:
        raise ValueError(f"geometric_: p must be in (0, 1), got {p}")
    return _random_fill(
        self, "geometric_", generator,
        lambda g: np.maximum(np.ceil(np.log1p(-g.random(self.shape)) / np.log1p(-p)), 1),
    )  # fmt: skip


def random_(self, from_=0, to=None, *, generator=None):
    """Fill with integers drawn uniformly from [from_, to - 1]; ``random_(to)`` is [0, to - 1];
    no bounds: [0, 2^mantissa] for floats (every integer the dtype holds exactly), [0, max]
    for ints, as PyTorch."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        dt = self.dtype
        if dt.kind == "f":
            to = 2 ** (np.finfo(dt).nmant + 1) + 1
        elif dt.kind == "b":
            to = 2
        else:
            to = int(np.iinfo(dt).max) + 1
    if to <= from_:
        raise ValueError(f"random_: expects from < to, got from={from_}, to={to}")
    recorded = _GRAD.enabled and self._records_inplace(())
    if not recorded:
        self._check_inplace("random_")
    if generator is None:
        sample = get_rng().integers(from_, to - 1, size=self.shape, dtype=np.int64, endpoint=True)
        sample = to_device(sample.astype(self.dtype), self.device)
    else:
        from glassnet.generator import rng_for

        sample = rng_for("random_", generator, self.device).integers(from_, to - 1, self.shape,
                                                                     endpoint=True)  # fmt: skip
        sample = sample.astype(self.dtype)
    if recorded:  # an intermediate: the old values get a zero gradient, as PyTorch
        return record_draw(self, "random_", sample)
    self._data[...] = sample
    self._bump()
    return self


_METHODS = {
    "uniform_": uniform_,
    "normal_": normal_,
    "bernoulli_": bernoulli_,
    "exponential_": exponential_,
    "log_normal_": log_normal_,
    "cauchy_": cauchy_,
    "geometric_": geometric_,
    "random_": random_,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
