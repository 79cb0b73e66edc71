"""Continuous univariate distributions: Normal, Uniform, Exponential, Gamma, Beta.

Each log-density and entropy is a composition of glassnet ops, so it is differentiable in the
parameters; ``rsample`` is the reparameterization ``loc + scale * eps`` with ``eps`` drawn
from glassnet's seeded generator, and for Gamma and Beta the gamma draws' implicit
reparameterization (``glassnet.distributions._implicit``).
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import ops as O
from glassnet.autograd.function import no_grad_result
from glassnet.autograd.grad_mode import no_grad
from glassnet.backend.device import xp_of
from glassnet.backend.random import get_rng
from glassnet.creation import rand, randn
from glassnet.distributions import constraints
from glassnet.distributions._implicit import StandardGammaRsample
from glassnet.distributions.distribution import LOG_2PI, Distribution, broadcast_all
from glassnet.tensor import Tensor


def _as_value(dist: Distribution, value) -> Tensor:
    if dist._validate_args:
        dist._validate_sample(value)
    return value if isinstance(value, Tensor) else broadcast_all(value, dist.mean)[0]


def _standard_gamma(conc):
    """Gamma(conc, 1) draws from glassnet's host generator (NumPy's), placed like ``conc``."""
    draw = get_rng().standard_gamma(np.asarray(conc.get() if hasattr(conc, "get") else conc))
    xp = xp_of(conc)
    out = xp.asarray(draw.astype(conc.dtype, copy=False))
    return xp.maximum(out, np.finfo(conc.dtype).tiny)  # as torch: never exactly 0


def _standard_gamma_rsample(conc: Tensor) -> Tensor:
    """Gamma(conc, 1) draws that carry dx/dconc (implicit reparameterization)."""
    draw = no_grad_result(_standard_gamma, conc.detach())
    return StandardGammaRsample.apply(conc, draw)


def _clamp_tiny(value: Tensor) -> None:
    xp = xp_of(value._data)
    xp.maximum(value._data, float(np.finfo(value.dtype).tiny), out=value._data)


def _clamp_unit(value: Tensor) -> None:
    xp, eps = xp_of(value._data), np.finfo(value.dtype).eps
    xp.maximum(value._data, float(np.finfo(value.dtype).tiny), out=value._data)
    xp.minimum(value._data, float(1 - eps / 2), out=value._data)


class Normal(Distribution):
    r"""Normal (Gaussian) distribution :math:`\mathcal N(\mu, \sigma^2)`:
    :math:`\log p(x) = -\frac{(x-\mu)^2}{2\sigma^2} - \log\sigma - \tfrac12\log 2\pi`,
    entropy :math:`\tfrac12 + \tfrac12\log 2\pi + \log\sigma`."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale**2

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        return -((value - self.loc) ** 2) / (2 * self.scale**2) - self.scale.log() - LOG_2PI / 2

    def cdf(self, value) -> Tensor:
        value = _as_value(self, value)
        return 0.5 * (1 + O.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value) -> Tensor:
        return self.loc + self.scale * O.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + LOG_2PI / 2 + self.scale.log()


