"""nn.utils.spectral_norm / remove_spectral_norm (PyTorch's hook; glassnet had none): keys,
shapes, the power iteration in train mode (buffers updated in place) and not in eval, values
and gradients against constants recorded once with torch 2.13 in float64."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def conv():
    m = nn.Conv2d(2, 3, 2).double()
    with gn.no_grad():
        m.weight.copy_(gn.tensor(np.cos(np.arange(24) * 0.7).reshape(3, 2, 2, 2)))
        m.bias.zero_()
    m = nn.utils.spectral_norm(m)
    with gn.no_grad():
        m.weight_u.copy_(gn.tensor(np.linspace(0.2, 1, 3)))
        m.weight_v.copy_(gn.tensor(np.linspace(-1, 1, 8)))
    return m


X = np.sin(np.arange(32.0)).reshape(2, 2, 4, 2)


def test_spectral_norm_matches_pytorch():
    m = conv()
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert not isinstance(m.weight, nn.Parameter)
    for _ in range(2):  # two training steps: two power iterations, gradients accumulated
        y = m(gn.tensor(X))
        (y * y).sum().backward()
    # torch 2.13 (float64), same weights, buffers and input
    np.testing.assert_allclose(
        y.detach().numpy().ravel()[:4],
        [-0.16343628635891455, 1.0116465646923705, -0.6785507488421134, 0.519990914846793],
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        m.weight_u.numpy(), [0.46665694480094494, 0.6717483852788579, 0.5753133083323335]
    )
    np.testing.assert_allclose(
        m.weight_v.numpy(),
        [0.33192630840006876, 0.4703492893359603, 0.3875596500867725, 0.12249465161519596,
         -0.200181495542737, -0.42870915742476995, -0.4556082038045653, -0.2682275928605114],
    )  # fmt: skip
    np.testing.assert_allclose(
        m.weight_orig.grad.numpy().ravel()[:4],
        [2.2985804632509415, -0.6010284095966708, -4.038866843765275, -4.733305054601413],
        rtol=1e-10,
    )
    u = m.weight_u.numpy().copy()
    m.eval()
    m(gn.tensor(X))
    np.testing.assert_array_equal(m.weight_u.numpy(), u)  # eval: no power iteration
    nn.utils.remove_spectral_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_spectral_norm(m)


def test_sigma_is_the_largest_singular_value_after_enough_iterations():
    m = nn.utils.spectral_norm(nn.Linear(5, 4).double(), n_power_iterations=50)
    m(gn.ones(1, 5, dtype="float64"))
    w = m.weight_orig.detach().numpy()
    np.testing.assert_allclose(m.weight.detach().numpy(), w / np.linalg.norm(w, 2), rtol=1e-8)
    assert tuple(nn.utils.spectral_norm(nn.ConvTranspose2d(2, 3, 2)).weight_u.shape) == (3,)
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(m)
