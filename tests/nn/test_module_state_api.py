"""state_dict / load_state_dict / traversal with PyTorch's meaning (expected values from
PyTorch's nn.Module documentation and source: state_dict lists every name of a shared layer,
parameters() dedupes, apply is post-order, load_state_dict returns a named tuple)."""

from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_state_dict_lists_every_name_of_a_shared_layer():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, layer)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    assert [n for n, _ in model.named_modules()] == ["", "0"]


def test_checkpoint_of_shared_layer_loads_strictly():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, layer)
    w = np.arange(4.0).reshape(2, 2)
    state = {"0.weight": w, "0.bias": np.zeros(2), "1.weight": w, "1.bias": np.zeros(2)}
    result = model.load_state_dict(state)
    np.testing.assert_array_equal(layer.weight.numpy(), w)
    assert result.missing_keys == [] and result.unexpected_keys == []
    with pytest.raises(ValueError, match="missing keys: 1.weight, 1.bias"):
        model.load_state_dict({"0.weight": w, "0.bias": np.zeros(2)})


def test_load_state_dict_returns_named_tuple_and_error_is_runtime_error_too():
    model = nn.Linear(2, 3)
    result = model.load_state_dict({"weight": np.ones((3, 2)), "extra": np.ones(1)}, strict=False)
    missing, unexpected = result
    assert missing == result.missing_keys == ["bias"]
    assert unexpected == result.unexpected_keys == ["extra"]
    assert repr(model.load_state_dict(model.state_dict())) == "<All keys matched successfully>"
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError; glassnet's is both
        model.load_state_dict({"weight": np.ones((3, 2))})


def test_load_state_dict_assign_replaces_parameters():
    model = nn.Linear(2, 3)
    model.weight.requires_grad = False
    old = model.weight
    new_w = gn.tensor(np.ones((3, 2)), dtype="float64")
    model.load_state_dict({"weight": new_w, "bias": np.zeros(3)}, assign=True)
    assert model.weight is not old and isinstance(model.weight, nn.Parameter)
    assert model.weight.dtype == np.float64  # the checkpoint's dtype is kept, as PyTorch
    assert model.weight.requires_grad is False  # the module's requires_grad is kept
    new_w._data[0, 0] = 7.0  # no copy: the parameter holds the given tensor's data
    assert model.weight.numpy()[0, 0] == 7.0
    assert [n for n, _ in model.named_parameters()] == ["weight", "bias"]


def test_state_dict_prefix_keep_vars_destination():
    model = nn.Linear(2, 1)
    sd = model.state_dict(prefix="enc.")
    assert list(sd) == ["enc.weight", "enc.bias"]
    assert not isinstance(sd["enc.weight"], nn.Parameter)
    assert not sd["enc.weight"].requires_grad
    kept = model.state_dict(keep_vars=True)
    assert kept["weight"] is model.weight
    dest = OrderedDict(x=1)
    assert model.state_dict(destination=dest) is dest and list(dest) == ["x", "weight", "bias"]


def test_del_and_slice_delete_renumber_sequential():
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    del model[1]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert model[1].out_features == 2
    model = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Linear(1, 1), nn.Sigmoid())
    del model[:2]
    assert list(model._modules) == ["0", "1"] and list(model.state_dict()) == ["0.weight", "0.bias"]
    named = nn.Sequential(OrderedDict(a=nn.ReLU(), b=nn.Tanh(), c=nn.Sigmoid()))
    del named[0]
    assert list(named._modules) == ["0", "1"]  # PyTorch renumbers a named Sequential too


def test_apply_is_post_order_and_returns_self():
    inner = nn.Sequential(nn.ReLU(), nn.Tanh())
    model = nn.Sequential(nn.Linear(1, 1), inner)
    order = []
    assert model.apply(lambda m: order.append(type(m).__name__)) is model
    assert order == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]


