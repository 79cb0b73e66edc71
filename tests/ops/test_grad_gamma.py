"""The gamma family (ops/gamma.py) and glassnet.special: values against libm and exact
identities, derivatives against float64 finite differences (``CASES``: each registered op)."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, check_grad, check_grad_grad, run_case

X = np.array([0.3, 1.7, 4.2, 13.5, -0.4, -2.7])

CASES = [
    GradCase("lgamma", gn.lgamma, [X]),
    GradCase("digamma", gn.digamma, [X]),
    GradCase("polygamma", lambda a: gn.polygamma(2, a), [X]),
]

EULER = 0.5772156649015329


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gamma_derivatives(case):
    run_case(case)


def t64(*values):
    return gn.tensor(np.array(values, dtype=np.float64))


def close(t, ref, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(t.numpy(), dtype=np.float64), ref, rtol=rtol, atol=0)


def test_lgamma_is_libm_and_poles_are_inf():
    x = np.array([0.5, 1.0, 2.5, 30.0, 171.5, -0.5, -2.5, 1e-8])
    close(gn.lgamma(gn.tensor(x)), [math.lgamma(v) for v in x])
    out = gn.lgamma(gn.tensor([0.0, -1.0, -3.0, np.inf, -np.inf])).numpy()
    assert np.all(out == np.inf)
    assert gn.lgamma(gn.tensor([1, 2, 3])).dtype == np.float32


def test_digamma_and_polygamma_known_values_and_recurrences():
    close(gn.digamma(t64(1.0, 0.5)), [-EULER, -EULER - 2 * math.log(2)])
    close(gn.polygamma(1, t64(1.0, 0.5)), [math.pi**2 / 6, math.pi**2 / 2])
    close(gn.polygamma(2, t64(1.0)), [-2 * 1.2020569031595942])  # -2 zeta(3)
    close(gn.polygamma(3, t64(0.5)), [math.pi**4])
    x = np.array([0.2, 0.9, 3.3, 11.7, 25.0, -0.6, -3.4])
    d0, d1 = gn.digamma(gn.tensor(x)).numpy(), gn.digamma(gn.tensor(x + 1)).numpy()
    np.testing.assert_allclose(d1, d0 + 1 / x, rtol=1e-12)
    for n in (1, 2, 4):
        p0, p1 = gn.polygamma(n, gn.tensor(x)).numpy(), gn.polygamma(n, gn.tensor(x + 1)).numpy()
        np.testing.assert_allclose(
            p1, p0 + (-1) ** n * math.factorial(n) / x ** (n + 1), rtol=1e-11
        )
    # digamma is the derivative of libm's lgamma
    h = 1e-6
    num = [(math.lgamma(v + h) - math.lgamma(v - h)) / (2 * h) for v in (0.7, 2.5, 9.0)]
    close(gn.digamma(t64(0.7, 2.5, 9.0)), num, rtol=1e-8)
    edge = gn.digamma(gn.tensor([0.0, -2.0, np.inf])).numpy()
    assert edge[0] == -np.inf and np.isnan(edge[1]) and edge[2] == np.inf
    assert gn.tensor([2.5]).polygamma(1).item() == pytest.approx(
        gn.polygamma(1, gn.tensor([2.5])).item()
    )
    with pytest.raises(ValueError, match="non-negative"):
        gn.polygamma(-1, gn.tensor([1.0]))


def test_mvlgamma():
    x = np.array([2.5, 3.0])
    ref = [3 * 2 / 4 * math.log(math.pi) + sum(math.lgamma(v - j / 2) for j in range(3)) for v in x]
    close(gn.mvlgamma(gn.tensor(x), 3), ref)
    with pytest.raises(ValueError, match="greater than"):
        gn.mvlgamma(gn.tensor([0.9]), 3)
    check_grad(lambda a: gn.mvlgamma(a, 2), [np.array([1.7, 3.2])])


def test_special_namespace():
    sp = gn.special
    x = np.array([-30.0, -25.0, -19.0, -3.0, 0.0, 0.4, 6.0])
    ref = [math.log(0.5 * math.erfc(-v / math.sqrt(2))) for v in x]
    close(sp.log_ndtr(gn.tensor(x)), ref, rtol=1e-10)
    close(sp.ndtr(gn.tensor(x[3:])), [0.5 * math.erfc(-v / math.sqrt(2)) for v in x[3:]])
    p = np.array([0.025, 0.5, 0.975])
    close(sp.ndtr(sp.ndtri(gn.tensor(p))), p, rtol=1e-9)
    close(sp.entr(t64(0.5, 0.0, 2.0)), [-0.5 * math.log(0.5), 0.0, -2 * math.log(2)])
    assert sp.entr(gn.tensor([-1.0])).item() == -np.inf
    close(sp.xlog1py(t64(0.0, 2.0), t64(-1.0, 0.5)), [0.0, 2 * math.log(1.5)])
    close(sp.gammaln(t64(4.0)), [math.log(6)])
    assert sp.psi is gn.digamma and sp.expit is gn.sigmoid
    check_grad(sp.log_ndtr, [np.array([-30.0, -3.0, 0.5])])
    check_grad(sp.ndtri, [np.array([0.1, 0.6])])
    check_grad(sp.entr, [np.array([0.2, 1.5])])
    check_grad_grad(sp.xlog1py, [np.array([0.3, 2.0]), np.array([0.5, 1.5])])
