"""Forward numerics of the loss, normalization and attention ops against NumPy references
written here (PyTorch's documented formulas), stability at extreme inputs, and bad inputs."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F

rng = np.random.default_rng(3)


def t64(a, grad=False):
    return gn.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# -- NumPy references ---------------------------------------------------------------------------
def ref_log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def ref_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch: (1 - eps) nll(w) + eps/C * sum_c w_c (-logp_c), both over the same denominator."""
    n_classes = x.shape[1]
    logp = np.moveaxis(ref_log_softmax(x), 1, -1).reshape(-1, n_classes)
    t = t.reshape(-1)
    w = np.ones(n_classes) if weight is None else weight
    losses, denom = [], 0.0
    for row, c in zip(logp, t):
        if c == ignore_index:
            losses.append(0.0)
            continue
        denom += w[c]
        losses.append((1 - eps) * -w[c] * row[c] + eps / n_classes * -(w * row).sum())
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(x.shape[:1] + x.shape[2:])
    return losses.sum() if reduction == "sum" else losses.sum() / denom


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_reference(reduction, eps, weighted):
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, -100, 1, 1, 2])
    w = rng.uniform(0.2, 3.0, 4) if weighted else None
    got = F.cross_entropy(t64(x), gn.tensor(t), w, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(got.numpy(), ref_cross_entropy(x, t, w, -100, reduction, eps))


def test_cross_entropy_spatial_and_custom_ignore_index():
    x = rng.standard_normal((2, 3, 4, 2))
    t = rng.integers(0, 3, (2, 4, 2))
    t[0, 1, 1] = 7
    w = np.array([0.5, 2.0, 1.0])
    got = F.cross_entropy(t64(x), gn.tensor(t), w, ignore_index=7, label_smoothing=0.2)
    np.testing.assert_allclose(got.item(), ref_cross_entropy(x, t, w, 7, "mean", 0.2))


def test_cross_entropy_probability_targets():
    x = rng.standard_normal((5, 3))
    y = rng.dirichlet(np.ones(3), 5)
    w = np.array([1.0, 0.5, 2.0])
    ys = 0.8 * y + 0.2 / 3
    per_sample = -(w * ys * ref_log_softmax(x)).sum(axis=1)
    got = F.cross_entropy(t64(x), t64(y), w, label_smoothing=0.2)
    np.testing.assert_allclose(got.item(), per_sample.mean())  # mean over N, not weight sum


def test_cross_entropy_large_logits_float32_no_overflow():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]], dtype=np.float32)
    xt = gn.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, gn.tensor([1, 0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(xt.grad.numpy()).all()
    np.testing.assert_allclose(xt.grad.numpy()[1], [-0.5, 0.5, 0.0], atol=1e-6)


def test_cross_entropy_all_ignored_is_nan_with_zero_grad():
    x = t64(rng.standard_normal((2, 3)), grad=True)
    loss = F.cross_entropy(x, gn.tensor([-100, -100]), label_smoothing=0.1)
    assert np.isnan(loss.item())  # 0 / 0, as PyTorch
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_cross_entropy_unbatched_equals_batched():
    x = rng.standard_normal(5)
    one = F.cross_entropy(t64(x), gn.tensor(np.array(3)))
    np.testing.assert_allclose(one.item(), -ref_log_softmax(x[None])[0, 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5, 300])
def test_cross_entropy_short_path_gives_the_general_paths_bits(host_device, monkeypatch, dtype, n):
    """Small unweighted batches take a short path (ops/loss.py, _small_forward); class weights
    of 1 take the general one: the loss, the gradient and the gradient of the gradient must
    agree bit for bit, and both match the float64 reference."""
    from glassnet.ops import loss

    calls = []
    small = loss.CrossEntropy._small_forward
    monkeypatch.setattr(
        loss.CrossEntropy, "_small_forward", lambda self, *a: calls.append(1) or small(self, *a)
    )
    x_np = (rng.standard_normal((n, 7)) * 4).astype(dtype)
    t = gn.tensor(rng.integers(0, 7, n))
    results = []
    for weight in (None, gn.ones(7, dtype=gn.float32 if dtype == np.float32 else gn.float64)):
        x = gn.tensor(x_np, requires_grad=True)
        out = F.cross_entropy(x, t, weight=weight)
        (g_eager,) = gn.autograd.grad(out, x, retain_graph=True)
        (g,) = gn.autograd.grad(out, x, create_graph=True)  # the graph path
        (gg,) = gn.autograd.grad((g * g).sum(), x)
        results.append((out.numpy(), g_eager.numpy(), g.numpy(), gg.numpy()))
    assert len(calls) == 1  # the unweighted call, not the weighted one
    for a, b in zip(*results):
        assert a.dtype == b.dtype == dtype and np.array_equal(a, b)
    ref = ref_cross_entropy(x_np.astype(np.float64), t.numpy())
    assert results[0][0] == pytest.approx(ref, rel=1e-5 if dtype == np.float32 else 1e-12)


def test_cross_entropy_short_path_skips_ignored_targets_like_the_general_path():
    x_np = rng.standard_normal((6, 4)).astype(np.float32)
    t = np.array([0, -100, 3, 1, -100, 2])
    x = gn.tensor(x_np, requires_grad=True)
    out = F.cross_entropy(x, gn.tensor(t))
    out.backward()
    assert out.item() == pytest.approx(ref_cross_entropy(x_np.astype(np.float64), t), rel=1e-5)
    assert np.all(x.grad.numpy()[[1, 4]] == 0)


def test_nll_loss_reference():
    logp = ref_log_softmax(rng.standard_normal((4, 3)))
    t = np.array([2, -100, 0, 2])
    w = np.array([1.0, 2.0, 0.5])
    expected = -(w[[2, 0, 2]] * logp[[0, 2, 3], [2, 0, 2]]).sum() / w[[2, 0, 2]].sum()
    np.testing.assert_allclose(F.nll_loss(t64(logp), gn.tensor(t), w).item(), expected)


def test_regression_losses_reference():
    x, y = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
    d, a = x - y, np.abs(x - y)
    np.testing.assert_allclose(F.mse_loss(t64(x), t64(y)).item(), (d**2).mean())
    np.testing.assert_allclose(F.l1_loss(t64(x), t64(y), reduction="sum").item(), a.sum())
    huber = np.where(a < 0.8, 0.5 * d**2, 0.8 * (a - 0.4))
    np.testing.assert_allclose(F.huber_loss(t64(x), t64(y), "none", 0.8).numpy(), huber)
    sl1 = np.where(a < 0.8, 0.5 * d**2 / 0.8, a - 0.4)
    got = F.smooth_l1_loss(t64(x), t64(y), reduction="none", beta=0.8)
    np.testing.assert_allclose(got.numpy(), sl1)
    np.testing.assert_allclose(F.smooth_l1_loss(t64(x), t64(y), beta=0.0).item(), a.mean())


def test_binary_cross_entropy_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.3, 1.0])
    t = np.array([1.0, 0.0, 1.0, 1.0])
    w = np.array([1.0, 2.0, 3.0, 1.0])
    loss = F.binary_cross_entropy(t64(p), t64(t), w, reduction="none").numpy()
    np.testing.assert_allclose(loss, [100.0, 200.0, -3 * np.log(0.3), 0.0])


