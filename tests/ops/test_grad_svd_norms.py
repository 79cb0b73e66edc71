"""Gradcheck cases (first and second derivatives) of the singular-value matrix norms and of
the differentiable SVD factors their second derivative goes through."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.ops.linalg_extra import svd_factor
from glassnet.testing import GradCase, run_case

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
