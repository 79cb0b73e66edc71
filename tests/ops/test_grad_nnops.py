"""Gradchecks of linear, dropout and embedding (first and, for linear, second derivatives)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(0)


def r(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def seeded_dropout(p):
    """Reseed before each call so every finite-difference evaluation draws the same mask."""

    def fn(x):
        gn.manual_seed(7)
        return F.dropout(x, p)

    return fn


IDX = np.array([[0, 3, 3], [1, 3, 0]])  # repeated indices: their gradients must add up
PAD_IDX = np.array([2, 0, 2, 4, 1])
# padding_idx gives its row no gradient although the row is read; finite differences can only
# agree when the padded outputs are masked out (as a model masks padded positions), so the
# check covers the other rows here and test_ops_conv_numerics asserts the zero row directly
PAD_KEEP = (PAD_IDX != 2)[:, None].astype(np.float64)

CASES = [
    GradCase("linear", F.linear, [r(4, 3), r(5, 3), r(5)], "2d-bias"),
    GradCase("linear", F.linear, [r(2, 3, 4), r(2, 4)], "3d-nobias"),
    GradCase("linear", F.linear, [r(3), r(2, 3), r(2)], "1d-input"),
    GradCase("linear", F.linear, [r(3, 4).T, r(2, 3), r(2)], "noncontig"),
    GradCase(
        "linear",
        lambda x, w, b: F.linear(x, w, b) * F.linear(x, w, b),
        [r(2, 3), r(2, 3), r(2)],
        "reused-squared",
        gradgrad=True,
    ),
    GradCase("linear", lambda x, w: F.linear(x, w), [r(2, 3), r(4, 3)], "wrt-weight", wrt=[1]),
    GradCase("dropout", seeded_dropout(0.5), [r(4, 5)], "p0.5"),
    GradCase("dropout", seeded_dropout(0.1), [r(3, 2, 3)], "p0.1"),
    GradCase("dropout", seeded_dropout(1.0), [r(3, 3)], "p1-zeros"),
    GradCase("embedding", lambda w: F.embedding(IDX, w), [r(4, 3)], "repeated"),
    GradCase(
        "embedding",
        lambda w: F.embedding(PAD_IDX, w, padding_idx=2) * PAD_KEEP,
        [r(5, 2)],
        "padding",
        gradgrad=True,
    ),
    GradCase(
        "embedding",
        lambda w: F.embedding(gn.tensor([4, 4, 4, 4]), w) * 2.0,
        [r(5, 3)],
        "all-same",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)
