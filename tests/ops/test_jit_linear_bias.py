"""A Linear layer's bias add and bias gradient through the kernels (``_fused.add_row_vector``,
``_fused.column_sums``), and a residual ``a + b`` (``_fused.add``): the same bits as NumPy's
``y += b``, ``g.sum(0)`` (rows added in order) and ``a + b``, for any thread count, on
Numba's threads and on glassnet's pool."""

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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_residual_add_same_bits_as_numpy(dtype, split_small, block_counts, monkeypatch):
    """``a + b`` through the op (its forward takes the kernel) with inf, NaN, -0.0 and
    subnormals among the values: NumPy's bits at 1-3 threads, and the gradient is 1 for both."""
    monkeypatch.setattr(_fused, "ADD_MIN_ELEMENTS", 1)
    a = rng.standard_normal((37, 11)).astype(dtype)
    b = rng.standard_normal((37, 11)).astype(dtype)
    a.flat[:5] = [np.inf, -np.inf, np.nan, -0.0, np.finfo(dtype).tiny / 4]
    b.flat[:5] = [-np.inf, 1.0, 2.0, 0.0, np.finfo(dtype).tiny / 8]
    with np.errstate(invalid="ignore"):  # inf + -inf: NaN, as intended
        want = a + b

    def run():
        x, y = gn.tensor(a, requires_grad=True), gn.tensor(b, requires_grad=True)
        out = x + y
        out.sum().backward()
        return [out.numpy(), x.grad.numpy(), y.grad.numpy()]

    got, gx, gy = check_thread_counts(run, (1, 2, 3), block_counts, "add")
    assert got.tobytes() == want.tobytes()
    assert (gx == 1).all() and (gy == 1).all()
