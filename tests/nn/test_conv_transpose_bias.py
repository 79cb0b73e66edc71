"""ConvTranspose1d/2d/3d(bias=False): PyTorch registers a None bias placeholder (the DCGAN
generator's layers); glassnet raised ModuleNameError while building the layer."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn as nn


@pytest.mark.parametrize("cls, dims", [(nn.ConvTranspose1d, 1), (nn.ConvTranspose2d, 2),
                                       (nn.ConvTranspose3d, 3)])  # fmt: skip
def test_conv_transpose_without_bias(cls, dims):
    layer = cls(4, 3, 2, bias=False)
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    # a 1x1 input through a stride-1 transposed conv paints each kernel scaled by the input:
    # out[n, o, k...] = sum_c x[n, c] * W[c, o, k...]
    x = np.random.default_rng(0).standard_normal((2, 4) + (1,) * dims).astype(np.float32)
    out = layer(gn.tensor(x)).detach().numpy()
    w = layer.weight.detach().numpy()
    expected = np.einsum("nc,co...->no...", x.reshape(2, 4), w)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_conv_transpose_bias_flag_positional_and_default():
    assert nn.ConvTranspose2d(2, 3, 4, 1, 0, 0, 1, False).bias is None
    layer = nn.ConvTranspose2d(2, 3, 4)
    assert layer.bias is not None and layer.bias.shape == (3,)
    assert list(layer.state_dict()) == ["weight", "bias"]
