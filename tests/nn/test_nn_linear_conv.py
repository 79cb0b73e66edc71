"""Linear and Conv layers: forward against NumPy references, PyTorch's default-init bounds,
lazy Linear, padding='same', and the errors that teach."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def _conv2d_ref(x, w, b, stride, pad, dil, groups):
    """Direct loops: y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x_pad[n, g*Cg+c, i s + p d, ...]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]))
    ho = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    i * stride[0] : i * stride[0] + dil[0] * (kh - 1) + 1 : dil[0],
                    j * stride[1] : j * stride[1] + dil[1] * (kw - 1) + 1 : dil[1],
                ]
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3)) + (0 if b is None else b[oc])
    return y


def test_linear_matches_numpy_and_layout():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    x = np.random.default_rng(0).standard_normal((4, 2, 5)).astype(np.float32)
    y = layer(gn.tensor(x)).numpy()
    ref = x @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.num_parameters() == 18
    assert nn.Linear(5, 3, bias=False).bias is None
    assert list(nn.Linear(5, 3, bias=False).state_dict()) == ["weight"]


@pytest.mark.parametrize("fan_in", [3, 100, 1000])
def test_linear_default_init_bounds_like_pytorch(fan_in):
    gn.manual_seed(0)
    layer = nn.Linear(fan_in, 400)
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.98 * bound  # fills the range: not a narrower init
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.05)  # U(-a, a) has variance a^2 / 3


def test_conv_default_init_bounds_like_pytorch():
    gn.manual_seed(0)
    conv = nn.Conv2d(8, 64, (3, 5), groups=2)
    fan_in = 8 // 2 * 15
    bound = 1 / math.sqrt(fan_in)
    assert conv.weight.shape == (64, 4, 3, 5)
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.05)


def test_lazy_linear_builds_on_first_call():
    gn.manual_seed(0)
    layer = nn.Linear(out_features=4)
    assert layer.weight is None and list(layer.parameters()) == []
    assert "in_features=None" in repr(layer)
    y = layer(gn.ones(2, 6))
    assert y.shape == (2, 4) and layer.weight.shape == (4, 6) and layer.in_features == 6
    assert np.abs(layer.weight.numpy()).max() <= 1 / math.sqrt(6)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer(gn.ones(3, 6)).shape == (3, 4)  # built once
    with pytest.raises(ValueError, match="last axis must be 6"):
        layer(gn.ones(3, 7))


def test_lazy_linear_adopts_first_input_dtype():
    layer = nn.Linear(out_features=2)
    y = layer(gn.zeros(3, 4, dtype="float64"))
    assert y.dtype == np.float64 and layer.weight.dtype == np.float64
    assert layer.bias.dtype == np.float64
    with pytest.raises(TypeError, match="parameters are float64"):
        layer(gn.zeros(3, 4))


def test_lazy_linear_inside_sequential_state_dict():
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(out_features=2))
    model(gn.ones(1, 3))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.state_dict()["2.weight"].shape == (2, 5)


