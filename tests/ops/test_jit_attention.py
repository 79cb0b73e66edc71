"""The fused attention kernel (glassnet[jit], backend/_jit_attention.py) of
scaled_dot_product_attention: taken when Numba is present, equal to a float64 NumPy reference
written here from the textbook formulas (forward and all three gradients) and to the NumPy
path, gradchecked in float64 through the kernel, bit-identical for 1, 2 and 3 threads, and
skipped (the NumPy path) where it does not apply."""

import math

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.backend import jit, parallel
from glassnet.ops import _fused
from glassnet.testing import check_grad, check_grad_grad

pytest.importorskip("numba")
pytestmark = pytest.mark.usefixtures("host_device")  # tests/ops/conftest.py


@pytest.fixture
def taken(monkeypatch):
    """Turns the kernels on and records, per forward call, whether the kernel path ran (and
    the causal flag it chose); backward calls are counted."""
    previous = jit.set_enabled(True)
    seen = {"forward": [], "backward": 0}
    forward, backward = _fused.attention, _fused.attention_backward

    def counting_forward(*args):
        res = forward(*args)
        seen["forward"].append(None if res is None else res[1][4])
        return res

    def counting_backward(*args):
        seen["backward"] += 1
        return backward(*args)

    monkeypatch.setattr(_fused, "attention", counting_forward)
    monkeypatch.setattr(_fused, "attention_backward", counting_backward)
    yield seen
    jit.set_enabled(previous)


def _reference(q, k, v, g, allowed, bias, scale):
    """out, dq, dk, dv in float64: P = softmax(q k^T scale + bias) over allowed keys (a row
    with none: zeros), out = P v; dv = P^T g, dP = g v^T, dS = P (dP - rowsum(dP P)),
    dq = dS k scale, dk = dS^T q scale."""
    q, k, v, g = (a.astype(np.float64) for a in (q, k, v, g))
    s = q @ np.swapaxes(k, -1, -2) * scale + bias
    allowed = np.broadcast_to(allowed & np.isfinite(bias), s.shape)
    s = np.where(allowed, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(s - np.where(np.isfinite(m), m, 0)), 0)
    total = e.sum(axis=-1, keepdims=True)
    p = e / np.where(total > 0, total, 1)
    dp = g @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return p @ v, ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, np.swapaxes(p, -1, -2) @ g


def _run(q, k, v, g, **kwargs):
    ts = [gn.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, **kwargs)
    out.backward(gn.tensor(g))
    return [out.numpy()] + [t.grad.numpy() for t in ts]


rng = np.random.default_rng(17)


def _case(name, batch, length, source, d, dv):
    """Inputs and the mask in three spellings: op kwargs, bool allowed, additive bias."""
    allowed, bias, kwargs = np.ones((length, source), bool), np.zeros((length, source)), {}
    if name == "causal":
        allowed = np.tril(allowed)
        kwargs = {"is_causal": True}
    elif name == "causal-float":  # the mask nn.Transformer passes (square L = S only)
        bias = np.triu(np.full((length, source), -np.inf), 1)
        kwargs = {"attn_mask": gn.tensor(bias.astype(np.float32))}
    elif name == "bool":
        allowed = rng.random((length, source)) > 0.35
        allowed[length // 2] = False  # a query with no allowed key
        kwargs = {"attn_mask": gn.tensor(allowed)}
    elif name == "float":
        bias = rng.standard_normal((length, source))
        bias[rng.random((length, source)) < 0.2] = -np.inf
        bias[-1] = -np.inf  # a query with no allowed key
        kwargs = {"attn_mask": gn.tensor(bias.astype(np.float32))}
    arrays = [
        rng.standard_normal((*batch, n, e)).astype(np.float32)
        for n, e in ((length, d), (source, d), (source, dv), (length, dv))
    ]
    return arrays, allowed, bias, kwargs


SHAPES = [
    ((2, 3), 9, 9, 5, 5),
    ((2,), 1, 1, 1, 1),  # L = S = D = 1
    ((3,), 13, 13, 1, 4),  # D = 1, S not a multiple of 8
    ((2, 2), 7, 13, 3, 6),  # L < S
    ((2, 2), 13, 7, 6, 3),  # L > S
    ((), 33, 33, 8, 8),  # no batch axes
    ((2, 4), 64, 64, 32, 32),  # W3's head size
]
MASKS = ["none", "causal", "causal-float", "bool", "float"]


# nn.Transformer's float causal mask is square: that mask only with L = S
CASES = [
    pytest.param(m, s, id=f"{'x'.join(map(str, [*s[0], *s[1:]]))}-{m}")
    for s in SHAPES
    for m in MASKS
    if m != "causal-float" or s[1] == s[2]
]


@pytest.mark.parametrize(("mask", "shape"), CASES)
def test_forward_and_gradients_match_float64_reference(taken, mask, shape):
    batch, length, source, d, dv = shape
    (q, k, v, g), allowed, bias, kwargs = _case(mask, batch, length, source, d, dv)
    got = _run(q, k, v, g, **kwargs)
    assert len(taken["forward"]) == 1 and taken["forward"][0] is not None
    if mask in ("none", "causal", "causal-float"):  # the causal flag skips j > i
        assert taken["forward"][0] == (mask != "none")
    assert taken["backward"] == 1
    want = _reference(q, k, v, g, allowed, bias, 1 / math.sqrt(d))
    for name, a, b in zip(("out", "dq", "dk", "dv"), got, want):
        assert a.dtype == np.float32 and a.shape == b.shape, name
        assert np.all(np.isfinite(a)), name  # fully masked rows: zeros, never NaN
        tol = 3e-6 * max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=tol, err_msg=name)
    if mask in ("bool", "float"):
        row = length // 2 if mask == "bool" else -1
        assert np.all(got[0][..., row, :] == 0) and np.all(got[1][..., row, :] == 0)


