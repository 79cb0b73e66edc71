"""Count distributions: Poisson, Geometric, Binomial, Multinomial.

Draws come from glassnet's seeded host generator (NumPy's ``poisson``, ``binomial`` and
``multinomial``; Geometric by inverting its CDF at a uniform draw) as floats of the
parameters' dtype, as PyTorch's; they have no ``rsample`` (a count has no reparameterization).
``log_prob`` is differentiable in the parameters.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import ops as O
from glassnet.autograd.function import no_grad_result
from glassnet.autograd.grad_mode import no_grad
from glassnet.backend.device import xp_of
from glassnet.backend.random import get_rng
from glassnet.creation import arange, rand
from glassnet.distributions import constraints
from glassnet.distributions.discrete import BinaryProbs, Categorical, _one_of
from glassnet.distributions.distribution import Distribution, broadcast_all
from glassnet.tensor import Tensor


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _to_like(draw, like):
    """A host draw as an array of ``like``'s dtype, in ``like``'s namespace (NumPy/CuPy)."""
    return xp_of(like).asarray(np.asarray(draw).astype(like.dtype))


# The samplers run through no_grad_result, so a step that gn.compile captures draws afresh on
# each replay (a tensor made from one host draw would be replayed unchanged).
def _poisson_draw(rate):
    return _to_like(get_rng().poisson(_host(rate)), rate)


def _binomial_draw(count, probs):
    n = _host(count).astype(np.int64)
    return _to_like(get_rng().binomial(n, _host(probs).astype(np.float64)), probs)


def _multinomial_draw(probs, total_count):
    p = _host(probs).astype(np.float64)
    return _to_like(get_rng().multinomial(total_count, p / p.sum(-1, keepdims=True)), probs)


def _check_positive_probs(dist) -> None:
    """Geometric's extra check (PyTorch's): probs must be > 0, not just in [0, 1]."""
    probs = dist.__dict__.get("probs")
    if dist._validate_args and probs is not None and not bool((probs > 0).all()):
        raise ValueError(
            f"Expected parameter probs (Tensor of shape {tuple(probs.shape)}) of distribution "
            f"{dist!r} to be positive but found invalid values:\n{probs}"
        )


class Poisson(Distribution):
    r"""Poisson with ``rate`` :math:`\lambda \ge 0`: :math:`\log p(k) = k\log\lambda - \lambda
    - \log k!`; mean and variance :math:`\lambda`, mode :math:`\lfloor\lambda\rfloor`.
    No ``entropy`` (PyTorch has none either)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return no_grad_result(_poisson_draw, self.rate.detach().expand(*shape))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return O.xlogy(value, rate) - rate - O.lgamma(value + 1)


class Geometric(BinaryProbs):
    r"""Number of failures before the first success, success probability :math:`p`
    (``probs``, > 0) or ``logits``: :math:`\log p(k) = k\log(1-p) + \log p`; mean
    :math:`1/p - 1`, variance :math:`(1/p-1)/p`, entropy :math:`H_{\mathrm{Bernoulli}}(p)/p`.
    A draw is :math:`\lfloor\log u / \log(1-p)\rfloor`, :math:`u \sim U(\mathrm{tiny}, 1)`."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)
        _check_positive_probs(self)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("probs", "logits"):  # the lazy one too, if computed
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return self.probs * 0

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()  # read outside no_grad: the lazy one keeps its graph
        with no_grad():
            tiny = float(np.finfo(probs.dtype).tiny)
            u = rand(*shape, dtype=probs.dtype, device=probs.device).clamp(min=tiny)
            return (u.log() / O.log1p(-probs)).floor()

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p = 1 and k = 0: 0 * log(0) is 0 here (the mass is 1)
        probs = O.where((probs == 1) & (value == 0), 0.0, probs)
        return value * O.log1p(-probs) + self.probs.log()

    def entropy(self) -> Tensor:
        bce = O.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bce / self.probs


class Binomial(BinaryProbs):
    r"""Successes in ``total_count`` :math:`n` trials of probability :math:`p` (``probs``) or
    ``logits`` :math:`\ell`: :math:`\log p(k) = k\ell - n\log(1+e^{\ell}) + \log\binom nk`
    (computed stably for large :math:`|\ell|`); mean :math:`np`, variance :math:`np(1-p)`,
    mode :math:`\min(\lfloor(n+1)p\rfloor, n)`. ``entropy`` sums over the support (one
    ``total_count`` for the whole batch, as PyTorch)."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.to(self.probs.dtype)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.to(self.logits.dtype)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*batch_shape)
        new._param = new.__dict__["probs" if "probs" in self.__dict__ else "logits"]
        new.total_count = self.total_count.expand(*batch_shape)
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count._data)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        n = self.total_count
        return O.minimum(((n + 1) * self.probs).floor(), n)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        count = self.total_count.detach().expand(*shape)
        return no_grad_result(_binomial_draw, count, self.probs.detach().expand(*shape))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_factorial_n = O.lgamma(n + 1)
        log_factorial_k = O.lgamma(value + 1)
        log_factorial_nmk = O.lgamma(n - value + 1)
        # n * log(1 + e^l) = n * (max(l, 0) + log1p(e^-|l|)), free of overflow
        clamp_by_zero = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * clamp_by_zero + n * O.log1p((-logits.abs()).exp()) - log_factorial_n
        return value * logits - log_factorial_k - log_factorial_nmk - normalize

    def _homogeneous_count(self, what: str) -> int:
        top = int(self.total_count.max().item())
        if not self.total_count.min().item() == top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def entropy(self) -> Tensor:
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        top = self._homogeneous_count("enumerate_support")
        values = arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape(-1, *([1] * len(self.batch_shape)))
        return values.expand(-1, *self.batch_shape) if expand else values


class Multinomial(Distribution):
    r"""Counts of ``total_count`` :math:`n` draws over :math:`K` categories (the last dim of
    ``probs``/``logits``, normalized as :class:`Categorical`): :math:`\log p(x) = \log n! -
    \sum_k \log x_k! + \sum_k x_k\log p_k`; mean :math:`np`, variance :math:`np(1-p)`.
    ``total_count`` is one int (PyTorch: inhomogeneous counts are not supported)."""

    arg_constraints = {
        "probs": constraints.simplex,
        "logits": constraints.independent(constraints.real, 1),
    }

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        shape = self._categorical.param_shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(self.total_count, probs=new._categorical.probs)
        new._batch_shape = tuple(batch_shape)
        return new

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach().expand(*shape)
        return no_grad_result(_multinomial_draw, probs, total_count=self.total_count)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = O.lgamma(value.sum(-1) + 1)
        log_factorial_xs = O.lgamma(value + 1).sum(-1)
        # a category of probability 0 drawn 0 times adds 0 (not 0 * -inf = nan)
        logits = O.where((value == 0) & (logits == float("-inf")), 0.0, logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        n = float(self.total_count)
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = O.lgamma(support + 1)
        return term1 + (binomial_probs * weights).sum((0, -1))

    def __repr__(self) -> str:
        return f"Multinomial(total_count: {self.total_count}, probs: {self.param_shape})"
