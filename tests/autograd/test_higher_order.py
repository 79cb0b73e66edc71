"""Higher-order gradients: ``backward(create_graph=True)`` and ``gn.grad(..., create_graph=True)``.

References are analytic derivatives, and for the MLP gradient norm a hand-written NumPy
gradient differentiated by central differences in float64.
"""

import numpy as np

import glassnet as gn

X = np.array([-2.0, -0.7, 0.0, 0.4, 1.5])


def second_derivative(fn, values):
    x = gn.tensor(values, dtype="float64", requires_grad=True)
    (dy,) = gn.grad(fn(x).sum(), [x], create_graph=True)
    assert dy.requires_grad  # the first derivative is itself in a graph
    (d2y,) = gn.grad(dy.sum(), [x])
    return dy.numpy(), d2y.numpy()


def test_tanh_second_derivative():
    dy, d2y = second_derivative(gn.tanh, X)
    t = np.tanh(X)
    np.testing.assert_allclose(dy, 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(d2y, -2 * t * (1 - t**2), rtol=1e-10, atol=1e-14)


def test_cube_second_and_third_derivative():
    x = gn.tensor(X, dtype="float64", requires_grad=True)
    (d1,) = gn.grad((x**3).sum(), [x], create_graph=True)
    (d2,) = gn.grad(d1.sum(), [x], create_graph=True)
    (d3,) = gn.grad(d2.sum(), [x])
    np.testing.assert_allclose(d1.numpy(), 3 * X**2)
    np.testing.assert_allclose(d2.numpy(), 6 * X)
    np.testing.assert_allclose(d3.numpy(), np.full_like(X, 6.0))


def test_sigmoid_second_derivative():
    dy, d2y = second_derivative(gn.sigmoid, X)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(dy, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(d2y, s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-14)


def test_backward_create_graph_makes_dot_grad_differentiable():
    x = gn.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad  # 3 x^2, with a graph
    assert g.requires_grad
    x.grad = None
    (g * g).sum().backward()  # d/dx sum 9 x^4 = 36 x^3
    np.testing.assert_allclose(x.grad.numpy(), 36 * np.array([1.0, 8.0]))


# -- a small MLP: d/dW of the squared gradient norm ---------------------------------------------
RNG = np.random.default_rng(7)
XB = RNG.standard_normal((6, 3))
YB = RNG.standard_normal((6, 2))
W1_0 = RNG.standard_normal((4, 3)) * 0.7
B1_0 = RNG.standard_normal(4) * 0.1
W2_0 = RNG.standard_normal((2, 4)) * 0.7


def numpy_grad_norm(w1, b1, w2):
    """||dL/dW1||^2 + ||dL/dW2||^2 for L = mean((tanh(x W1^T + b1) W2^T - y)^2), by hand."""
    h = np.tanh(XB @ w1.T + b1)
    out = h @ w2.T
    d_out = 2 * (out - YB) / out.size
    d_w2 = d_out.T @ h
    d_pre = (d_out @ w2) * (1 - h**2)
    d_w1 = d_pre.T @ XB
    return np.sum(d_w1**2) + np.sum(d_w2**2)


def test_mlp_gradient_norm_derivative_matches_finite_differences():
    w1 = gn.tensor(W1_0, requires_grad=True)
    b1 = gn.tensor(B1_0, requires_grad=True)
    w2 = gn.tensor(W2_0, requires_grad=True)
    out = gn.tanh(gn.tensor(XB) @ w1.T + b1) @ w2.T
    loss = ((out - gn.tensor(YB)) ** 2).mean()
    g_w1, g_w2 = gn.grad(loss, [w1, w2], create_graph=True)
    penalty = (g_w1 * g_w1).sum() + (g_w2 * g_w2).sum()
    np.testing.assert_allclose(penalty.item(), numpy_grad_norm(W1_0, B1_0, W2_0), rtol=1e-12)
    penalty.backward()

    eps = 1e-6
    for param, base, which in ((w1, W1_0, 0), (w2, W2_0, 2)):
        numerical = np.zeros_like(base)
        for idx in np.ndindex(*base.shape):
            args = [W1_0.copy(), B1_0.copy(), W2_0.copy()]
            args[which][idx] += eps
            plus = numpy_grad_norm(*args)
            args[which][idx] -= 2 * eps
            minus = numpy_grad_norm(*args)
            numerical[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(param.grad.numpy(), numerical, rtol=1e-5, atol=1e-8)
    assert np.abs(w1.grad.numpy()).max() > 1e-3  # not trivially zero


# -- ops whose derivative is built from other ops under create_graph ----------------------------
def test_prod_second_derivative_matches_the_analytic_one():
    # d/dx_i prod x = prod_{j != i} x_j;  d2/dx_i dx_k = prod_{j != i, k} x_j (0 on the diagonal)
    values = np.array([1.5, -2.0, 0.5])
    x = gn.tensor(values, dtype="float64", requires_grad=True)
    (g,) = gn.grad(x.prod(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), [-1.0, 0.75, -3.0])
    rows = [gn.grad(g[i], [x], retain_graph=True)[0].numpy() for i in range(3)]
    expected = [[0.0, 0.5, -2.0], [0.5, 0.0, 1.5], [-2.0, 1.5, 0.0]]
    np.testing.assert_allclose(np.array(rows), expected)
    assert gn.is_grad_enabled()


def test_engine_keeps_a_grad_outputs_tensor_that_requires_grad_in_the_graph():
    """autograd.grad(y, x, grad_outputs=u, create_graph=True) is J^T u, differentiable in u
    too (PyTorch's double-backward trick); glassnet replaced u by a constant, so d/du gave
    an error (u unused)."""
    x = gn.tensor([0.3, -0.7], dtype=gn.float64, requires_grad=True)
    u = gn.zeros(2, dtype=gn.float64, requires_grad=True)
    y = gn.stack([x[0] * x[1], gn.sin(x[0])])
    (g,) = gn.autograd.grad(y, x, grad_outputs=u, create_graph=True)
    (jv,) = gn.autograd.grad(g, u, grad_outputs=gn.tensor([1.0, 2.0], dtype=gn.float64))
    np.testing.assert_allclose(
        jv.numpy(), np.array([[-0.7, 0.3], [np.cos(0.3), 0.0]]) @ [1.0, 2.0], rtol=1e-12
    )
    ys = [x * 2, x.sum() * x]  # several roots take the same path
    us = [
        gn.zeros(2, dtype=gn.float64, requires_grad=True),
        gn.zeros(2, dtype=gn.float64, requires_grad=True),
    ]
    (g2,) = gn.autograd.grad(ys, x, grad_outputs=us, create_graph=True)
    d = gn.autograd.grad(g2, us, grad_outputs=gn.tensor([1.0, 0.0], dtype=gn.float64))
    np.testing.assert_allclose(d[0].numpy(), [2.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(
        d[1].numpy(), [x.numpy().sum() + 0.3, -0.7], rtol=1e-12
    )  # s e_0 + x, s = sum(x)
