"""The newer distributions' argument validation (PyTorch's errors, checked against torch
2.13 by hand: the same exception types and first words), the transforms (inverse, cache,
log-Jacobians against NumPy formulas and finite differences), and the SAC squashed-Normal
policy: TransformedDistribution(Normal, [TanhTransform(cache_size=1)])."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributions as D
from glassnet.testing import check_grad

T = lambda a: gn.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731

INVALID = [
    (
        "LogNormal scale",
        lambda: D.LogNormal(0.0, T([-1.0])),
        ValueError,
        "Expected parameter scale",
    ),
    ("HalfNormal scale", lambda: D.HalfNormal(T([0.0])), ValueError, "Expected parameter scale"),
    (
        "HalfNormal value",
        lambda: D.HalfNormal(T([1.0])).log_prob(T([-1.0])),
        ValueError,
        "Expected value argument",
    ),
    (
        "LogNormal value",
        lambda: D.LogNormal(0.0, 1.0).log_prob(T([-1.0])),
        ValueError,
        "Expected value argument",
    ),
    ("Gumbel scale", lambda: D.Gumbel(0.0, T([-1.0])), ValueError, "Expected parameter scale"),
    ("Laplace scale", lambda: D.Laplace(0.0, T([0.0])), ValueError, "Expected parameter scale"),
    ("Cauchy scale", lambda: D.Cauchy(0.0, T([-1.0])), ValueError, "Expected parameter scale"),
    ("StudentT df", lambda: D.StudentT(T([0.0])), ValueError, "Expected parameter df"),
    ("Poisson rate", lambda: D.Poisson(T([-1.0])), ValueError, "Expected parameter rate"),
    (
        "Poisson value",
        lambda: D.Poisson(T([1.0])).log_prob(T([1.5])),
        ValueError,
        "Expected value argument",
    ),
    ("Geometric p=0", lambda: D.Geometric(T([0.0])), ValueError, "to be positive"),
    ("Geometric p>1", lambda: D.Geometric(T([1.5])), ValueError, "Expected parameter probs"),
    (
        "Geometric value",
        lambda: D.Geometric(T([0.5])).log_prob(T([-1.0])),
        ValueError,
        "Expected value argument",
    ),
    (
        "Binomial value",
        lambda: D.Binomial(3, T([0.5])).log_prob(T([4.0])),
        ValueError,
        "Expected value argument",
    ),
    (
        "Binomial count",
        lambda: D.Binomial(T([2.5]), T([0.5])),
        ValueError,
        "Expected parameter total_count",
    ),
    ("Binomial both", lambda: D.Binomial(3, T([0.5]), T([0.5])), ValueError, "Either `probs`"),
    (
        "Multinomial float count",
        lambda: D.Multinomial(2.0, T([0.5, 0.5])),
        NotImplementedError,
        "inhomogeneous",
    ),
    (
        "Multinomial value",
        lambda: D.Multinomial(2, T([0.5, 0.5])).log_prob(T([2.0, 1.0])),
        ValueError,
        "Expected value argument",
    ),
    ("Dirichlet 0-d", lambda: D.Dirichlet(T(1.0)), ValueError, "at least one-dimensional"),
    (
        "Dirichlet negative",
        lambda: D.Dirichlet(T([1.0, -1.0])),
        ValueError,
        "Expected parameter concentration",
    ),
    (
        "Dirichlet value",
        lambda: D.Dirichlet(T([1.0, 1.0])).log_prob(T([0.5, 0.6])),
        ValueError,
        "Expected value argument",
    ),
    (
        "RelaxedBernoulli probs",
        lambda: D.RelaxedBernoulli(T([0.5]), probs=T([1.5])),
        ValueError,
        "Expected parameter probs",
    ),
    (
        "RelaxedOneHotCategorical value",
        lambda: D.RelaxedOneHotCategorical(T([0.5]), probs=T([0.5, 0.5])).log_prob(T([0.5, 0.6])),
        ValueError,
        "Expected value argument",
    ),
    (
        "Mixture of a non-Categorical",
        lambda: D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(T([0.0, 1.0]), 1.0)),
        ValueError,
        "Categorical",
    ),
    (
        "Mixture sizes",
        lambda: D.MixtureSameFamily(
            D.Categorical(T([0.5, 0.5])), D.Normal(T([0.0, 1.0, 2.0]), 1.0)
        ),
        ValueError,
        "does not equal",
    ),
    (
        "TransformedDistribution transforms",
        lambda: D.TransformedDistribution(D.Normal(0.0, 1.0), "exp"),
        ValueError,
        "transforms must be",
    ),
    ("cache_size", lambda: D.ExpTransform(cache_size=2), ValueError, "cache_size must be 0 or 1"),
    (
        "Binomial entropy of mixed counts",
        lambda: D.Binomial(T([2.0, 3.0]), T([0.5, 0.5])).entropy(),
        NotImplementedError,
        "Inhomogeneous total count",
    ),
    ("Poisson entropy", lambda: D.Poisson(T([1.0])).entropy(), NotImplementedError, ""),
    ("StudentT cdf", lambda: D.StudentT(T([1.0])).cdf(T([1.0])), NotImplementedError, ""),
    (
        "KL Binomial n_q > n_p",
        lambda: D.kl_divergence(D.Binomial(3, T([0.5])), D.Binomial(4, T([0.5]))),
        NotImplementedError,
        "q.total_count > p.total_count",
    ),
    (
        "KL different transforms",
        lambda: D.kl_divergence(
            D.LogNormal(0.0, 1.0),
            D.TransformedDistribution(D.Normal(0.0, 1.0), D.SigmoidTransform()),
        ),
        NotImplementedError,
        "",
    ),
    (
        "Mixture rsample",
        lambda: D.MixtureSameFamily(
            D.Categorical(T([0.5, 0.5])), D.Normal(T([0.0, 1.0]), 1.0)
        ).rsample(),
        NotImplementedError,
        "has no reparameterized sample",
    ),
    (
        "Poisson rsample",
        lambda: D.Poisson(T([1.0])).rsample(),
        NotImplementedError,
        "has no reparameterized sample",
    ),
]


@pytest.mark.parametrize("name, fn, error, match", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_input_raises_as_pytorch(name, fn, error, match):
    with pytest.raises(error, match=match or None):
        fn()


def test_validate_args_false_skips_the_checks():
    assert D.HalfNormal(T([1.0]), validate_args=False).log_prob(T([-1.0])).item() == -np.inf
    assert np.isfinite(D.Poisson(T([2.0]), validate_args=False).log_prob(T([1.5])).item())


def test_has_rsample_as_pytorch():
    reparam = [D.LogNormal(0.0, 1.0), D.HalfNormal(1.0), D.Laplace(0.0, 1.0), D.Cauchy(0.0, 1.0),
               D.StudentT(3.0), D.Dirichlet(T([1.0, 2.0])), D.RelaxedBernoulli(T(0.5), T(0.3)),
               D.RelaxedOneHotCategorical(T(0.5), T([0.3, 0.7]))]  # fmt: skip
    assert all(d.has_rsample for d in reparam)
    # PyTorch's Gumbel has no rsample override but its TransformedDistribution base has one
    assert D.Gumbel(0.0, 1.0).has_rsample
    plain = [
        D.Poisson(1.0),
        D.Geometric(T(0.5)),
        D.Binomial(2, T(0.5)),
        D.Multinomial(2, T([0.5, 0.5])),
        D.MixtureSameFamily(D.Categorical(T([0.5, 0.5])), D.Normal(T([0.0, 1.0]), 1.0)),
    ]
    assert not any(d.has_rsample for d in plain)


def test_transforms_invert_and_their_log_jacobians_match_numpy():
    x = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    cases = [
        (D.ExpTransform(), np.exp(x), x),
        (
            D.SigmoidTransform(),
            1 / (1 + np.exp(-x)),
            np.log(1 / (1 + np.exp(-x)) ** 2 * np.exp(-x)),
        ),
        (D.TanhTransform(), np.tanh(x), np.log1p(-(np.tanh(x) ** 2))),
        (D.AffineTransform(1.5, -2.0), 1.5 - 2.0 * x, np.full(5, np.log(2.0))),
    ]
    for tr, y, ladj in cases:
        got = tr(T(x))
        np.testing.assert_allclose(got.numpy(), y, rtol=1e-12)
        np.testing.assert_allclose(tr.inv(got).numpy(), x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tr.log_abs_det_jacobian(T(x), got).numpy(), ladj, rtol=1e-10)
        np.testing.assert_allclose(tr.inv.log_abs_det_jacobian(got, T(x)).numpy(), -ladj,
                                   rtol=1e-10)  # fmt: skip
        assert tr.inv.inv is tr and tr.sign in (1, -1)
    chain = D.ComposeTransform([D.AffineTransform(0.5, 2.0), D.TanhTransform()])
    y = chain(T(x))
    np.testing.assert_allclose(y.numpy(), np.tanh(0.5 + 2 * x), rtol=1e-12)
    np.testing.assert_allclose(
        chain.log_abs_det_jacobian(T(x), y).numpy(),
        np.log(2.0) + np.log1p(-(np.tanh(0.5 + 2 * x) ** 2)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(chain.inv(y).numpy(), x, rtol=1e-9, atol=1e-12)
    summed = D.AffineTransform(0.0, T([2.0, 3.0]), event_dim=1)
    assert summed.log_abs_det_jacobian(T([[1.0, 1.0]]), T([[2.0, 3.0]])).numpy().tolist() == [
        pytest.approx(np.log(6.0))
    ]


def test_tanh_log_jacobian_gradient():
    tr = D.TanhTransform()
    check_grad(lambda x: tr.log_abs_det_jacobian(x, tr(x)), [np.array([-3.0, -0.4, 0.5, 2.0])])


def test_cache_returns_the_input_of_the_last_call():
    x = T([0.3, 25.0])
    cached, plain = D.TanhTransform(cache_size=1), D.TanhTransform()
    y = cached(x)
    assert cached.inv(y) is x and cached(x) is y
    assert plain.inv(plain(x)) is not x
    with np.errstate(divide="ignore"):
        assert np.isinf(plain.inv(plain(x)).numpy()[1])  # atanh(1.0): why SAC caches


def test_sac_squashed_normal_policy():
    """The SAC actor: a = tanh(u), u ~ N(mu, std); log pi(a) = log N(u) - log(1 - tanh(u)^2),
    finite with the cache even where tanh(u) rounds to 1; its gradient in mu and log_std
    against finite differences of the seeded loss."""
    mu0, log_std0 = np.array([0.2, 30.0]), np.array([-0.5, 0.1])

    def loss(mu, log_std):
        gn.manual_seed(3)
        pi = D.TransformedDistribution(D.Normal(mu, log_std.exp()),
                                       [D.TanhTransform(cache_size=1)])  # fmt: skip
        a = pi.rsample()
        return 0.2 * pi.log_prob(a) - a

    pi = D.TransformedDistribution(D.Normal(T(mu0), T(np.exp(log_std0))),
                                   [D.TanhTransform(cache_size=1)])  # fmt: skip
    gn.manual_seed(3)
    a = pi.rsample()
    assert a.numpy()[1] == 1.0 and np.isfinite(pi.log_prob(a).numpy()).all()
    gn.manual_seed(3)
    u = (T(mu0) + T(np.exp(log_std0)) * gn.randn(2, dtype="float64")).numpy()
    normal = -((u - mu0) ** 2) / (2 * np.exp(2 * log_std0)) - log_std0 - 0.5 * np.log(2 * np.pi)
    ladj = 2 * (np.log(2) - u - np.logaddexp(0, -2 * u))
    np.testing.assert_allclose(pi.log_prob(a).numpy(), normal - ladj, rtol=1e-10)
    check_grad(loss, [mu0, log_std0], name="SAC actor loss")
    assert pi.support.check(a.numpy()).all()


def test_lognormal_is_a_transformed_normal():
    d = D.LogNormal(T([0.1, -0.2]), T([0.5, 1.5]))
    assert isinstance(d, D.TransformedDistribution) and isinstance(d.base_dist, D.Normal)
    same = D.TransformedDistribution(D.Normal(T([0.1, -0.2]), T([0.5, 1.5])), D.ExpTransform())
    y = T([0.4, 2.0])
    np.testing.assert_allclose(d.log_prob(y).numpy(), same.log_prob(y).numpy(), rtol=1e-12)
    np.testing.assert_allclose(D.kl_divergence(d, same).numpy(), 0.0, atol=1e-15)
