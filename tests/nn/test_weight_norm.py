"""nn.utils.weight_norm (legacy hook), nn.utils.parametrizations.weight_norm, nn.utils.parametrize
and gn.norm_except_dim, against PyTorch 2.13's keys, shapes and values (constants recorded once
with torch in float64) and float64 finite differences. glassnet had none of them: a TCN ported
from locuslab/TCN failed at ``from torch.nn.utils import weight_norm``."""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn.utils import parametrize
from glassnet.nn.utils.weight_norm import _weight_norm
from glassnet.testing import check_grad

X = np.sin(np.arange(20) * 0.7).reshape(2, 2, 5)
W = np.cos(np.arange(12) * 1.3).reshape(3, 2, 2)

# torch 2.13, float64: Conv1d(2, 3, 2, dilation=2, padding=2) with weight W, bias
# (0.1, -0.2, 0.3), weight-normalized with `dim`, g scaled by linspace(0.5, 1.5); y = conv(X);
# (y * cos(arange(y.numel()))).sum().backward(). Legacy and parametrized agree to the bit.
RECORDED = {
    0: (
        [[0.227322439866, 0.502516244224, 0.738691471474],
         [0.132444839566, 1.255146206062, 1.674542916581],
         [0.385300549857, 1.137732058065, 1.018689428617]],
        [-1.910179947496, -3.46314569805, -4.716642859391],
        [0.882461992232, -1.416122241535, -0.158378808752, 0.880748752637, 3.647726414708,
         -0.619804485431],
    ),
    1: (
        [[0.481967316617, 1.135221252978, 1.752467763002],
         [0.29866726084, 1.353584288951, 1.649436364279],
         [0.385300549857, 0.720539042514, 0.380515791549]],
        [-2.747246268894, -5.243136009382],
        [1.053005509027, -1.370502050563, -2.750698096033, 0.714453741325, 1.633456365931,
         -0.706790926894],
    ),
    None: (
        [[0.227322439866, 0.502516244224, 0.738691471474],
         [-0.033777581707, 0.527573101541, 0.737271456801],
         [0.328433524566, 0.579244027302, 0.53956315082]],
        [-5.654920966193],
        [1.412315084163, -1.274387160101, -0.612403964166, 0.496111276724, 1.80179889204,
         -0.355893642011],
    ),
}  # fmt: skip

G_SHAPES = {0: (3, 1, 1), 1: (1, 2, 1), None: (), -1: (), -2: (1, 2, 1)}


def conv():
    c = nn.Conv1d(2, 3, 2, dilation=2, padding=2).double()
    with gn.no_grad():
        c.weight.copy_(gn.tensor(W))
        c.bias.copy_(gn.tensor([0.1, -0.2, 0.3]))
    return c


