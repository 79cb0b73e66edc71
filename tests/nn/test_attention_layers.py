"""MultiheadAttention: PyTorch names/init, forward against a NumPy reference (masks, causal,
kdim/vdim, layouts), float64 gradchecks of inputs and every parameter, and errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing import check_grad

rng = np.random.default_rng(0)


# -- an independent NumPy reference -------------------------------------------------------------
def ref_softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_mha(query, key, value, p, num_heads, mask=None):
    """Batch-first (N, L, E) reference; ``mask`` is additive, broadcastable to (N, h, L, S).
    Returns the output (N, L, E) and per-head weights (N, h, L, S)."""
    E = query.shape[-1]
    if "in_proj_weight" in p:
        wq, wk, wv = np.split(p["in_proj_weight"], 3)
    else:
        wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    bq, bk, bv = np.split(p.get("in_proj_bias", np.zeros(3 * E)), 3)
    Q, K, V = query @ wq.T + bq, key @ wk.T + bk, value @ wv.T + bv
    N, L, S, d = query.shape[0], query.shape[1], key.shape[1], E // num_heads
    heads, weights = [], []
    for j in range(num_heads):
        cols = slice(j * d, (j + 1) * d)
        scores = np.einsum("nld,nsd->nls", Q[..., cols], K[..., cols]) / np.sqrt(d)
        if mask is not None:
            scores = scores + np.broadcast_to(mask, (N, num_heads, L, S))[:, j]
        a = ref_softmax(scores)
        weights.append(a)
        heads.append(a @ V[..., cols])
    out = np.concatenate(heads, axis=-1) @ p["out_proj.weight"].T
    out = out + p.get("out_proj.bias", 0.0)
    return out, np.stack(weights, axis=1)


def params64(m):
    return {k: v.numpy().astype(np.float64) for k, v in m.state_dict().items()}


def neg_inf_where(mask_bool):
    return np.where(mask_bool, -np.inf, 0.0)


# -- names, shapes, init ------------------------------------------------------------------------
def test_state_dict_keys_match_pytorch():
    # PyTorch: nn.MultiheadAttention(8, 2).state_dict().keys() and the kdim/vdim variant
    assert list(nn.MultiheadAttention(8, 2).state_dict()) == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias",
    ]  # fmt: skip
    m = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert list(m.state_dict()) == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
        "out_proj.weight", "out_proj.bias",
    ]  # fmt: skip
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    assert shapes["k_proj_weight"] == (8, 3) and shapes["v_proj_weight"] == (8, 5)
    assert list(nn.MultiheadAttention(8, 2, bias=False).state_dict()) == [
        "in_proj_weight", "out_proj.weight",
    ]  # fmt: skip


def test_init_is_xavier_uniform_with_zero_biases():
    gn.manual_seed(0)
    m = nn.MultiheadAttention(64, 4)
    w = m.in_proj_weight.numpy()
    assert w.shape == (192, 64)
    bound = np.sqrt(6.0 / (64 + 192))  # fan_in = E, fan_out = 3E
    assert np.abs(w).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / np.sqrt(64)


# -- forward numerics ---------------------------------------------------------------------------
N, L, S, E, H = 2, 4, 5, 6, 3


def make(**kw):
    kw.setdefault("batch_first", True)
    m = nn.MultiheadAttention(E, H, **kw).to(dtype="float64")
    with gn.no_grad():  # nonzero biases, so a wrong bias slice would show
        for p in m.parameters():
            p.copy_(rng.standard_normal(p.shape) * 0.5)
    return m


def test_self_attention_matches_reference():
    m = make()
    x = rng.standard_normal((N, L, E))
    out, w = m(gn.tensor(x), gn.tensor(x), gn.tensor(x))
    ref_out, ref_w = ref_mha(x, x, x, params64(m), H)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w.mean(axis=1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy().sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_cross_attention_with_key_padding_and_bool_attn_mask(need_weights):
    m = make()
    q, k, v = (rng.standard_normal((N, n, E)) for n in (L, S, S))
    pad = np.zeros((N, S), dtype=bool)
    pad[0, 3:] = True  # the first sequence has 3 real keys
    attn = rng.random((L, S)) < 0.3
    attn[:, 0] = False  # every query keeps at least one key
    out, w = m(gn.tensor(q), gn.tensor(k), gn.tensor(v), key_padding_mask=gn.tensor(pad),
               attn_mask=gn.tensor(attn), average_attn_weights=False,
               need_weights=need_weights)  # fmt: skip
    mask = neg_inf_where(pad)[:, None, None, :] + neg_inf_where(attn)
    ref_out, ref_w = ref_mha(q, k, v, params64(m), H, mask)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
    if not need_weights:
        assert w is None
        return
    assert w.shape == (N, H, L, S)
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-10, atol=1e-12)
    assert not w.numpy()[0, :, :, 3:].any()  # padded keys get exactly zero weight
    assert not w.numpy()[:, :, attn].any()


@pytest.mark.parametrize("need_weights", [True, False])
def test_per_head_float_attn_mask_and_bool_padding_mask(need_weights):
    m = make()
    q, k = rng.standard_normal((N, L, E)), rng.standard_normal((N, S, E))
    attn = rng.standard_normal((N * H, L, S))  # PyTorch's (N*num_heads, L, S) layout
    pad = np.zeros((N, S), dtype=bool)
    pad[1, 0] = True
    out, _ = m(gn.tensor(q), gn.tensor(k), gn.tensor(k), attn_mask=gn.tensor(attn),
               key_padding_mask=gn.tensor(pad), need_weights=need_weights)  # fmt: skip
    mask = attn.reshape(N, H, L, S) + neg_inf_where(pad)[:, None, None, :]
    ref_out, _ = ref_mha(q, k, k, params64(m), H, mask)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)


def test_float_padding_mask_is_added():
    m = make()
    q, k = rng.standard_normal((N, L, E)), rng.standard_normal((N, S, E))
    pad = rng.standard_normal((N, S))
    out, _ = m(gn.tensor(q), gn.tensor(k), gn.tensor(k), key_padding_mask=gn.tensor(pad))
    ref_out, _ = ref_mha(q, k, k, params64(m), H, pad[:, None, None, :])
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_query_gives_zeros_not_nan(need_weights):
    m = make()
    x = rng.standard_normal((1, 3, E))
    attn = np.zeros((3, 3), dtype=bool)
    attn[1] = True  # query 1 may look at nothing
    out, w = m(gn.tensor(x), gn.tensor(x), gn.tensor(x), attn_mask=gn.tensor(attn),
               need_weights=need_weights)  # fmt: skip
    assert np.isfinite(out.numpy()).all()
    # zero attention output: only out_proj's bias remains
    np.testing.assert_allclose(out.numpy()[0, 1], m.out_proj.bias.numpy(), atol=1e-12)
    if need_weights:
        assert not w.numpy()[0, 1].any()


def test_is_causal_masks_the_future():
    m = make()
    x = rng.standard_normal((N, L, E))
    out, w = m(gn.tensor(x), gn.tensor(x), gn.tensor(x), is_causal=True)
    causal = neg_inf_where(np.triu(np.ones((L, L), dtype=bool), k=1))
    ref_out, ref_w = ref_mha(x, x, x, params64(m), H, causal)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
    assert not np.triu(w.numpy(), k=1).any()
    # the first position only sees itself: changing later positions leaves it unchanged
    x2 = x.copy()
    x2[:, 1:] += 1.0
    out2, _ = m(gn.tensor(x2), gn.tensor(x2), gn.tensor(x2), is_causal=True)
    np.testing.assert_allclose(out2.numpy()[:, 0], out.numpy()[:, 0], rtol=1e-12)


def test_kdim_vdim_sequence_first_and_need_weights_false():
    m = nn.MultiheadAttention(E, H, kdim=4, vdim=7, batch_first=False).to(dtype="float64")
    q = rng.standard_normal((L, N, E))
    k, v = rng.standard_normal((S, N, 4)), rng.standard_normal((S, N, 7))
    out, w = m(gn.tensor(q), gn.tensor(k), gn.tensor(v), need_weights=False)
    assert w is None and out.shape == (L, N, E)
    ref_out, _ = ref_mha(*(a.transpose(1, 0, 2) for a in (q, k, v)), params64(m), H)
    np.testing.assert_allclose(out.numpy(), ref_out.transpose(1, 0, 2), rtol=1e-10, atol=1e-12)


def test_unbatched_input():
    m = make()
    q, k = rng.standard_normal((L, E)), rng.standard_normal((S, E))
    pad = np.array([False, False, True, False, True])
    out, w = m(gn.tensor(q), gn.tensor(k), gn.tensor(k), key_padding_mask=gn.tensor(pad))
    ref_out, ref_w = ref_mha(q[None], k[None], k[None], params64(m), H, neg_inf_where(pad))
    assert out.shape == (L, E) and w.shape == (L, S)
    np.testing.assert_allclose(out.numpy(), ref_out[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w[0].mean(axis=0), rtol=1e-10, atol=1e-12)


def test_fast_self_attention_path_equals_general_path():
    m = make()
    x = gn.tensor(rng.standard_normal((N, L, E)))
    fast, _ = m(x, x, x)
    general, _ = m(x, x.clone(), x.clone())
    np.testing.assert_allclose(fast.numpy(), general.numpy(), rtol=1e-12)


def test_attention_dropout_only_in_training():
    gn.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = gn.randn(2, 6, 8)
    _, w = m(x, x, x, average_attn_weights=False)
    assert (w.numpy() == 0).mean() > 0.3  # about half of the weights dropped
    m.eval()
    _, w = m(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w.numpy().sum(axis=-1), 1.0, rtol=1e-5)


# -- gradients ----------------------------------------------------------------------------------
def functional(module, names):
    """fn(q, k, v, *params) running ``module`` with check_grad's tensors as its parameters."""

    def fn(q, k, v, *params, **kw):
        for name, p in zip(names, params):
            owner = module
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            owner._parameters[leaf] = p
        out, w = module(q, k, v, **kw)
        return gn.concat([out.flatten(), w.flatten()]) if w is not None else out

    return fn


