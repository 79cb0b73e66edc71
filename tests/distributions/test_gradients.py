"""Gradients of log_prob, entropy, kl_divergence and rsample in the distribution parameters
(float64 finite differences), and a REINFORCE policy-gradient loss."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import distributions as D
from glassnet.testing import check_grad

RNG = np.random.default_rng(1)


def arr(*shape, low=None, high=None):
    if low is None:
        return RNG.normal(size=shape)
    return RNG.uniform(low, high, size=shape)


X = arr(4, 3)
U = arr(4, 3, low=0.05, high=0.95)
P = arr(4, 3, low=0.1, high=1.0)
V = gn.tensor(RNG.integers(0, 3, size=(5, 4)))
B = gn.tensor(RNG.integers(0, 2, size=(4, 3)).astype(np.float64))
A = arr(3, 3)
COV = A @ A.T + np.eye(3)


def pos(*shape, high=2.0):
    return arr(*shape, low=0.5, high=high)


def tx(a):
    return gn.tensor(a)


def mvn_log_prob(m, c):
    sym = (c + c.transpose(-1, -2)) / 2
    return D.MultivariateNormal(m, covariance_matrix=sym).log_prob(tx(X))


def mvn_entropy(L):
    return D.MultivariateNormal(gn.zeros(3, dtype="float64"), scale_tril=L.tril()).entropy()


def kl(make):
    return lambda *a: D.kl_divergence(*make(*a))


def kl_indep(m, s):
    p = D.Independent(D.Normal(m, s), 1)
    return D.kl_divergence(p, D.Independent(D.Normal(0.0 * m, 1.0 + 0.0 * s), 1))


CASES = [
    ("normal log_prob", lambda m, s: D.Normal(m, s).log_prob(tx(X)), [arr(4, 3), pos(4, 3)]),
    ("normal entropy", lambda m, s: D.Normal(m, s).entropy(), [arr(3), pos(3)]),
    ("normal cdf", lambda m, s: D.Normal(m, s).cdf(tx(X)), [arr(4, 3), pos(4, 3)]),
    ("categorical logits", lambda lg: D.Categorical(logits=lg).log_prob(V), [arr(4, 3)]),
    ("categorical probs", lambda p: D.Categorical(probs=p).log_prob(V), [P]),
    ("categorical entropy", lambda lg: D.Categorical(logits=lg).entropy(), [arr(4, 3)]),
    ("bernoulli log_prob", lambda p: D.Bernoulli(probs=p).log_prob(B), [U]),
    ("bernoulli entropy", lambda lg: D.Bernoulli(logits=lg).entropy(), [arr(4, 3)]),
    ("uniform", lambda lo, hi: D.Uniform(lo, hi).log_prob(tx(U)), [-pos(4, 3), pos(4, 3) + 1]),
    ("exponential", lambda r: D.Exponential(r).log_prob(tx(P)), [pos(4, 3)]),
    ("gamma log_prob", lambda a, b: D.Gamma(a, b).log_prob(tx(P)), [pos(4, 3), pos(4, 3)]),
    ("gamma entropy", lambda a, b: D.Gamma(a, b).entropy(), [pos(3, high=3), pos(3)]),
    ("beta log_prob", lambda a, b: D.Beta(a, b).log_prob(tx(U)), [pos(4, 3), pos(4, 3)]),
    ("beta entropy", lambda a, b: D.Beta(a, b).entropy(), [pos(3, high=3), pos(3, high=3)]),
    ("mvn log_prob", mvn_log_prob, [arr(3), COV]),
    ("mvn entropy", mvn_entropy, [np.linalg.cholesky(COV)]),
    ("kl normal", kl(lambda a, b, c, d: (D.Normal(a, b), D.Normal(c, d))), [arr(3), pos(3)] * 2),
    ("kl categorical", kl(lambda a, b: (D.Categorical(a), D.Categorical(b))), [P, P[::-1].copy()]),
    ("kl bernoulli", kl(lambda a, b: (D.Bernoulli(a), D.Bernoulli(b))), [U, U[::-1].copy()]),
    ("kl independent normal", kl_indep, [arr(4, 3), pos(4, 3)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(name, fn, inputs):
    check_grad(fn, inputs, name=name)


def test_rsample_is_reparameterized_and_sample_is_not():
    loc = gn.tensor(np.array([0.5, -1.0]), requires_grad=True)
    scale = gn.tensor(np.array([2.0, 0.5]), requires_grad=True)
    gn.manual_seed(7)
    y = D.Normal(loc, scale).rsample((6,))
    gn.manual_seed(7)
    eps = gn.randn(6, 2, dtype="float64").numpy()
    np.testing.assert_allclose(y.numpy(), loc.numpy() + scale.numpy() * eps, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)
    assert not D.Normal(loc, scale).sample().requires_grad
    assert D.Uniform(loc - 3, loc + scale).rsample((2,)).requires_grad
    assert D.Exponential(scale).rsample().requires_grad
    assert D.Gamma(scale, scale).rsample().requires_grad  # raised: see test_gamma_rsample.py


def test_reinforce_policy_gradient():
    """loss = -(Categorical(logits=net(x)).log_prob(a) * adv).mean(): its gradient in the
    weights against finite differences, and against the closed form
    d/dlogits log softmax(logits)[a] = onehot(a) - softmax(logits)."""
    x = RNG.normal(size=(6, 4))
    actions = gn.tensor(RNG.integers(0, 3, size=6))
    adv = gn.tensor(RNG.normal(size=6))

    def loss(w, b):
        logits = gn.tensor(x) @ w + b
        return -(D.Categorical(logits=logits).log_prob(actions) * adv).mean()

    w0, b0 = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    check_grad(loss, [w0, b0], name="REINFORCE")
    w = gn.tensor(w0, requires_grad=True)
    b = gn.tensor(b0, requires_grad=True)
    loss(w, b).backward()
    logits = x @ w0 + b0
    soft = np.exp(logits - logits.max(-1, keepdims=True))
    soft /= soft.sum(-1, keepdims=True)
    dlogits = -(np.eye(3)[actions.numpy()] - soft) * adv.numpy()[:, None] / 6
    np.testing.assert_allclose(w.grad.numpy(), x.T @ dlogits, rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), dlogits.sum(0), rtol=1e-10)
    # actions drawn from the policy: int64 indices, one per row, from the seeded generator
    gn.manual_seed(0)
    a = D.Categorical(logits=gn.tensor(logits)).sample()
    gn.manual_seed(0)
    assert a.shape == (6,) and a.dtype == np.int64
    again = D.Categorical(logits=gn.tensor(logits)).sample()
    np.testing.assert_array_equal(a.numpy(), again.numpy())


def sampled_first(make, method):
    """``method`` of the distribution ``make(param)`` after a ``sample()``: the actor-critic
    idiom (m = Categorical(logits); a = m.sample(); m.log_prob(a), m.entropy())."""

    def fn(param):
        m = make(param)
        m.sample()
        return getattr(m, method)()

    return fn


SAMPLED_FIRST = [
    ("categorical logits", lambda lg: D.Categorical(logits=lg), "entropy", arr(4, 3)),
    ("categorical probs", lambda p: D.Categorical(probs=p), "entropy", P),
    ("bernoulli logits", lambda lg: D.Bernoulli(logits=lg), "entropy", arr(4, 3)),
    ("bernoulli probs", lambda p: D.Bernoulli(probs=p), "entropy", U),
    ("one-hot categorical", lambda lg: D.OneHotCategorical(logits=lg), "entropy", arr(4, 3)),
]


@pytest.mark.parametrize(
    "name, make, method, param", SAMPLED_FIRST, ids=[c[0] for c in SAMPLED_FIRST]
)
def test_sample_does_not_cut_the_gradient_of_a_lazy_parameter(name, make, method, param):
    """sample() reads the lazily computed probs/logits under no_grad; PyTorch's lazy_property
    computes them under enable_grad, so the cached value keeps its graph. glassnet cached a
    detached one: entropy() after sample() had no gradient through it (the actor-critic
    entropy bonus silently did nothing)."""
    fn = sampled_first(make, method)
    check_grad(fn, [param], name=f"{name} {method} after sample")
    p = gn.tensor(param, requires_grad=True)
    m = make(p)
    m.sample()
    assert m.probs.requires_grad and m.logits.requires_grad
