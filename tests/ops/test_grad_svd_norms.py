"""Gradcheck cases (first and second derivatives) of the singular-value matrix norms and of
the differentiable SVD factors their second derivative goes through."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.ops.linalg_extra import svd_factor
from glassnet.testing import GradCase, check_grad, check_grad_grad, run_case

A = np.random.default_rng(3).normal(size=(2, 4, 3))  # distinct, nonzero singular values

CASES = [
    GradCase("matrix_norm", lambda a, o=o: gn.linalg.matrix_norm(a, o), [A], str(o))
    for o in ("nuc", 2, -2)
] + [
    # U and V^T alone: for a real SVD with distinct singular values each factor is a smooth
    # function of a (LAPACK's sign choice does not flip under the tiny finite-difference steps)
    GradCase("svd_factor", lambda a, p=p: svd_factor(a, p), [m], f"{p}-{m.shape}")
    for p in ("u", "s", "vh")
    for m in (A, A.transpose(0, 2, 1), A[:, :3])
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.op}-{c.label}")
def test_svd_norm_derivatives(case):
    run_case(case)


def test_linalg_svd_and_svdvals():
    a = np.random.default_rng(0).normal(size=(2, 4, 3))
    u, s, vh = gn.linalg.svd(gn.tensor(a), full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((2, 4, 3), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((u.numpy() * s.numpy()[..., None, :]) @ vh.numpy(), a, atol=1e-12)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose(gn.linalg.svdvals(gn.tensor(a)).numpy(), s.numpy())
    full = gn.linalg.svd(gn.tensor(a))  # full_matrices=True, PyTorch's default
    assert full.U.shape == (2, 4, 4) and full.Vh.shape == (2, 3, 3)
    with pytest.raises(ValueError, match="full_matrices=False"):
        gn.linalg.svd(gn.tensor(a, requires_grad=True))

    def low_rank(t):  # U diag(s^2) V^T: invariant to the sign of each (u_i, v_i)
        u, s, vh = gn.linalg.svd(t, full_matrices=False)
        return (u * (s * s).reshape(s.shape[:-1] + (1, -1))) @ vh

    check_grad(low_rank, [a])
    check_grad_grad(low_rank, [a])
