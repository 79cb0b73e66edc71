"""Probability distributions with PyTorch's names and semantics (``torch.distributions``).

``sample`` draws from glassnet's seeded generator (``gn.manual_seed``) without gradient;
``rsample`` is reparameterized (differentiable in the parameters); ``log_prob``, ``entropy``
and ``kl_divergence`` are compositions of glassnet ops, differentiable in the parameters.
See docs/distributions.md.
"""

from glassnet.distributions import constraints, transforms
from glassnet.distributions import kl_extra as _kl_extra  # noqa: F401  (registers pairs)
from glassnet.distributions.continuous import Beta, Exponential, Gamma, Normal, Uniform
from glassnet.distributions.continuous_extra import Cauchy, Laplace, StudentT
from glassnet.distributions.counts import Binomial, Geometric, Multinomial, Poisson
from glassnet.distributions.dirichlet import Dirichlet
from glassnet.distributions.discrete import Bernoulli, Categorical, OneHotCategorical
from glassnet.distributions.distribution import Distribution
from glassnet.distributions.kl import kl_divergence, register_kl
from glassnet.distributions.mixture import MixtureSameFamily
from glassnet.distributions.multivariate import Independent, MultivariateNormal
from glassnet.distributions.relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from glassnet.distributions.transformed import (
    Gumbel,
    HalfNormal,
    LogNormal,
    TransformedDistribution,
)
from glassnet.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SigmoidTransform,
    TanhTransform,
    Transform,
    identity_transform,
)

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "ComposeTransform",
    "Dirichlet",
    "Distribution",
    "ExpTransform",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfNormal",
    "Independent",
    "Laplace",
    "LogNormal",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "SigmoidTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "constraints",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transforms",
]
