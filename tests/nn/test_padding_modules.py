"""The padding modules, Softmax2d, ChannelShuffle, the Upsampling modules and
F.gumbel_softmax, against NumPy references."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn as nn
import glassnet.nn.functional as F

rng = np.random.default_rng(3)
X = rng.standard_normal((2, 3, 5, 6))


def np_pad(x, pad, mode, value=0.0):
    """F.pad's (left, right, top, bottom, ...) order, last dim first, as np.pad widths."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    np_mode = {
        "constant": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    kwargs = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=np_mode, **kwargs)


@pytest.mark.parametrize(
    "cls, mode, dims",
    [(nn.ZeroPad1d, "constant", 1), (nn.ZeroPad2d, "constant", 2), (nn.ZeroPad3d, "constant", 3),
     (nn.ReflectionPad1d, "reflect", 1), (nn.ReflectionPad2d, "reflect", 2),
     (nn.ReflectionPad3d, "reflect", 3), (nn.ReplicationPad1d, "replicate", 1),
     (nn.ReplicationPad2d, "replicate", 2), (nn.ReplicationPad3d, "replicate", 3),
     (nn.CircularPad1d, "circular", 1), (nn.CircularPad2d, "circular", 2),
     (nn.CircularPad3d, "circular", 3)],
)  # fmt: skip
def test_padding_modules(cls, mode, dims):
    x = {1: X[0], 2: X, 3: X[None]}[dims]
    pad = (1, 2, 2, 1, 1, 0)[: 2 * dims]
    np.testing.assert_allclose(cls(pad)(gn.tensor(x)).numpy(), np_pad(x, pad, mode))
    np.testing.assert_allclose(cls(1)(gn.tensor(x[0])).numpy(), np_pad(x[0], (1,) * 2 * dims, mode))
    with pytest.raises(ValueError, match="ints"):
        cls((1, 2, 3))


def test_constant_pad_value_and_shape_errors():
    out = nn.ConstantPad2d((1, 0, 0, 2), 3.5)(gn.tensor(X)).numpy()
    np.testing.assert_allclose(out, np_pad(X, (1, 0, 0, 2), "constant", 3.5))
    with pytest.raises(ValueError, match="3-D"):
        nn.ReflectionPad2d(1)(gn.tensor(X[0, 0]))


def test_softmax2d_channel_shuffle_upsampling():
    e = np.exp(X - X.max(1, keepdims=True))
    np.testing.assert_allclose(nn.Softmax2d()(gn.tensor(X)).numpy(), e / e.sum(1, keepdims=True))
    x = gn.tensor(np.arange(6.0).reshape(1, 6, 1, 1))
    assert nn.ChannelShuffle(2)(x).flatten().tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    with pytest.raises(ValueError, match="groups"):
        F.channel_shuffle(x, 4)
    up = nn.UpsamplingNearest2d(scale_factor=2)(gn.tensor(X)).numpy()
    np.testing.assert_allclose(up, X.repeat(2, 2).repeat(2, 3))
    bil = nn.UpsamplingBilinear2d(size=(9, 11))(gn.tensor(X)).numpy()
    np.testing.assert_allclose(bil[..., [0, -1], :][..., [0, -1]], X[..., [0, -1], :][..., [0, -1]])
    np.testing.assert_allclose(bil[..., ::2, ::2], X, atol=1e-12)  # aligned corners: every other
    with pytest.raises(ValueError, match="exactly one"):
        nn.UpsamplingNearest2d()


def test_gumbel_softmax_samples_the_categorical_and_passes_the_soft_gradient():
    gn.manual_seed(1)
    probs = np.array([0.6, 0.3, 0.1])
    logits = gn.tensor(np.log(np.tile(probs, (20000, 1))), requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    v = y.numpy()
    assert set(np.unique(v)) <= {0.0, 1.0} and np.all(v.sum(1) == 1)
    np.testing.assert_allclose(v.mean(0), probs, atol=0.015)
    gn.manual_seed(2)
    soft = F.gumbel_softmax(gn.tensor(np.log(probs)), tau=2.0)
    assert abs(soft.sum().item() - 1) < 1e-12 and soft.numpy().max() < 1
    w = gn.tensor(np.array([1.0, -2.0, 0.5]))
    (y * w).sum().backward()
    hard_grad = logits.grad.numpy().copy()
    logits.grad = None
    gn.manual_seed(1)
    (F.gumbel_softmax(logits, tau=0.5) * w).sum().backward()  # the same noise, soft
    np.testing.assert_allclose(hard_grad, logits.grad.numpy(), atol=1e-12)
