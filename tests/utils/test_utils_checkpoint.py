"""``glassnet.utils.checkpoint``: outputs and gradients of ``fn(*args)``, recomputed in
backward (NumPy references for the derivatives)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.utils.checkpoint import checkpoint, checkpoint_sequential


def _np(t):
    return t.detach().numpy().astype(np.float64)


def test_checkpoint_matches_the_derivative_and_keeps_no_graph_inside():
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((3, 4)), dtype=gn.float64, requires_grad=True)
    w = gn.tensor(rng.standard_normal((4, 2)), dtype=gn.float64, requires_grad=True)
    calls = []

    def f(a):
        calls.append(gn.is_grad_enabled())
        return gn.tanh(a @ w)  # w: a tensor the function closes over

    y = checkpoint(f, x, use_reentrant=False)
    assert calls == [False]  # forward without a graph
    assert y.requires_grad and y.grad_fn is not None
    g = rng.standard_normal((3, 2))
    y.backward(gn.tensor(g, dtype=gn.float64))
    assert calls == [False, True]  # recomputed with one in backward
    yn = np.tanh(_np(x) @ _np(w))
    np.testing.assert_allclose(_np(y), yn, rtol=1e-12)
    d = (1 - yn**2) * g
    np.testing.assert_allclose(x.grad.numpy(), d @ _np(w).T, rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), _np(x).T @ d, rtol=1e-10)


def test_parameters_get_gradients_when_the_input_needs_none():
    lin = nn.Linear(3, 2).double()
    x = gn.ones(4, 3, dtype=gn.float64)
    out = checkpoint(lin, x, use_reentrant=False)
    out.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.full((2, 3), 4.0))
    np.testing.assert_allclose(lin.bias.grad.numpy(), [4.0, 4.0])


def test_reentrant_without_grad_inputs_gives_no_graph_as_pytorch():
    lin = nn.Linear(3, 2)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(lin, gn.ones(1, 3), use_reentrant=True)
    assert not out.requires_grad
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        out = checkpoint(lin, gn.ones(1, 3, requires_grad=True))
    out.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.ones((2, 3)))


def test_autograd_grad_and_create_graph_through_a_checkpoint():
    # f(x) = sum((w x)^3): df/dx = 3 w^3 x^2; P = sum(df/dx ^ 2) = sum(9 w^6 x^4);
    # dP/dw = 54 w^5 sum(x^4), dP/dx = 36 w^6 x^3
    x = gn.tensor([1.0, 2.0], dtype=gn.float64, requires_grad=True)
    w = gn.tensor(0.5, dtype=gn.float64, requires_grad=True)
    y = checkpoint(lambda a: ((a * w) ** 3).sum(), x, use_reentrant=False)
    (dx,) = gn.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(dx.detach().numpy(), 3 * 0.125 * np.array([1.0, 4.0]))
    (dx**2).sum().backward()
    np.testing.assert_allclose(w.grad.item(), 54 * 0.5**5 * 17, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 36 * 0.5**6 * np.array([1.0, 8.0]), rtol=1e-12)


def test_dropout_draws_the_same_mask_when_recomputed():
    lin = nn.Linear(6, 6)
    drop = nn.Dropout(0.5)

    def block(a):
        return drop(lin(a)).sum(1)

    x = gn.randn(8, 6)
    gn.manual_seed(3)
    y = checkpoint(block, x, use_reentrant=False)
    after = gn.rand(1).item()  # the global stream after the call
    y.sum().backward()
    assert gn.rand(1).item() != after  # backward did not rewind the stream
    g_ckpt = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    gn.manual_seed(3)
    y_plain = block(x)
    assert gn.rand(1).item() == after
    y_plain.sum().backward()
    np.testing.assert_array_equal(y.numpy(), y_plain.numpy())
    np.testing.assert_allclose(g_ckpt, lin.weight.grad.numpy(), rtol=1e-6)


def test_several_outputs_and_non_tensor_arguments():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def f(a, scale, *, shift):
        return a * scale + shift, a.sum(), "tag"

    s, total, tag = checkpoint(f, x, 2.0, shift=1.0, use_reentrant=False)
    assert tag == "tag"
    (s.sum() + 3 * total).backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0, 5.0])


def test_no_grad_mode_runs_the_function_and_bad_options_raise():
    with gn.no_grad():
        assert checkpoint(lambda a: a * 2, gn.ones(2), use_reentrant=False).tolist() == [2, 2]
    with pytest.raises(NotImplementedError, match="context_fn"):
        checkpoint(lambda a: a, gn.ones(1), use_reentrant=False, context_fn=lambda: None)
    with pytest.raises(TypeError, match="returned a dict"):
        checkpoint(lambda a: {"a": a}, gn.ones(1, requires_grad=True), use_reentrant=False)


def test_checkpoint_sequential_equals_the_plain_model():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    x = gn.randn(5, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = checkpoint_sequential(model, 2, x, use_reentrant=False)
    out.sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]
    model.zero_grad()
    x.grad = None
    ref = model(x)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    for g, p in zip(grads, [*model.parameters(), x]):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_module_path():
    import glassnet.utils.checkpoint as ck

    assert gn.utils.checkpoint.checkpoint is ck.checkpoint
