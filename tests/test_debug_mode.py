"""Debug mode: value checks (class and index ranges) run on CPU by default, can be switched
off (the behaviour on devices, where they would synchronize) and forced on."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import debug


@pytest.fixture(autouse=True)
def _restore():
    before = debug._MODE  # the suite's mode (on everywhere when it runs on the sim device)
    gn.set_debug(None)
    yield
    gn.set_debug(before)


def test_value_checks_run_by_default_on_cpu(host_device):
    assert gn.is_debug(np.zeros(2))
    with pytest.raises(ValueError, match="class index 5"):
        F.cross_entropy(gn.zeros(2, 3), gn.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"range over \[0, 7\]"):
        F.embedding(gn.tensor([0, 7]), gn.zeros(4, 2))
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        F.binary_cross_entropy(gn.tensor([1.5]), gn.tensor([1.0]))


def test_device_arrays_skip_value_checks_unless_debug_is_forced():
    class DeviceArray(np.ndarray):  # stands for a CuPy array: not a NumPy array to the check
        pass

    device_like = np.zeros(3).view(DeviceArray)
    assert not debug.is_debug(device_like)
    gn.set_debug(True)
    assert debug.is_debug(device_like)


def test_switched_off_the_ops_do_not_read_the_values(host_device):
    gn.set_debug(False)
    assert not gn.is_debug(np.zeros(2))
    # an out-of-range id is not looked for: NumPy's own indexing error is what remains
    # (on a GPU this would be undefined, as in PyTorch: turn debug mode on to find it)
    with pytest.raises(IndexError):
        F.embedding(gn.tensor([0, 7]), gn.zeros(4, 2))
    # shape and dtype checks stay on
    with pytest.raises(TypeError, match="indices must be integers"):
        F.embedding(gn.tensor([0.0]), gn.zeros(4, 2))


def test_the_module_checks_ids_once_through_the_op(host_device):
    emb = gn.nn.Embedding(4, 2)
    with pytest.raises(ValueError, match=r"^embedding: indices"):  # the op's message, once
        emb(gn.tensor([9]))


def test_set_debug_rejects_other_values():
    with pytest.raises(TypeError, match="True, False or None"):
        gn.set_debug("yes")


def test_the_environment_variable_sets_the_starting_mode(monkeypatch):
    monkeypatch.setenv("GLASSNET_DEBUG", "0")
    assert debug._from_env() is False
    monkeypatch.setenv("GLASSNET_DEBUG", "1")
    assert debug._from_env() is True
    monkeypatch.delenv("GLASSNET_DEBUG")
    assert debug._from_env() is None
