"""glassnet.distributions against closed forms written here in NumPy / math: densities,
entropies, moments, KL divergences, and sample moments over 20000 seeded draws."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributions as D

RNG = np.random.default_rng(0)
N = 20000


def t(a):
    return gn.tensor(np.asarray(a, dtype=np.float64))


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b), rtol=tol, atol=tol)


def within(got, want, tol):
    """|got - want| < tol elementwise (tol: sampling error bound, may be per column)."""
    assert (np.abs(np.asarray(got) - np.asarray(want)) < tol).all(), (got, want, tol)


def test_normal_density_entropy_cdf_and_moments():
    loc, scale = RNG.normal(size=(3, 2)), RNG.uniform(0.5, 2, size=(3, 2))
    x = RNG.normal(size=(4, 3, 2))
    d = D.Normal(t(loc), t(scale))
    dens = np.exp(-((x - loc) ** 2) / (2 * scale**2)) / (scale * np.sqrt(2 * np.pi))
    close(d.log_prob(t(x)), np.log(dens))
    close(d.entropy(), 0.5 * np.log(2 * np.pi * np.e * scale**2))
    erf = np.vectorize(math.erf)
    close(d.cdf(t(x)), 0.5 * (1 + erf((x - loc) / (scale * np.sqrt(2)))))
    close(d.icdf(d.cdf(t(x))), x, 1e-8)
    close(d.mean, loc), close(d.variance, scale**2), close(d.stddev, scale)
    assert d.batch_shape == (3, 2) and d.event_shape == ()
    # numbers broadcast with tensors, as torch's broadcast_all
    assert D.Normal(0.0, t(np.ones(4))).batch_shape == (4,)


def test_normal_samples_seeded_without_grad_and_with_moments():
    gn.manual_seed(5)
    s = D.Normal(t([1.0, -2.0]), t([0.5, 3.0])).sample((N,))
    gn.manual_seed(5)
    again = D.Normal(t([1.0, -2.0]), t([0.5, 3.0])).sample((N,))
    assert s.shape == (N, 2) and not s.requires_grad
    np.testing.assert_array_equal(s.numpy(), again.numpy())
    m, v = s.numpy().mean(0), s.numpy().var(0)
    within(m, [1.0, -2.0], 5 * np.array([0.5, 3.0]) / np.sqrt(N))
    within(v / [0.25, 9.0], 1, 5 * np.sqrt(2 / N))


def test_categorical_normalizes_and_log_prob_is_log_of_normalized_probs():
    p = RNG.uniform(0.1, 1, size=(3, 5))
    v = RNG.integers(0, 5, size=(7, 3))
    pn = p / p.sum(-1, keepdims=True)
    want = np.log(pn)[np.arange(3), v]
    for d in (D.Categorical(probs=t(p)), D.Categorical(logits=t(np.log(p) + 4.0))):
        close(d.probs, pn)
        close(d.log_prob(gn.tensor(v)), want)
        close(d.entropy(), -(pn * np.log(pn)).sum(-1))
        close(d.logits.exp().sum(-1), np.ones(3))
        assert d.batch_shape == (3,) and d.event_shape == ()
        np.testing.assert_array_equal(d.mode.numpy(), pn.argmax(-1))
        assert np.isnan(d.mean.numpy()).all()


def test_categorical_sample_shape_dtype_and_frequencies():
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    gn.manual_seed(0)
    s = D.Categorical(probs=t(p)).sample((N,))
    assert s.shape == (N, 2) and s.dtype == np.int64
    freq = np.stack([(s.numpy() == k).mean(0) for k in range(3)], -1)
    within(freq, p, 5 * np.sqrt(0.25 / N))
    assert D.Categorical(logits=t(np.zeros(4))).sample().shape == ()


def test_one_hot_categorical():
    p = np.array([0.2, 0.3, 0.5])
    d = D.OneHotCategorical(probs=t(p))
    s = d.sample((5,))
    assert s.shape == (5, 3) and (s.numpy().sum(-1) == 1).all()
    close(d.log_prob(t(np.eye(3))), np.log(p))
    close(d.variance, p * (1 - p))


def test_bernoulli_log_prob_entropy_and_samples():
    p = RNG.uniform(0.05, 0.95, size=4)
    x = RNG.integers(0, 2, size=(3, 4)).astype(float)
    for d in (D.Bernoulli(probs=t(p)), D.Bernoulli(logits=t(np.log(p / (1 - p))))):
        close(d.log_prob(t(x)), x * np.log(p) + (1 - x) * np.log1p(-p))
        close(d.entropy(), -(p * np.log(p) + (1 - p) * np.log1p(-p)))
        close(d.mean, p), close(d.variance, p * (1 - p))
    gn.manual_seed(1)
    s = D.Bernoulli(probs=t(p)).sample((N,))
    assert s.dtype == np.float64 and set(np.unique(s.numpy())) <= {0.0, 1.0}
    within(s.numpy().mean(0), p, 5 * 0.5 / np.sqrt(N))


def test_uniform_and_exponential():
    lo, hi = np.array([-1.0, 2.0]), np.array([1.0, 5.0])
    d = D.Uniform(t(lo), t(hi))
    close(d.log_prob(t([0.0, 4.0])), -np.log(hi - lo))
    outside = D.Uniform(t(lo), t(hi), validate_args=False).log_prob(t([2.0, 4.0]))
    assert outside.numpy()[0] == -np.inf
    close(d.entropy(), np.log(hi - lo)), close(d.variance, (hi - lo) ** 2 / 12)
    gn.manual_seed(2)
    s = d.sample((N,)).numpy()
    assert (s >= lo).all() and (s < hi).all()
    within(s.mean(0), (lo + hi) / 2, 5 * (hi - lo) / np.sqrt(12 * N))
    rate = np.array([0.5, 2.0])
    e = D.Exponential(t(rate))
    x = np.array([[0.3, 1.2], [2.0, 0.1]])
    close(e.log_prob(t(x)), np.log(rate) - rate * x)
    close(e.entropy(), 1 - np.log(rate)), close(e.cdf(t(x)), 1 - np.exp(-rate * x))
    s = e.sample((N,)).numpy()
    np.testing.assert_allclose(s.mean(0), 1 / rate, rtol=5 / np.sqrt(N))


lgamma = np.vectorize(math.lgamma)


def test_gamma_and_beta_closed_forms_and_sample_moments():
    a, b = np.array([0.7, 2.5]), np.array([1.5, 0.8])
    x = np.array([[0.3, 1.2], [2.0, 0.1]])
    g = D.Gamma(t(a), t(b))
    close(g.log_prob(t(x)), a * np.log(b) + (a - 1) * np.log(x) - b * x - lgamma(a))
    close(g.mean, a / b), close(g.variance, a / b**2)
    gn.manual_seed(3)
    s = g.sample((N,)).numpy()
    within(s.mean(0), a / b, 5 * np.sqrt(a) / b / np.sqrt(N))
    np.testing.assert_allclose(s.var(0), a / b**2, rtol=0.1)
    u = np.array([[0.3, 0.9], [0.05, 0.5]])
    be = D.Beta(t(a), t(b))
    log_b = lgamma(a) + lgamma(b) - lgamma(a + b)
    close(be.log_prob(t(u)), (a - 1) * np.log(u) + (b - 1) * np.log1p(-u) - log_b)
    s = be.sample((N,)).numpy()
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    within(s.mean(0), a / (a + b), 5 * np.sqrt(var / N))
    close(be.variance, var)
    # entropy of Beta(1, 1) (uniform) is 0; of Gamma(1, rate) (exponential) is 1 - log rate
    close(D.Beta(t([1.0]), t([1.0])).entropy(), [0.0])
    close(D.Gamma(t([1.0]), t([2.0])).entropy(), [1 - np.log(2.0)])


def test_multivariate_normal():
    A = RNG.normal(size=(2, 3, 3))
    cov = A @ A.transpose(0, 2, 1) + np.eye(3)
    mu = RNG.normal(size=(2, 3))
    x = RNG.normal(size=(5, 2, 3))
    diff = x - mu
    maha = np.einsum("...i,...ij,...j->...", diff, np.linalg.inv(cov), diff)
    want = -0.5 * (3 * np.log(2 * np.pi) + np.log(np.linalg.det(cov)) + maha)
    for kw in (
        {"covariance_matrix": t(cov)},
        {"scale_tril": t(np.linalg.cholesky(cov))},
        {"precision_matrix": t(np.linalg.inv(cov))},
    ):
        d = D.MultivariateNormal(t(mu), **kw)
        assert d.batch_shape == (2,) and d.event_shape == (3,)
        close(d.log_prob(t(x)), want, 1e-8)
        close(d.entropy(), 0.5 * (3 * (1 + np.log(2 * np.pi)) + np.log(np.linalg.det(cov))))
        close(d.covariance_matrix, cov, 1e-8)
    gn.manual_seed(4)
    s = D.MultivariateNormal(t(mu[0]), t(cov[0])).sample((N,)).numpy()
    within(np.cov(s.T), cov[0], 0.1 * np.abs(cov[0]).max())


def test_independent_sums_the_reinterpreted_dims():
    loc, scale = RNG.normal(size=(3, 2)), RNG.uniform(0.5, 2, size=(3, 2))
    base = D.Normal(t(loc), t(scale))
    d = D.Independent(base, 1)
    assert d.batch_shape == (3,) and d.event_shape == (2,)
    x = t(RNG.normal(size=(3, 2)))
    close(d.log_prob(x), base.log_prob(x).numpy().sum(-1))
    close(d.entropy(), base.entropy().numpy().sum(-1))
    assert d.sample((4,)).shape == (4, 3, 2) and d.has_rsample


def test_kl_divergences_closed_forms():
    m1, s1, m2, s2 = 0.3, 1.5, -1.0, 0.7
    kl = D.kl_divergence(D.Normal(t(m1), t(s1)), D.Normal(t(m2), t(s2)))
    close(kl, np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5)
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])
    close(D.kl_divergence(D.Categorical(t(p)), D.Categorical(t(q))), (p * np.log(p / q)).sum())
    a, b = np.array([0.2, 0.9]), np.array([0.6, 0.4])
    want = a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))
    close(D.kl_divergence(D.Bernoulli(t(a)), D.Bernoulli(t(b))), want)
    support_gap = D.kl_divergence(D.Categorical(t([0.5, 0.5])), D.Categorical(t([1.0, 0.0])))
    assert support_gap.item() == np.inf
    c1, c2 = np.diag([1.0, 2.0]), np.array([[2.0, 0.3], [0.3, 1.0]])
    mu1, mu2 = np.array([0.0, 1.0]), np.array([1.0, -1.0])
    inv2 = np.linalg.inv(c2)
    want = 0.5 * (np.trace(inv2 @ c1) + (mu2 - mu1) @ inv2 @ (mu2 - mu1) - 2
                  + np.log(np.linalg.det(c2) / np.linalg.det(c1)))  # fmt: skip
    close(D.kl_divergence(D.MultivariateNormal(t(mu1), t(c1)), D.MultivariateNormal(t(mu2), t(c2))),
          want, 1e-8)  # fmt: skip
    with pytest.raises(NotImplementedError, match="register_kl"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.StudentT(3.0))  # PyTorch registers none either
    # as PyTorch: a q whose support misses part of p's gives +inf
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0)).item() == np.inf


@pytest.mark.parametrize(
    "make",
    [
        lambda: D.Normal(t([0.0]), t([-1.0])),
        lambda: D.Normal(t([0.0]), t([0.0])),
        lambda: D.Categorical(probs=t([-0.1, 1.1])),
        lambda: D.Bernoulli(probs=t([1.5])),
        lambda: D.Uniform(1.0, 0.0),
        lambda: D.Gamma(t([-1.0]), t([1.0])),
        lambda: D.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]])),
        lambda: D.Bernoulli(probs=t([0.5])).log_prob(t([0.5])),
        lambda: D.Categorical(logits=t([0.0, 0.0])).log_prob(gn.tensor([2])),
        lambda: D.Exponential(t([1.0])).log_prob(t([-1.0])),
        lambda: D.Normal(0.0, 1.0).log_prob(0.5),
        lambda: D.Categorical(),
    ],
)
def test_validation_is_on_by_default(make):
    with pytest.raises(ValueError):
        make()


def test_validate_args_false_and_the_global_default():
    assert D.Normal(t([0.0]), t([-1.0]), validate_args=False).scale.item() == -1.0
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(t([0.0]), t([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(TypeError, match=r"sample\(\(n,\)\)"):
        D.Normal(0.0, 1.0).sample(5)


def test_expand():
    d = D.Normal(t([0.0, 1.0]), t([1.0, 2.0])).expand((3, 2))
    assert d.batch_shape == (3, 2) and d.sample((4,)).shape == (4, 3, 2)
    c = D.Categorical(logits=t(np.zeros((1, 4)))).expand((5, 1))
    assert c.sample((2,)).shape == (2, 5, 1) and c.probs.shape == (5, 1, 4)
