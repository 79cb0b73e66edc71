"""Tensor hooks, global op hooks, and detection of in-place changes to saved tensors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd import (
    hooks,
    register_backward_hook,
    register_backward_pre_hook,
    register_forward_hook,
)
from glassnet.backend import to_numpy


def leaf(values):
    return gn.tensor(values, dtype="float64", requires_grad=True)


# -- tensor hooks -----------------------------------------------------------------------------
def test_tensor_hook_sees_and_replaces_the_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []

    def double(g):
        seen.append(g.numpy().copy())
        return g * 2

    h.register_hook(double)
    (h * h).sum().backward()  # dL/dh = 2h = 6x; doubled -> 12x; dL/dx = 3 * 12x
    np.testing.assert_allclose(seen[0], [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [36.0, 72.0])


def test_leaf_hook_runs_before_accumulation_and_none_keeps_grad():
    x = leaf([1.0, -1.0])
    calls = []
    x.register_hook(lambda g: calls.append("observe"))  # returns None: grad unchanged
    x.register_hook(lambda g: g * 0 + 5)
    (x * 2).sum().backward()
    assert calls == ["observe"]
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_removed_tensor_hook_is_not_called():
    x = leaf([1.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    handle.remove()
    handle.remove()  # removing twice is harmless
    (x * 2).sum().backward()
    assert calls == [1]


def test_tensor_hook_must_return_same_shape():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g.sum())
    with pytest.raises(ValueError, match=r"hook on a tensor of shape \(2,\)"):
        (x * 2).sum().backward()


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.tensor([1.0]).register_hook(lambda g: g)


# -- global hooks -----------------------------------------------------------------------------
def test_global_hook_lists_are_empty_by_default():
    # nothing subscribes at import: the hot path then costs one list truthiness test
    assert hooks.FORWARD_HOOKS == []
    assert hooks.BACKWARD_PRE_HOOKS == []
    assert hooks.BACKWARD_HOOKS == []


def test_forward_hook_sees_every_op_with_inputs_and_output():
    x = leaf([1.0, 2.0])
    seen = []

    def hook(node, inputs, out):
        seen.append((node.name, len(inputs), out.shape))

    with register_forward_hook(hook):
        (x.exp() * x).sum()
    assert seen == [("exp", 1, (2,)), ("mul", 2, (2,)), ("sum", 1, ())]
    assert hooks.FORWARD_HOOKS == []  # the with block removed it


def test_backward_hooks_run_around_each_node_in_reverse_order():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    pre, post = [], []
    h1 = register_backward_pre_hook(lambda node, g: pre.append((node.name, g.shape)))
    h2 = register_backward_hook(lambda node, g, gin: post.append((node.name, len(gin))))
    try:
        y.backward()
    finally:
        h1.remove()
        h2.remove()
    assert pre == [("sum", ()), ("mul", (2,)), ("exp", (2,))]
    assert post == [("sum", 1), ("mul", 2), ("exp", 1)]
    assert hooks.BACKWARD_PRE_HOOKS == [] and hooks.BACKWARD_HOOKS == []


def test_backward_hook_receives_the_input_gradients():
    x = leaf([3.0])
    grads = {}
    with register_backward_hook(lambda node, g, gin: grads.setdefault(node.name, gin)):
        (x * x).sum().backward()
    np.testing.assert_allclose(
        to_numpy(grads["mul"][0]), [3.0]
    )  # dL/da = b (before summing a and b)


def test_hook_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        register_forward_hook(42)


# -- in-place detection -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.add_(1.0),
        lambda c: c.mul_(2.0),
        lambda c: c.__setitem__(0, 9.0),
        lambda c: c.copy_(gn.tensor([7.0, 8.0], dtype="float64")),
        lambda c: c.reshape(2, 1).add_(1.0),  # through a view: it shares the version counter
        lambda c: c[1:].fill_(0.0),
    ],
    ids=["add_", "mul_", "setitem", "copy_", "view-add_", "slice-fill_"],
)
def test_changing_a_saved_input_in_place_raises_at_backward(mutate):
    x = leaf([1.0, 2.0])
    c = gn.tensor([3.0, 4.0], dtype="float64")
    y = (x * c).sum()  # mul saved c for dL/dx = c
    mutate(c)
    with pytest.raises(RuntimeError, match=r"op 'mul' \(input 1, shape \(2,\)\) was modified"):
        y.backward()


def test_changing_a_saved_output_in_place_raises_at_backward():
    x = leaf([0.5, 1.0])
    y = x.exp()  # exp's backward reads its output
    with gn.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="output of op 'exp'.*modified in place"):
        y.sum().backward()


def test_unrelated_in_place_change_is_fine():
    x = leaf([1.0, 2.0])
    c = gn.tensor([3.0, 4.0], dtype="float64")
    y = (x * c.clone()).sum()  # the clone is saved, not c
    c.add_(1.0)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_in_place_on_leaf_requiring_grad_in_grad_mode_raises():
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.copy_(w.detach())):
        with pytest.raises(RuntimeError, match=r"in-place change.*no_grad"):
            op()
    with pytest.raises(RuntimeError, match="__setitem__"):
        w[0] = 3.0


def test_augmented_assignment_is_in_place_as_pytorch():
    # PyTorch: ``w += 1`` on a leaf that requires grad raises ("a leaf Variable that requires
    # grad is being used in an in-place operation"); glassnet used to rebind w to w + 1
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1.0
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0])
    # on an intermediate it is recorded in place: every reference sees the change
    h = w * 2.0
    alias = h
    h += 1.0
    assert h is alias and alias.tolist() == [3.0, 5.0]
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])


def test_optimizer_style_update_under_no_grad_is_allowed():
    w = leaf([1.0, -2.0])
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with gn.no_grad():
            w.sub_(0.25 * w.grad)
            w -= 0.0  # in-place too under no_grad
        w.zero_grad()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, -2.0]) * 0.5**3)
    assert w.is_leaf and w.requires_grad


def test_update_between_forward_and_backward_is_detected():
    w = leaf([1.0, -2.0])
    loss = (w * w).sum()
    with gn.no_grad():
        w.sub_(0.1)  # the weights that mul saved have changed
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
