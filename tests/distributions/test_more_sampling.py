"""Draws of the newer distributions: seeded (same seed, same draws), of shape sample_shape +
batch_shape + event_shape, without gradient from sample(), inside the support, and with the
distribution's moments over 20000 draws (bounds of about 5 standard errors)."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributions as D

N = 20000
EULER = 0.5772156649015329


def t(a):
    return gn.tensor(np.asarray(a, dtype=np.float64))


def draws(d, seed=0, n=N):
    gn.manual_seed(seed)
    s = d.sample((n,))
    gn.manual_seed(seed)
    again = d.sample((n,))
    np.testing.assert_array_equal(s.numpy(), again.numpy())
    assert s.shape == (n, *d.batch_shape, *d.event_shape) and not s.requires_grad
    assert s.dtype == np.float64
    return s.numpy()


def within(got, want, tol):
    got, want = np.asarray(got), np.asarray(want)
    assert (np.abs(got - want) < tol).all(), (got, want, tol)


def check_mean_var(s, mean, var, fourth=None):
    """Sample mean and variance within 5 standard errors; the variance's SE needs the 4th
    central moment ``fourth`` (default 9 var^2: three times a normal's, for unknown tails)."""
    mean, var = np.asarray(mean, float), np.asarray(var, float)
    within(s.mean(0), mean, 5 * np.sqrt(var / len(s)))
    m4 = 9 * var**2 if fourth is None else np.asarray(fourth, float)
    within(s.var(0), var, 5 * np.sqrt((m4 - var**2) / len(s)))


def test_lognormal_halfnormal_gumbel_laplace():
    loc, scale = np.array([0.2, -1.0]), np.array([0.5, 1.5])
    s = draws(D.LogNormal(t(loc), t(scale)))
    assert (s > 0).all()
    check_mean_var(np.log(s), loc, scale**2)
    s = draws(D.HalfNormal(t(scale)))
    assert (s >= 0).all()
    check_mean_var(s, scale * math.sqrt(2 / math.pi), scale**2 * (1 - 2 / math.pi))
    s = draws(D.Gumbel(t(loc), t(scale)))
    check_mean_var(
        s, loc + EULER * scale, math.pi**2 / 6 * scale**2, 27 / 5 * (math.pi**2 / 6 * scale**2) ** 2
    )
    s = draws(D.Laplace(t(loc), t(scale)))
    check_mean_var(s, loc, 2 * scale**2, 24 * scale**4)


def test_cauchy_quartiles_and_studentt_moments():
    loc, scale = np.array([0.2, -1.0]), np.array([0.5, 1.5])
    s = draws(D.Cauchy(t(loc), t(scale)))
    # quartiles loc -+ scale; a quartile's SE is about 1.6 scale / sqrt(N) for the Cauchy
    within(np.median(s, 0), loc, 5 * 1.6 * scale / np.sqrt(N))
    iqr = np.quantile(s, 0.75, axis=0) - np.quantile(s, 0.25, axis=0)
    within(iqr, 2 * scale, 10 * 1.6 * scale / np.sqrt(N))
    df = np.array([10.0, 30.0])
    s = draws(D.StudentT(t(df), t(loc), t(scale)))
    var = scale**2 * df / (df - 2)
    kurt = 3 + 6 / (df - 4)
    check_mean_var(s, loc, var, kurt * var**2)


def test_poisson_geometric_binomial():
    rate = np.array([0.5, 7.0])
    s = draws(D.Poisson(t(rate)))
    assert (s == np.round(s)).all() and (s >= 0).all()
    check_mean_var(s, rate, rate, rate * (1 + 3 * rate))
    p = np.array([0.3, 0.8])
    s = draws(D.Geometric(t(p)))
    assert (s == np.round(s)).all() and (s >= 0).all()
    within(s.mean(0), 1 / p - 1, 5 * np.sqrt((1 - p) / p**2 / N))
    s = draws(D.Binomial(t([4.0, 10.0]), t(p)))
    assert (s == np.round(s)).all() and (s >= 0).all() and (s <= [4, 10]).all()
    n = np.array([4.0, 10.0])
    within(s.mean(0), n * p, 5 * np.sqrt(n * p * (1 - p) / N))


def test_multinomial_and_dirichlet():
    p = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    s = draws(D.Multinomial(6, t(p)))
    assert (s.sum(-1) == 6).all() and (s == np.round(s)).all()
    within(s.mean(0), 6 * p, 5 * np.sqrt(6 * p * (1 - p) / N))
    alpha = np.array([[0.7, 2.0, 3.5], [1.5, 0.4, 0.9]])
    s = draws(D.Dirichlet(t(alpha)))
    np.testing.assert_allclose(s.sum(-1), 1, rtol=1e-12)
    assert (s > 0).all()
    a0 = alpha.sum(-1, keepdims=True)
    var = alpha * (a0 - alpha) / (a0**2 * (a0 + 1))
    within(s.mean(0), alpha / a0, 5 * np.sqrt(var / N))


def test_relaxed_draws_keep_the_discrete_probabilities():
    """P(X > 1/2) = p for the binary Concrete, and the argmax of a Concrete draw is
    Categorical(p) (the Gumbel-max trick), whatever the temperature."""
    p = np.array([0.3, 0.8])
    s = draws(D.RelaxedBernoulli(t([0.5]), probs=t(p)))
    assert ((s > 0) & (s < 1)).all()
    within((s > 0.5).mean(0), p, 5 * np.sqrt(p * (1 - p) / N))
    probs = np.array([0.2, 0.3, 0.5])
    s = draws(D.RelaxedOneHotCategorical(t([2.0]), probs=t(probs)))
    np.testing.assert_allclose(s.sum(-1), 1, rtol=1e-12)
    freq = np.bincount(s.argmax(-1), minlength=3) / N
    within(freq, probs, 5 * np.sqrt(probs * (1 - probs) / N))


def test_mixture_and_transformed_draws():
    mix = D.MixtureSameFamily(
        D.Categorical(probs=t([0.3, 0.7])), D.Normal(t([-2.0, 1.0]), t([0.5, 1.0]))
    )
    s = draws(mix)
    assert s.shape == (N,)
    check_mean_var(s, mix.mean.numpy(), mix.variance.numpy(), 30.0)
    comps = D.Independent(D.Normal(t([[0.0, 1.0], [2.0, -1.0]]), t([[1.0, 0.5], [2.0, 1.5]])), 1)
    vec = D.MixtureSameFamily(D.Categorical(logits=t([0.1, -0.4])), comps)
    s = draws(vec)
    assert s.shape == (N, 2)
    within(s.mean(0), vec.mean.numpy(), 5 * np.sqrt(vec.variance.numpy() / N))
    sac = D.TransformedDistribution(D.Normal(t([0.3, -1.0]), t([0.5, 2.0])), [D.TanhTransform()])
    s = draws(sac)
    assert (np.abs(s) <= 1).all()
    check_mean_var(np.arctanh(np.clip(s, -1 + 1e-15, 1 - 1e-15)), [0.3, -1.0], [0.25, 4.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: D.LogNormal(t([0.0, 1.0]), t([1.0, 2.0])),
        lambda: D.Laplace(t([0.0, 1.0]), 1.0),
        lambda: D.Poisson(t([1.0, 2.0])),
        lambda: D.Binomial(3, t([0.2, 0.4])),
        lambda: D.Geometric(logits=t([0.0, 1.0])),
        lambda: D.RelaxedBernoulli(t(0.5), logits=t([0.0, 1.0])),
        lambda: D.StudentT(t([3.0, 4.0])),
        lambda: D.HalfNormal(t([1.0, 2.0])),
        lambda: D.Gumbel(t([0.0, 1.0]), 2.0),
        lambda: D.Cauchy(t([0.0, 1.0]), 2.0),
    ],
)
def test_expand_broadcasts_the_batch(make):
    d = make().expand((4, 2))
    assert d.batch_shape == (4, 2)
    assert d.sample((3,)).shape == (3, 4, 2)
    assert d.log_prob(d.sample()).shape == (4, 2)


def test_expand_with_an_event_dim():
    for d in (D.Dirichlet(t([1.0, 2.0, 3.0])), D.Multinomial(4, t([0.2, 0.3, 0.5])),
              D.RelaxedOneHotCategorical(t(0.5), probs=t([0.2, 0.3, 0.5]))):  # fmt: skip
        e = d.expand((5,))
        assert e.batch_shape == (5,) and e.event_shape == (3,)
        assert e.sample((2,)).shape == (2, 5, 3)
        assert e.log_prob(e.sample()).shape == (5,)
    mix = D.MixtureSameFamily(D.Categorical(probs=t([0.3, 0.7])), D.Normal(t([-2.0, 1.0]), 1.0))
    e = mix.expand((4,))
    assert e.batch_shape == (4,) and e.sample((3,)).shape == (3, 4)
    assert e.log_prob(t([0.0, 1.0, 2.0, 3.0])).shape == (4,)
