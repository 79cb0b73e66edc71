"""torch.func.functional_call / nn.utils.stateless.functional_call: the module runs with the
given tensors, gradients reach them (not the module's parameters), the module's own tensors
come back (also after an exception), tied weights, strict mode, several dicts."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.func import functional_call
from glassnet.nn.utils.stateless import functional_call as stateless_call

RNG = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def _float64():
    gn.set_default_dtype(gn.float64)  # the suite restores the default after each test


def test_substituted_parameters_compute_and_take_the_gradient():
    model = gn.nn.Sequential(gn.nn.Linear(3, 2), gn.nn.Tanh(), gn.nn.Linear(2, 1))
    own = {k: v.detach().clone() for k, v in model.named_parameters()}
    new = {k: gn.tensor(RNG.standard_normal(v.shape), requires_grad=True) for k, v in own.items()}
    x = RNG.standard_normal((4, 3))
    out = functional_call(model, new, (gn.tensor(x),))
    n = {k: v.detach().numpy() for k, v in new.items()}
    h = np.tanh(x @ n["0.weight"].T + n["0.bias"])
    np.testing.assert_allclose(out.detach().numpy(), h @ n["2.weight"].T + n["2.bias"], rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(new["2.bias"].grad.numpy(), [4.0])
    np.testing.assert_allclose(new["2.weight"].grad.numpy(), h.sum(0, keepdims=True), rtol=1e-12)
    assert all(p.grad is None for p in model.parameters())
    for k, p in model.named_parameters():  # the module's own parameters are back
        assert isinstance(p, gn.nn.Parameter)
        np.testing.assert_array_equal(p.detach().numpy(), own[k].numpy())
    assert stateless_call is functional_call
    assert gn.nn.utils.stateless.functional_call is functional_call


def test_partial_dicts_buffers_and_single_argument():
    bn = gn.nn.BatchNorm1d(2).eval()
    x = RNG.standard_normal((3, 2))
    mean = gn.tensor([1.0, -1.0])
    out = functional_call(
        bn, ({"running_mean": mean}, {"weight": gn.tensor([2.0, 2.0])}), gn.tensor(x)
    )
    want = 2 * (x - [1.0, -1.0]) / np.sqrt(1 + bn.eps)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="multiple dictionaries"):
        functional_call(bn, ({"weight": mean}, {"weight": mean}), gn.tensor(x))


def test_restored_after_an_exception():
    model = gn.nn.Linear(2, 2)
    w = model.weight
    with pytest.raises(ValueError, match="Linear"):
        functional_call(model, {"weight": gn.ones((2, 2))}, (gn.ones((1, 5)),))
    assert model.weight is w


def test_tied_weights_and_strict():
    class Tied(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = gn.nn.Linear(2, 2, bias=False)
            self.b = gn.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    w = gn.tensor(RNG.standard_normal((2, 2)))
    x = RNG.standard_normal((1, 2))
    out = functional_call(m, {"a.weight": w}, (gn.tensor(x),))
    np.testing.assert_allclose(out.numpy(), x @ w.numpy().T @ w.numpy().T, rtol=1e-12)
    untied = functional_call(m, {"a.weight": w}, (gn.tensor(x),), tie_weights=False)
    own = m.a.weight.detach().numpy()
    np.testing.assert_allclose(untied.detach().numpy(), x @ w.numpy().T @ own.T, rtol=1e-12)
    with pytest.raises(ValueError, match="tied"):
        functional_call(m, {"a.weight": w, "b.weight": w * 2}, (gn.tensor(x),))
    with pytest.raises(RuntimeError, match="Missing key"):
        functional_call(gn.nn.Linear(2, 2), {"weight": w}, (gn.tensor(x),), strict=True)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        functional_call(m, {"a.weight": w, "b.weight": w, "c": w}, (gn.tensor(x),), strict=True)


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda: gn.nn.GRU(3, 4, num_layers=2), (5, 2, 3)),
        (lambda: gn.nn.Conv2d(2, 3, 3), (1, 2, 6, 6)),
        (lambda: gn.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), (2, 4, 8)),
    ],
)
def test_layers_run_with_the_given_weights_as_if_loaded(make, x):
    """The same as a module that loaded those weights; the gradient reaches the given ones."""
    gn.manual_seed(0)
    m, loaded = make(), make()
    rng = np.random.default_rng(4)
    new = {k: gn.tensor(rng.standard_normal(v.shape) * 0.5) for k, v in m.named_parameters()}
    loaded.load_state_dict({k: v.detach() for k, v in new.items()}, strict=False)
    inp = gn.tensor(rng.standard_normal(x))
    first = lambda out: out[0] if isinstance(out, tuple) else out  # noqa: E731
    name = next(iter(new))
    new[name].requires_grad_(True)
    got = first(functional_call(m, new, (inp,)))
    np.testing.assert_allclose(
        got.detach().numpy(), first(loaded(inp)).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    got.sum().backward()
    assert new[name].grad is not None and all(p.grad is None for p in m.parameters())
