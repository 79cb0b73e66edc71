"""``Module.register_full_backward_hook`` / ``register_full_backward_pre_hook`` as PyTorch
(glassnet raised NotImplementedError). Expected values were recorded once from PyTorch 2.13
(``torch.nn.Linear(3, 2).double()`` with the weights below); gradients through the hooks'
identity nodes are checked against float64 finite differences.
"""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing import check_grad, check_grad_grad

W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
B = np.array([0.1, -0.2])
X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [0.0, 1.0, -2.0], [3.0, -1.0, 1.0]])
G = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
# PyTorch: dL/dx for L = (linear(x) * G).sum(), and dL/dW
GRAD_X = [[3.5, -0.5, 0.5], [7.5, -2.0, 3.0], [11.5, -3.5, 5.5], [15.5, -5.0, 8.0]]
GRAD_W = [[19.0, 1.5, 6.0], [22.0, 4.0, 10.0]]


def linear():
    m = nn.Linear(3, 2).double()
    with gn.no_grad():
        m.weight.copy_(gn.tensor(W))
        m.bias.copy_(gn.tensor(B))
    return m


def test_hook_sees_the_gradients_wrt_the_modules_input_and_output():
    m, seen = linear(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((mod, gi, go)))
    x = gn.tensor(X, requires_grad=True)
    (m(x) * gn.tensor(G)).sum().backward()
    assert len(seen) == 1 and seen[0][0] is m
    (gi,), (go,) = seen[0][1], seen[0][2]
    np.testing.assert_allclose(gi.numpy(), GRAD_X)
    np.testing.assert_allclose(go.numpy(), G)
    np.testing.assert_allclose(x.grad.numpy(), GRAD_X)
    np.testing.assert_allclose(m.weight.grad.numpy(), GRAD_W)


def test_hook_may_replace_grad_input_and_the_handle_removes_it():
    m = linear()
    handle = m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    x = gn.tensor(X, requires_grad=True)
    (m(x) * gn.tensor(G)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array(GRAD_X))  # PyTorch: doubled
    np.testing.assert_allclose(m.weight.grad.numpy(), GRAD_W)  # the weights' are not
    handle.remove()
    x.grad = None
    (m(x) * gn.tensor(G)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), GRAD_X)


def test_pre_hook_replaces_grad_output_before_it_enters_the_module():
    m, seen = linear(), []
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(go))
    x = gn.tensor(X, requires_grad=True)
    (m(x) * gn.tensor(G)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array(GRAD_X))
    np.testing.assert_allclose(m.weight.grad.numpy(), 3 * np.array(GRAD_W))
    np.testing.assert_allclose(seen[0][0].numpy(), 3 * G)


def test_no_input_requires_grad_hooks_fire_at_the_output_with_none():
    m, seen = linear(), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        (m(gn.tensor(X)) * gn.tensor(G)).sum().backward()
    assert seen[0][0] == (None,)
    np.testing.assert_allclose(seen[0][1][0].numpy(), G)
    m2 = linear()
    m2.register_full_backward_hook(lambda mod, gi, go: (gn.ones(4, 3, dtype=gn.float64),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="no input requires gradient"):
            m2(gn.tensor(X)).sum().backward()


class Two(nn.Module):
    def forward(self, a, b, scale=2.0):
        return a * b.sum() + scale * a * a, b * 3


A = np.array([1.0, 2.0])
B2 = np.array([0.5, -1.0, 3.0])


def _hooked_two():
    t, seen = Two(), []
    t.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    return t, seen


def _np(items):
    return [None if g is None else g.numpy().tolist() for g in items]


def test_two_inputs_two_outputs_as_pytorch():
    t, seen = _hooked_two()
    a, b = gn.tensor(A, requires_grad=True), gn.tensor(B2, requires_grad=True)
    o1, _ = t(a, b)
    (o1 * gn.tensor(np.array([1.0, -1.0]))).sum().backward()
    # PyTorch: an output no gradient reached gets None in grad_output
    assert _np(seen[0][0]) == [[6.5, -10.5], [-1.0, -1.0, -1.0]]
    assert _np(seen[0][1]) == [[1.0, -1.0], None]
    seen.clear()
    a.grad = b.grad = None
    o1, o2 = t(a, b)
    (o1.sum() + (o2 * o2).sum()).backward()
    assert _np(seen[0][0]) == [[6.5, 10.5], [12.0, -15.0, 57.0]]
    assert _np(seen[0][1]) == [[1.0, 1.0], [3.0, -6.0, 18.0]]
    assert a.grad.numpy().tolist() == [6.5, 10.5] and b.grad.numpy().tolist() == [12, -15, 57]


def test_grad_input_entries_for_an_input_without_grad_and_a_non_tensor():
    t, seen = _hooked_two()
    a, b = gn.tensor(A, requires_grad=True), gn.tensor(B2)
    t(a, b)[0].sum().backward()
    assert _np(seen[0][0]) == [[6.5, 10.5], [0.0, 0.0, 0.0]]  # PyTorch: zeros for b
    t(a, b, 3.0)[0].sum().backward()
    assert _np(seen[1][0]) == [[8.5, 14.5], [0.0, 0.0, 0.0], None]
    assert _np(seen[1][1]) == [[1.0, 1.0], None]


def test_hook_order_prepend_and_each_call():
    m, order = linear(), []
    m.register_full_backward_hook(lambda mod, gi, go: order.append("a"))
    m.register_full_backward_hook(lambda mod, gi, go: order.append("b"), prepend=True)
    x = gn.tensor(X[:1], requires_grad=True)
    (m(x).sum() + m(x * 2).sum()).backward()
    assert order == ["b", "a", "b", "a"]  # once per call, prepended first


def test_container_hook_sees_its_own_input_gradient():
    seq, seen = nn.Sequential(linear(), nn.Tanh()), []
    seq.register_full_backward_hook(lambda mod, gi, go: seen.append(gi[0].numpy()))
    x = gn.tensor(X, requires_grad=True)
    (seq(x) * gn.tensor(G)).sum().backward()
    np.testing.assert_allclose(seen[0][0], [2.4662057261, 0.4105965387, -1.2321936922])
    np.testing.assert_allclose(seen[0][3], [0.0665346358, 0.0080248634, -0.0269031217])


def test_bad_replacements_raise_as_pytorch():
    m = linear()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m(gn.tensor(X, requires_grad=True)).sum().backward()
    m = linear()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0][:2],))
    with pytest.raises(RuntimeError, match="changed the size"):
        m(gn.tensor(X, requires_grad=True)).sum().backward()


def _through_hooked(a, b):
    t = Two()
    t.register_full_backward_pre_hook(lambda mod, go: None)
    t.register_full_backward_hook(lambda mod, gi, go: None)
    o1, o2 = t(a, b)
    return o1 * o2[:2]


def test_gradients_through_the_hook_nodes_match_finite_differences():
    check_grad(_through_hooked, [A, B2])
    check_grad_grad(_through_hooked, [A, B2])  # create_graph=True through the hooks
