"""torch.nn.utils.weight_norm / remove_weight_norm (vocoders and TCNs import them): glassnet
had neither (AttributeError). Values recorded once from PyTorch 2.13: a Conv1d(2, 3, 2) with
weight arange(12) - 5 and zero bias, summed over a forward of ones(1, 2, 3)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn.utils import remove_weight_norm, weight_norm

# dim -> (g's shape, g[:3], dL/dg[:3], dL/dv[:3]) from PyTorch 2.13
TORCH = {
    0: ((3, 1, 1), [7.34847, 2.44949, 9.27362], [-3.81032, 1.63299, 3.88198],
        [-0.59259, -0.07407, 0.44444]),
    1: ((1, 2, 1), [8.18535, 8.88819], [-0.73302, 2.02516], [1.55224, 1.64179, 2.68354]),
    None: ((), [12.08305], [0.99313], [2.41096, 2.32877, 2.24658]),
    -1: ((), [12.08305], [0.99313], [2.41096, 2.32877, 2.24658]),  # the old API: all dims
}  # fmt: skip


def _conv():
    m = nn.Conv1d(2, 3, 2)
    with gn.no_grad():
        m.weight.copy_(gn.tensor(np.arange(12.0).reshape(3, 2, 2) - 5, dtype=gn.float32))
        m.bias.zero_()
    return m


@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_matches_pytorch(dim):
    shape, g, dg, dv = TORCH[dim]
    m = weight_norm(_conv(), dim=dim)
    assert list(m.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_g", "weight_v"]
    assert m.weight_g.shape == shape
    m(gn.ones(1, 2, 3)).sum().backward()
    np.testing.assert_allclose(m.weight_g.detach().numpy().ravel()[:3], g, rtol=1e-5)
    np.testing.assert_allclose(m.weight_g.grad.numpy().ravel()[:3], dg, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.weight_v.grad.numpy().ravel()[:3], dv, rtol=1e-4, atol=1e-5)


def test_the_weight_follows_g_and_v_and_remove_restores_one_parameter():
    m = weight_norm(_conv())
    with gn.no_grad():
        m.weight_g.mul_(2.0)  # twice the magnitude: twice the weight at the next forward
    m(gn.ones(1, 2, 3))
    want = 2 * (np.arange(12.0).reshape(3, 2, 2) - 5)
    np.testing.assert_allclose(m.weight.detach().numpy(), want, rtol=1e-6)
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        weight_norm(m)
    remove_weight_norm(m)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks
    with pytest.raises(ValueError, match="not found"):
        remove_weight_norm(m)
