"""glassnet.jit: PyTorch's TorchScript decorators run the Python code unchanged."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_script_returns_what_it_gets_and_trace_raises():
    def branchy(x):
        return x * 2 if x.sum().item() > 0 else x - 1

    assert gn.jit.script(branchy) is branchy
    assert gn.jit.script(branchy)(-gn.ones(2)).tolist() == [-2.0, -2.0]  # the Python's branch
    model = nn.Linear(2, 1)
    assert gn.jit.script(model) is model
    with pytest.raises(NotImplementedError, match="replay the example"):
        gn.jit.trace(model, (gn.ones(3, 2),))


def test_markers_and_queries():
    def fn(x):
        return x

    assert gn.jit.ignore(fn) is fn and gn.jit.ignore(drop=True)(fn) is fn
    assert gn.jit.unused(fn) is fn and gn.jit.unused()(fn) is fn and gn.jit.export(fn) is fn
    assert gn.jit.annotate(list, [1]) == [1]
    assert gn.jit.is_scripting() is False and gn.jit.is_tracing() is False


def test_save_and_load_raise_naming_state_dict(tmp_path):
    with pytest.raises(NotImplementedError, match="state_dict"):
        gn.jit.save(nn.Linear(2, 1), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="load_state_dict"):
        gn.jit.load(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    np.testing.assert_equal(gn.jit.script(gn.tanh)(gn.zeros(1)).numpy(), [0.0])
