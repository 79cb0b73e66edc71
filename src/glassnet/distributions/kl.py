"""``kl_divergence(p, q)``: :math:`KL(p\\,\\|\\,q) = E_p[\\log p(x) - \\log q(x)]` in closed
form for the registered pairs, differentiable in both distributions' parameters; other pairs
raise NotImplementedError, as in PyTorch. ``register_kl(P, Q)`` adds a pair."""

from __future__ import annotations

from glassnet import linalg
from glassnet import ops as O
from glassnet.distributions.continuous import Beta, Exponential, Gamma, Normal
from glassnet.distributions.discrete import Bernoulli, Categorical, OneHotCategorical
from glassnet.distributions.multivariate import Independent, MultivariateNormal
from glassnet.tensor import Tensor

_KL_REGISTRY: dict = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of ``type_p`` from ``type_q``."""

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn

    return decorator


def _dispatch(type_p, type_q):
    for tp in type_p.__mro__:
        for tq in type_q.__mro__:
            fn = _KL_REGISTRY.get((tp, tq))
            if fn is not None:
                return fn
    return None


def kl_divergence(p, q) -> Tensor:
    r""":math:`KL(p\,\|\,q)` batch-wise (shape: the broadcast batch shape)."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
            f"{type(q).__name__}; register one with glassnet.distributions.register_kl, or "
            "estimate it by Monte Carlo: (p.log_prob(x) - q.log_prob(x)).mean(0) with "
            "x = p.sample((n,))"
        )
    return fn(p, q)


def _inf_where(t: Tensor, mask: Tensor) -> Tensor:
    return O.where(mask, float("inf"), t)


def _zero_where(t: Tensor, mask: Tensor) -> Tensor:
    return O.where(mask, 0.0, t)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    r""":math:`\tfrac12(\sigma_p^2/\sigma_q^2 + (\mu_p-\mu_q)^2/\sigma_q^2 - 1 -
    \log(\sigma_p^2/\sigma_q^2))`."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    r""":math:`\sum_k p_k(\log p_k - \log q_k)` (:math:`\infty` where :math:`q_k = 0 < p_k`)."""
    t = p.probs * (p.logits - q.logits)
    t = _inf_where(t, (q.probs == 0).expand(*t.shape))
    t = _zero_where(t, (p.probs == 0).expand(*t.shape))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    r""":math:`p\log\frac pq + (1-p)\log\frac{1-p}{1-q}` via softplus of the logits."""
    t1 = p.probs * (O.softplus(-q.logits) - O.softplus(-p.logits))
    t1 = _zero_where(_inf_where(t1, q.probs == 0), p.probs == 0)
    t2 = (1 - p.probs) * (O.softplus(q.logits) - O.softplus(p.logits))
    t2 = _zero_where(_inf_where(t2, q.probs == 1), p.probs == 1)
    return t1 + t2


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    r""":math:`\log(\lambda_p/\lambda_q) + \lambda_q/\lambda_p - 1`."""
    ratio = q.rate / p.rate
    return ratio - ratio.log() - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    r""":math:`\alpha_q\log\frac{\beta_p}{\beta_q} + \log\Gamma(\alpha_q) - \log\Gamma(\alpha_p)
    + (\alpha_p-\alpha_q)\psi(\alpha_p) + (\beta_q-\beta_p)\frac{\alpha_p}{\beta_p}`."""
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = O.lgamma(q.concentration) - O.lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * O.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    r""":math:`\log B(a_q,b_q) - \log B(a_p,b_p) + (a_p-a_q)\psi(a_p) + (b_p-b_q)\psi(b_p)
    + (a_q-a_p+b_q-b_p)\psi(a_p+b_p)`."""
    ap, bp, aq, bq = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    log_b = lambda a, b: O.lgamma(a) + O.lgamma(b) - O.lgamma(a + b)  # noqa: E731
    return (log_b(aq, bq) - log_b(ap, bp) + (ap - aq) * O.digamma(ap) + (bp - bq) * O.digamma(bp)
            + (aq - ap + bq - bp) * O.digamma(ap + bp))  # fmt: skip


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    r""":math:`\tfrac12(\operatorname{tr}(\Sigma_q^{-1}\Sigma_p) + \lVert L_q^{-1}(\mu_q-\mu_p)
    \rVert^2 - k) + \log|L_q| - \log|L_p|`."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event "
                         "shapes cannot be computed")  # fmt: skip
    k = p.event_shape[0]
    shape = tuple(O.broadcast_tensors(p.loc, q.loc)[0].shape[:-1])
    Lp, Lq = p.scale_tril.expand(*shape, k, k), q.scale_tril.expand(*shape, k, k)
    diff = (q.loc - p.loc).expand(*shape, k).unsqueeze(-1)
    term2 = (linalg.solve(Lq, Lp) ** 2).sum((-2, -1))
    term3 = (linalg.solve(Lq, diff) ** 2).sum((-2, -1))
    return q._half_log_det() - p._half_log_det() + 0.5 * (term2 + term3 - k)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            "KL between Independents with different reinterpreted_batch_ndims"
        )
    return p._sum_rightmost(kl_divergence(p.base_dist, q.base_dist))
