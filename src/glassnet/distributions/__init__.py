"""Probability distributions with PyTorch's names and semantics (``torch.distributions``).

``sample`` draws from glassnet's seeded generator (``gn.manual_seed``) without gradient;
``rsample`` is reparameterized (differentiable in the parameters); ``log_prob``, ``entropy``
and ``kl_divergence`` are compositions of glassnet ops, differentiable in the parameters.
See docs/distributions.md.
"""

from glassnet.distributions import constraints
from glassnet.distributions.continuous import Beta, Exponential, Gamma, Normal, Uniform
from glassnet.distributions.discrete import Bernoulli, Categorical, OneHotCategorical
from glassnet.distributions.distribution import Distribution
from glassnet.distributions.kl import kl_divergence, register_kl
from glassnet.distributions.multivariate import Independent, MultivariateNormal

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Distribution",
    "Exponential",
    "Gamma",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
