"""The exact GELU runs block by block (cache-sized); the blocks must not change any bit."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.ops import activation


def _gelu_fwd_bwd(x, g):
    t = gn.tensor(x, requires_grad=True)
    y = gn.ops.gelu(t)
    y.backward(gn.tensor(g))
    return y.numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_blocks_bit_identical_to_one_block(monkeypatch, dtype):
    rng = np.random.default_rng(0)
    n = 3 * activation._BLOCK + 123  # several blocks and a short last one
    x = (rng.standard_normal((n // 3, 3)) * 3).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    y_blocks, gx_blocks = _gelu_fwd_bwd(x, g)
    monkeypatch.setattr(activation, "_BLOCK", 10 * n)
    y_one, gx_one = _gelu_fwd_bwd(x, g)
    assert y_blocks.dtype == dtype and y_blocks.shape == x.shape
    np.testing.assert_array_equal(y_blocks, y_one)
    np.testing.assert_array_equal(gx_blocks, gx_one)
    # and against the formula with the standard library's erf
    ref = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.reshape(-1)[:500]])
    np.testing.assert_allclose(y_blocks.reshape(-1)[:500], ref, rtol=2e-6, atol=1e-7)


def test_erf_matches_math_erf_and_is_odd():
    x = np.concatenate([np.linspace(-6, 6, 2001), [0.0, -0.0, np.inf, -np.inf, 1e-8, -1e-8]])
    got = activation._erf(np, x)
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1.3e-7)
    np.testing.assert_array_equal(activation._erf(np, -x), -got)
    assert np.isnan(activation._erf(np, np.array([np.nan]))[0])
