"""torch.autograd.functional (jacobian, hessian, vjp, jvp, vhp, hvp): values against float64
finite differences, PyTorch's output structure (tensor vs tuple) and errors. The structures
were recorded once from torch 2.13 (tests/func/record_torch_func.py)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
import glassnet.autograd.functional as AF

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "func"))
from fd_helpers import fd_hessian, fd_jacobian  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _float64():
    gn.set_default_dtype(gn.float64)  # the suite restores the default after each test


X = gn.tensor(RNG.standard_normal(3))
Y = gn.tensor(RNG.standard_normal((2, 3)))


def f_vec(x):
    return gn.tanh(x) * x[0] + x**2


def f_two(x, y):
    return gn.sin(y) @ x, (x * x).sum() * y[0]


def scalar(x, y):
    return (gn.tanh(y @ x) ** 2).sum() + (x**3).sum() * y[1, 2]


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a.numpy()), b, rtol=tol, atol=tol)


def test_jacobian_single_input_single_output_is_a_tensor():
    jac = AF.jacobian(f_vec, X)
    assert isinstance(jac, gn.Tensor) and jac.shape == (3, 3)
    close(jac, fd_jacobian(f_vec, [X])[0])
    assert not jac.requires_grad


def test_jacobian_tuple_structures():
    both = AF.jacobian(f_two, (X, Y))  # tuple outputs, tuple inputs: [output][input]
    fd = [fd_jacobian(lambda x, y, k=k: f_two(x, y)[k], [X, Y]) for k in range(2)]
    assert len(both) == 2 and all(len(b) == 2 for b in both)
    assert [tuple(b.shape) for row in both for b in row] == [(2, 3), (2, 2, 3), (3, 3), (3, 2, 3)]
    for k in range(2):
        for j in range(2):
            close(both[k][j], fd[k][j])
    per_input = AF.jacobian(lambda x, y: f_two(x, y)[0], (X, Y))  # one output: per input
    assert isinstance(per_input, tuple) and len(per_input) == 2
    per_output = AF.jacobian(lambda x: f_two(x, Y), X)  # one input: per output
    assert isinstance(per_output, tuple) and isinstance(per_output[0], gn.Tensor)
    close(per_output[1], fd[1][0])


def test_jacobian_unused_input_is_zero_and_strict_raises():
    jac = AF.jacobian(lambda x, y: x * 2, (X, Y))
    close(jac[1], np.zeros((3, 2, 3)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda x, y: x * 2, (X, Y), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.jacobian(lambda x: gn.ones(2), X, strict=True)


def test_jacobian_create_graph_is_differentiable():
    x = X.clone().requires_grad_(True)
    jac = AF.jacobian(lambda t: t**3, x, create_graph=True)
    assert jac.requires_grad
    (g,) = gn.autograd.grad(jac.sum(), x)  # d/dx sum_i 3 x_i^2 = 6 x
    close(g, 6 * X.numpy(), 1e-12)


def test_jacobian_strategy_and_errors():
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        AF.jacobian(f_vec, X, strategy="forward-mode")
    close(
        AF.jacobian(f_vec, X, vectorize=True, strategy="forward-mode"), fd_jacobian(f_vec, [X])[0]
    )
    with pytest.raises(ValueError, match="forward-mode"):
        AF.jacobian(f_vec, X, strategy="sideways")
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(f_vec, [X])
    with pytest.raises(TypeError, match="value at index 1"):
        AF.jacobian(f_vec, (X, 1.0))


def test_hessian_matches_finite_differences_and_structure():
    h = AF.hessian(lambda x: scalar(x, Y), X)
    assert isinstance(h, gn.Tensor) and h.shape == (3, 3)
    close(h, fd_hessian(lambda x: scalar(x, Y), [X])[0][0], 1e-5)
    blocks = AF.hessian(scalar, (X, Y))
    fd = fd_hessian(scalar, [X, Y])
    assert [[tuple(b.shape) for b in row] for row in blocks] == [
        [(3, 3), (3, 2, 3)],
        [(2, 3, 3), (2, 3, 2, 3)],
    ]
    for i in range(2):
        for j in range(2):
            close(blocks[i][j], fd[i][j], 1e-5)
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(f_vec, X)
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.hessian(lambda x: (x.sum(), x.sum()), X)


def test_vjp_jvp_values_and_structure():
    v_out = gn.tensor(RNG.standard_normal(3))
    J = fd_jacobian(f_vec, [X])[0]
    out, vj = AF.vjp(f_vec, X, v_out)
    close(out, f_vec(X).numpy(), 1e-15)
    close(vj, v_out.numpy() @ J)
    v_in = gn.tensor(RNG.standard_normal(3))
    out, jv = AF.jvp(f_vec, X, v_in)
    close(jv, J @ v_in.numpy())
    assert isinstance(jv, gn.Tensor) and not jv.requires_grad
    # tuple inputs and outputs: vjp shaped like the inputs, jvp like the outputs
    vs = (gn.tensor(RNG.standard_normal(2)), gn.tensor(RNG.standard_normal(3)))
    outs, vjs = AF.vjp(f_two, (X, Y), vs)
    fd = [fd_jacobian(lambda x, y, k=k: f_two(x, y)[k], [X, Y]) for k in range(2)]
    for j, shape in enumerate([(3,), (2, 3)]):
        want = sum(np.tensordot(vs[k].numpy(), fd[k][j], axes=vs[k].ndim) for k in range(2))
        assert tuple(vjs[j].shape) == shape
        close(vjs[j], want)
    ts = (gn.tensor(RNG.standard_normal(3)), gn.tensor(RNG.standard_normal((2, 3))))
    outs, jvs = AF.jvp(f_two, (X, Y), ts)
    for k in range(2):
        want = sum(np.tensordot(fd[k][j], ts[j].numpy(), axes=ts[j].ndim) for j in range(2))
        close(jvs[k], want)


def test_vjp_jvp_v_none_only_for_single_elements_and_shape_checks():
    out, g = AF.vjp(lambda x: (x**2).sum(), X)
    close(g, 2 * X.numpy(), 1e-15)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(f_vec, X)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.jvp(f_vec, X)
    with pytest.raises(RuntimeError, match="invalid size"):
        AF.vjp(f_vec, X, gn.ones(4, dtype=gn.float64))
    _, jv = AF.jvp(lambda x: x * 3, gn.tensor([2.0]))
    close(jv, [3.0], 1e-15)


def test_jvp_of_an_output_independent_of_the_input_is_zero():
    _, jv = AF.jvp(lambda x: (x * 2, gn.ones(2, dtype=gn.float64)), X, gn.ones(3, dtype=gn.float64))
    close(jv[0], 2 * np.ones(3), 1e-15)
    close(jv[1], np.zeros(2), 0)


def test_hvp_vhp_match_finite_difference_hessian():
    f = lambda x: scalar(x, Y)  # noqa: E731
    H = fd_hessian(f, [X])[0][0]
    v = gn.tensor(RNG.standard_normal(3))
    val, hv = AF.hvp(f, X, v)
    close(val, f(X).numpy(), 1e-15)
    assert val.ndim == 0
    close(hv, H @ v.numpy(), 1e-5)
    _, vh = AF.vhp(f, X, v)
    close(vh, v.numpy() @ H, 1e-5)
    vs = (gn.tensor(RNG.standard_normal(3)), gn.tensor(RNG.standard_normal((2, 3))))
    _, hvs = AF.hvp(scalar, (X, Y), vs)
    fd = fd_hessian(scalar, [X, Y])
    for i in range(2):
        want = sum(np.tensordot(fd[i][j], vs[j].numpy(), axes=vs[j].ndim) for j in range(2))
        close(hvs[i], want, 1e-5)
    with pytest.raises(RuntimeError, match="single element"):
        AF.vhp(f_vec, X, v)


def test_create_graph_results_stay_differentiable():
    x = X.clone().requires_grad_(True)
    _, hv = AF.hvp(lambda t: (t**4).sum(), x, gn.ones(3, dtype=gn.float64), create_graph=True)
    (g,) = gn.autograd.grad(hv.sum(), x)  # d/dx sum 12 x^2 = 24 x
    close(g, 24 * X.numpy(), 1e-12)