@pytest.mark.parametrize(
    "kdim, masks, need_weights",
    [(None, False, True), (None, True, True), (None, True, False), (4, True, True)],
    ids=["self-dims", "masked", "masked-fused", "kdim-vdim"],
)
def test_gradcheck_inputs_and_every_parameter(kdim, masks, need_weights):
    m = nn.MultiheadAttention(4, 2, kdim=kdim, vdim=kdim, batch_first=True).to(dtype="float64")
    names = list(m.state_dict())
    params = [p.numpy().copy() for p in m.state_dict().values()]
    params = [p + rng.standard_normal(p.shape) * 0.3 for p in params]  # nonzero biases
    kd = kdim or 4
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, kd)), None
    v = rng.standard_normal((2, 4, kd))
    kw = {"need_weights": need_weights}
    if masks:
        kw |= {
            "key_padding_mask": gn.tensor(np.array([[False] * 3 + [True], [False] * 4])),
            "attn_mask": gn.tensor(np.array([[False, True, False, False]] * 3)),
            "average_attn_weights": False,
        }
    check_grad(functional(m, names), [q, k, v, *params], params=kw, name="MultiheadAttention")


def test_gradcheck_self_attention_fast_path():
    m = nn.MultiheadAttention(4, 2, batch_first=True).to(dtype="float64")
    names = list(m.state_dict())
    params = [p.numpy() + rng.standard_normal(p.shape) * 0.3 for p in m.state_dict().values()]
    fn = functional(m, names)

    def self_attn(x, *ps):
        return fn(x, x, x, *ps, is_causal=True)

    check_grad(self_attn, [rng.standard_normal((2, 3, 4)), *params], name="self-attention")


