"""Sequential / ModuleList / ModuleDict, state_dict round trips and strict-load errors."""

from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))


def test_sequential_chains_in_order():
    gn.manual_seed(0)
    model = _mlp().eval()
    x = gn.randn(5, 4)
    w0, b0 = model[0].weight.numpy(), model[0].bias.numpy()
    w3, b3 = model[3].weight.numpy(), model[3].bias.numpy()
    ref = np.maximum(x.numpy() @ w0.T + b0, 0) @ w3.T + b3
    np.testing.assert_allclose(model(x).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_sequential_indexing_slicing_iteration_append():
    model = _mlp()
    assert len(model) == 4
    assert isinstance(model[0], nn.Linear) and model[-1] is model[3]
    head = model[1:3]
    assert isinstance(head, nn.Sequential) and [type(m).__name__ for m in head] == [
        "ReLU", "Dropout"
    ]  # fmt: skip
    assert list(head._modules) == ["1", "2"]  # PyTorch keeps the original names
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    model.append(nn.Softmax(dim=-1))
    assert len(model) == 5 and isinstance(model[4], nn.Softmax)
    model[2] = nn.Identity()
    assert isinstance(model[2], nn.Identity)
    del model[2]
    assert len(model) == 4
    with pytest.raises(IndexError, match="out of range for 4 modules"):
        model[7]


def test_sequential_from_ordered_dict_names_state_dict():
    model = nn.Sequential(
        OrderedDict([("encoder", nn.Linear(3, 4)), ("act", nn.Tanh()), ("head", nn.Linear(4, 1))])
    )
    assert list(model.state_dict()) == [
        "encoder.weight",
        "encoder.bias",
        "head.weight",
        "head.bias",
    ]
    assert model["head"] is model[2]
    assert "(encoder): Linear(in_features=3, out_features=4, bias=True)" in repr(model)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="holds Modules, got function; wrap a function"):
        nn.Sequential(nn.Linear(2, 2), gn.tanh)


def test_modulelist_and_moduledict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert list(layers.state_dict())[-2:] == ["3.weight", "3.bias"]
    layers.insert(0, nn.ReLU())
    assert isinstance(layers[0], nn.ReLU) and list(layers._modules) == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and list(layers._modules) == ["0", "1", "2", "3"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    with pytest.raises(NotImplementedError, match="loop over it"):
        layers(gn.zeros(1, 2))

    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(2, 1)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    with pytest.raises(KeyError, match="no key 'c'; keys: \\['a', 'b'\\]"):
        heads["c"]
    heads.pop("a")
    assert list(heads.keys()) == ["b"]


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = self.features(x).flatten(1)
        for block in self.blocks:
            x = block(x).relu()
        return self.head(x)


def test_state_dict_round_trip_reproduces_outputs():
    gn.manual_seed(0)
    a = _Net()
    a(gn.randn(4, 1, 4, 4))  # move the BatchNorm running statistics
    sd = a.state_dict()
    assert list(sd) == [
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "head.weight", "head.bias",
    ]  # fmt: skip
    gn.manual_seed(1)
    b = _Net()
    x = gn.randn(2, 1, 4, 4)
    assert not np.allclose(a.eval()(x).numpy(), b.eval()(x).numpy())
    missing, unexpected = b.load_state_dict(sd)
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # loaded by copy: changing a afterwards leaves b alone
    with gn.no_grad():
        a.head.bias.add_(1.0)
    assert not np.allclose(a.head.bias.numpy(), b.head.bias.numpy())


def test_strict_load_lists_every_problem():
    model = _Net()
    sd = dict(model.state_dict())
    del sd["head.bias"]
    sd["head.gamma"] = gn.zeros(3)
    sd["blocks.0.weight"] = gn.zeros(8, 7)
    with pytest.raises(ValueError) as err:
        model.load_state_dict(sd)
    msg = str(err.value)
    assert "missing keys: head.bias" in msg and "unexpected keys: head.gamma" in msg
    assert "blocks.0.weight: checkpoint (8, 7) vs model (8, 8)" in msg
    del sd["blocks.0.weight"]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert missing == ["blocks.0.weight", "head.bias"] and unexpected == ["head.gamma"]


def test_train_eval_propagate_and_dropout_switches():
    model = _mlp()
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    x = gn.randn(3, 4)
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    model.train()
    assert model[2].training


def test_module_docstring_example_and_repr_nesting():
    text = repr(_Net())
    assert "(features): Sequential(\n    (0): Conv2d(1, 2, kernel_size=(3, 3)" in text
    assert "(blocks): ModuleList(\n    (0): Linear(in_features=8, out_features=8" in text
