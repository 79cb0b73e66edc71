"""PyTorch's autograd entry points: ``backward(gradient=, inputs=)``, ``autograd.grad`` with
several outputs, ``allow_unused`` and ``materialize_grads``, ``autograd.backward`` and
``Tensor.retains_grad``.

Expected values are hand-computed derivatives: d/dx sum(x*x) = 2x, d/dx sum(x*w) = w,
d/dw sum(x*w) = x.
"""

import numpy as np
import pytest

import glassnet as gn


def _xw():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    w = gn.tensor([3.0, 4.0], requires_grad=True)
    return x, w


def test_backward_takes_gradient_by_torch_name_and_grad_by_the_old_one():
    x, w = _xw()
    (x * w).backward(gradient=gn.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 40.0])
    x.grad = None
    (x * w).backward(grad=gn.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 40.0])
    with pytest.raises(TypeError, match="not both"):
        (x * w).backward(gn.ones(2), grad=gn.ones(2))


def test_backward_inputs_accumulates_only_into_those():
    x, w = _xw()
    (x * w).sum().backward(inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None
    (x * w).sum().backward(inputs=w)  # a single tensor is accepted
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_backward_inputs_may_be_a_non_leaf():
    x, w = _xw()
    h = x * w
    (h * h).sum().backward(inputs=[h])  # d/dh sum(h^2) = 2h = [6, 16]
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 16.0])
    assert x.grad is None and w.grad is None


def test_backward_inputs_that_do_not_require_grad_raise():
    x, _ = _xw()
    with pytest.raises(RuntimeError, match=r"inputs\[0\].*does not require grad"):
        (x * 2).sum().backward(inputs=[gn.ones(2)])


def test_retain_graph_defaults_to_create_graph():
    x, _ = _xw()
    y = (x**3).sum()
    y.backward(create_graph=True)  # keeps the graph (PyTorch: retain_graph=create_graph)
    y.backward(create_graph=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), [6.0, 24.0])  # 2 * 3x^2


def test_grad_of_a_list_of_outputs_sums_them():
    x, w = _xw()
    y1, y2 = (x * x).sum(), (x * w).sum()
    (gx,) = gn.autograd.grad([y1, y2], x, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), [2.0 + 3.0, 4.0 + 4.0])
    gx, gw = gn.autograd.grad([y1, y2], [x, w], grad_outputs=[gn.tensor(1.0), gn.tensor(2.0)])
    np.testing.assert_allclose(gx.numpy(), [2 + 6.0, 4 + 8.0])
    np.testing.assert_allclose(gw.numpy(), [2.0, 4.0])


def test_grad_of_outputs_that_share_a_graph():
    x, _ = _xw()
    a = x * 2
    b = a * 3  # b is computed from a: both are roots of the same pass
    (g,) = gn.autograd.grad([a, b, a], x, grad_outputs=[gn.ones(2)] * 3)
    np.testing.assert_allclose(g.numpy(), [2 + 6 + 2.0, 10.0])


def test_grad_returns_a_tuple_and_leaves_grad_alone():
    x, _ = _xw()
    result = gn.autograd.grad((x * x).sum(), [x])
    assert isinstance(result, tuple)
    assert x.grad is None


def test_grad_unused_input_raises_unless_allowed():
    x, _ = _xw()
    z = gn.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1.*allow_unused=True"):
        gn.autograd.grad((x * x).sum(), [x, z], retain_graph=True)
    gx, gz = gn.autograd.grad((x * x).sum(), [x, z], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert gz is None


def test_grad_materialize_grads_gives_zeros():
    x, _ = _xw()
    z = gn.tensor([[1.0, 2.0]], requires_grad=True)
    gx, gz = gn.autograd.grad((x * x).sum(), [x, z], materialize_grads=True)
    np.testing.assert_array_equal(gz.numpy(), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="materialize_grads"):
        gn.autograd.grad((x * x).sum(), [x, z], allow_unused=False, materialize_grads=True)


def test_grad_mismatched_grad_outputs_raise_clearly():
    x, w = _xw()
    with pytest.raises(RuntimeError, match="grad_outputs has 1 entries for 2 outputs"):
        gn.autograd.grad([x * 2, x * w], x, grad_outputs=[gn.ones(2)])


def test_autograd_backward_sums_several_tensors():
    x, w = _xw()
    gn.autograd.backward([(x * x).sum(), (x * w).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 8.0])
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
    x.grad = w.grad = None
    gn.autograd.backward(x * w, grad_tensors=gn.tensor([2.0, 1.0]), inputs=[w])
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])
    assert x.grad is None


def test_retains_grad():
    x, _ = _xw()
    h = x * 2
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad
    assert not x.retains_grad  # leaves keep .grad anyway; PyTorch reports False