@pytest.mark.parametrize("mask", MASKS[:2] + ["bool"])
def test_kernel_agrees_with_the_numpy_path(taken, mask):
    (q, k, v, g), _, _, kwargs = _case(mask, (2, 3), 70, 70, 8, 8)
    got = _run(q, k, v, g, **kwargs)
    jit.set_enabled(False)
    ref = _run(q, k, v, g, **kwargs)
    assert len(taken["forward"]) == 2 and taken["forward"][1] is None  # the second: NumPy
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mask", MASKS)
def test_gradcheck_float64_through_the_kernel(taken, mask):
    (q, k, v, _), _, _, kwargs = _case(mask, (2, 1), 6, 6, 3, 2)
    if "attn_mask" in kwargs:  # float64 inputs: a float mask of their dtype
        m = kwargs["attn_mask"].numpy()
        kwargs = {"attn_mask": gn.tensor(m.astype(np.float64) if m.dtype.kind == "f" else m)}
    check_grad(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
        [a.astype(np.float64) for a in (q, k, v)], name=f"attention-{mask}",
    )  # fmt: skip
    assert taken["forward"] and all(t is not None for t in taken["forward"])
    assert taken["backward"] > 0


def test_second_derivatives_after_a_kernel_forward(taken):
    """create_graph recomputes P from differentiable ops (the kernel saved no P)."""
    q, k, v = (rng.standard_normal((1, 2, 4, 3)) for _ in range(3))
    check_grad_grad(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v]
    )
    assert taken["forward"] and taken["forward"][0] is True


@pytest.mark.parametrize("mask", ["none", "causal", "float"])
@pytest.mark.parametrize("sizes", [(37, 37, 7, 5), (36, 40, 16, 32)], ids=["odd", "whole-tiles"])
def test_bit_identical_for_1_2_3_threads(taken, split_small, block_counts, mask, sizes):
    blocks = block_counts
    (q, k, v, g), _, _, kwargs = _case(mask, (5, 3), *sizes)  # 15 pairs: uneven blocks
    results = {}
    for n in (1, 2, 3):
        blocks.clear()
        with parallel.threads(n):
            results[n] = _run(q, k, v, g, **kwargs)
        assert (max(blocks, default=1) > 1) == (n > 1)
    for n in (2, 3):
        for a, b in zip(results[n], results[1]):
            np.testing.assert_array_equal(a, b)
    assert all(t is not None for t in taken["forward"])


def test_transformer_causal_float_mask_is_detected(taken):
    """W3's layer: nn.TransformerEncoderLayer with the float -inf mask takes the causal path."""
    gn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(10)
    x = gn.tensor(rng.standard_normal((3, 10, 16)).astype(np.float32), requires_grad=True)
    layer(x, src_mask=mask, is_causal=True).sum().backward()
    assert taken["forward"] == [True] and taken["backward"] == 1


