"""Gradcheck cases of the singular-value matrix norms (first derivatives only: their second
derivative raises, see tests/ops/test_ops_issue16_gaps.py)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, run_case

A = np.random.default_rng(3).normal(size=(2, 4, 3))  # distinct, nonzero singular values

CASES = [
    GradCase("matrix_norm", lambda a, o=o: gn.linalg.matrix_norm(a, o), [A], str(o), False)
    for o in ("nuc", 2, -2)
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.op}-{c.label}")
def test_svd_norm_first_derivatives(case):
    run_case(case)
