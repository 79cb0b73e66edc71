"""The KL divergences PyTorch registers for the families added after the first ones
(``torch.distributions.kl``): same-family closed forms (Binomial, Cauchy, Dirichlet, Geometric,
Gumbel, HalfNormal, Laplace, Poisson, Uniform, TransformedDistribution), the cross-family
closed forms among Normal, Laplace, Gumbel, Exponential, Gamma, Beta, Uniform and Bernoulli /
Poisson, and the pairs whose KL is :math:`+\\infty` because q's support misses part of p's.
Each formula is PyTorch's, term by term.
"""

from __future__ import annotations

import math

from glassnet import ops as O
from glassnet.creation_extra import full_like
from glassnet.distributions.continuous import Beta, Exponential, Gamma, Normal, Uniform
from glassnet.distributions.continuous_extra import Cauchy, Laplace
from glassnet.distributions.counts import Binomial, Geometric, Poisson
from glassnet.distributions.dirichlet import Dirichlet
from glassnet.distributions.discrete import Bernoulli
from glassnet.distributions.kl import _kl_normal_normal, kl_divergence, register_kl
from glassnet.distributions.transformed import EULER_GAMMA, Gumbel, HalfNormal
from glassnet.distributions.transformed import TransformedDistribution as _TD

INF = float("inf")


def _infinite_like(t):
    return full_like(t.detach(), INF)


def _x_log_x(t):
    return t * t.log()


def _inf_where(result, mask):
    return O.where(mask, INF, result)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    r""":math:`n(p\log\frac pq + (1-p)\log\frac{1-p}{1-q})` (same :math:`n`); :math:`\infty`
    where :math:`n_p > n_q`."""
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented"
        )
    kl = p.total_count * (p.probs * (p.logits - q.logits) + O.log1p(-p.probs)
                          - O.log1p(-q.probs))  # fmt: skip
    return _inf_where(kl, p.total_count > q.total_count)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    t1 = O.lgamma(a0) - O.lgamma(b0)
    t2 = (O.lgamma(a) - O.lgamma(b)).sum(-1)
    t4 = O.digamma(a) - O.digamma(a0).unsqueeze(-1)
    return t1 - t2 + ((a - b) * t4).sum(-1)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t3 = (ct2 + O.lgamma(1 + ct1) - ct3).exp()
    return t1 + ct1 * EULER_GAMMA + t3 - (1 + EULER_GAMMA)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - O.log1p(-q.probs) / p.probs - q.logits


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    t3 = scale_ratio * (-loc_abs_diff / p.scale).exp()
    return -scale_ratio.log() + loc_abs_diff / q.scale + t3 - 1


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    r""":math:`\log\frac{(\gamma_p+\gamma_q)^2 + (x_p-x_q)^2}{4\gamma_p\gamma_q}`."""
    t1 = ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log()
    return t1 - (4 * p.scale * q.scale).log()


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where(result, (q.low > p.low) | (q.high < p.high))


