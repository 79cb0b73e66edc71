"""A Linear layer's bias add and bias gradient through the kernels (``_fused.add_row_vector``,
``_fused.column_sums``): the same bits as NumPy's ``y += b`` and ``g.sum(0)`` (rows added in
order), for any thread count, on Numba's threads and on glassnet's pool."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import jit
from glassnet.ops import _fused
from glassnet.testing import check_grad, check_thread_counts

pytest.importorskip("numba")
pytestmark = pytest.mark.usefixtures("host_device")  # tests/ops/conftest.py

rng = np.random.default_rng(0)
SHAPES = [(300, 129), (7, 13), (1, 5), (64, 256)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_same_bits_as_numpy_for_any_thread_count(shape, dtype, split_small, block_counts,
                                                 monkeypatch):  # fmt: skip
    monkeypatch.setattr(_fused, "BIAS_MIN_ELEMENTS", 1)
    g = (rng.standard_normal(shape) * rng.exponential(3.0, shape)).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    want_sum = g.sum(0)
    want_add = g + b

    def run():
        y = g.copy()
        assert _fused.add_row_vector(y, b)
        return [_fused.column_sums(g), y]

    counts = block_counts if shape[0] > 1 and shape[1] > 1 else None
    got_sum, got_add = check_thread_counts(run, (1, 2, 3), counts, "bias")
    np.testing.assert_array_equal(got_sum, want_sum)
    np.testing.assert_array_equal(got_add, want_add)


def test_declines_what_it_does_not_take(monkeypatch):
    monkeypatch.setattr(_fused, "BIAS_MIN_ELEMENTS", 1)
    g = np.ones((6, 4), np.float32)
    assert _fused.column_sums(g[:, ::2]) is None  # not contiguous
    assert _fused.column_sums(np.ones((0, 4), np.float32)) is None  # no rows
    assert not _fused.add_row_vector(g, np.ones(4, np.float64))  # mixed dtypes
    assert not _fused.add_row_vector(g, np.ones((1, 4), np.float32))  # not a row vector
    assert _fused.column_sums(np.ones((6, 4), np.int64)) is None


def test_linear_layer_gradients_match_finite_differences(monkeypatch):
    """The layer on the kernels: float64 gradcheck of input, weight and bias."""
    monkeypatch.setattr(_fused, "BIAS_MIN_ELEMENTS", 1)
    assert jit.kernels() is not None
    x = gn.tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)
    w = gn.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    b = gn.tensor(rng.standard_normal(6), requires_grad=True)
    check_grad(lambda x, w, b: gn.functional.linear(x, w, b), (x, w, b))
