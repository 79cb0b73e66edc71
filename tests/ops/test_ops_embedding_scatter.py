"""Embedding's backward for many indices sums each run of equal sorted indices (add.reduceat)
instead of np.add.at: same gradient to float rounding, checked here against a loop."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.ops import nn as nn_ops
from glassnet.testing import GradCase, run_case


def test_sorted_scatter_add_matches_a_loop():
    rng = np.random.default_rng(0)
    index = rng.integers(0, 7, 500)
    index[:3] = 6  # the last row repeated at the start
    rows = rng.standard_normal((500, 4))
    out = np.ones((9, 4))  # rows 7 and 8 get nothing
    expected = out.copy()
    for i, r in enumerate(index):
        expected[r] += rows[i]
    nn_ops._sorted_scatter_add(out, index, rows)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out[7:], 1.0)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_grad_many_indices(padding_idx):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 5, (40, 10))  # 400 >= _SORTED_SCATTER_MIN indices
    assert idx.size >= nn_ops._SORTED_SCATTER_MIN
    w = gn.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((40, 10, 3)).astype(np.float32)
    F.embedding(gn.tensor(idx), w, padding_idx=padding_idx).backward(gn.tensor(g))
    expected = np.zeros((5, 3))
    np.add.at(expected, idx.reshape(-1), g.reshape(-1, 3).astype(np.float64))
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_embedding_gradcheck_sorted_path(monkeypatch):
    monkeypatch.setattr(nn_ops, "_SORTED_SCATTER_MIN", 1)
    idx = gn.tensor(np.array([[0, 2, 2], [3, 0, 2]]))
    run_case(
        GradCase(
            "embedding",
            lambda w: F.embedding(idx, w),
            [np.random.default_rng(2).standard_normal((4, 3))],
            "sorted",
        )
    )
