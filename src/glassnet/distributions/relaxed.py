"""Concrete / Gumbel-softmax relaxations of Bernoulli and OneHotCategorical (Maddison et al.
2017, Jang et al. 2017): RelaxedBernoulli, RelaxedOneHotCategorical and their log-space bases
LogitRelaxedBernoulli, ExpRelaxedCategorical. Their draws are reparameterized (differentiable
in ``probs``/``logits``), and approach the discrete ones as ``temperature`` goes to 0.
"""

from __future__ import annotations

import math

from glassnet import ops as O
from glassnet.creation import rand
from glassnet.creation import tensor as _tensor
from glassnet.distributions import constraints
from glassnet.distributions.discrete import BinaryProbs, Categorical, _one_of, clamp_probs
from glassnet.distributions.distribution import Distribution, broadcast_all
from glassnet.distributions.transformed import TransformedDistribution
from glassnet.distributions.transforms import ExpTransform, SigmoidTransform
from glassnet.tensor import Tensor


def _temperature(temperature, like: Tensor) -> Tensor:
    if isinstance(temperature, Tensor):
        return temperature
    return _tensor(float(temperature), dtype=like.dtype, device=like.device)


class LogitRelaxedBernoulli(BinaryProbs):
    r"""The logit of a :class:`RelaxedBernoulli` draw: :math:`(\ell + \log u - \log(1-u))
    /\tau`, :math:`u \sim U(0, 1)`; :math:`\log p(y) = \log\tau + d - 2\log(1 + e^{d})`,
    :math:`d = \ell - \tau y`."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        self.temperature = _temperature(temperature, self._param)
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*batch_shape)
        new._param = new.__dict__["probs" if "probs" in self.__dict__ else "logits"]
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(*shape))
        u = clamp_probs(rand(*shape, dtype=probs.dtype, device=probs.device))
        return (u.log() - O.log1p(-u) + probs.log() - O.log1p(-probs)) / self.temperature

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * O.log1p(diff.exp())


class RelaxedBernoulli(TransformedDistribution):
    r"""Binary Concrete: :math:`\sigma(Y)` for :math:`Y \sim`
    :class:`LogitRelaxedBernoulli` (``temperature``, ``probs`` or ``logits``); draws in
    :math:`(0, 1)`, reparameterized."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)


class ExpRelaxedCategorical(Distribution):
    r"""The log of a :class:`RelaxedOneHotCategorical` draw: :math:`s - \operatorname
    {logsumexp}(s)`, :math:`s = (\ell + g)/\tau`, :math:`g` standard Gumbel draws;
    :math:`\log p(y) = \log\Gamma(K) + (K-1)\log\tau + \sum_k (z_k - \operatorname
    {logsumexp}(z))`, :math:`z = \ell - \tau y`."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        self.temperature = _temperature(temperature, self._categorical._param)
        shape = self._categorical.param_shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        new._batch_shape = tuple(batch_shape)
        return new

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        logits = self.logits
        u = clamp_probs(rand(*shape, dtype=logits.dtype, device=logits.device))
        gumbels = -((-(u.log())).log())
        scores = (logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = math.lgamma(k) + self.temperature.log() * (k - 1)
        score = logits - value * self.temperature
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale

    def __repr__(self) -> str:
        return f"ExpRelaxedCategorical(probs: {self.param_shape})"


class RelaxedOneHotCategorical(TransformedDistribution):
    r"""Concrete / Gumbel-softmax: :math:`\exp(Y)` for :math:`Y \sim`
    :class:`ExpRelaxedCategorical`, i.e. :math:`\operatorname{softmax}((\ell + g)/\tau)`;
    draws on the simplex, reparameterized."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)

    def __repr__(self) -> str:
        return f"RelaxedOneHotCategorical(probs: {self.base_dist.param_shape})"