def test_bce_with_logits_reference_and_extremes():
    x = np.array([[-1e4, 1e4, 0.5], [3.0, -2.0, 40.0]])
    t = np.array([[1.0, 0.0, 0.3], [1.0, 0.5, 0.0]])
    pw = np.array([2.0, 0.5, 1.5])
    w = np.array([[1.0], [0.5]])
    log_s = -np.logaddexp(0, -x)  # log sigmoid(x), exact for large |x|
    log_1ms = -np.logaddexp(0, x)
    ref = -w * (pw * t * log_s + (1 - t) * log_1ms)
    got = F.binary_cross_entropy_with_logits(t64(x), t64(t), w, reduction="none", pos_weight=pw)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)
    assert got.numpy()[0, 0] == pytest.approx(2e4)


def test_kl_div_reductions():
    logq = np.log(rng.dirichlet(np.ones(4), 3))
    p = rng.dirichlet(np.ones(4), 3)
    p[0, 1] = 0.0
    pointwise = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0) - p * logq
    for red, expected in [
        ("sum", pointwise.sum()),
        ("mean", pointwise.mean()),
        ("batchmean", pointwise.sum() / 3),
    ]:
        np.testing.assert_allclose(F.kl_div(t64(logq), t64(p), reduction=red).item(), expected)
    logp = np.log(p + 0.1)
    got = F.kl_div(t64(logq), t64(logp), reduction="none", log_target=True).numpy()
    np.testing.assert_allclose(got, np.exp(logp) * (logp - logq))


