"""PyTorch's semantics of nn / nn.functional arguments that used to be missing or misread:
``inplace=``, Embedding's ``max_norm``/``scale_grad_by_freq``/``from_pretrained``, the
deprecated ``size_average``/``reduce`` of the losses, the implicit softmax dim and
``max_unpool``'s duplicate indices. References are NumPy formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet import nn
from glassnet.testing import check_grad

rng = np.random.default_rng(0)


# -- inplace= ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, ref",
    [
        (nn.ReLU(True), lambda x: np.maximum(x, 0)),
        (nn.LeakyReLU(0.1, True), lambda x: np.where(x > 0, x, 0.1 * x)),
        (nn.ELU(2.0, True), lambda x: np.where(x > 0, x, 2 * np.expm1(x))),
        (nn.CELU(2.0, True), lambda x: np.where(x > 0, x, 2 * np.expm1(x / 2))),
        (nn.Hardtanh(-0.5, 0.5, True), lambda x: np.clip(x, -0.5, 0.5)),
        (nn.ReLU6(True), lambda x: np.clip(x, 0, 6)),
        (nn.Threshold(0.1, 20.0, True), lambda x: np.where(x > 0.1, x, 20.0)),
        (nn.SiLU(True), lambda x: x / (1 + np.exp(-x))),
        (nn.Hardsigmoid(True), lambda x: np.clip(x + 3, 0, 6) / 6),
        (nn.Dropout(0.5, True).eval(), lambda x: x),
    ],
)
def test_inplace_modules_write_into_the_input(module, ref):
    data = rng.standard_normal((3, 4))
    x = gn.tensor(data)
    out = module(x)
    assert out is x
    np.testing.assert_allclose(x.numpy(), ref(data), rtol=1e-12, atol=1e-12)


def test_inplace_functional_and_requires_grad():
    data = np.array([-1.0, 0.5, 2.0])
    x = gn.tensor(data)
    assert F.relu(x, True) is x and x.numpy().tolist() == [0.0, 0.5, 2.0]
    x = gn.tensor(data)
    assert F.celu(x, 2.0, True) is x
    np.testing.assert_allclose(x.numpy(), [2 * np.expm1(-0.5), 0.5, 2.0], rtol=1e-12)
    y = gn.tensor(data)
    F.dropout(y, 0.5, True, True)
    assert set(np.round(y.numpy() / data, 12)) <= {0.0, 2.0}  # written in place
    # a leaf requiring grad: the out-of-place result, same values and gradient
    w = gn.tensor(data, requires_grad=True)
    out = nn.ReLU(inplace=True)(w)
    assert out is not w and out.numpy().tolist() == [0.0, 0.5, 2.0]
    out.sum().backward()
    assert w.grad.numpy().tolist() == [0.0, 1.0, 1.0]
    with gn.no_grad():
        assert F.leaky_relu(w, 0.5, True) is w
    assert w.numpy().tolist() == [-0.5, 0.5, 2.0]


def test_celu_third_positional_is_inplace():
    out = F.celu(gn.tensor([-1.0]), 2.0, False).numpy()
    np.testing.assert_allclose(out, [2 * np.expm1(-0.5)], rtol=1e-6)  # x / alpha inside


# -- Embedding ----------------------------------------------------------------------------
def test_embedding_max_norm_positional_renormalizes_in_place():
    emb = nn.Embedding(5, 3, None, 1.0)
    assert emb.max_norm == 1.0 and emb.kernel_regularizer is None
    w = np.full((5, 3), 2.0)
    w[4] = [0.1, 0.2, 0.2]
    emb.load_state_dict({"weight": gn.tensor(w)})
    out = emb(gn.tensor([0, 0, 4])).numpy()
    scaled = 2.0 * 1.0 / (np.sqrt(12.0) + 1e-7)
    np.testing.assert_allclose(out, [[scaled] * 3, [scaled] * 3, [0.1, 0.2, 0.2]], rtol=1e-6)
    table = emb.weight.numpy()
    np.testing.assert_allclose(table[0], [scaled] * 3, rtol=1e-6)  # row 0 renormalized
    np.testing.assert_array_equal(table[1], [2.0, 2.0, 2.0])  # not looked up: unchanged
    # F.embedding with norm_type=1 (L1 norm 6 > 3)
    w1 = gn.tensor(np.full((2, 3), 2.0))
    F.embedding(gn.tensor([1]), w1, None, 3.0, 1.0)
    np.testing.assert_allclose(w1.numpy()[1], [2.0 * 3 / (6 + 1e-7)] * 3, rtol=1e-12)


def test_embedding_scale_grad_by_freq():
    emb = nn.Embedding(4, 2, scale_grad_by_freq=True)
    ids = gn.tensor([[0, 0, 1], [0, 3, 1]])
    g = rng.standard_normal((2, 3, 2))
    emb(ids).backward(gn.tensor(g.astype(np.float32)))
    want = np.zeros((4, 2))
    counts = {0: 3, 1: 2, 3: 1}
    for i, row in enumerate(ids.numpy().ravel()):
        want[row] += g.reshape(-1, 2)[i] / counts[row]
    np.testing.assert_allclose(emb.weight.grad.numpy(), want, rtol=1e-5, atol=1e-6)


def test_embedding_sparse_and_from_pretrained():
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(gn.tensor([0]), gn.ones(3, 2), sparse=True)
    table = gn.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 5.0]])
    emb = nn.Embedding.from_pretrained(table, padding_idx=2)
    assert emb.weight.requires_grad is False and emb.padding_idx == 2
    np.testing.assert_array_equal(emb(gn.tensor([2, 1])).numpy(), [[0.0, 5.0], [3.0, 4.0]])
    trainable = nn.Embedding.from_pretrained(table, freeze=False, max_norm=1.0)
    assert trainable.weight.requires_grad and trainable.max_norm == 1.0
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(gn.ones(3))


# -- losses: size_average / reduce ----------------------------------------------------------
X = np.array([[2.0, 0.0], [0.0, 2.0]])
Y = np.array([0, 1])
CE = -np.log(np.exp(2) / (np.exp(2) + 1))  # each sample's cross-entropy


@pytest.mark.parametrize(
    "size_average, reduce, want",
    [(False, None, 2 * CE), (True, None, CE), (None, False, [CE, CE]), (False, True, 2 * CE)],
)
def test_cross_entropy_legacy_positional(size_average, reduce, want):
    with pytest.warns(DeprecationWarning, match="size_average and reduce"):
        loss = nn.CrossEntropyLoss(None, size_average, -100, reduce)
    np.testing.assert_allclose(loss(gn.tensor(X), gn.tensor(Y)).numpy(), want, rtol=1e-6)
    with pytest.warns(DeprecationWarning):
        out = F.cross_entropy(gn.tensor(X), gn.tensor(Y), None, size_average, -100, reduce)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_legacy_arguments_of_every_loss():
    x, t = np.array([1.0, 3.0]), np.array([0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert nn.NLLLoss(None, False)(gn.tensor(X), gn.tensor(Y)).item() == -4.0
        assert nn.MSELoss(False)(gn.tensor(x), gn.tensor(t)).item() == 10.0
        assert nn.MSELoss(None, False)(gn.tensor(x), gn.tensor(t)).numpy().tolist() == [1, 9]
        assert nn.L1Loss(False)(gn.tensor(x), gn.tensor(t)).item() == 4.0
        assert F.mse_loss(gn.tensor(x), gn.tensor(t), False).item() == 10.0
        assert F.l1_loss(gn.tensor(x), gn.tensor(t), None, False).shape == (2,)
        assert nn.SmoothL1Loss(False, None, "mean", 1.0)(gn.tensor(x), gn.tensor(t)).item() == (
            0.5 + 2.5
        )  # fmt: skip
        p = gn.tensor([0.5, 0.5])
        bce = nn.BCELoss(None, False)(p, gn.tensor([1.0, 0.0])).item()
        assert bce == pytest.approx(2 * np.log(2), rel=1e-6)
        assert F.binary_cross_entropy(p, gn.tensor([1.0, 0.0]), None, False).item() == bce
        bcel = F.binary_cross_entropy_with_logits(gn.zeros(2), gn.ones(2), None, None, False)
        np.testing.assert_allclose(bcel.numpy(), [np.log(2)] * 2, rtol=1e-6)
        assert nn.KLDivLoss(False)(gn.tensor([0.0]), gn.tensor([1.0])).item() == 0.0
        margin = nn.MarginRankingLoss(0.5, False)
        args = gn.tensor([1.0, 0.0]), gn.tensor([0.0, 0.0]), gn.tensor([-1.0, 1.0])
        assert margin(*args).item() == pytest.approx(1.5 + 0.5)
        assert F.margin_ranking_loss(*args, 0.5, None, False).numpy().tolist() == [1.5, 0.5]
        soft = nn.SoftMarginLoss(None, False)(gn.zeros(2), gn.ones(2)).numpy()
        np.testing.assert_allclose(soft, [np.log(2)] * 2, rtol=1e-6)
        pois = nn.PoissonNLLLoss(True, False, False)(gn.zeros(2), gn.ones(2)).item()
        assert pois == pytest.approx(2.0)  # e^0 - 1 * 0 per element, summed
        triplet = nn.TripletMarginLoss(1.0, 2.0, 0.0, False, None, False)
        a = gn.zeros(2, 1)
        assert triplet(a, a, a).numpy().tolist() == [1.0, 1.0]


def test_loss_weight_buffers_and_mse_weight():
    w = gn.tensor([1.0, 2.0, 3.0])
    loss = nn.MultiLabelSoftMarginLoss(weight=w)
    assert list(loss.state_dict()) == ["weight"]
    x, y = gn.zeros(1, 3), gn.ones(1, 3)
    np.testing.assert_allclose(loss(x, y).item(), np.log(2) * 6 / 3, rtol=1e-6)
    mw = F.mse_loss(gn.tensor([1.0, 2.0]), gn.zeros(2), weight=gn.tensor([1.0, 3.0]))
    assert mw.item() == pytest.approx((1 + 3 * 4) / 4)  # sum(w l) / sum(w), PyTorch 2.13
    hw = F.huber_loss(gn.tensor([1.0, 3.0]), gn.zeros(2), "sum", 1.0, gn.tensor([2.0, 1.0]))
    assert hw.item() == pytest.approx(2 * 0.5 + 2.5)
    with pytest.raises(ValueError, match="same size"):
        F.l1_loss(gn.ones(2), gn.ones(2), weight=gn.ones(3))


# -- implicit softmax dim -------------------------------------------------------------------
@pytest.mark.parametrize("build", [nn.Softmax, nn.LogSoftmax, nn.Softmin])
def test_implicit_dim_modules_follow_f_softmax(build):
    with pytest.raises(TypeError, match="pass dim="):
        build()(gn.ones(2, 2, 2))
    x = np.array([[1.0, 2.0, 4.0]])
    e = np.exp(-x if build is nn.Softmin else x)
    p = e / e.sum(-1, keepdims=True)
    want = np.log(p) if build is nn.LogSoftmax else p
    np.testing.assert_allclose(build()(gn.tensor(x)).numpy(), want, rtol=1e-12)


def test_f_softmin_implicit_dim():
    with pytest.raises(TypeError, match="softmin: pass dim="):
        F.softmin(gn.ones(2, 2, 2, 2))
    np.testing.assert_allclose(F.softmin(gn.tensor([0.0, np.log(3.0)])).numpy(), [0.75, 0.25])
    assert F.softmin(gn.ones(2, 2, 2), 0).shape == (2, 2, 2)


# -- max_unpool with repeated indices -------------------------------------------------------
def test_max_unpool2d_writes_repeated_indices_once():
    x = gn.tensor(np.array([[[[1.0, 9, 2], [3, 4, 5], [6, 7, 8]]]]))
    out, idx = F.max_pool2d(x, 2, 1, return_indices=True)
    assert idx.numpy().ravel().tolist() == [1, 1, 7, 8]
    up = F.max_unpool2d(out, idx, 2, 1).numpy().ravel()
    assert up.tolist() == [0, 9, 0, 0, 0, 0, 0, 7, 8]
    # the gradient of the written value goes to the one kept duplicate: finite differences
    vals = gn.tensor(out.numpy(), requires_grad=True)
    check_grad(lambda v: F.max_unpool2d(v, idx, 2, 1), [vals])
    y = F.max_unpool2d(vals, idx, 2, 1)
    (y * gn.tensor(np.arange(9.0).reshape(1, 1, 3, 3))).sum().backward()
    assert vals.grad.numpy().ravel().tolist() == [0.0, 1.0, 7.0, 8.0]
    # through pool and unpool: d unpool(pool(x)) / dx is 1 at each kept maximum
    x.requires_grad_()
    o, i = F.max_pool2d(x, 2, 1, return_indices=True)
    F.max_unpool2d(o, i, 2, 1).sum().backward()
    assert x.grad.numpy().ravel().tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 1]


def test_max_unpool1d_repeated_indices():
    x = gn.tensor(np.array([[[1.0, 5.0, 2.0]]]))
    out, idx = F.max_pool1d(x, 2, 1, return_indices=True)
    assert F.max_unpool1d(out, idx, 2, 1).numpy().ravel().tolist() == [0.0, 5.0, 0.0]


# -- normalization bias= (PyTorch 2.13's keyword) -------------------------------------------
@pytest.mark.parametrize(
    "build", [lambda: nn.BatchNorm1d(3, bias=False), lambda: nn.GroupNorm(3, 3, bias=False),
              lambda: nn.InstanceNorm1d(3, affine=True, bias=False)],
)  # fmt: skip
def test_norm_scale_without_shift(build):
    layer = build().to(dtype=gn.float64)
    assert layer.bias is None and "bias" not in layer.state_dict()
    with gn.no_grad():
        layer.weight.copy_(gn.tensor([1.0, 2.0, 3.0]))
    x = rng.standard_normal((4, 3, 5))
    axes = (0, 2) if isinstance(layer, nn.BatchNorm1d) else (2,)
    mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    want = (x - mu) / np.sqrt(var + 1e-5) * np.array([1.0, 2.0, 3.0])[:, None]
    np.testing.assert_allclose(layer(gn.tensor(x)).numpy(), want, rtol=1e-10, atol=1e-12)
