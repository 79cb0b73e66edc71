"""Gamma and Beta ``rsample`` (glassnet raised NotImplementedError; PyTorch has them): the
gamma draw's implicit gradient dx/dalpha = -(dP/dalpha)(x; alpha) / p(x; alpha) against
40-digit values (mpmath, recorded once), and the gradients of E[f(x)] statistically against
their closed forms.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.distributions as D
from glassnet.distributions._implicit import standard_gamma_grad

# (alpha, x, dx/dalpha) from mpmath at 40 digits: -diff(gammainc(a, 0, x, regularized), a) / p
EXACT = [
    (0.05, 1e-06, 0.0002663535831438351),
    (0.05, 0.5, 9.749618957898782),
    (0.3, 3.0, 4.066906659258957),
    (1.0, 1.0, 1.1735630272247268),
    (2.5, 8.0, 1.8053769451521995),
    (10.0, 19.0, 1.377578721146809),
    (150.0, 185.0, 1.1097535955277285),
    (0.5, 40.0, 5.608063777992852),
    (0.01, 5.0, 87.31994275380151),
    (5000.0, 5300.0, 1.0294516875923576),
    (1e5, 1e5 + 1500, 1.0074644578377103),
    (1e5, 1e5 - 1500, 0.9924638702859041),
]
# (alpha, x, torch._standard_gamma_grad) from PyTorch 2.13: a fitted approximation, within 1%
TORCH = [
    (0.05, 0.5, 9.749673653415886),
    (0.3, 3.0, 4.067139411725383),
    (1.0, 1.0, 1.1736211627259934),
    (2.5, 2.0, 0.9534439667878193),
    (10.0, 17.0, 1.3103662056146745),
    (150.0, 185.0, 1.1097575060970577),
    (0.5, 40.0, 5.562421209519579),
]


def test_implicit_gradient_of_a_gamma_draw_is_exact():
    a, x, want = (np.array(c) for c in zip(*EXACT))
    np.testing.assert_allclose(standard_gamma_grad(a, x), want, rtol=1e-9)
    a, x, torch_values = (np.array(c) for c in zip(*TORCH))
    np.testing.assert_allclose(standard_gamma_grad(a, x), torch_values, rtol=1e-2)


def _check_mean(got, samples, want, k=5.0):
    """``got`` (a mean over ``samples``) within k standard errors of ``want``."""
    se = samples.std() / np.sqrt(samples.size)
    assert abs(got - want) < k * se + 1e-12, (got, want, se)


def test_gamma_rsample_gradients_of_expectations():
    """d/dalpha E[x] = 1/beta, d/dbeta E[x] = -alpha/beta^2, d/dalpha E[x^2] =
    (2 alpha + 1)/beta^2 for x ~ Gamma(alpha, beta)."""
    gn.manual_seed(0)
    alpha = gn.tensor(np.array(2.5), requires_grad=True)
    beta = gn.tensor(np.array(1.5), requires_grad=True)
    n = 50_000
    x = D.Gamma(alpha, beta).rsample((n,))
    assert x.requires_grad and x.shape == (n,)
    x.mean().backward(retain_graph=True)
    xs = x.detach().numpy()
    per_draw = standard_gamma_grad(2.5, xs * 1.5) / 1.5  # dx/dalpha of each draw
    _check_mean(alpha.grad.item(), per_draw, 1 / 1.5)
    _check_mean(beta.grad.item(), xs / 1.5, -2.5 / 1.5**2)
    alpha.grad = None
    (x * x).mean().backward()
    _check_mean(alpha.grad.item(), 2 * xs * per_draw, (2 * 2.5 + 1) / 1.5**2)


@pytest.mark.parametrize("alpha", [0.05, 0.8, 40.0])
def test_gamma_rsample_small_and_large_concentration(alpha):
    gn.manual_seed(1)
    a = gn.tensor(np.array(alpha), requires_grad=True)
    x = D.Gamma(a, 1.0).rsample((20_000,))
    x.mean().backward()
    per_draw = standard_gamma_grad(alpha, x.detach().numpy())
    assert np.isfinite(per_draw).all()
    _check_mean(a.grad.item(), per_draw, 1.0)  # d/dalpha E[x] = 1


def test_beta_rsample_gradients_of_expectations():
    """d/da E[x] = b/(a+b)^2, d/db E[x] = -a/(a+b)^2 for x ~ Beta(a, b)."""
    gn.manual_seed(2)
    a = gn.tensor(np.array(0.7), requires_grad=True)
    b = gn.tensor(np.array(3.0), requires_grad=True)
    y = D.Beta(a, b).rsample((40_000,))
    assert y.requires_grad and y.min().item() > 0 and y.max().item() < 1
    y.mean().backward()
    total = 3.7**2
    assert a.grad.item() == pytest.approx(3.0 / total, rel=0.03)
    assert b.grad.item() == pytest.approx(-0.7 / total, rel=0.03)


def test_rsample_draws_are_sample_draws_and_second_derivatives_raise():
    conc = gn.tensor(np.array([0.5, 2.0, 9.0]), requires_grad=True)
    gn.manual_seed(3)
    drawn = D.Gamma(conc, 2.0).sample((4,))
    gn.manual_seed(3)
    np.testing.assert_array_equal(D.Gamma(conc, 2.0).rsample((4,)).detach().numpy(), drawn.numpy())
    assert D.Gamma(conc, 2.0).has_rsample and D.Beta(conc, conc).has_rsample
    (g,) = gn.autograd.grad(D.Gamma(conc, 1.0).rsample().sum(), [conc], create_graph=True)
    with pytest.raises(NotImplementedError, match="second derivative"):
        g.sum().backward()  # PyTorch: _standard_gamma_grad is not differentiable either
