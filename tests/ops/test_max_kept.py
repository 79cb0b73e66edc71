"""``ops._util.max_kept``: a row max over a short last axis across a transposed copy must give
exactly NumPy's ``max(axis, keepdims=True)``, for every shape, layout and special value."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.ops._util import NARROW_AXIS, max_kept


@pytest.mark.parametrize(
    "shape", [(64, 10), (3, 1), (5, 2), (7, NARROW_AXIS - 1), (7, NARROW_AXIS), (2, 3, 10)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_values_as_numpy(shape, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x.reshape(-1)[::7] = np.inf
    x.reshape(-1)[-1] = -np.inf
    got = max_kept(x, -1)
    want = x.max(axis=-1, keepdims=True)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(max_kept(x, x.ndim - 1), want)


def test_nan_rows_stay_nan_and_strided_input_is_read_right():
    x = np.arange(40, dtype=np.float32).reshape(4, 10)
    x[2, 5] = np.nan
    got = max_kept(x[:, ::2], 1)  # non-contiguous
    np.testing.assert_array_equal(got, x[:, ::2].max(axis=1, keepdims=True))
    assert np.isnan(got[2, 0]) == np.isnan(x[2, ::2]).any()
    y = x.T  # a transposed view: the short axis is not contiguous
    np.testing.assert_array_equal(max_kept(y, 1), y.max(axis=1, keepdims=True))


def test_other_axes_and_arrays_fall_back():
    x = np.random.default_rng(1).standard_normal((6, 10)).astype(np.float32)
    np.testing.assert_array_equal(max_kept(x, 0), x.max(axis=0, keepdims=True))
    np.testing.assert_array_equal(max_kept(x[0], 0), x[0].max(axis=0, keepdims=True))


def test_softmax_and_cross_entropy_on_ten_classes_match_the_float64_formula():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((256, 10)).astype(np.float32) * 5
    t = rng.integers(0, 10, 256)
    x64 = x.astype(np.float64)
    p = np.exp(x64 - x64.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(F.softmax(gn.tensor(x), dim=1).numpy(), p, rtol=1e-5, atol=1e-7)
    want = -np.log(p[np.arange(256), t]).mean()
    got = F.cross_entropy(gn.tensor(x), gn.tensor(t)).item()
    assert got == pytest.approx(want, rel=1e-5)
