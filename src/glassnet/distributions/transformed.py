"""TransformedDistribution and the families PyTorch builds on it: LogNormal, HalfNormal,
Gumbel.

:math:`Y = f(X)` for a base distribution :math:`X` and a chain of invertible transforms
:math:`f`: :math:`\\log p_Y(y) = \\log p_X(f^{-1}(y)) - \\log|\\det J_f(f^{-1}(y))|`; a draw is
the base's draw pushed through the chain, reparameterized where the base's is.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import ops as O
from glassnet.autograd.grad_mode import no_grad
from glassnet.distributions import constraints
from glassnet.distributions.continuous import Normal, Uniform
from glassnet.distributions.distribution import Distribution, broadcast_all
from glassnet.distributions.multivariate import Independent
from glassnet.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    Transform,
    _sum_rightmost,
)
from glassnet.tensor import Tensor

EULER_GAMMA = 0.57721566490153286060


class TransformedDistribution(Distribution):
    r"""The distribution of ``transforms[-1](... transforms[0](x))`` for ``x`` drawn from
    ``base_distribution`` (``transforms``: a :class:`Transform` or a list of them).

    ``log_prob(y)`` inverts the chain (using each transform's cache when it has one) and
    subtracts the log-Jacobians; ``cdf``/``icdf`` pass through monotone transforms;
    ``rsample`` exists where the base's does. SAC's squashed policy is
    ``TransformedDistribution(Normal(mu, std), [TanhTransform(cache_size=1)])``."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        base_shape = tuple(base_distribution.batch_shape + base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(
                "base_distribution needs to have shape with size at least "
                f"{transform.domain.event_dim}, but got {base_shape}."
            )
        forward_shape = tuple(transform.forward_shape(base_shape))
        expanded_base_shape = tuple(transform.inverse_shape(forward_shape))
        if base_shape != expanded_base_shape:
            n = len(expanded_base_shape) - base_event_dim
            base_distribution = base_distribution.expand(expanded_base_shape[:n])
        reinterpreted = transform.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        change = transform.codomain.event_dim - transform.domain.event_dim
        event_dim = max(transform.codomain.event_dim, base_event_dim + change)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)  # the tensors of arg_constraints set in __init__
        shape = tuple(batch_shape) + self.event_shape
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        new.base_dist = self.base_dist.expand(shape[: len(shape) - len(self.base_dist.event_shape)])
        return new

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()) -> Tensor:
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape=()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            ladj = transform.log_abs_det_jacobian(x, y)
            log_prob = log_prob - _sum_rightmost(ladj, event_dim - transform.domain.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return log_prob + _sum_rightmost(base, event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value) -> Tensor:
        for transform in self.transforms[::-1]:
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value) -> Tensor:
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for transform in self.transforms:
            value = transform(value)
        return value

    def __repr__(self) -> str:
        if type(self) is not TransformedDistribution:
            return super().__repr__()
        return f"TransformedDistribution({self.base_dist!r}, {self.transforms!r})"


class LogNormal(TransformedDistribution):
    r""":math:`Y = e^X`, :math:`X \sim \mathcal N(\mu, \sigma^2)`: :math:`\log p(y) = \log
    p_X(\log y) - \log y`; mean :math:`e^{\mu+\sigma^2/2}`, mode :math:`e^{\mu-\sigma^2}`,
    variance :math:`(e^{\sigma^2}-1)e^{2\mu+\sigma^2}`, entropy :math:`H(X) + \mu`."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    loc = property(lambda self: self.base_dist.loc)
    scale = property(lambda self: self.base_dist.scale)

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale**2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale**2).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale**2
        return O.expm1(s2) * (2 * self.loc + s2).exp()

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class HalfNormal(TransformedDistribution):
    r""":math:`|X|`, :math:`X \sim \mathcal N(0, \sigma^2)`: :math:`\log p(x) = \log
    p_X(x) + \log 2` for :math:`x \ge 0` (:math:`-\infty` below); mean
    :math:`\sigma\sqrt{2/\pi}`, variance :math:`\sigma^2(1-2/\pi)`, entropy :math:`H(X) -
    \log 2`."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        base = Normal(0, scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    scale = property(lambda self: self.base_dist.scale)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self) -> Tensor:
        return self.scale * 0

    @property
    def variance(self) -> Tensor:
        return self.scale**2 * (1 - 2 / math.pi)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return O.where(value >= 0, log_prob, float("-inf"))

    def cdf(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class Gumbel(TransformedDistribution):
    r"""Gumbel (type-I extreme value) with ``loc`` :math:`\mu` and ``scale`` :math:`\beta`:
    :math:`\log p(x) = z - e^{z} - \log\beta` with :math:`z = (\mu - x)/\beta`; mean
    :math:`\mu + \gamma\beta` (:math:`\gamma` Euler's constant), variance
    :math:`\pi^2\beta^2/6`, entropy :math:`\log\beta + 1 + \gamma`. A draw is
    :math:`\mu - \beta\log(-\log u)`, :math:`u \sim U(\mathrm{tiny}, 1-\epsilon)`
    (PyTorch's chain of transforms of a uniform)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        info = np.finfo(self.loc.dtype)
        zero = self.loc.detach() * 0
        base = Uniform(zero + float(info.tiny), zero + (1 - float(info.eps)),
                       validate_args=validate_args)  # fmt: skip
        transforms = [
            ExpTransform().inv,
            AffineTransform(loc=0, scale=-(zero + 1)),
            ExpTransform().inv,
            AffineTransform(loc=self.loc, scale=-self.scale),
        ]
        super().__init__(base, transforms, validate_args=validate_args)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * EULER_GAMMA

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev**2

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + EULER_GAMMA)
