"""glassnet.jit: PyTorch's TorchScript decorators run the Python code unchanged."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_script_and_trace_return_what_they_get_and_compute_the_python():
    calls = []

    def branchy(x):
        calls.append(1)
        return x * 2 if x.sum().item() > 0 else x - 1

    assert gn.jit.script(branchy) is branchy
    traced = gn.jit.trace(branchy, gn.ones(2))
    assert traced is branchy and len(calls) == 1  # run once on the example
    # the branch follows the data (the Python code runs at every call)
    assert traced(-gn.ones(2)).tolist() == [-2.0, -2.0]
    model = nn.Linear(2, 1)
    assert gn.jit.script(model) is model
    assert gn.jit.trace(model, (gn.ones(3, 2),)) is model


def test_markers_and_queries():
    def fn(x):
        return x

    assert gn.jit.ignore(fn) is fn and gn.jit.ignore(drop=True)(fn) is fn
    assert gn.jit.unused(fn) is fn and gn.jit.export(fn) is fn
    assert gn.jit.annotate(list, [1]) == [1]
    assert gn.jit.is_scripting() is False and gn.jit.is_tracing() is False


def test_trace_raises_where_the_example_does():
    with pytest.raises(ValueError):
        gn.jit.trace(nn.Linear(2, 1), gn.ones(3, 5))


def test_save_and_load_raise_naming_state_dict(tmp_path):
    with pytest.raises(NotImplementedError, match="state_dict"):
        gn.jit.save(nn.Linear(2, 1), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="load_state_dict"):
        gn.jit.load(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    np.testing.assert_equal(gn.jit.script(gn.tanh)(gn.zeros(1)).numpy(), [0.0])
