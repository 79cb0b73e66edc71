"""ParameterList / ParameterDict with PyTorch's semantics: parameters registered under
positions / keys, plain tensors wrapped in Parameters, present in parameters() and
state_dict(), trained by optimizers."""

from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_parameter_list_registers_and_wraps():
    pl = nn.ParameterList([gn.zeros(2), nn.Parameter(gn.ones(3))])
    pl.append(gn.full((1,), 5.0))
    pl += [gn.ones(4)]
    assert len(pl) == 4 and all(isinstance(p, nn.Parameter) for p in pl)
    assert list(pl.state_dict()) == ["0", "1", "2", "3"]
    assert pl[-2].item() == 5.0 and pl[1] is pl.get_parameter("1")
    assert len(pl[1:3]) == 2
    pl[0] = gn.full((2,), 7.0)
    np.testing.assert_array_equal(pl[0].numpy(), [7.0, 7.0])
    with pytest.raises(IndexError):
        pl[4]
    with pytest.raises(TypeError):
        pl.extend(gn.ones(2))
    assert "(1): Parameter containing: [float32 of size 3]" in repr(pl)


def test_parameter_list_in_a_model_trains():
    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([gn.ones(2) for _ in range(2)])

        def forward(self, x):
            for s in self.scales:
                x = x * s
            return x

    model = Scales()
    assert [n for n, _ in model.named_parameters()] == ["scales.0", "scales.1"]
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    model(gn.ones(2)).sum().backward()
    opt.step()
    np.testing.assert_allclose(model.scales[0].numpy(), [0.9, 0.9])
    model.load_state_dict({"scales.0": np.full(2, 3.0), "scales.1": np.full(2, 4.0)})
    np.testing.assert_allclose(model(gn.ones(2)).numpy(), [12.0, 12.0])


def test_parameter_dict_methods():
    pd = nn.ParameterDict({"b": gn.zeros(2), "a": gn.ones(1)})
    assert list(pd.keys()) == ["a", "b"]  # a plain dict is added sorted, as PyTorch
    ordered = nn.ParameterDict(OrderedDict(b=gn.zeros(2), a=gn.ones(1)))
    assert list(ordered) == ["b", "a"] and list(ordered.state_dict()) == ["b", "a"]
    pd["c"] = gn.ones(3)
    assert isinstance(pd["c"], nn.Parameter) and "c" in pd and len(pd) == 3
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert pd.pop("b").shape == (2,) and "b" not in pd and "b" not in pd.state_dict()
    assert pd.get("missing") is None and pd.setdefault("d", gn.zeros(1)).shape == (1,)
    key, value = pd.popitem()
    assert key == "d" and value.shape == (1,)
    copy = pd.copy()
    assert copy["a"] is pd["a"]
    merged = pd | nn.ParameterDict({"z": gn.ones(1)})
    assert list(merged) == ["a", "c", "z"]
    pd.update([("y", gn.ones(2))])
    assert list(pd.values())[-1].shape == (2,) and [k for k, _ in pd.items()][-1] == "y"
    pd.clear()
    assert len(pd) == 0 and not list(pd.parameters())
    with pytest.raises(TypeError):
        pd[1] = gn.ones(1)
    with pytest.raises(KeyError):
        pd["a.b"] = gn.ones(1)
    with pytest.raises(KeyError):
        pd["nope"]