def test_cases_that_keep_the_numpy_path(taken):
    q, k, v = (gn.tensor(rng.standard_normal((2, 2, 5, 3)).astype(np.float32)) for _ in range(3))
    F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)  # dropout
    per_batch = gn.tensor(rng.random((2, 1, 5, 5)) > 0.3)  # a mask that varies over batch
    F.scaled_dot_product_attention(q, k, v, attn_mask=per_batch)
    learned = gn.tensor(rng.standard_normal((5, 5)).astype(np.float32), requires_grad=True)
    F.scaled_dot_product_attention(q, k, v, attn_mask=learned).sum().backward()  # dL/dmask
    F.scaled_dot_product_attention(q, k[:1], v[:1])  # batch axes broadcast
    F.scaled_dot_product_attention(q.astype(np.float16), k.astype(np.float16), v.astype(np.float16))
    # dropout and a mask that needs a gradient do not ask for the kernel; the others get None
    assert taken["forward"] == [None] * 3
    assert learned.grad is not None and taken["backward"] == 0
    jit.set_enabled(False)
    F.scaled_dot_product_attention(q, k, v)
    assert taken["forward"][-1] is None  # turned off: None, whatever is installed


def test_float_masks_that_add_nothing_or_something():
    """mask_pattern classifies a 2-d additive mask (causal / adds nothing) without the op."""
    from glassnet.backend import _jit_attention

    causal = np.triu(np.full((4, 6), -np.inf), 1)
    assert _jit_attention.mask_pattern(causal) == (True, True, False)
    assert _jit_attention.mask_pattern(np.zeros((3, 3))) == (False, True, True)
    causal[2, 1] = 0.5
    assert _jit_attention.mask_pattern(causal) == (True, False, False)
    assert _jit_attention.mask_pattern(np.full((1, 1), -np.inf)) == (True, False, True)


def test_head_split_views_are_read_in_place(taken):
    """q, k, v as MultiheadAttention makes them (head-split views of one (N, L, 3E)
    projection): the kernel reads them in place, gives the bits it gives on contiguous copies,
    and lays out out, dq, dk, dv in q's memory order (their (N, L, E) reshape is free)."""
    qkv = rng.standard_normal((3, 10, 3 * 2 * 4)).astype(np.float32)
    g = rng.standard_normal((3, 2, 10, 4)).astype(np.float32)
    views = [
        qkv[..., i * 8 : (i + 1) * 8].reshape(3, 10, 2, 4).transpose(0, 2, 1, 3) for i in range(3)
    ]
    assert not views[0].flags.c_contiguous
    strided = _run(*views, g, is_causal=True)
    contiguous = _run(*(np.ascontiguousarray(a) for a in views), g, is_causal=True)
    for a, b in zip(strided, contiguous):
        np.testing.assert_array_equal(a, b)
    out, state = _fused.attention(*views, None, np.tril(np.ones((10, 10), bool)), 0.5)
    grads = _fused.attention_backward(*views, g, state, 0.5)
    for a in (out, *grads):
        assert a.transpose(0, 2, 1, 3).flags.c_contiguous


def test_subnormals_flushed_inside_the_kernel_only(taken):
    """The kernels run with FTZ/DAZ (backend/_jit_vec.py) and give the thread's floating-point
    mode back: after them a subnormal product is still subnormal in NumPy."""
    q, k, v, g = (rng.standard_normal((2, 2, 6, 4)).astype(np.float32) for _ in range(4))
    _run(q, k, v, g, is_causal=True)
    assert taken["forward"] == [True] and taken["backward"] == 1
    tiny = np.float32(1e-38) * np.float32(0.01)  # 1e-40: subnormal, not flushed to 0
    assert tiny != 0 and np.isclose(tiny, 1e-40, rtol=1e-3, atol=0)


def test_rows_of_one_feature_in_any_order(taken):
    """D = 1 with q's axes in an unusual memory order (the kernel entry point takes views as
    they come): out (Dv = 16, whole tiles) still gets rows of unit stride, and equals the
    result on a contiguous q."""
    base = rng.standard_normal((1, 8, 2, 4)).astype(np.float32)
    q = base.transpose(3, 2, 1, 0)  # (4, 2, 8, 1), its last axis not the innermost
    k = rng.standard_normal((4, 2, 8, 1)).astype(np.float32)
    v = rng.standard_normal((4, 2, 8, 16)).astype(np.float32)
    mask = np.tril(np.ones((8, 8), bool))
    out, _ = _fused.attention(q, k, v, None, mask, 1.0)
    want, _ = _fused.attention(np.ascontiguousarray(q), k, v, None, mask, 1.0)
    assert out.strides[-1] == out.itemsize
    np.testing.assert_array_equal(out, want)