# -- errors -------------------------------------------------------------------------------------
def test_embed_dim_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=3"):
        nn.MultiheadAttention(10, 3)


def test_mask_shape_mismatch():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x, mem = gn.randn(2, 4, 8), gn.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(2, 4\); expected \(2, 5\)"):
        m(x, mem, mem, key_padding_mask=gn.zeros(2, 4, dtype="bool"))
    with pytest.raises(ValueError, match=r"attn_mask has shape \(5, 4\); expected \(4, 5\) or "):
        m(x, mem, mem, attn_mask=gn.zeros(5, 4, dtype="bool"))
    with pytest.raises(TypeError, match="bool .* or float"):
        m(x, mem, mem, attn_mask=gn.zeros(4, 5, dtype="int64"))


def test_wrong_feature_size_and_rank():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    with pytest.raises(ValueError, match=r"embed_dim=8\) got query of shape \(2, 4, 6\)"):
        m(gn.randn(2, 4, 6), gn.randn(2, 4, 8), gn.randn(2, 4, 8))
    with pytest.raises(ValueError, match=r"kdim=8\) got key .* pass kdim="):
        m(gn.randn(2, 4, 8), gn.randn(2, 4, 3), gn.randn(2, 4, 8))
    with pytest.raises(ValueError, match="all 3-D"):
        m(gn.randn(2, 4, 8, 1), gn.randn(2, 4, 8), gn.randn(2, 4, 8))
    with pytest.raises(ValueError, match="all 3-D"):
        m(gn.randn(4, 8), gn.randn(2, 4, 8), gn.randn(2, 4, 8))
    with pytest.raises(ValueError, match="same batch and sequence length"):
        m(gn.randn(2, 4, 8), gn.randn(2, 5, 8), gn.randn(2, 4, 8))
    with pytest.raises(ValueError, match="different batch sizes"):
        m(gn.randn(3, 4, 8), gn.randn(2, 5, 8), gn.randn(2, 5, 8))


