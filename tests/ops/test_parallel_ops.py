"""Ops split over CPU threads (backend.parallel) give bit-identical forward and backward
results for 1, 2, 3 and 4 threads, on shapes that split unevenly, and still pass gradchecks
when forced to split; dropout keeps the random numbers of one generator draw."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import jit, parallel
from glassnet.testing import GradCase, check_thread_counts, run_case

pytestmark = pytest.mark.skipif(
    gn.backend.get_default_device().type != "cpu",
    reason="thread splitting is a CPU feature (on a device every op runs inline); "
    "tests/backend/test_parallel.py checks that inline path",
)

THREADS = (1, 2, 3, 4)


@pytest.fixture
def split_counts(split_small, block_counts):
    """Every block worth a thread (tiny arrays split), and the block counts seen."""
    return block_counts


def _run(fn, arrays, seed=0):
    """Forward and the gradients of every input for the upstream gradient ``seed``."""
    gn.manual_seed(seed)
    ts = [gn.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(out.dtype)
    out.backward(gn.tensor(g))
    return [out.numpy()] + [t.grad.numpy() for t in ts if t.requires_grad]


rng = np.random.default_rng(0)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _numpy_path(fn, *args, **kwargs):
    """fn's forward (and so its backward) on the NumPy path, with the fused kernels off."""
    previous = jit.set_enabled(False)
    try:
        return fn(*args, **kwargs)
    finally:
        jit.set_enabled(previous)


CAUSAL = np.tril(np.ones((70, 70), dtype=bool))
BIAS = np.where(CAUSAL, 0.0, -np.inf).astype(np.float32)

CASES = {
    "gelu": (lambda x: F.gelu(x), [f32(3, 7, 1001, scale=3.0)]),
    "layer_norm": (lambda x: F.layer_norm(x, 16), [f32(5, 7, 16)]),
    "layer_norm-affine-2axes": (
        lambda x, w, b: F.layer_norm(x, (4, 6), w, b),
        [f32(3, 5, 4, 6, scale=2.0), f32(4, 6), f32(4, 6)],
    ),
    "softmax": (lambda x: F.softmax(x, dim=-1), [f32(7, 5, 13)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), [f32(7, 5, 13)]),
    "cross_entropy": (
        lambda x: F.cross_entropy(x, gn.tensor(rng.integers(0, 11, 37))),
        [f32(37, 11)],
    ),
    "cross_entropy-3d": (
        lambda x: F.cross_entropy(x, gn.tensor(rng.integers(0, 4, (9, 3)))),
        [f32(9, 4, 3)],
    ),
    "attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        [f32(5, 3, 9, 4), f32(5, 3, 11, 4), f32(5, 3, 11, 2)],
    ),
    "attention-causal": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [f32(5, 2, 70, 4), f32(5, 2, 70, 4), f32(5, 2, 70, 3)],
    ),
    "attention-float-mask-grad": (
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [f32(3, 2, 70, 4), f32(3, 2, 70, 4), f32(3, 2, 70, 3), BIAS + f32(3, 2, 70, 70)],
    ),
    "attention-causal-numpy-path": (
        lambda q, k, v: _numpy_path(F.scaled_dot_product_attention, q, k, v, is_causal=True),
        [f32(5, 2, 70, 4), f32(5, 2, 70, 4), f32(5, 2, 70, 3)],
    ),
    "attention-dropout": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3),
        [f32(5, 2, 6, 4), f32(5, 2, 7, 4), f32(5, 2, 7, 3)],
    ),
    "dropout": (lambda x: F.dropout(x, 0.3), [f32(13, 1001)]),
    "embedding": (
        lambda w: F.embedding(gn.tensor(rng.integers(0, 37, (20, 30))), w),
        [f32(37, 9)],
    ),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [f32(5, 4, 3), f32(4), f32(4)]),
    "batch_norm": (  # training: batch statistics per channel, channels split
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [f32(6, 7, 5, 3, scale=2.0), f32(7), f32(7)],
    ),
    "batch_norm-1d-sequence": (  # (N, C, L); plain (N, C) is not split
        lambda x: F.batch_norm(x, None, None, training=True),
        [f32(19, 5, 3)],
    ),
    "batch_norm-3d": (
        lambda x: F.batch_norm(x, None, None, training=True),
        [f32(3, 9, 2, 3, 4, scale=3.0)],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bit_identical_for_any_thread_count(name, split_counts):
    fn, arrays = CASES[name]
    state = rng.bit_generator.state  # the same index draws inside fn for every count

    def run():
        rng.bit_generator.state = state
        return _run(fn, arrays)

    check_thread_counts(run, THREADS, split_counts, name)


def test_dropout_mask_is_the_one_draw_of_the_generator(split_counts):
    """The random numbers are glassnet's generator's, drawn in one call: dropout(x) equals
    x * (u >= p) / (1 - p) with u = default_rng(seed).random(shape, float32), as before the
    split (manual_seed(s) seeds the host generator as numpy.random.default_rng(s))."""
    x = f32(13, 1001)
    u = np.random.default_rng(5).random(x.shape, dtype=np.float32)
    want = x * ((u >= 0.3) * np.float32(1 / 0.7))
    for n in THREADS:
        gn.manual_seed(5)
        with parallel.threads(n):
            got = F.dropout(gn.tensor(x), 0.3).numpy()
        np.testing.assert_array_equal(got, want)


def test_gelu_matches_the_formula_when_split(split_counts):
    """A check against an independent formula, not only against itself: y = x Phi(x),
    Phi from math.erf in float64 (the float32 path's erf fit is within 1.2e-7)."""
    import math

    x = f32(5, 3001, scale=3.0)
    with parallel.threads(3):
        y = F.gelu(gn.tensor(x)).numpy()
    assert max(split_counts) > 1
    x64 = x.astype(np.float64)
    phi = 0.5 * (1 + np.vectorize(math.erf)(x64 / math.sqrt(2)))
    np.testing.assert_allclose(y, x64 * phi, rtol=2e-6, atol=2e-6)


def r64(*shape, scale=1.0):
    return rng.standard_normal(shape) * scale


GRAD_CASES = [
    GradCase("gelu", lambda x: F.gelu(x), [r64(3, 1400)], "split"),
    GradCase("layer_norm", lambda x, w, b: F.layer_norm(x, 5, w, b), [r64(7, 5), r64(5), r64(5)]),
    GradCase("softmax", lambda x: F.softmax(x, -1), [r64(6, 5)]),
    GradCase("log_softmax", lambda x: F.log_softmax(x, -1), [r64(6, 5)]),
    GradCase(
        "cross_entropy",
        lambda x: F.cross_entropy(x, gn.tensor(np.array([0, 2, 1, 2, 0]))),
        [r64(5, 3)],
    ),
    GradCase(
        "scaled_dot_product_attention",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [r64(3, 2, 64, 2), r64(3, 2, 64, 2), r64(3, 2, 64, 2)],
        "causal-split",
        gradgrad=False,  # 3 x 768 inputs: first derivatives only (the graph path is unsplit)
    ),
    GradCase(
        "scaled_dot_product_attention",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        [r64(3, 2, 3, 4), r64(3, 2, 5, 4), r64(3, 2, 5, 2)],
        "split",
    ),
    GradCase("group_norm", lambda x: F.group_norm(x, 2), [r64(3, 4, 2)]),
    GradCase(
        "batch_norm",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [r64(4, 3, 2), r64(3), r64(3)],
    ),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_gradcheck_when_split(case, split_counts):
    with parallel.threads(3):
        run_case(case)
    assert split_counts and max(split_counts) > 1
