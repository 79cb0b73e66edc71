"""The causal two-block path of scaled_dot_product_attention (queries [0, h) see keys [0, h)
only): gradchecked, and equal to the one-block path and to a NumPy reference."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import jit
from glassnet.ops import attention
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(5)
L = 6  # with _MIN_SPLIT lowered to 4 below: h = 3


@pytest.fixture(autouse=True)
def small_split(monkeypatch):
    monkeypatch.setattr(attention, "_MIN_SPLIT", 4)
    previous = jit.set_enabled(False)  # the NumPy path (the fused kernel has its own tests)
    yield
    jit.set_enabled(previous)


def _causal_bias(n):
    return np.triu(np.full((n, n), -np.inf), 1)


def _reference(q, k, v, bias):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + bias
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def test_split_is_taken_only_for_a_causal_quarter():
    q = np.zeros((2, L, 4))
    causal = np.tril(np.ones((L, L), dtype=bool))
    assert attention._causal_half(np, q, q, None, causal, None) == 3
    assert attention._causal_half(np, q, q, _causal_bias(L), None, None) == 3
    full = np.ones((L, L), dtype=bool)
    assert attention._causal_half(np, q, q, None, full, None) is None
    assert attention._causal_half(np, q, q, None, causal, np.ones((L, L))) is None  # dropout
    assert attention._causal_half(np, q, q[:, :5], None, causal[:, :5], None) is None


@pytest.mark.parametrize("kind", ["is_causal", "float-mask", "bool-mask"])
def test_split_matches_one_block_and_numpy(monkeypatch, kind):
    q, k, v = (rng.standard_normal((2, 3, L, 4)).astype(np.float32) for _ in range(3))
    g = rng.standard_normal((2, 3, L, 4)).astype(np.float32)
    kw = {
        "is_causal": {"is_causal": True},
        "float-mask": {"attn_mask": gn.tensor(_causal_bias(L).astype(np.float32))},
        "bool-mask": {"attn_mask": gn.tensor(np.tril(np.ones((L, L), dtype=bool)))},
    }[kind]

    def run():
        ts = [gn.tensor(a, requires_grad=True) for a in (q, k, v)]
        F.scaled_dot_product_attention(*ts, **kw).backward(gn.tensor(g))
        out = F.scaled_dot_product_attention(*ts, **kw).numpy()
        return [out] + [t.grad.numpy() for t in ts]

    split = run()
    monkeypatch.setattr(attention, "_MIN_SPLIT", 10**9)
    one = run()
    for a, b in zip(split, one):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split[0], _reference(q, k, v, _causal_bias(L)), rtol=1e-5, atol=1e-6)


def _sdpa_bias(q, k, v, m):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=m)


BIAS = _causal_bias(L) + rng.standard_normal((L, L))  # finite below the diagonal: gets a grad
Q, K, V = (rng.standard_normal((2, L, 4)) for _ in range(3))
CASES = [
    GradCase(
        "scaled_dot_product_attention",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [Q, K, V],
        "split-causal",
    ),
    GradCase("scaled_dot_product_attention", _sdpa_bias, [Q, K, V, BIAS], "split-bias-grad"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_split_gradcheck(case):
    assert attention._causal_half(np, Q, K, BIAS, None, None) == 3
    run_case(case)