def legacy(module, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(module, **kw)


def run_recorded(c, g_name, v_name):
    g = dict(c.named_parameters())[g_name]
    with gn.no_grad():
        g.mul_(gn.tensor(np.linspace(0.5, 1.5, g.numel()).reshape(g.shape)))
    y = c(gn.tensor(X))
    (y * gn.tensor(np.cos(np.arange(y.numel())).reshape(y.shape))).sum().backward()
    params = dict(c.named_parameters())
    return y, params[g_name].grad.numpy().ravel(), params[v_name].grad.numpy().ravel()


@pytest.mark.parametrize("dim", [0, 1, None])
def test_legacy_weight_norm_matches_pytorch(dim):
    c = legacy(conv(), dim=dim)
    assert list(c.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert [n for n, _ in c.named_parameters()] == ["bias", "weight_g", "weight_v"]
    assert tuple(c.weight_g.shape) == G_SHAPES[dim]
    assert not isinstance(c.weight, nn.Parameter) and c.weight.requires_grad
    np.testing.assert_allclose(c.weight.detach().numpy(), W, rtol=1e-12)  # g v/|v| = w at first
    y, dg, dv = run_recorded(c, "weight_g", "weight_v")
    y_ref, dg_ref, dv_ref = RECORDED[dim]
    np.testing.assert_allclose(y.detach().numpy()[0, :, :3], y_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(dg, dg_ref, rtol=1e-9)
    np.testing.assert_allclose(dv[:6], dv_ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_matches_pytorch(dim):
    c = nn.utils.parametrizations.weight_norm(conv(), dim=dim)
    keys = ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert list(c.state_dict()) == keys
    assert type(c).__name__ == "ParametrizedConv1d" and isinstance(c, nn.Conv1d)
    assert parametrize.type_before_parametrizations(c) is nn.Conv1d
    assert parametrize.is_parametrized(c) and parametrize.is_parametrized(c, "weight")
    assert not parametrize.is_parametrized(c, "bias")
    assert tuple(c.parametrizations.weight.original0.shape) == G_SHAPES[dim]
    y, dg, dv = run_recorded(c, keys[1], keys[2])
    y_ref, dg_ref, dv_ref = RECORDED[dim]
    np.testing.assert_allclose(y.detach().numpy()[0, :, :3], y_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(dg, dg_ref, rtol=1e-9)
    np.testing.assert_allclose(dv[:6], dv_ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dim", [0, 1, None, -1, -2])
def test_g_shape_follows_pytorchs_dim_rule(dim):
    """dim=-1 is PyTorch's 'no dim kept' (like None), not the last dim; -2 counts back."""
    assert tuple(legacy(conv(), dim=dim).weight_g.shape) == G_SHAPES[dim]
    p = nn.utils.parametrizations.weight_norm(conv(), dim=dim)
    assert tuple(p.parametrizations.weight.original0.shape) == G_SHAPES[dim]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_weight_norm_gradient_matches_finite_differences(dim):
    def fn(v, g):
        return _weight_norm(v, g, dim)

    g = gn.norm_except_dim(gn.tensor(W), 2, dim).numpy() * 1.3
    check_grad(fn, [W, g], name=f"weight_norm dim={dim}")


def test_norm_except_dim_values():
    v = np.arange(1.0, 25.0).reshape(2, 3, 4) - 12.0
    out = gn.norm_except_dim(gn.tensor(v), 2, 1).numpy()
    np.testing.assert_allclose(out, np.sqrt((v**2).sum(axis=(0, 2), keepdims=True)))
    assert gn.norm_except_dim(gn.tensor(v), 2, -1).shape == ()
    np.testing.assert_allclose(gn.norm_except_dim(gn.tensor(v), 3, -1).item(),
                               (np.abs(v) ** 3).sum() ** (1 / 3))  # fmt: skip
    np.testing.assert_allclose(gn.norm_except_dim(gn.tensor([3.0, -4.0]), 2, 0).numpy(), [3, 4])


def test_hook_recomputes_the_weight_before_each_forward():
    c = legacy(nn.Linear(3, 2))
    with gn.no_grad():
        c.weight_g.mul_(2.0)
    before = c.weight.detach().numpy().copy()
    c(gn.ones(1, 3))
    np.testing.assert_allclose(c.weight.detach().numpy(), 2 * before, rtol=1e-6)
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        legacy(c)


def test_remove_weight_norm_restores_a_parameter():
    c = legacy(nn.Linear(3, 2))
    with gn.no_grad():
        c.weight_g.mul_(3.0)
    expected = c.weight_g.detach().numpy() * c.weight_v.detach().numpy()
    expected /= np.linalg.norm(c.weight_v.detach().numpy(), axis=1, keepdims=True)
    nn.utils.remove_weight_norm(c)
    assert list(c.state_dict()) == ["bias", "weight"] and isinstance(c.weight, nn.Parameter)
    np.testing.assert_allclose(c.weight.detach().numpy(), expected, rtol=1e-6)
    assert not c._forward_pre_hooks
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_weight_norm(c)


def test_parametrization_assign_and_remove_as_pytorch():
    lin = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    lin.weight = gn.ones(2, 3) * 2
    # torch 2.13: original0 = [[3.4641016], [3.4641016]] (the row norms), weight all 2
    np.testing.assert_allclose(lin.parametrizations.weight.original0.detach().numpy().ravel(),
                               [3.4641016, 3.4641016], rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(lin.weight.detach().numpy(), np.full((2, 3), 2.0), rtol=1e-6)
    assert repr(lin) == (
        "ParametrizedLinear(\n  in_features=3, out_features=2, bias=True\n"
        "  (parametrizations): ModuleDict(\n    (weight): ParametrizationList(\n"
        "      (0): _WeightNorm()\n    )\n  )\n)"
    )
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and list(lin.state_dict()) == ["bias", "weight"]
    assert isinstance(lin.weight, nn.Parameter)
    np.testing.assert_allclose(lin.weight.detach().numpy(), np.full((2, 3), 2.0), rtol=1e-6)


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Scale(nn.Module):
    def forward(self, X):
        return 2 * X


def test_custom_parametrization_single_original_and_chaining():
    """The PyTorch tutorial's Symmetric: one original (key ``parametrizations.weight.original``),
    the weight symmetric on every access, gradients reaching the original; a second
    registration chains after the first."""
    layer = nn.Linear(3, 3)
    original = layer.weight
    parametrize.register_parametrization(layer, "weight", Symmetric())
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert layer.parametrizations.weight.original is original  # kept, as PyTorch's set_
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    parametrize.register_parametrization(layer, "weight", Scale())
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w)
    layer(gn.ones(1, 3)).sum().backward()
    # d/dA of sum_ij (2 S(A))_ij with S(A) = triu(A) + triu(A, 1)^T: 2 on the diagonal, 4 above
    upper = np.triu(np.ones((3, 3)))
    np.testing.assert_allclose(original.grad.numpy(), 2 * (upper + np.triu(upper, 1)))
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(layer, "nope", Scale())


def test_missing_parametrizations_raise_clearly():
    with pytest.raises(NotImplementedError, match="orthogonal is not implemented"):
        nn.utils.parametrizations.orthogonal(nn.Linear(2, 2))


def test_module_repr_puts_extra_repr_on_its_own_line_beside_children():
    """PyTorch's layout: a module with children prints its extra_repr on its own line."""

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Identity()

        def extra_repr(self):
            return "k=1"

    assert repr(Wrapped()) == "Wrapped(\n  k=1\n  (inner): Identity()\n)"
    assert repr(nn.Linear(2, 2)) == "Linear(in_features=2, out_features=2, bias=True)"


@pytest.mark.parametrize("name", ["fuse_linear_bn_eval", "fuse_conv_bn_eval"])
def test_missing_nn_utils_raise_clearly(name):
    assert hasattr(nn.utils, name)
    with pytest.raises(NotImplementedError, match=f"nn.utils.{name} is not implemented"):
        getattr(nn.utils, name)(nn.Linear(2, 2))
    with pytest.raises(AttributeError):
        nn.utils.no_such_thing  # noqa: B018
    layer = nn.utils.skip_init(nn.Linear, 3, 2, bias=False)
    assert isinstance(layer, nn.Linear) and layer.bias is None
