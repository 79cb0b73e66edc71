"""Inverses, determinants, solves and factorizations (ops/linalg_solve.py): values against
NumPy's, first and second derivatives against float64 finite differences (``CASES`` covers
each registered op for tests/ops/test_registry_coverage.py)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, check_grad, check_grad_grad, run_case

rng = np.random.default_rng(11)
A = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
B = rng.standard_normal((2, 3, 2))
R = rng.standard_normal((4, 3))


def spd(a):
    return a @ a.mT + 3 * gn.eye(3, dtype=gn.float64)


CASES = [
    GradCase("inv", gn.linalg.inv, [A]),
    GradCase("det", gn.linalg.det, [A]),
    GradCase("logabsdet", lambda a: gn.linalg.slogdet(a).logabsdet, [A]),
    GradCase("solve", gn.linalg.solve, [A, B]),
    GradCase("solve", lambda a, b: gn.linalg.solve(a, b), [A, B[..., 0]], "vector"),
    GradCase("cholesky", lambda a: gn.linalg.cholesky(spd(a)), [A]),
    GradCase("eigh_factor", lambda a: gn.linalg.eigvalsh(a + a.mT), [A], "values"),
    # eigenvectors are defined up to sign: test a sign-invariant function of them
    GradCase("eigh_factor", lambda a: gn.linalg.eigh(a + a.mT).eigenvectors ** 2, [A], "vectors"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_linalg_op_derivatives(case):
    run_case(case)


@pytest.mark.parametrize(
    "name, fn, inputs",
    [
        ("pinv", gn.linalg.pinv, [R]),
        ("matrix_power", lambda a: gn.linalg.matrix_power(a, -2), [A]),
        ("multi_dot", lambda a, b: gn.linalg.multi_dot([a, b, a]), [R[:3], A[0]]),
        ("logdet", lambda a: gn.logdet(spd(a)), [A]),
    ],
)
def test_composed_linalg_derivatives(name, fn, inputs):
    check_grad(fn, [np.array(x) for x in inputs], name=name)
    check_grad_grad(fn, [np.array(x) for x in inputs], name=name)


def close(t, ref):
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-7, atol=1e-9)


def test_values_match_numpy():
    t = gn.tensor(A)
    close(gn.linalg.inv(t), np.linalg.inv(A))
    close(gn.inverse(t), np.linalg.inv(A))
    close(gn.det(t), np.linalg.det(A))
    sign, logabs = gn.linalg.slogdet(t)
    ref = np.linalg.slogdet(A)
    close(sign, ref[0])
    close(logabs, ref[1])
    close(gn.linalg.solve(t, gn.tensor(B)), np.linalg.solve(A, B))
    close(gn.linalg.solve(t, gn.tensor(B[..., 0])), np.linalg.solve(A, B[..., :1])[..., 0])
    close(gn.linalg.solve(t, gn.tensor(B[0])), np.linalg.solve(A, B[0]))  # broadcast batch
    xr = gn.linalg.solve(t, gn.tensor(B.transpose(0, 2, 1)), left=False)
    close(xr @ t, B.transpose(0, 2, 1))
    s = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
    close(gn.linalg.cholesky(gn.tensor(s)), np.linalg.cholesky(s))
    close(gn.cholesky(gn.tensor(s), upper=True), np.linalg.cholesky(s).transpose(0, 2, 1))
    w, v = gn.linalg.eigh(gn.tensor(s))
    close(w, np.linalg.eigvalsh(s))
    close(v @ gn.diag_embed(w) @ v.mT, s)
    close(gn.linalg.pinv(gn.tensor(R)), np.linalg.pinv(R))
    close(gn.pinverse(gn.tensor(R)), np.linalg.pinv(R, rcond=1e-15))
    for n in (0, 1, 3, -2):
        close(gn.linalg.matrix_power(t, n), np.linalg.matrix_power(A, n))
    close(
        gn.linalg.multi_dot([gn.tensor(R[:, 0]), gn.tensor(R), gn.tensor(A[0])]), R[:, 0] @ R @ A[0]
    )
    low_rank = np.outer([1.0, 2, 3], [1.0, 1, 0])
    assert gn.linalg.matrix_rank(gn.tensor(low_rank)).item() == np.linalg.matrix_rank(low_rank)
    assert gn.linalg.matrix_rank(gn.tensor(low_rank), atol=100.0).item() == 0
    neg = np.diag([-1.0, 2.0, 3.0])
    assert np.isnan(gn.logdet(gn.tensor(neg)).item())


def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix():
    a = np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]])  # rank 2
    t = gn.tensor(a, requires_grad=True)
    gn.linalg.det(t).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j)
                     for j in range(3)] for i in range(3)])  # fmt: skip
    np.testing.assert_allclose(t.grad.numpy(), cof, atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="square"):
        gn.linalg.inv(gn.tensor(R))
    with pytest.raises(TypeError, match="floating"):
        gn.linalg.det(gn.tensor([[1, 2], [3, 4]]))
    with pytest.raises(np.linalg.LinAlgError):
        gn.linalg.inv(gn.zeros(2, 2))
    with pytest.raises(np.linalg.LinAlgError):
        gn.linalg.cholesky(gn.tensor(-np.eye(2)))
    with pytest.raises(ValueError, match="do not match"):
        gn.linalg.solve(gn.tensor(A), gn.tensor(R))
    with pytest.raises(TypeError, match="int"):
        gn.linalg.matrix_power(gn.tensor(A), 1.5)
    with pytest.raises(ValueError, match="UPLO"):
        gn.linalg.eigh(gn.tensor(A), "X")
