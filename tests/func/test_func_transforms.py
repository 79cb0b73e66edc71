"""torch.func transforms (grad, grad_and_value, vjp, jacrev, jacfwd, hessian): values against
float64 finite differences and hand-derived formulas, output structures against torch 2.13
(recorded by tests/func/record_torch_func.py, the constant below)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
import glassnet.autograd.functional as AF
from glassnet import func

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fd_helpers import fd_hessian, fd_jacobian  # noqa: E402
from record_torch_func import structures  # noqa: E402

# python tests/func/record_torch_func.py, torch 2.13 (T = tensor, g = requires grad)
TORCH_STRUCTURES = """
grad: T(3,)
grad argnums tuple: (T(3,), T(2, 3),)
grad dict: {w: T(1, 3), b: T(1,)}
grad has_aux: (T(3,), T(3,),)
grad requires_grad input: T(3,)g
grad_and_value: (T(3,), T(),)
grad_and_value aux: (T(3,), (T(), {a: T(3,)},),)
vjp: (T(3,),)
vjp two: (T(3,), T(2, 3),)
vjp out: T(3,)
jacrev: T(3, 3)
jacrev tuple out: ((T(2, 3), T(2, 2, 3),), (T(3,), T(2, 3),),)
jacrev dict: {w: T(1, 1, 3), b: T(1, 1)}
jacfwd: T(2, 2, 3)
hessian: T(3, 3)
hessian argnums: ((T(3, 3), T(3, 2, 3),), (T(2, 3, 3), T(2, 3, 2, 3),),)
vmap: T(2,)
vmap out_dims: (T(3, 2), T(2,),)
vmap dict: T(2, 1)
vmap grad: {w: T(2, 1, 3), b: T(2, 1)}
func jvp: ((T(2,), T(),), (T(2,), T(),),)
func jvp aux: (T(3,), T(3,), T(3,),)
stack_module_state: ({weight: T(2, 2, 3)g, bias: T(2, 2)g}, {},)
AF jacobian: ((T(2, 3), T(2, 2, 3),), (T(3, 3), T(3, 2, 3),),)
AF hessian: ((T(3, 3), T(3, 2, 3),), (T(2, 3, 3), T(2, 3, 2, 3),),)
AF vjp: (T(3,), T(3,),)
AF jvp tuple: ((T(2,),), (T(2,),),)
AF hvp: (T(), T(3,),)
"""

RNG = np.random.default_rng(1)


@pytest.fixture(autouse=True)
def _float64():
    gn.set_default_dtype(gn.float64)  # the suite restores the default after each test


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a.numpy()), b, rtol=tol, atol=tol)


def test_output_structures_match_torch():
    assert structures(gn, func, AF) == TORCH_STRUCTURES.strip()


def f(x, y):
    return (gn.sin(y @ x) ** 2).sum() + (x**3).sum() * y[0, 1]


X, Y = gn.tensor(RNG.standard_normal(3)), gn.tensor(RNG.standard_normal((2, 3)))


def test_grad_matches_finite_differences_for_each_argnum():
    fd = fd_jacobian(f, [X, Y])
    close(func.grad(f)(X, Y), fd[0])
    close(func.grad(f, argnums=1)(X, Y), fd[1])
    gx, gy = func.grad(f, argnums=(0, -1))(X, Y)
    close(gx, fd[0])
    close(gy, fd[1])
    g, value = func.grad_and_value(f)(X, Y)
    close(value, f(X, Y).numpy(), 1e-15)
    assert not g.requires_grad and not value.requires_grad


def test_nested_grad_is_the_second_derivative():
    d3 = func.grad(func.grad(func.grad(lambda x: gn.sin(x) * x)))(gn.tensor(0.7))
    # (x sin x)''' = -3 sin x - x cos x
    close(d3, -3 * np.sin(0.7) - 0.7 * np.cos(0.7), 1e-12)


def test_inner_grad_differentiates_against_its_own_argument():
    """functorch semantics: the inner grad treats its argument as a new variable, even when
    it is the outer variable itself: d/dx [d/dy (x * y) at y = x] = d/dx x = 1."""
    outer = func.grad(lambda x: func.grad(lambda y: (x * y).sum())(x).sum())(X)
    close(outer, np.ones(3), 1e-15)


def test_grad_of_a_closure_stays_differentiable_for_an_outer_grad():
    w = gn.tensor(1.5)
    # d/dw grad_x (w x^2)|_{x=2} = d/dw (4 w) = 4
    d = func.grad(lambda w: func.grad(lambda x: w * x**2)(gn.tensor(2.0)))(w)
    close(d, 4.0, 1e-15)


def test_grad_has_aux_and_errors():
    g, aux = func.grad(lambda x: ((x**2).sum(), {"twice": x * 2}), has_aux=True)(X)
    close(g, 2 * X.numpy(), 1e-15)
    close(aux["twice"], 2 * X.numpy(), 1e-15)
    with pytest.raises(RuntimeError, match="scalar Tensor, got tensor with 1 dims"):
        func.grad(lambda x: x * 2)(X)
    with pytest.raises(RuntimeError, match=r"\(output, aux\)"):
        func.grad(lambda x: x.sum(), has_aux=True)(X)
    with pytest.raises(RuntimeError, match="argnums=5"):
        func.grad(f, argnums=5)(X, Y)
    with pytest.raises(ValueError, match="must be tensors"):
        func.grad(lambda x: gn.tensor(x).sum())(2.0)
    with pytest.raises(TypeError, match="dtype int64"):
        func.grad(lambda x: x.sum())(gn.tensor([1, 2]))


def test_unused_argument_gets_zeros():
    gx, gy = func.grad(lambda x, y: (x**2).sum(), argnums=(0, 1))(X, Y)
    close(gy, np.zeros((2, 3)), 0)


def test_vjp_matches_finite_differences():
    g = lambda x, y: gn.tanh(y @ x) * y[1].sum()  # noqa: E731
    out, vjp_fn = func.vjp(g, X, Y)
    close(out, g(X, Y).numpy(), 1e-15)
    v = gn.tensor(RNG.standard_normal(2))
    fd = fd_jacobian(g, [X, Y])
    vx, vy = vjp_fn(v)
    close(vx, v.numpy() @ fd[0])
    close(vy, np.tensordot(v.numpy(), fd[1], axes=1))
    vx2, _ = vjp_fn(v * 2)  # the graph is kept for another cotangent
    close(vx2, 2 * v.numpy() @ fd[0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        vjp_fn(gn.ones(3))
    with pytest.raises(RuntimeError, match="pytree structure"):
        vjp_fn((v, v))
    out, vjp_fn, aux = func.vjp(lambda x: (x * 3, x.sum()), X, has_aux=True)
    (vx,) = vjp_fn(gn.ones(3))
    close(vx, 3 * np.ones(3), 1e-15)


def test_jacrev_jacfwd_match_finite_differences():
    g = lambda x, y: gn.stack([(y @ x).prod(), gn.exp(x).sum()])  # noqa: E731
    fd = fd_jacobian(g, [X, Y])
    for transform in (func.jacrev, func.jacfwd):
        jx, jy = transform(g, argnums=(0, 1))(X, Y)
        close(jx, fd[0])
        close(jy, fd[1])
    with pytest.raises(RuntimeError, match="randomness"):
        func.jacfwd(g, randomness="sometimes")


def test_hessian_matches_finite_differences():
    h = func.hessian(f)(X, Y)
    close(h, fd_hessian(f, [X, Y])[0][0], 1e-5)
    blocks = func.hessian(f, argnums=(0, 1))(X, Y)
    fd = fd_hessian(f, [X, Y])
    for i in range(2):
        for j in range(2):
            close(blocks[i][j], fd[i][j], 1e-5)
    # a quadratic form: the Hessian of x^T A x is A + A^T, exactly
    a = RNG.standard_normal((3, 3))
    close(func.hessian(lambda x: x @ gn.tensor(a) @ x)(X), a + a.T, 1e-12)


def test_func_jvp_matches_finite_differences():
    g = lambda x, y: (gn.tanh(y @ x), (x**2).sum())  # noqa: E731
    tx, ty = gn.tensor(RNG.standard_normal(3)), gn.tensor(RNG.standard_normal((2, 3)))
    out, jv = func.jvp(g, (X, Y), (tx, ty))
    for k in range(2):
        fd = fd_jacobian(lambda x, y, k=k: g(x, y)[k], [X, Y])
        want = np.tensordot(fd[0], tx.numpy(), axes=1) + np.tensordot(fd[1], ty.numpy(), axes=2)
        close(jv[k], want)
        close(out[k], g(X, Y)[k].numpy(), 1e-15)
    _, zero = func.jvp(lambda x: gn.ones(2), (X,), (tx,))
    close(zero, np.zeros(2), 0)
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        func.jvp(g, X, tx)
    with pytest.raises(RuntimeError, match="same shapes"):
        func.jvp(lambda x: x, (X,), (gn.ones(2),))


def test_stack_module_state_feeds_an_ensemble():
    models = [gn.nn.Linear(3, 2) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and params["weight"].requires_grad
    assert buffers == {}
    x = gn.tensor(RNG.standard_normal((5, 3)))
    base = models[0]
    out = func.vmap(lambda p: func.functional_call(base, p, (x,)))(params)
    for i, m in enumerate(models):
        close(out[i], m(x).detach().numpy(), 1e-12)
    with pytest.raises(RuntimeError, match="same class"):
        func.stack_module_state([gn.nn.Linear(3, 2), gn.nn.Conv1d(3, 2, 1)])
    with pytest.raises(RuntimeError, match="at least one model"):
        func.stack_module_state([])
