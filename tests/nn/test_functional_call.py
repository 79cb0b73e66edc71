"""torch.func.functional_call / torch.nn.utils.stateless.functional_call: MAML-style code
calls a module with weights computed in the graph; glassnet had neither (AttributeError).
The MAML step's values were recorded once from PyTorch 2.13 (same weights, from NumPy)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def _net():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    state = {  # each tensor drawn from a fresh default_rng(0), as the recording did
        k: gn.tensor(np.random.default_rng(0).standard_normal(tuple(v.shape)).astype(np.float32))
        for k, v in net.state_dict().items()
    }
    net.load_state_dict(state)
    return net


X = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
Y = np.random.default_rng(2).standard_normal((5, 2)).astype(np.float32)


def test_maml_step_matches_pytorch():
    net = _net()
    x, y = gn.tensor(X), gn.tensor(Y)
    params = dict(net.named_parameters())
    before = net(x).numpy()
    loss = nn.functional.mse_loss(gn.func.functional_call(net, params, (x,)), y)
    grads = gn.autograd.grad(loss, list(params.values()), create_graph=True)
    fast = {k: p - 0.1 * g for (k, p), g in zip(params.items(), grads)}
    outer = nn.functional.mse_loss(gn.nn.utils.stateless.functional_call(net, fast, x), y)
    outer.backward()  # through the inner step: second-order terms included
    # PyTorch 2.13
    np.testing.assert_allclose(loss.item(), 1.0718649625778198, rtol=1e-6)
    np.testing.assert_allclose(outer.item(), 0.9469922184944153, rtol=1e-6)
    np.testing.assert_allclose(net[0].weight.grad.sum().item(), -0.4854312837123871, rtol=1e-5)
    np.testing.assert_allclose(net[2].bias.grad.sum().item(), 0.250138521194458, rtol=1e-5)
    assert net[0].weight is params["0.weight"]  # the module holds its own weights again
    np.testing.assert_array_equal(net(x).numpy(), before)


def test_tied_weights_strict_and_errors():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    net[1].weight = net[0].weight  # tied
    w = gn.eye(2) * 3.0
    x = gn.tensor([[1.0, 2.0]])
    out = gn.func.functional_call(net, {"0.weight": w}, (x,))
    np.testing.assert_allclose(out.numpy(), [[9.0, 18.0]])  # both layers read w
    out = gn.func.functional_call(net, {"0.weight": w}, (x,), tie_weights=False)
    assert not np.allclose(out.numpy(), [[9.0, 18.0]])
    with pytest.raises(RuntimeError, match="Missing key"):
        gn.func.functional_call(net, {}, (x,), strict=True)
    with pytest.raises(AttributeError, match="2"):  # PyTorch's error
        gn.func.functional_call(net, {"2.weight": w}, (x,))
    with pytest.raises(TypeError, match="give tensors"):
        gn.func.functional_call(net, {"0.weight": [[1.0]]}, (x,))
