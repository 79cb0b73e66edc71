"""Discrete distributions: Categorical, OneHotCategorical, Bernoulli.

Given ``probs`` they are normalized along the last dim (Categorical) and ``logits`` computed
on first use as :math:`\\log p` (clamped to :math:`[\\epsilon, 1-\\epsilon]`); given ``logits``
they are normalized with ``logsumexp`` and ``probs`` is their softmax, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from glassnet import ops as O
from glassnet.autograd.grad_mode import no_grad
from glassnet.creation import arange, full, rand
from glassnet.distributions import constraints
from glassnet.distributions.distribution import Distribution, broadcast_all, lazy_property
from glassnet.tensor import Tensor

_REAL_VECTOR = constraints.independent(constraints.real, 1)


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to :math:`[\\epsilon, 1-\\epsilon]` (machine epsilon of its dtype)."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class Categorical(Distribution):
    r"""Categorical over :math:`\{0, \dots, K-1\}` (the last dim of ``probs``/``logits``):
    :math:`\log p(k) = \mathrm{logits}_k - \operatorname{logsumexp}(\mathrm{logits})`,
    entropy :math:`-\sum_k p_k \log p_k`. ``sample`` returns int64 indices of shape
    ``sample_shape + batch_shape``, drawn from glassnet's seeded generator by inverting the
    cumulative probabilities."""

    arg_constraints = {"probs": constraints.simplex, "logits": _REAL_VECTOR}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        return clamp_probs(self.probs).log()

    @lazy_property
    def probs(self) -> Tensor:
        return O.softmax(self.logits, dim=-1)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self._param.shape)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._param = new.__dict__["probs" if "probs" in self.__dict__ else "logits"]
        for name in ("probs", "logits"):  # keep the other (lazy) one consistent
            if name in self.__dict__ and new.__dict__[name] is self.__dict__[name]:
                new.__dict__[name] = self.__dict__[name].expand(*batch_shape, self._num_events)
        return new

    @property
    def mean(self) -> Tensor:
        return full(self.batch_shape, float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return full(self.batch_shape, float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            probs = self.probs
            u = rand(*shape, 1, dtype=probs.dtype, device=probs.device)
            below = (probs.cumsum(-1) <= u).to("int64").sum(-1)
            return below.clamp(max=self._num_events - 1)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = O.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = len(self.batch_shape)
        values = arange(self._num_events, device=self._param.device).reshape(-1, *([1] * n))
        return values.expand(-1, *self.batch_shape) if expand else values


class OneHotCategorical(Distribution):
    """:class:`Categorical` whose samples are one-hot vectors (event shape ``(K,)``)."""

    arg_constraints = {"probs": constraints.simplex, "logits": _REAL_VECTOR}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        shape = self._categorical.param_shape
        super().__init__(shape[:-1], shape[-1:], validate_args=False)
        self._validate_args = self._categorical._validate_args

    def expand(self, batch_shape, _instance=None):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        new._batch_shape = tuple(batch_shape)
        return new

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return O.one_hot(self.probs.argmax(dim=-1), self.event_shape[-1]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        index = self._categorical.sample(sample_shape)
        return O.one_hot(index, self.event_shape[-1]).to(self.probs.dtype)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(dim=-1))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def __repr__(self) -> str:
        return f"OneHotCategorical(probs: {tuple(self.probs.shape)})"


class BinaryProbs(Distribution):
    """Base of the distributions of one success probability given as ``probs`` or ``logits``
    (``_param`` is the one given): the other is derived on first use, logits = log p -
    log(1 - p) with p clamped off 0 and 1, probs = sigmoid(logits)."""

    @lazy_property
    def logits(self) -> Tensor:
        p = clamp_probs(self.probs)
        return p.log() - O.log1p(-p)

    @lazy_property
    def probs(self) -> Tensor:
        return O.sigmoid(self.logits)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self._param.shape)


class Bernoulli(BinaryProbs):
    r"""Bernoulli on :math:`\{0, 1\}`: :math:`\log p(x) = x\log p + (1-x)\log(1-p)`, computed
    as ``-binary_cross_entropy_with_logits(logits, x)``; entropy likewise with target ``p``.
    ``sample`` returns floats (0. or 1.) of the parameters' dtype, as PyTorch."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return O.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            probs = self.probs.expand(*shape)
            u = rand(*shape, dtype=probs.dtype, device=probs.device)
            return (u < probs).to(probs.dtype)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = O.broadcast_tensors(self.logits, value.to(self.logits.dtype))
        return -O.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return O.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = len(self.batch_shape)
        values = arange(2, dtype=self._param.dtype).reshape(-1, *([1] * n))
        return values.expand(-1, *self.batch_shape) if expand else values
