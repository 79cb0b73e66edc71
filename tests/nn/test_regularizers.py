"""L1 / L2 / L1L2 penalties: values and gradients against NumPy, model-wide selection, per-layer
regularization_loss, and the documented correspondence with SGD's weight_decay."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet.nn import regularizers as R
from glassnet.testing import check_grad

W = np.array([[0.5, -1.5, 0.0], [2.0, -0.25, 1.0]])


@pytest.mark.parametrize(
    "reg, value, grad",
    [
        (R.L1(0.3), 0.3 * np.abs(W).sum(), 0.3 * np.sign(W)),
        (R.L2(0.3), 0.3 * (W**2).sum(), 0.6 * W),
        (R.L1L2(0.1, 0.2), 0.1 * np.abs(W).sum() + 0.2 * (W**2).sum(), 0.1 * np.sign(W) + 0.4 * W),
    ],
    ids=["L1", "L2", "L1L2"],
)
def test_penalty_value_and_gradient(reg, value, grad):
    w = gn.tensor(W, requires_grad=True, dtype="float64")
    out = reg(w)
    assert out.shape == () and out.item() == pytest.approx(value, rel=1e-12)
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), grad, rtol=1e-12)  # L1's grad at 0 is 0


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.3), R.L1L2(0.1, 0.2)], ids=repr)
def test_penalty_gradcheck(reg):
    check_grad(reg, [W + 0.1])  # away from L1's kink at 0


def test_defaults_and_repr_follow_keras():
    assert R.L2().l2 == 0.01 and R.L1().l1 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert repr(R.L2(1e-4)) == "L2(l2=0.0001)"
    assert R.L1L2(0.1, 0.2).get_config() == {"l1": 0.1, "l2": 0.2}
    assert isinstance(R.get("l2"), R.L2) and R.get(None) is None
    with pytest.raises(ValueError, match="unknown regularizer"):
        R.get("l3")
    with pytest.raises(ValueError, match="l2 must be"):
        R.L2(-1.0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.BatchNorm2d(2)
        self.fc = nn.Linear(8, 3)
        self.ln = nn.LayerNorm(3)


def test_model_penalty_covers_kernels_only():
    gn.manual_seed(0)
    net = Net()
    names = [n for n, _ in R.penalized_parameters(net)]
    assert names == ["conv.weight", "fc.weight"]
    want = 0.5 * sum(
        (p.numpy().astype(np.float64) ** 2).sum() for p in (net.conv.weight, net.fc.weight)
    )
    penalty = R.L2(0.5)(net)
    assert penalty.item() == pytest.approx(want, rel=1e-5)
    penalty.backward()
    np.testing.assert_allclose(net.fc.weight.grad.numpy(), net.fc.weight.numpy(), rtol=1e-6)
    assert net.fc.bias.grad is None and net.norm.weight.grad is None and net.ln.weight.grad is None
    with pytest.raises(ValueError, match="nothing to penalize"):
        R.L2(0.1)(nn.LayerNorm(3))
    with pytest.raises(TypeError, match="expects a Tensor"):
        R.L2(0.1)(3.0)


def test_regularization_loss_from_layer_arguments():
    gn.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 5, kernel_regularizer=R.L2(0.1), bias_regularizer=R.L1(0.2)),
        nn.ReLU(),
        nn.Linear(5, 2),
    )
    first = model[0]
    w, b = first.weight.numpy().astype(np.float64), first.bias.numpy().astype(np.float64)
    loss = R.regularization_loss(model)
    assert loss.item() == pytest.approx(0.1 * (w**2).sum() + 0.2 * np.abs(b).sum(), rel=1e-5)
    loss.backward()
    np.testing.assert_allclose(first.weight.grad.numpy(), 0.2 * w, rtol=1e-5)
    np.testing.assert_allclose(first.bias.grad.numpy(), 0.2 * np.sign(b), rtol=1e-6)
    assert model[2].weight.grad is None
    plain = R.regularization_loss(nn.Sequential(nn.Linear(2, 2)))
    assert plain.item() == 0.0 and not plain.requires_grad


def test_regularization_loss_embedding_and_string_names():
    emb = nn.Embedding(4, 3, kernel_regularizer=R.L1(0.05))
    want = 0.05 * np.abs(emb.weight.numpy().astype(np.float64)).sum()
    assert R.regularization_loss(emb).item() == pytest.approx(want, rel=1e-5)
    layer = nn.Linear(2, 2, kernel_regularizer="l2")
    want = 0.01 * (layer.weight.numpy().astype(np.float64) ** 2).sum()
    assert R.regularization_loss(layer).item() == pytest.approx(want, rel=1e-5)


def test_l2_half_wd_equals_sgd_weight_decay():
    """SGD(weight_decay=wd) on L equals plain SGD on L + L2(wd / 2) (the documented rule)."""
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((16, 3)), dtype="float64")
    y = gn.tensor(rng.standard_normal(16), dtype="float64")
    w0 = rng.standard_normal(3)
    wa = nn.Parameter(gn.tensor(w0.copy(), dtype="float64"))
    wb = nn.Parameter(gn.tensor(w0.copy(), dtype="float64"))
    wd = 0.2
    opt_a = optim.SGD([wa], lr=0.1, momentum=0.9, weight_decay=wd)
    opt_b = optim.SGD([wb], lr=0.1, momentum=0.9)
    for _ in range(5):
        for w, opt, reg in ((wa, opt_a, None), (wb, opt_b, R.L2(wd / 2))):
            opt.zero_grad()
            loss = ((x @ w - y) ** 2).mean()
            if reg is not None:
                loss = loss + reg(w)
            loss.backward()
            opt.step()
    np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-12)