class Uniform(Distribution):
    r"""Uniform on :math:`[\mathrm{low}, \mathrm{high})`: :math:`\log p(x) =
    -\log(\mathrm{high}-\mathrm{low})` inside, :math:`-\infty` outside."""

    arg_constraints = {"low": constraints.real, "high": constraints.real}
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)
        low, high = self.low._data, self.high._data
        if self._validate_args and not bool(xp_of(low).all(low < high)):
            raise ValueError("Uniform is not defined when low >= high")

    @property
    def support(self):
        return constraints.half_open_interval(self.low._data, self.high._data)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * float("nan")

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = rand(*shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        inside = (self.low <= value) & (self.high > value)
        return O.where(inside, -(self.high - self.low).log(), float("-inf"))

    def cdf(self, value) -> Tensor:
        value = _as_value(self, value)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(Distribution):
    r"""Exponential with rate :math:`\lambda`: :math:`\log p(x) = \log\lambda - \lambda x`
    (:math:`x \ge 0`), entropy :math:`1 - \log\lambda`; ``rsample`` is
    :math:`-\log(1-u)/\lambda`."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return self.rate * 0

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = rand(*shape, dtype=self.rate.dtype, device=self.rate.device)
        return -O.log1p(-u) / self.rate

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        value = _as_value(self, value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        return -O.log1p(-value) / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Gamma(Distribution):
    r"""Gamma with shape :math:`\alpha` (``concentration``) and ``rate`` :math:`\beta`:
    :math:`\log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha)`,
    entropy :math:`\alpha - \log\beta + \log\Gamma(\alpha) + (1-\alpha)\psi(\alpha)`.

    ``sample`` draws from glassnet's seeded generator (NumPy's ``standard_gamma``);
    ``rsample`` is that draw divided by the rate, differentiable as PyTorch's: w.r.t. the rate
    directly, w.r.t. the concentration by implicit reparameterization
    (``glassnet.distributions._implicit``: exact to about 1e-11 where PyTorch's fitted
    approximation errs up to about 1e-2)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate**2

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            g = no_grad_result(_standard_gamma, self.concentration.expand(*shape))
            return (g / self.rate.expand(*shape)).clamp(min=float(np.finfo(g.dtype).tiny))

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma_rsample(self.concentration.expand(*shape)) / self.rate.expand(
            *shape
        )
        _clamp_tiny(value)  # not recorded, as PyTorch's value.detach().clamp_(min=tiny)
        return value

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        a, b = self.concentration, self.rate
        return O.xlogy(a, b) + O.xlogy(a - 1, value) - b * value - O.lgamma(a)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + O.lgamma(a) + (1.0 - a) * O.digamma(a)


class Beta(Distribution):
    r"""Beta with concentrations :math:`a` (``concentration1``) and :math:`b`
    (``concentration0``) on :math:`[0, 1]`: :math:`\log p(x) = (a-1)\log x + (b-1)\log(1-x) -
    \log B(a, b)`, :math:`\log B = \log\Gamma(a) + \log\Gamma(b) - \log\Gamma(a+b)`; entropy
    :math:`\log B - (a-1)\psi(a) - (b-1)\psi(b) + (a+b-2)\psi(a+b)`.

    ``sample`` and ``rsample`` are :math:`X/(X+Y)` for :math:`X \sim \Gamma(a)`,
    :math:`Y \sim \Gamma(b)`; ``rsample`` differentiates it through the two reparameterized
    gamma draws (:class:`Gamma`). Difference from PyTorch: PyTorch differentiates the Beta
    draw itself implicitly (through its CDF), so one draw's gradient differs; both are
    unbiased: the mean gradient of any E[f(x)] is the same (tested statistically)."""

    has_rsample = True

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total**2 * (total + 1))

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            x = no_grad_result(_standard_gamma, self.concentration1.expand(*shape))
            y = no_grad_result(_standard_gamma, self.concentration0.expand(*shape))
            return x / (x + y)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = _standard_gamma_rsample(self.concentration1.expand(*shape))
        y = _standard_gamma_rsample(self.concentration0.expand(*shape))
        value = x / (x + y)
        _clamp_unit(value)  # not recorded: a draw stays inside (0, 1), as PyTorch's
        return value

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        a, b = self.concentration1, self.concentration0
        log_beta = O.lgamma(a) + O.lgamma(b) - O.lgamma(a + b)
        return O.xlogy(a - 1, value) + O.xlogy(b - 1, 1 - value) - log_beta

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        log_beta = O.lgamma(a) + O.lgamma(b) - O.lgamma(a + b)
        return (log_beta - (a - 1) * O.digamma(a) - (b - 1) * O.digamma(b)
                + (a + b - 2) * O.digamma(a + b))  # fmt: skip
