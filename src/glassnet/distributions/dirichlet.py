"""Dirichlet distribution over the probability simplex.

``rsample`` normalizes reparameterized gamma draws, :math:`x_i = g_i / \\sum_j g_j` with
:math:`g_i \\sim \\Gamma(\\alpha_i, 1)`, differentiated through each gamma draw's implicit
gradient (``glassnet.distributions._implicit``), as :class:`Beta` does.
"""

from __future__ import annotations

from glassnet import ops as O
from glassnet.autograd.function import no_grad_result
from glassnet.autograd.grad_mode import no_grad
from glassnet.distributions import constraints
from glassnet.distributions.continuous import (
    _clamp_tiny,
    _standard_gamma,
    _standard_gamma_rsample,
)
from glassnet.distributions.distribution import Distribution
from glassnet.tensor import Tensor


class Dirichlet(Distribution):
    r"""Dirichlet with ``concentration`` :math:`\alpha` (last dim: the :math:`K` categories):
    :math:`\log p(x) = \sum_i(\alpha_i-1)\log x_i + \log\Gamma(\alpha_0) -
    \sum_i\log\Gamma(\alpha_i)`, :math:`\alpha_0 = \sum_i\alpha_i`; mean
    :math:`\alpha/\alpha_0`, variance :math:`\alpha_i(\alpha_0-\alpha_i)/(\alpha_0^2
    (\alpha_0+1))`, entropy :math:`\sum_i\log\Gamma(\alpha_i) - \log\Gamma(\alpha_0) -
    (K-\alpha_0)\psi(\alpha_0) - \sum_i(\alpha_i-1)\psi(\alpha_i)`.

    Difference from PyTorch: PyTorch differentiates the Dirichlet draw itself implicitly,
    glassnet the normalized gamma draws: one draw's gradient differs, both are unbiased (the
    mean gradient of any :math:`E[f(x)]` is the same)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = (
            concentration if concentration.dtype.kind == "f" else (concentration.float())
        )
        shape = tuple(self.concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new.concentration = self.concentration.expand(*batch_shape, *self.event_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        conc_m1 = (self.concentration - 1).clamp(min=0.0)
        mode = conc_m1 / conc_m1.sum(-1, keepdim=True)
        # every alpha_i < 1: the density is largest at the corners; PyTorch picks the first
        corner = O.one_hot(mode.argmax(dim=-1), conc_m1.shape[-1]).to(mode.dtype)
        mask = (self.concentration < 1).all(dim=-1).unsqueeze(-1)
        return O.where(mask, corner, mode)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0**2 * (a0 + 1))

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            g = no_grad_result(_standard_gamma, self.concentration.expand(*shape))
            value = g / g.sum(-1, keepdim=True)
            _clamp_tiny(value)
            return value

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        g = _standard_gamma_rsample(self.concentration.expand(*shape))
        value = g / g.sum(-1, keepdim=True)
        _clamp_tiny(value)  # not recorded, as PyTorch's clamp of its draw
        return value

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return O.xlogy(a - 1.0, value).sum(-1) + O.lgamma(a.sum(-1)) - O.lgamma(a).sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return (O.lgamma(a).sum(-1) - O.lgamma(a0) - (k - a0) * O.digamma(a0)
                - ((a - 1.0) * O.digamma(a)).sum(-1))  # fmt: skip
