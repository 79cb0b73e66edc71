"""PyTorch's function spellings of in-place ops (torch.relu_(x), torch.clamp_(x, 0, 1),
F.leaky_relu_(x, 0.2), torch.dropout_(x, p, train), ...): glassnet had none of them
(AttributeError). Each changes x, returns x, and is recorded as the Tensor method is.
Expected values from NumPy (the formulas PyTorch documents)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.testing import GradCase, run_case

X = np.array([[-2.0, -0.5, 0.0], [0.25, 1.5, 3.0]])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _elu(x, a):
    return np.where(x > 0, x, a * np.expm1(x))


CASES = [
    (lambda x: gn.relu_(x), np.maximum(X, 0)),
    (lambda x: gn.clamp_(x, -1.0, 1.0), np.clip(X, -1, 1)),
    (lambda x: gn.clamp_(x, min=0.5), np.maximum(X, 0.5)),
    (lambda x: gn.sigmoid_(x), 1 / (1 + np.exp(-X))),
    (lambda x: gn.tanh_(x), np.tanh(X)),
    (lambda x: gn.exp_(x), np.exp(X)),
    (lambda x: gn.abs_(x), np.abs(X)),
    (lambda x: gn.neg_(x), -X),
    (lambda x: gn.fill_(x, 7.0), np.full_like(X, 7.0)),
    (lambda x: gn.zero_(x), np.zeros_like(X)),
    (lambda x: F.relu_(x), np.maximum(X, 0)),
    (lambda x: F.leaky_relu_(x, 0.2), np.where(X > 0, X, 0.2 * X)),
    (lambda x: F.elu_(x, 0.5), _elu(X, 0.5)),
    (lambda x: F.hardtanh_(x, -0.5, 2.0), np.clip(X, -0.5, 2.0)),
    (lambda x: F.threshold_(x, 0.1, 20.0), np.where(X > 0.1, X, 20.0)),
    (lambda x: F.selu_(x), SELU_SCALE * _elu(X, SELU_ALPHA)),
    (lambda x: F.celu_(x, 0.5), np.maximum(X, 0) + np.minimum(0, 0.5 * np.expm1(X / 0.5))),
    (lambda x: F.rrelu_(x), np.where(X >= 0, X, X * (1 / 8 + 1 / 3) / 2)),
    (lambda x: gn.selu_(x), SELU_SCALE * _elu(X, SELU_ALPHA)),
    (lambda x: gn.threshold_(x, 0.1, 20.0), np.where(X > 0.1, X, 20.0)),
    (lambda x: gn.dropout_(x, 0.5, False), X),
    (lambda x: gn.dropout_(x, 0.0, True), X),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_changes_the_tensor_and_returns_it(i):
    form, want = CASES[i]
    x = gn.tensor(X.copy())
    out = form(x)
    assert out is x
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-12, atol=1e-12)


def _through_forms(a):
    h = a * 1.5  # an intermediate: the change is recorded in the graph
    F.leaky_relu_(h, 0.1)
    gn.clamp_(h, -2.0, 2.0)
    return h * a


def test_gradient_through_the_forms():
    rng = np.random.default_rng(3)
    run_case(GradCase("leaky_relu", _through_forms, [rng.uniform(-2, 2, (3, 4))]))


def test_a_non_tensor_is_refused_clearly():
    with pytest.raises(TypeError, match="expected a Tensor"):
        gn.relu_([1.0, -1.0])


def _activations_in_place(a):
    # the result is discarded: only the in-place change of h carries it (glassnet left h
    # unchanged when h required grad, silently: the gradient was that of h * a)
    h = a * 1.5
    skip = h  # an alias, as a U-Net keeps its skips
    gn.nn.functional.elu(h, 0.5, inplace=True)
    gn.nn.LeakyReLU(0.1, inplace=True)(h)
    gn.nn.functional.hardtanh(h, -0.7, 2.5, inplace=True)
    return skip * a


def test_inplace_activation_changes_an_intermediate_in_the_graph():
    rng = np.random.default_rng(4)
    run_case(GradCase("elu", _activations_in_place, [rng.uniform(-2, 2, (3, 4))]))
    a = gn.tensor([[-1.0, 2.0]], requires_grad=True)
    h = a * 1.0
    out = gn.nn.functional.relu(h, inplace=True)
    assert out is h and h.tolist() == [[0.0, 2.0]]


def test_inplace_activation_on_a_view_in_the_graph_raises():
    a = gn.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    h = a * 1.0
    with pytest.raises(ValueError, match="view of another tensor"):
        gn.nn.functional.relu(h.view(4), inplace=True)
