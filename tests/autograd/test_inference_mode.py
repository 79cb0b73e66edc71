"""``inference_mode`` makes inference tensors, as PyTorch (glassnet's was only ``no_grad``):
``is_inference()``, ``is_inference_mode_enabled()``, and outside inference mode an op that
would save one for backward raises (add/sub/cat/stack/where save nothing and work), as do an
in-place change and ``requires_grad_()``. Expected behaviour recorded once from PyTorch 2.13.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.autograd import inference
from glassnet.tensor import Tensor


def _inference_ones(n=3):
    with gn.inference_mode():
        return gn.ones(n)


def test_mode_flags_and_inference_tensors():
    assert not gn.is_inference_mode_enabled()
    with gn.inference_mode():
        t = gn.ones(3)
        assert t.is_inference() and gn.is_inference_mode_enabled() and not gn.is_grad_enabled()
        assert (t * 2).is_inference() and gn.tensor([1.0]).is_inference()
        with gn.inference_mode(False):  # PyTorch: inference off, grad mode on
            assert not gn.is_inference_mode_enabled() and gn.is_grad_enabled()
            assert not gn.ones(2).is_inference()
        with gn.no_grad():
            assert gn.is_inference_mode_enabled() and gn.ones(1).is_inference()
    with gn.no_grad(), gn.inference_mode(False):
        assert gn.is_grad_enabled()
    assert not gn.ones(2).is_inference()

    @gn.inference_mode()
    def f():
        return gn.is_inference_mode_enabled()

    assert f() and not gn.is_inference_mode_enabled()


def test_views_and_detach_stay_inference_ops_and_clone_do_not():
    xi = _inference_ones()
    assert xi.detach().is_inference() and xi.view(3).is_inference() and xi[1:].is_inference()
    assert not xi.clone().is_inference() and not (xi * 2).is_inference()


SAVED = {  # PyTorch 2.13: RuntimeError "Inference tensors cannot be saved for backward"
    "mul": lambda xi, w: xi * w,
    "div": lambda xi, w: w / xi,
    "matmul": lambda xi, w: xi @ w,
    "mse_loss": lambda xi, w: F.mse_loss(w, xi),
    "maximum": lambda xi, w: gn.maximum(w, xi),
    "pow": lambda xi, w: w**xi,
    "linear": lambda xi, w: F.linear(xi[None], w[None]),
}
NOT_SAVED = {  # PyTorch 2.13: these work
    "add": lambda xi, w: xi + w,
    "sub": lambda xi, w: w - xi,
    "cat": lambda xi, w: gn.cat([xi, w]),
    "stack": lambda xi, w: gn.stack([xi, w]),
    "where": lambda xi, w: gn.where(xi > 0, w, xi),
    "expand": lambda xi, w: w + xi.expand(3),
    "lerp": lambda xi, w: gn.lerp(w, xi, 0.5),
    "addcmul": lambda xi, w: gn.addcmul(w, xi, xi),
}


@pytest.mark.parametrize("f", SAVED.values(), ids=list(SAVED))
def test_an_op_that_saves_an_inference_tensor_raises(f):
    w = gn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        f(_inference_ones(), w)
    with gn.no_grad():
        f(_inference_ones(), w)  # nothing is saved without grad
    assert f(_inference_ones().clone(), w).requires_grad


@pytest.mark.parametrize("f", NOT_SAVED.values(), ids=list(NOT_SAVED))
def test_an_op_that_saves_nothing_takes_an_inference_tensor(f):
    w = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    f(_inference_ones(), w).sum().backward()
    assert w.grad is not None


def test_a_module_on_an_inference_tensor():
    lin = gn.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="cannot be saved for backward"):
        lin(_inference_ones())
    with gn.no_grad():
        assert not lin(_inference_ones()).is_inference()


def test_in_place_and_requires_grad_outside_inference_mode_raise():
    xi = _inference_ones()
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        xi.add_(1)
    with pytest.raises(RuntimeError, match="requires_grad=True on inference tensor"):
        xi.requires_grad_()
    with gn.inference_mode():
        xi.add_(1)  # inside inference mode: allowed, as PyTorch
    assert xi.tolist() == [2.0, 2.0, 2.0]
    w = gn.zeros(3)
    w.add_(xi)  # a normal tensor may read one
    assert w.tolist() == [2.0, 2.0, 2.0]


def test_the_installed_make_builds_the_same_tensor_as_tensor_make():
    _inference_ones()  # installs
    (plain,) = inference.PLAIN_MAKE
    a = np.ones(2, dtype=np.float32)
    one, two = plain(a, True), Tensor._make(a, True)
    assert one._data is two._data and one._vc == two._vc == [0]
    for slot in set(Tensor.__slots__) - {"__weakref__", "_data", "_vc"}:
        assert getattr(one, slot, "unset") == getattr(two, slot, "unset"), slot
    assert isinstance(Tensor._make(np.float32(1.0), False)._data, np.ndarray)
