"""Location-scale families with heavier tails than the Normal: Laplace, Cauchy, StudentT.

Each ``rsample`` is ``loc + scale * eps`` with ``eps`` a standard draw from glassnet's seeded
generator (Laplace and Cauchy by inverting their CDF at a uniform draw; StudentT as
:math:`Z/\\sqrt{V/\\nu}`, :math:`V` a reparameterized chi-square draw), so gradients reach all
parameters, as PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import ops as O
from glassnet.creation import rand, randn
from glassnet.distributions import constraints
from glassnet.distributions.continuous import _as_value, _standard_gamma_rsample
from glassnet.distributions.distribution import Distribution, broadcast_all
from glassnet.tensor import Tensor


class Laplace(Distribution):
    r"""Laplace with ``loc`` :math:`\mu` and ``scale`` :math:`b`: :math:`\log p(x) =
    -\log 2b - |x-\mu|/b`, entropy :math:`1 + \log 2b`, variance :math:`2b^2`; a draw is
    :math:`\mu - b\,\mathrm{sign}(u)\log(1-|u|)`, :math:`u \sim U(\epsilon-1, 1)`."""

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
    def variance(self) -> Tensor:
        return 2 * self.scale**2

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = float(np.finfo(self.loc.dtype).eps)
        u = rand(*shape, dtype=self.loc.dtype, device=self.loc.device) * (2 - eps) + (eps - 1)
        return self.loc - self.scale * u.sign() * O.log1p(-u.abs())

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value) -> Tensor:
        value = _as_value(self, value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * O.expm1(-d.abs() / self.scale)

    def icdf(self, value) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * O.log1p(-2 * term.abs())

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Cauchy(Distribution):
    r"""Cauchy with ``loc`` :math:`x_0` and ``scale`` :math:`\gamma`: :math:`\log p(x) =
    -\log\pi - \log\gamma - \log(1 + ((x-x_0)/\gamma)^2)`, CDF :math:`\arctan((x-x_0)/\gamma)
    /\pi + \tfrac12`, entropy :math:`\log 4\pi\gamma`; mean nan, variance inf (as PyTorch);
    a draw is :math:`x_0 + \gamma\tan(\pi(u - \tfrac12))`."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc.detach() * 0 + float("nan")

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.loc.detach() * 0 + float("inf")

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = rand(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + O.tan(math.pi * (u - 0.5)) * self.scale

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - O.log1p(z**2)

    def cdf(self, value) -> Tensor:
        value = _as_value(self, value)
        return O.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value) -> Tensor:
        return O.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class StudentT(Distribution):
    r"""Student's t with ``df`` :math:`\nu`, ``loc`` :math:`\mu`, ``scale`` :math:`\sigma`:
    :math:`\log p(x) = -\tfrac{\nu+1}2\log(1 + y^2/\nu) - \log\sigma - \tfrac12\log\nu\pi -
    \log\Gamma(\tfrac\nu2) + \log\Gamma(\tfrac{\nu+1}2)`, :math:`y = (x-\mu)/\sigma`; entropy
    :math:`\log\sigma + \tfrac{\nu+1}2(\psi(\tfrac{\nu+1}2) - \psi(\tfrac\nu2)) +
    \tfrac12\log\nu + \log B(\tfrac\nu2, \tfrac12)`. Mean nan for :math:`\nu \le 1`; variance
    :math:`\sigma^2\nu/(\nu-2)`, inf for :math:`1 < \nu \le 2`, nan for :math:`\nu \le 1`."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return O.where(self.df <= 1, float("nan"), self.loc)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        finite = self.scale**2 * df / O.where(df > 2, df - 2, 1.0)
        out = O.where(df > 2, finite, float("inf"))
        return O.where(df <= 1, float("nan"), out)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = randn(*shape, dtype=self.df.dtype, device=self.df.device)
        chi2 = 2 * _standard_gamma_rsample((0.5 * self.df).expand(*shape))
        return self.loc + self.scale * x * (chi2 / self.df).rsqrt()

    def log_prob(self, value) -> Tensor:
        value = _as_value(self, value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
             + O.lgamma(0.5 * df) - O.lgamma(0.5 * (df + 1.0)))  # fmt: skip
        return -0.5 * (df + 1.0) * O.log1p(y**2 / df) - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = O.lgamma(0.5 * df) + math.lgamma(0.5) - O.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (O.digamma(0.5 * (df + 1))
                - O.digamma(0.5 * df)) + 0.5 * df.log() + lbeta)  # fmt: skip
