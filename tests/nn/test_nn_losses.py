"""Loss modules: each forwards its arguments to the functional loss (checked against NumPy
formulas here), registers class weights as buffers, and validates reduction."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

rng = np.random.default_rng(0)


def _log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def test_cross_entropy_loss_weight_ignore_index_smoothing():
    logits = rng.standard_normal((6, 4))
    target = np.array([0, 3, 1, -100, 2, 3])
    w = np.array([1.0, 2.0, 0.5, 1.5])
    loss_fn = nn.CrossEntropyLoss(weight=w, ignore_index=-100)
    assert loss_fn.weight.dtype == np.float32 and list(loss_fn.state_dict()) == ["weight"]
    loss_fn.to(dtype="float64")
    got = loss_fn(gn.tensor(logits), gn.tensor(target)).item()
    lp = _log_softmax(logits)
    keep = target != -100
    t = target[keep]
    ref = -(w[t] * lp[keep][np.arange(len(t)), t]).sum() / w[t].sum()
    assert got == pytest.approx(ref, rel=1e-10)

    eps = 0.1
    got = nn.CrossEntropyLoss(label_smoothing=eps, reduction="sum")(
        gn.tensor(logits), gn.tensor(np.abs(target) % 4)
    ).item()
    q = np.full((6, 4), eps / 4)
    q[np.arange(6), np.abs(target) % 4] += 1 - eps
    assert got == pytest.approx(-(q * lp).sum(), rel=1e-10)


def test_nll_and_kl_div_loss():
    lp = _log_softmax(rng.standard_normal((5, 3)))
    t = np.array([0, 2, 1, 1, 0])
    got = nn.NLLLoss(reduction="none")(gn.tensor(lp), gn.tensor(t)).numpy()
    np.testing.assert_allclose(got, -lp[np.arange(5), t])
    p = np.exp(_log_softmax(rng.standard_normal((5, 3))))
    got = nn.KLDivLoss(reduction="batchmean")(gn.tensor(lp), gn.tensor(p)).item()
    assert got == pytest.approx((p * (np.log(p) - lp)).sum() / 5, rel=1e-10)
    got = nn.KLDivLoss(reduction="sum", log_target=True)(gn.tensor(lp), gn.tensor(np.log(p)))
    assert got.item() == pytest.approx((p * (np.log(p) - lp)).sum(), rel=1e-10)


def test_binary_losses():
    x = rng.standard_normal((4, 3))
    t = (rng.random((4, 3)) > 0.5).astype(np.float64)
    pw = np.array([1.0, 2.0, 3.0])
    got = nn.BCEWithLogitsLoss(pos_weight=pw)(gn.tensor(x), gn.tensor(t)).item()
    sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # softplus(-x), stable
    ref = (pw * t * sp + (1 - t) * (sp + x)).mean()
    assert got == pytest.approx(ref, rel=1e-10)
    p = 1 / (1 + np.exp(-x))
    got = nn.BCELoss(weight=np.full(3, 2.0))(gn.tensor(p), gn.tensor(t)).item()
    assert got == pytest.approx((-2 * (t * np.log(p) + (1 - t) * np.log(1 - p))).mean(), rel=1e-7)


def test_regression_losses():
    x, y = rng.standard_normal(20) * 2, rng.standard_normal(20)
    d = x - y
    X, Y = gn.tensor(x), gn.tensor(y)
    assert nn.MSELoss()(X, Y).item() == pytest.approx((d**2).mean())
    assert nn.L1Loss(reduction="sum")(X, Y).item() == pytest.approx(np.abs(d).sum())
    huber = np.where(np.abs(d) <= 0.5, 0.5 * d**2, 0.5 * (np.abs(d) - 0.25))
    assert nn.HuberLoss(delta=0.5)(X, Y).item() == pytest.approx(huber.mean())
    smooth = np.where(np.abs(d) < 2.0, 0.5 * d**2 / 2.0, np.abs(d) - 1.0)
    got = nn.SmoothL1Loss(reduction="none", beta=2.0)(X, Y).numpy()
    np.testing.assert_allclose(got, smooth)


def test_loss_module_backward_and_reprs():
    x = gn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    nn.CrossEntropyLoss()(x, gn.tensor([0, 1, 2])).backward()
    p = np.exp(_log_softmax(x.numpy()))
    p[np.arange(3), [0, 1, 2]] -= 1
    np.testing.assert_allclose(x.grad.numpy(), p / 3, rtol=1e-10)
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    assert repr(nn.HuberLoss(delta=2.0)) == "HuberLoss(delta=2.0)"
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be one of .* got 'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=2.0)