# -- normalization ------------------------------------------------------------------------------
def test_layer_norm_reference():
    x = rng.standard_normal((2, 3, 4)) * 5 + 2
    w, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # biased, as PyTorch
    ref = (x - mu) / np.sqrt(var + 1e-5) * w + b
    np.testing.assert_allclose(F.layer_norm(t64(x), (3, 4), t64(w), t64(b)).numpy(), ref)


def test_batch_norm_training_updates_running_stats_in_place():
    x = rng.standard_normal((5, 3, 2)) * 2 + 1
    rm, rv = gn.zeros(3, dtype="float64"), gn.ones(3, dtype="float64")
    v0m, v0v = rm._version, rv._version
    out = F.batch_norm(t64(x), rm, rv, training=True, momentum=0.2)
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    ref = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5)
    np.testing.assert_allclose(out.numpy(), ref)
    np.testing.assert_allclose(rm.numpy(), 0.2 * mean)
    np.testing.assert_allclose(rv.numpy(), 0.8 + 0.2 * var * 10 / 9)  # unbiased (n = 10)
    assert rm._version > v0m and rv._version > v0v


def test_batch_norm_eval_uses_running_stats():
    x = rng.standard_normal((4, 3))
    rm, rv = np.array([0.5, -1.0, 2.0]), np.array([1.0, 4.0, 0.25])
    w, b = np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.5, 1.0])
    out = F.batch_norm(t64(x), t64(rm), t64(rv), t64(w), t64(b), training=False)
    np.testing.assert_allclose(out.numpy(), (x - rm) / np.sqrt(rv + 1e-5) * w + b)


def test_group_norm_reference():
    x = rng.standard_normal((2, 6, 3))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    g = x.reshape(2, 3, -1)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(
        x.shape
    )
    got = F.group_norm(t64(x), 3, t64(w), t64(b)).numpy()
    np.testing.assert_allclose(got, ref * w[:, None] + b[:, None])


# -- attention ----------------------------------------------------------------------------------
def ref_attention(q, k, v, allowed=None, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    out = np.zeros(s.shape)
    for idx in np.ndindex(*s.shape[:-1]):
        row = s[idx]
        if np.isfinite(row).any():
            e = np.exp(row - row[np.isfinite(row)].max())
            out[idx] = e / e.sum()
    return out @ v, out


def test_sdpa_reference_masks_and_causal():
    q, k, v = (
        rng.standard_normal((2, 2, 4, 3)),
        rng.standard_normal((2, 2, 5, 3)),
        rng.standard_normal((2, 2, 5, 2)),
    )
    mask = rng.random((4, 5)) > 0.5
    mask[2] = False
    ref, _ = ref_attention(q, k, v, mask)
    got = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=mask).numpy()
    np.testing.assert_allclose(got, ref)
    np.testing.assert_array_equal(got[..., 2, :], 0.0)  # fully masked row: zeros, not NaN
    causal = np.tril(np.ones((4, 5), dtype=bool))
    ref, _ = ref_attention(q, k, v, causal, scale=0.3)
    got = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True, scale=0.3)
    np.testing.assert_allclose(got.numpy(), ref)
    bias = np.where(mask, 0.0, -np.inf)
    got = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=t64(bias)).numpy()
    np.testing.assert_allclose(got, ref_attention(q, k, v, mask)[0])