def test_sequential_list_methods():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    s = nn.Sequential(a, b)
    s.insert(1, c)
    assert list(s) == [a, c, b]
    s.insert(-1, nn.Identity())
    assert type(s[2]).__name__ == "Identity" and s[3] is b
    assert s.pop(0) is a and list(s._modules) == ["0", "1", "2"]
    twice = nn.Sequential(a) * 2
    assert list(twice) == [a, a] and list(twice._modules) == ["0", "1"]
    joined = nn.Sequential(a) + nn.Sequential(b, c)
    assert list(joined) == [a, b, c]
    s = nn.Sequential(a)
    s += nn.Sequential(b)
    assert list(s) == [a, b]
    with pytest.raises(ValueError):
        nn.Sequential(a) + [b]
    with pytest.raises(ValueError):
        nn.Sequential(a) * 0
    with pytest.raises(IndexError):
        nn.Sequential(a).insert(5, b)
    assert "(1): ReLU()" in repr(nn.Sequential(a, a))  # every name is printed


def test_module_list_and_dict_methods():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    ml = nn.ModuleList([a, b])
    assert list(ml + [c]) == [a, b, c] and len(ml) == 2
    ml += [c]
    assert ml.pop(1) is b and list(ml) == [a, c] and list(ml._modules) == ["0", "1"]
    md = nn.ModuleDict({"x": a})
    md.update(nn.ModuleDict({"y": b}))
    md.update([("z", c)])
    assert list(md.keys()) == ["x", "y", "z"]
    assert md.pop("y") is b and "y" not in md
    md.clear()
    assert len(md) == 0
    with pytest.raises(ValueError, match="pair"):
        md.update([a])


def test_lookup_by_dotted_name():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.BatchNorm1d(2)))
    assert model.get_submodule("") is model
    assert model.get_submodule("1.0") is model[1][0]
    assert model.get_parameter("0.weight") is model[0].weight
    assert model.get_buffer("1.0.running_mean") is model[1][0].running_mean
    with pytest.raises(AttributeError):
        model.get_submodule("2")
    with pytest.raises(AttributeError):
        model.get_parameter("1.0.running_mean")
    model.set_submodule("1.0", nn.Identity())
    assert type(model[1][0]).__name__ == "Identity"


def test_add_module_and_register_checks():
    m = nn.Module()
    m.register_module("child", nn.ReLU())
    assert m.child is m._modules["child"]
    for bad in ("a.b", ""):
        with pytest.raises(KeyError):
            m.add_module(bad, nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        m.add_module("forward", nn.ReLU())
    with pytest.raises(TypeError):
        m.add_module(3, nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("train", None)
    assert "child" in dir(m)


def test_to_accepts_dtype_positionally_and_a_tensor():
    m = nn.Linear(2, 2)
    assert m.to(gn.float64) is m and m.weight.dtype == np.float64
    m.to(gn.zeros(1, dtype="float32"))
    assert m.weight.dtype == np.float32
    assert m.cpu() is m and m.type(gn.float64).bias.dtype == np.float64


def test_forward_pre_hook_result_replaces_inputs_and_kwargs_hooks():
    m = nn.Linear(1, 1, bias=False)
    with gn.no_grad():
        m.weight.fill_(1.0)
    handle = m.register_forward_pre_hook(lambda mod, args: args[0] * 3)
    assert m(gn.ones(1, 1)).item() == 3.0
    handle.remove()
    seen = []
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, a, kw: ((a[0] * 2,), kw), with_kwargs=True)
    order = []
    m.register_forward_hook(lambda *a: order.append("second"))
    m.register_forward_hook(lambda *a: order.append("first"), prepend=True)
    assert m(gn.ones(1, 1)).item() == 2.0
    assert seen == [{}] and order == ["first", "second"]
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        m.register_backward_hook(lambda *a: None)  # PyTorch's deprecated form


def test_train_calls_each_childs_train():
    calls = []

    class Frozen(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(False)

    model = nn.Sequential(nn.Linear(1, 1), Frozen())
    model.train()
    assert calls == [True] and model.training and not model[1].training