@pytest.mark.parametrize(
    "cin,cout,k,stride,padding,dil,groups,shape",
    [
        (2, 3, 3, 1, 0, 1, 1, (2, 2, 6, 5)),
        (2, 4, (3, 2), (2, 1), (1, 0), 1, 2, (1, 2, 7, 6)),
        (1, 2, 3, 1, 2, 2, 1, (1, 1, 6, 6)),
        (3, 3, 1, 2, 0, 1, 3, (2, 3, 5, 5)),
    ],
)
def test_conv2d_matches_loops(cin, cout, k, stride, padding, dil, groups, shape):
    gn.manual_seed(1)
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dil, groups=groups)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    pad = conv.padding
    ref = _conv2d_ref(x, conv.weight.numpy(), conv.bias.numpy(), conv.stride,
                      [(p, p) for p in pad], conv.dilation, groups)  # fmt: skip
    np.testing.assert_allclose(conv(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("k,dil", [(3, 1), (4, 1), (2, 3), ((2, 5), 1)])
def test_conv2d_same_padding_keeps_size_and_pads_the_end(k, dil):
    conv = nn.Conv2d(1, 2, k, padding="same", dilation=dil, bias=False)
    x = np.random.default_rng(3).standard_normal((1, 1, 7, 6)).astype(np.float32)
    y = conv(gn.tensor(x)).numpy()
    assert y.shape == (1, 2, 7, 6)
    # PyTorch: total = d (k - 1); the odd extra goes to the bottom/right
    pads = [(t // 2, t - t // 2) for t in (dil * (kk - 1) for kk in conv.kernel_size)]
    ref = _conv2d_ref(x, conv.weight.numpy(), None, (1, 1), pads, conv.dilation, 1)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


def test_conv1d_matches_conv2d_reference():
    conv = nn.Conv1d(2, 3, 3, stride=2, padding=1)
    x = np.random.default_rng(4).standard_normal((2, 2, 9)).astype(np.float32)
    w = conv.weight.numpy()[:, :, None, :]
    ref = _conv2d_ref(x[:, :, None, :], w, conv.bias.numpy(), (1, 2), [(0, 0), (1, 1)], (1, 1), 1)
    np.testing.assert_allclose(conv(gn.tensor(x)).numpy(), ref[:, :, 0], rtol=1e-4, atol=1e-5)
    assert nn.Conv1d(2, 3, 4, padding="same")(gn.ones(1, 2, 9)).shape == (1, 3, 9)


def test_repr_reads_like_pytorch():
    assert repr(nn.Linear(784, 10)) == "Linear(in_features=784, out_features=10, bias=True)"
    assert (
        repr(nn.Conv2d(3, 16, 5, stride=2, padding=2, bias=False))
        == "Conv2d(3, 16, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), bias=False)"
    )
    assert repr(nn.Conv1d(4, 4, 3, padding="same", groups=2)) == (
        "Conv1d(4, 4, kernel_size=(3,), stride=(1,), padding='same', groups=2)"
    )


def test_regularizer_attributes_stored_not_registered():
    reg = object()
    layer = nn.Linear(2, 2, kernel_regularizer=reg)
    conv = nn.Conv2d(1, 1, 1, bias_regularizer=reg)
    emb = nn.Embedding(3, 2, kernel_regularizer=reg)
    assert layer.kernel_regularizer is reg and layer.bias_regularizer is None
    assert conv.bias_regularizer is reg and emb.kernel_regularizer is reg
    assert list(layer.state_dict()) == ["weight", "bias"]


def test_linear_errors_teach():
    with pytest.raises(ValueError, match=r"Linear\(in_features=784\) got input of shape "
                       r"\(32, 28, 28\): its last axis must be 784; flatten it with "
                       r"nn.Flatten\(\) first"):  # fmt: skip
        nn.Linear(784, 10)(gn.zeros(32, 28, 28))
    with pytest.raises(ValueError, match="last axis must be 8; check the out_features"):
        nn.Linear(8, 2)(gn.zeros(4, 5))
    with pytest.raises(TypeError, match=r"dtype int64.*cast the input with x.float\(\)"):
        nn.Linear(3, 2)(gn.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match=r"parameters are float32.*layer.to\(dtype='float64'\)"):
        nn.Linear(3, 2)(gn.zeros(1, 3, dtype="float64"))
    with pytest.raises(TypeError, match="expects a glassnet Tensor, got ndarray"):
        nn.Linear(3, 2)(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="out_features is required"):
        nn.Linear(3)
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Linear(0, 3)


def test_conv_errors_teach():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"2 dims; expected \(N, C, H, W\)"):
        conv(gn.zeros(28, 28))
    with pytest.raises(ValueError, match=r"unbatched input .* axis 0 \(channels\) must be 3"):
        conv(gn.zeros(1, 28, 28))
    with pytest.raises(ValueError, match=r"channels-last \(NHWC\): use x.permute\(0, 3, 1, 2\)"):
        conv(gn.zeros(2, 28, 28, 3))
    with pytest.raises(ValueError, match="axis 1 .* must be 3, got 1"):
        conv(gn.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="smaller than the \\(dilated\\) kernel"):
        conv(gn.zeros(1, 3, 2, 2))
    with pytest.raises(TypeError, match="cast the input with x.float"):
        conv(gn.zeros(1, 3, 5, 5, dtype="int64"))
    with pytest.raises(ValueError, match="padding='same' needs stride=1"):
        nn.Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(TypeError, match="kernel_size must be an int or a tuple of 2 ints"):
        nn.Conv2d(3, 8, (3, 3, 3))
    with pytest.raises(ValueError, match=r"expected \(N, C, L\)"):
        nn.Conv1d(2, 2, 3)(gn.zeros(1, 2, 5, 5))