def test_sdpa_fully_masked_rows_have_finite_zero_gradients():
    q, k, v = (t64(rng.standard_normal(s), grad=True) for s in [(3, 2), (4, 2), (4, 2)])
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, :2] = True
    F.scaled_dot_product_attention(q, k, v, attn_mask=mask).sum().backward()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[1:], 0.0)
    np.testing.assert_array_equal(v.grad.numpy()[2:], 0.0)  # keys nobody may see


def test_attention_weights_match_fused_and_dropout_is_seeded():
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    mask = rng.random((3, 5)) > 0.4
    mask[1] = False
    p = F.attention_weights(t64(q), t64(k), attn_mask=mask).numpy()
    np.testing.assert_allclose(p, ref_attention(q, k, v, mask)[1])
    gn.manual_seed(11)
    a = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), dropout_p=0.5).numpy()
    gn.manual_seed(11)
    b = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    gn.manual_seed(11)
    keep = gn.backend.get_rng().random((2, 3, 5)) >= 0.5  # the draw the op makes
    probs = ref_attention(q, k, v)[1]
    np.testing.assert_allclose(a, (probs * keep / 0.5) @ v)


# -- bad inputs ---------------------------------------------------------------------------------
X = gn.tensor(np.zeros((4, 3), dtype=np.float32))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: F.cross_entropy(X, gn.tensor([0, 1, 3, 0])), ValueError, "class index 3"),
        (lambda: F.cross_entropy(X, gn.tensor([0, -1, 2, 0])), ValueError, "class index -1"),
        (lambda: F.cross_entropy(X, gn.tensor([0.0, 1, 2, 0])), TypeError, "target.long()"),
        (lambda: F.cross_entropy(X, gn.tensor([0, 1, 2])), ValueError, "(4, 3)"),
        (lambda: F.cross_entropy(X, gn.tensor([0, 1, 2])), ValueError, "(3,)"),
        (lambda: F.cross_entropy(X, gn.zeros(4, 2)), ValueError, "(4, 2)"),
        (
            lambda: F.cross_entropy(X, gn.tensor([0, 1, 2, 0]), weight=[1.0, 2.0]),
            ValueError,
            "weight",
        ),
        (lambda: F.cross_entropy(X, gn.tensor([0, 1, 2, 0]), reduction="avg"), ValueError, "'avg'"),
        (
            lambda: F.cross_entropy(X, gn.tensor([0, 1, 2, 0]), label_smoothing=1.5),
            ValueError,
            "label_smoothing",
        ),
        (lambda: F.cross_entropy(X.numpy(), [0, 1, 2, 0]), TypeError, "Tensor"),
        (lambda: F.nll_loss(X, gn.tensor([0, 1, 2, 5])), ValueError, "class index 5"),
        (lambda: F.mse_loss(gn.zeros(4, 1), gn.zeros(4)), ValueError, "(4, 1)"),
        (lambda: F.binary_cross_entropy(gn.tensor([1.5]), gn.tensor([1.0])), ValueError, "[0, 1]"),
        (lambda: F.binary_cross_entropy_with_logits(X, gn.zeros(4)), ValueError, "same shape"),
        (lambda: F.kl_div(X, X, reduction="batch"), ValueError, "batchmean"),
        (lambda: F.layer_norm(X, 4), ValueError, "normalized_shape"),
        (lambda: F.layer_norm(X, 3, weight=gn.ones(4)), ValueError, "weight"),
        (
            lambda: F.batch_norm(gn.zeros(1, 3), None, None, training=True),
            ValueError,
            "more than 1",
        ),
        (lambda: F.batch_norm(X, None, None, training=False), ValueError, "running"),
        (lambda: F.batch_norm(X, gn.zeros(4), gn.ones(4)), ValueError, "(3,)"),
        (lambda: F.group_norm(gn.zeros(2, 6), 4), ValueError, "divisor"),
        (
            lambda: F.scaled_dot_product_attention(X, gn.zeros(5, 2), gn.zeros(5, 2)),
            ValueError,
            "E",
        ),
        (lambda: F.scaled_dot_product_attention(X, X, gn.zeros(5, 2)), ValueError, "S = 4"),
        (
            lambda: F.scaled_dot_product_attention(X, X, X, attn_mask=np.ones((3, 4), bool)),
            ValueError,
            "(4, 4)",
        ),
        (
            lambda: F.scaled_dot_product_attention(
                X, X, X, attn_mask=np.ones((4, 4), bool), is_causal=True
            ),
            ValueError,
            "not both",
        ),
        (
            lambda: F.scaled_dot_product_attention(X, X, X, attn_mask=np.ones((4, 4), int)),
            TypeError,
            "boolean",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, words, value_checks):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_xlogy_and_kl_div_follow_pytorchs_formulas_at_the_edges():
    """PyTorch 2.13 computes kl_div as xlogy(t, t) - t * input, with xlogy's derivatives
    d/dx = xlogy(x != 0, y) and d/dy = x / y (0/0 = nan at x = y = 0). glassnet gave 0 for a
    negative target (PyTorch: nan, and -t as the input's gradient) and finite target gradients
    at t = 0 (PyTorch: nan). Constants recorded with torch 2.13 in float64."""
    nan, inf = float("nan"), float("inf")
    x = gn.tensor([0.0, 0.0, 0.0, 1.0, 2.0, -1.0, 1.0, 0.0], dtype="float64", requires_grad=True)
    y = gn.tensor([0.0, 1.0, -1.0, 0.0, 3.0, 2.0, -1.0, nan], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        z = gn.xlogy(x, y)
        z.sum().backward()
    ln2, ln3 = np.log(2.0), np.log(3.0)
    np.testing.assert_array_equal(z.numpy(), [0, 0, 0, -inf, 2 * ln3, -ln2, nan, nan])
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, -inf, ln3, ln2, nan, nan])
    np.testing.assert_allclose(y.grad.numpy(), [nan, 0, 0, inf, 2 / 3, -0.5, -1, nan])
    t = gn.tensor([0.0, 0.5, 0.5], dtype="float64", requires_grad=True)
    logq = gn.tensor([-1.0, -0.7, -0.7], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        F.kl_div(logq, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.numpy(), [nan, 1.0068528194400548, 1.0068528194400548])
    np.testing.assert_allclose(logq.grad.numpy(), [0.0, -0.5, -0.5])
    target = gn.tensor([[0.25, -0.5]], dtype="float64")
    logq = gn.tensor([[-1.0, -2.0]], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        loss = F.kl_div(logq, target, reduction="none")
        loss.sum().backward()
    assert np.isnan(loss.numpy()[0, 1]) and not np.isnan(loss.numpy()[0, 0])
    np.testing.assert_allclose(logq.grad.numpy(), [[-0.25, 0.5]])


def test_cosine_similarity_below_eps_keeps_pytorchs_gradient():
    """PyTorch raises a norm below eps to eps with clamp_min_ under no_grad: the value divides
    by eps, the gradient still goes through the norm (x/||x||). glassnet's clamp cut that part
    of the gradient (a different gradient for vectors shorter than 1e-8). torch 2.13, float64."""
    x1 = t64([[3e-9, -4e-9, 1e-9], [1.0, 2.0, -0.5]], grad=True)
    x2 = t64([[0.5, 1.5, -2.0], [2e-10, 0.0, -1e-10]], grad=True)
    y = F.cosine_similarity(x1, x2)
    (y * t64([1.0, -2.0])).sum().backward()
    np.testing.assert_allclose(y.numpy(), [-0.25495097567963926, 0.010910894511799621])
    np.testing.assert_allclose(
        x1.grad.numpy(),
        [[34611613.513818406, 38834840.54145521, -73446454.05527362],
         [-0.013300899976289061, 0.008313062485180663, 0.006650449988144531]],
    )  # fmt: skip
    np.testing.assert_allclose(
        x2.grad.numpy(),
        [[0.13728129459672883, -0.09805806756909201, -0.03922322702763682],
         [-85335355.94849989, -174574312.1887939, 42667677.974249944]],
    )  # fmt: skip