@register_kl(_TD, _TD)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError(
            "KL between TransformedDistributions is implemented only for the same transforms "
            "and event shape (it is then the KL of the bases)"
        )
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p.entropy() - q.rate.log() + q.rate * mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    a, b = p.concentration1, p.concentration0
    t2 = O.lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (q.concentration - 1) * (O.digamma(a) - O.digamma(a + b))
    return -p.entropy() + t2 - t3 + q.rate * a / (a + b)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    a, b = p.concentration1, p.concentration0
    e_beta = a / (a + b)
    var_normal = q.scale**2
    t2 = 0.5 * (var_normal * 2 * math.pi).log()
    t3 = (e_beta * (1 - e_beta) / (a + b + 1) + e_beta**2) * 0.5
    t4, t5 = q.loc * e_beta, q.loc**2 * 0.5
    return -p.entropy() + t2 + (t3 - t4 + t5) / var_normal


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _inf_where(result, (q.low > 0.0) | (q.high < 1.0))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    t1 = -q.concentration * ratio.log()
    return (t1 + ratio + O.lgamma(q.concentration) + q.concentration * EULER_GAMMA
            - (1 + EULER_GAMMA))  # fmt: skip


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    prod = p.rate * q.scale
    loc_scale_ratio = q.loc / q.scale
    t2 = loc_scale_ratio.exp() * prod / (prod + 1)
    return prod.log() - 1 - loc_scale_ratio + t2 + prod.reciprocal()


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var_normal, rate_sqr = q.scale**2, p.rate**2
    t1 = 0.5 * (rate_sqr * var_normal * 2 * math.pi).log()
    return t1 - 1 + (rate_sqr.reciprocal() - q.loc / p.rate + q.loc**2 * 0.5) / var_normal


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    a = p.concentration
    prod = p.rate * q.scale
    loc_scale_ratio = q.loc / q.scale
    t1 = (a - 1) * O.digamma(a) - O.lgamma(a) - a
    t2 = prod.log() + a / prod
    t3 = loc_scale_ratio.exp() * (1 + prod.reciprocal()) ** (-a) - loc_scale_ratio
    return t1 + t2 + t3


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    a = p.concentration
    var_normal, beta_sqr = q.scale**2, p.rate**2
    t1 = 0.5 * (beta_sqr * var_normal * 2 * math.pi).log() - a - O.lgamma(a)
    t2 = 0.5 * (a**2 + a) / beta_sqr
    t3 = q.loc * a / p.rate
    return t1 + (a - 1) * O.digamma(a) + (t2 - t3 + 0.5 * q.loc**2) / var_normal


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    ratio = p.scale / q.scale
    t1 = (ratio / math.sqrt(2 * math.pi)).log()
    t2 = (math.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * EULER_GAMMA - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (EULER_GAMMA + 1)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var_normal = q.scale**2
    ratio = p.scale**2 / var_normal
    t1 = 0.5 * (2 * ratio / math.pi).log()
    t2, t3, t4 = 0.5 * p.loc**2, p.loc * q.loc, 0.5 * q.loc**2
    return -t1 + ratio + (t2 - t3 + t4) / var_normal - 1


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    mean_scale_ratio = p.loc / q.scale
    var_scale_sqr_ratio = (p.scale / q.scale) ** 2
    loc_scale_ratio = q.loc / q.scale
    t1 = var_scale_sqr_ratio.log() * 0.5
    t2 = mean_scale_ratio - loc_scale_ratio
    t3 = (-mean_scale_ratio + 0.5 * var_scale_sqr_ratio + loc_scale_ratio).exp()
    return -t1 + t2 + t3 - (0.5 * (1 + math.log(2 * math.pi)))


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    loc_diff = p.loc - q.loc
    z = loc_diff / p.scale
    t2 = math.sqrt(2 / math.pi) * p.scale * (-0.5 * z**2).exp()
    t3 = loc_diff * O.erf(math.sqrt(0.5) * z)
    return -(p.scale / q.scale).log() + (t2 + t3) / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    t1 = width.log()
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t3 = ((q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width)
          / width)  # fmt: skip
    t4 = (O.lgamma(q.concentration1) + O.lgamma(q.concentration0)
          - O.lgamma(q.concentration1 + q.concentration0))  # fmt: skip
    return _inf_where(t3 + t4 - t1 - t2, (p.high > 1.0) | (p.low < 0.0))


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _inf_where(result, p.low < 0.0)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    t2 = O.lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t4 = q.rate * (p.high + p.low) / 2
    return _inf_where(-width.log() + t2 + t3 + t4, p.low < 0.0)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    common = q.scale / (p.high - p.low)
    high_diff = (p.high - q.loc) / q.scale
    low_diff = (p.low - q.loc) / q.scale
    t1 = common.log() + 0.5 * (high_diff + low_diff)
    return t1 - common * ((-high_diff).exp() - (-low_diff).exp())


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = (math.sqrt(math.pi * 2) * q.scale / width).log()
    t3 = ((p.high + p.low - 2 * q.loc) / 2) ** 2
    return t1 + 0.5 * (width**2 / 12 + t3) / q.scale**2


def _register_infinite(type_p, param: str, *types_q):
    def fn(p, q):
        return _infinite_like(getattr(p, param))

    fn.__doc__ = f"+inf: the support of q misses part of {type_p.__name__}'s"
    for type_q in types_q:
        register_kl(type_p, type_q)(fn)


# PyTorch's _kl_*_infinity pairs among the families glassnet has
_register_infinite(Exponential, "rate", Beta, Uniform)
_register_infinite(Gamma, "concentration", Beta, Uniform)
_register_infinite(Gumbel, "loc", Beta, Exponential, Gamma, Uniform)
_register_infinite(Laplace, "loc", Beta, Exponential, Gamma, Uniform)
_register_infinite(Normal, "loc", Beta, Exponential, Gamma, Uniform)
_register_infinite(Poisson, "rate", Bernoulli, Binomial)