def test_masks_may_be_numpy_arrays():
    m = make()
    x = rng.standard_normal((N, L, E))
    pad = np.zeros((N, L), dtype=bool)
    pad[0, -1] = True
    a, _ = m(gn.tensor(x), gn.tensor(x), gn.tensor(x), key_padding_mask=pad)
    b, _ = m(gn.tensor(x), gn.tensor(x), gn.tensor(x), key_padding_mask=gn.tensor(pad))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# -- add_bias_kv / add_zero_attn (PyTorch's extra keys) ----------------------------------------
def test_extra_keys_match_recorded_pytorch():
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, batch_first=True)
    names = [name for name, _ in m.named_parameters()]
    assert names == [
        "in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"
    ]  # fmt: skip
    for i, (_, p) in enumerate(m.named_parameters()):
        p.data = gn.tensor(
            0.5 * np.sin(np.arange(p.numel()) + i).reshape(p.shape), dtype=gn.float32
        )
    x = gn.tensor(
        np.cos(np.arange(24) * 0.7).reshape(2, 3, 4).astype(np.float32), requires_grad=True
    )
    padding = gn.tensor([[False, False, False], [False, True, True]])
    out, weights = m(x, x, x, key_padding_mask=padding)
    # recorded from torch 2.13.0: 3 keys + bias_k + the zero key; the padding masks only the
    # sequence's own keys, never the two added ones
    want_weights = [
        [[0.11075, 0.290022, 0.167262, 0.226746, 0.205219],
         [0.289682, 0.081199, 0.243284, 0.212508, 0.173327],
         [0.123379, 0.301203, 0.133575, 0.238827, 0.203016]],
        [[0.185067, 0.0, 0.0, 0.434255, 0.380678],
         [0.393565, 0.0, 0.0, 0.330955, 0.27548],
         [0.201627, 0.0, 0.0, 0.418925, 0.379448]],
    ]  # fmt: skip
    want_out = [
        [[-0.386312, -0.029075, 0.090715, 0.694891], [-0.344819, 0.150453, -0.185474, 0.87642],
         [-0.396953, -0.036192, 0.11066, 0.675935]],
        [[-0.405878, -0.045172, 0.131324, 0.657901], [-0.490963, 0.044152, 0.099636, 0.610001],
         [-0.390509, -0.070457, 0.14901, 0.660065]],
    ]  # fmt: skip
    want_grad = [
        [[0.051054, 0.042319, -0.005325, -0.048072], [0.101024, 0.091392, -0.002265, -0.09384],
         [-0.034976, 0.04831, 0.08718, 0.045897]],
        [[0.114077, 0.099456, -0.006605, -0.106593], [0.01844, -0.013539, -0.033071, -0.022197],
         [0.009231, -0.002535, -0.01197, -0.0104]],
    ]  # fmt: skip
    np.testing.assert_allclose(weights.numpy(), want_weights, atol=2e-6)
    np.testing.assert_allclose(out.numpy(), want_out, atol=2e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want_grad, atol=2e-6)
    fused, none = m(x, x, x, key_padding_mask=padding, need_weights=False)
    assert none is None
    np.testing.assert_allclose(fused.numpy(), want_out, atol=2e-6)


@pytest.mark.parametrize("bias_kv, zero_attn", [(True, False), (False, True), (True, True)])
def test_extra_keys_gradients_match_finite_differences(bias_kv, zero_attn):
    gn.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, add_bias_kv=bias_kv, add_zero_attn=zero_attn).double()
    mask = gn.tensor(np.triu(np.ones((3, 2), dtype=bool), 1))  # (L, S) bool attn_mask
    key = np.random.default_rng(0).standard_normal((2, 2, 4))

    def f(q):
        out, weights = m(q, gn.tensor(key), gn.tensor(key), attn_mask=mask)
        return (out * out).sum() + (weights * weights).sum()

    check_grad(f, [np.random.default_rng(1).standard_normal((3, 2, 4))])
