"""torch.func.vmap (glassnet: one call per batch entry, stacked): values against NumPy, nested
in_dims, out_dims, errors, randomness modes, and per-sample gradients (vmap(grad(loss)))
against the hand-derived gradient of a squared error."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import func
from glassnet.func import functional_call, grad, vmap

RNG = np.random.default_rng(2)


@pytest.fixture(autouse=True)
def _float64():
    gn.set_default_dtype(gn.float64)  # the suite restores the default after each test


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a.numpy()), b, rtol=tol, atol=tol)


def test_vmap_in_dims_and_out_dims():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 4))
    close(vmap(gn.dot)(gn.tensor(a), gn.tensor(b.T)), np.einsum("ij,ij->i", a, b.T))
    close(vmap(gn.dot, in_dims=(0, 1))(gn.tensor(a), gn.tensor(b)), np.einsum("ij,ji->i", a, b))
    v = RNG.standard_normal(3)
    close(vmap(gn.dot, in_dims=(0, None))(gn.tensor(a), gn.tensor(v)), a @ v)
    close(vmap(lambda r: r * 2, out_dims=1)(gn.tensor(a)), (2 * a).T)
    close(vmap(lambda r: r * 2, in_dims=-1, out_dims=-1)(gn.tensor(b)), 2 * b)
    two = vmap(lambda r: (r.sum(), r * 0 + 1.0), out_dims=(0, None))(gn.tensor(a))
    close(two[0], a.sum(1))
    close(two[1], np.ones(3))


def test_vmap_nested_in_dims_and_kwargs():
    p = {"w": gn.tensor(RNG.standard_normal(3)), "b": gn.tensor(RNG.standard_normal(5))}
    x = RNG.standard_normal((5, 3))

    def fn(params, row, scale=1.0):
        return (params["w"] * row).sum() * scale + params["b"]

    out = vmap(fn, in_dims=({"w": None, "b": 0}, 0))(p, gn.tensor(x), scale=2.0)
    close(out, 2 * x @ p["w"].numpy() + p["b"].numpy())
    pair = vmap(lambda t: t[0] * t[1], in_dims=((0, None),))((gn.tensor(x), gn.tensor(2.0)))
    close(pair, 2 * x)


def test_nested_vmap_is_an_outer_product():
    a, b = RNG.standard_normal(4), RNG.standard_normal(5)
    outer = vmap(vmap(gn.mul, in_dims=(None, 0)), in_dims=(0, None))(gn.tensor(a), gn.tensor(b))
    close(outer, np.outer(a, b))
    assert gn.vmap is vmap


def test_vmap_errors():
    x = gn.ones((3, 2))
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        vmap(gn.mul)(x, gn.ones((4, 2)))
    with pytest.raises(ValueError, match="at least one Tensor"):
        vmap(gn.mul, in_dims=None)(x, x)
    with pytest.raises(ValueError, match="in_dim=2"):
        vmap(gn.mul, in_dims=2)(x, x)
    with pytest.raises(ValueError, match="non-Tensor"):
        vmap(lambda a, s: a * s)(x, 2.0)
    with pytest.raises(ValueError, match="in_dims is not compatible"):
        vmap(gn.mul, in_dims=(0,))(x, x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        vmap(lambda a: 1.0)(x)
    with pytest.raises(ValueError, match="differs between batch"):
        vmap(lambda a: a, out_dims=None)(gn.tensor([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="int or a"):
        vmap(gn.mul, in_dims="0")
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(gn.mul, randomness="sometimes")


def test_vmap_randomness_modes():
    x = gn.zeros((3, 2))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda r: r + gn.rand(2))(x)
    gn.manual_seed(0)
    same = vmap(lambda r: r + gn.rand(2), randomness="same")(x).numpy()
    assert np.array_equal(same[0], same[1]) and np.array_equal(same[1], same[2])
    different = vmap(lambda r: r + gn.rand(2), randomness="different")(x).numpy()
    assert not np.array_equal(different[0], different[1])


def test_per_sample_gradients_with_functional_call():
    model = gn.nn.Sequential(gn.nn.Linear(3, 1))
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = RNG.standard_normal((6, 3)), RNG.standard_normal(6)

    def loss(p, xb, yb):
        return (functional_call(model, p, (xb.unsqueeze(0),)).squeeze() - yb) ** 2

    g = vmap(grad(loss), in_dims=(None, 0, 0))(params, gn.tensor(x), gn.tensor(y))
    w, b = params["0.weight"].numpy(), params["0.bias"].numpy()
    r = x @ w[0] + b[0] - y  # loss_i = r_i^2: d/dw = 2 r_i x_i, d/db = 2 r_i
    close(g["0.weight"], (2 * r[:, None] * x)[:, None, :])
    close(g["0.bias"], (2 * r)[:, None])
    assert model[0].weight.grad is None


def test_vmap_of_jacrev_is_a_batch_of_jacobians():
    x = RNG.standard_normal((4, 3))
    jac = vmap(func.jacrev(gn.sin))(gn.tensor(x))
    close(jac, np.stack([np.diag(np.cos(row)) for row in x]))


def test_gradient_flows_through_vmap():
    x = gn.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    w = gn.tensor(RNG.standard_normal(3), requires_grad=True)
    vmap(gn.dot, in_dims=(0, None))(x, w).sum().backward()
    close(w.grad, x.detach().numpy().sum(0))
    close(x.grad, np.tile(w.detach().numpy(), (4, 1)))
