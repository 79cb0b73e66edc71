"""Gradients of the newer distributions (log_prob, cdf, entropy, kl_divergence) in their
parameters against float64 finite differences, and of their reparameterized draws: where a
draw is a smooth function of the parameters and a seeded standard draw, against finite
differences of that function (the generator reseeded on each evaluation); where it goes
through gamma draws (StudentT's df, Dirichlet), the mean of per-draw gradients against the
derivative of a known expectation."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributions as D
from glassnet.testing import check_grad

RNG = np.random.default_rng(3)


def arr(*shape):
    return RNG.normal(size=shape)


def pos(*shape, low=0.5, high=2.0):
    return RNG.uniform(low, high, size=shape)


def prob(*shape):
    return RNG.uniform(0.1, 0.9, size=shape)


def tx(a):
    return gn.tensor(np.asarray(a, dtype=np.float64))


X = arr(4, 3)
POSX = pos(4, 3, low=0.2, high=3.0)
UNIT = pos(4, 3, low=0.05, high=0.95)
COUNTS = tx(RNG.integers(0, 5, size=(4, 3)).astype(np.float64))
SIMPLEX = RNG.dirichlet([1.0, 2.0, 3.0], size=4)
MCOUNTS = tx(RNG.multinomial(6, [0.2, 0.3, 0.5], size=4).astype(np.float64))


def kl(make):
    return lambda *a: D.kl_divergence(*make(*a))


def tanh_normal(m, s):
    return D.TransformedDistribution(D.Normal(m, s), [D.TanhTransform()])


CASES = [
    ("lognormal log_prob", lambda m, s: D.LogNormal(m, s).log_prob(tx(POSX)), [arr(3), pos(3)]),
    ("lognormal entropy", lambda m, s: D.LogNormal(m, s).entropy(), [arr(3), pos(3)]),
    ("lognormal cdf", lambda m, s: D.LogNormal(m, s).cdf(tx(POSX)), [arr(3), pos(3)]),
    ("halfnormal log_prob", lambda s: D.HalfNormal(s).log_prob(tx(POSX)), [pos(3)]),
    ("halfnormal cdf", lambda s: D.HalfNormal(s).cdf(tx(POSX)), [pos(3)]),
    ("gumbel log_prob", lambda m, s: D.Gumbel(m, s).log_prob(tx(X)), [arr(3), pos(3)]),
    ("gumbel cdf", lambda m, s: D.Gumbel(m, s).cdf(tx(X)), [arr(3), pos(3)]),
    ("laplace log_prob", lambda m, s: D.Laplace(m, s).log_prob(tx(X)), [arr(3) + 5, pos(3)]),
    ("laplace cdf", lambda m, s: D.Laplace(m, s).cdf(tx(X)), [arr(3) + 5, pos(3)]),
    ("laplace entropy", lambda s: D.Laplace(0.0, s).entropy(), [pos(3)]),
    ("cauchy log_prob", lambda m, s: D.Cauchy(m, s).log_prob(tx(X)), [arr(3), pos(3)]),
    ("cauchy cdf", lambda m, s: D.Cauchy(m, s).cdf(tx(X)), [arr(3), pos(3)]),
    (
        "studentt log_prob",
        lambda d, m, s: D.StudentT(d, m, s).log_prob(tx(X)),
        [pos(3, high=6), arr(3), pos(3)],
    ),
    ("studentt entropy", lambda d, s: D.StudentT(d, 0.0, s).entropy(), [pos(3, high=6), pos(3)]),
    ("poisson log_prob", lambda r: D.Poisson(r).log_prob(COUNTS), [pos(3)]),
    ("geometric log_prob", lambda p: D.Geometric(p).log_prob(COUNTS), [prob(3)]),
    ("geometric entropy", lambda lg: D.Geometric(logits=lg).entropy(), [arr(3)]),
    ("binomial log_prob", lambda lg: D.Binomial(6, logits=lg).log_prob(COUNTS), [arr(3)]),
    ("binomial entropy", lambda p: D.Binomial(6, p).entropy(), [prob(3)]),
    ("multinomial log_prob", lambda p: D.Multinomial(6, p).log_prob(MCOUNTS), [pos(4, 3)]),
    ("dirichlet log_prob", lambda a: D.Dirichlet(a).log_prob(tx(SIMPLEX)), [pos(4, 3)]),
    ("dirichlet entropy", lambda a: D.Dirichlet(a).entropy(), [pos(2, 3)]),
    (
        "relaxed bernoulli",
        lambda t, p: D.RelaxedBernoulli(t, probs=p).log_prob(tx(UNIT)),
        [pos(1), prob(3)],
    ),
    (
        "relaxed one-hot",
        lambda t, lg: D.RelaxedOneHotCategorical(t, logits=lg).log_prob(tx(SIMPLEX)),
        [pos(1), arr(4, 3)],
    ),
    (
        "mixture log_prob",
        lambda lg, m, s: D.MixtureSameFamily(D.Categorical(logits=lg), D.Normal(m, s)).log_prob(
            tx(X)
        ),
        [arr(3), arr(3), pos(3)],
    ),
    (
        "tanh normal log_prob",
        lambda m, s: tanh_normal(m, s).log_prob(tx(UNIT * 2 - 1)),
        [arr(3), pos(3)],
    ),
    ("kl dirichlet", kl(lambda a, b: (D.Dirichlet(a), D.Dirichlet(b))), [pos(2, 3), pos(2, 3)]),
    (
        "kl laplace",
        kl(lambda a, b, c, d: (D.Laplace(a, b), D.Laplace(c, d))),
        [arr(3), pos(3), arr(3) + 4, pos(3)],
    ),
    ("kl gumbel", kl(lambda a, b, c, d: (D.Gumbel(a, b), D.Gumbel(c, d))), [arr(3), pos(3)] * 2),
    (
        "kl normal-laplace",
        kl(lambda a, b, c, d: (D.Normal(a, b), D.Laplace(c, d))),
        [arr(3), pos(3)] * 2,
    ),
    (
        "kl gamma-gumbel",
        kl(lambda a, b, c, d: (D.Gamma(a, b), D.Gumbel(c, d))),
        [pos(3), pos(3), arr(3), pos(3)],
    ),
    ("kl binomial", kl(lambda p, q: (D.Binomial(5, p), D.Binomial(5, q))), [prob(3), prob(3)]),
    (
        "kl lognormal",
        kl(lambda a, b, c, d: (D.LogNormal(a, b), D.LogNormal(c, d))),
        [arr(3), pos(3)] * 2,
    ),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(name, fn, inputs):
    check_grad(fn, inputs, name=name)


def seeded_rsample(make, n=5):
    """The draw as a function of the parameters for one fixed standard draw."""

    def fn(*params):
        gn.manual_seed(11)
        return make(*params).rsample((n,))

    return fn


RSAMPLE_CASES = [
    ("lognormal", lambda m, s: D.LogNormal(m, s), [arr(3), pos(3)]),
    ("halfnormal", lambda s: D.HalfNormal(s), [pos(3)]),
    ("gumbel", lambda m, s: D.Gumbel(m, s), [arr(3), pos(3)]),
    ("laplace", lambda m, s: D.Laplace(m, s), [arr(3), pos(3)]),
    ("cauchy", lambda m, s: D.Cauchy(m, s), [arr(3), pos(3)]),
    ("studentt loc scale", lambda m, s: D.StudentT(tx([3.0, 5.0, 9.0]), m, s), [arr(3), pos(3)]),
    ("relaxed bernoulli", lambda t, p: D.RelaxedBernoulli(t, probs=p), [pos(1), prob(3)]),
    (
        "relaxed one-hot",
        lambda t, lg: D.RelaxedOneHotCategorical(t, logits=lg),
        [pos(1), arr(2, 3)],
    ),
    ("tanh normal", tanh_normal, [arr(3), pos(3)]),
    (
        "affine exp normal",
        lambda m, s, a: D.TransformedDistribution(
            D.Normal(m, s), [D.AffineTransform(0.5, a), D.ExpTransform()]
        ),
        [arr(3), pos(3), pos(3)],
    ),
]


@pytest.mark.parametrize("name, make, inputs", RSAMPLE_CASES, ids=[c[0] for c in RSAMPLE_CASES])
def test_rsample_gradient_matches_finite_differences(name, make, inputs):
    assert make(*map(tx, inputs)).has_rsample
    check_grad(seeded_rsample(make), inputs, name=name + " rsample")


def test_studentt_rsample_df_gradient_is_unbiased():
    """d/dnu E[x^2] = d/dnu nu/(nu-2) = -2/(nu-2)^2, from per-draw gradients (df batched)."""
    n, nu = 100_000, 10.0
    df = gn.full((n,), nu, dtype="float64", requires_grad=True)
    gn.manual_seed(4)
    x = D.StudentT(df).rsample()
    (x**2).sum().backward()
    g = df.grad.numpy()
    assert abs(g.mean() - (-2 / (nu - 2) ** 2)) < 5 * g.std() / math.sqrt(n)


def test_dirichlet_rsample_gradient_is_unbiased():
    """d/dalpha_j E[x_0] = (delta_0j a0 - alpha_0)/a0^2 from per-draw gradients."""
    n, alpha = 50_000, np.array([0.7, 2.0, 3.5])
    conc = gn.tensor(np.tile(alpha, (n, 1)), requires_grad=True)
    gn.manual_seed(5)
    x = D.Dirichlet(conc).rsample()
    assert x.shape == (n, 3)
    x[:, 0].sum().backward()
    g = conc.grad.numpy()
    a0 = alpha.sum()
    want = (np.eye(3)[0] * a0 - alpha[0]) / a0**2
    assert (np.abs(g.mean(0) - want) < 5 * g.std(0) / math.sqrt(n)).all(), (g.mean(0), want)
