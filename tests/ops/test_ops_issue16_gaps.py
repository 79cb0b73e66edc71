"""The gaps closed after issue 16: scatter_reduce prod to second order, matrix_norm via the
SVD, interpolate's area mode in 1 and 3 spatial dims, and the random ops' ``generator=``.

Expected values are PyTorch's documented behaviour, hand-computed, or recorded once from
PyTorch 2.13 (CPU) where noted.
"""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_grad, check_grad_grad

# targets with no zero, one zero (in src or in x) and two zeros among their factors
X = np.array([[1.5, 2.0, 0.5], [0.0, 3.0, -1.0], [2.0, 0.7, 1.2]])
S = np.array([[0.5, 0.0, 2.0], [1.3, -2.0, 0.0], [0.9, 1.1, 0.0]])
IDX = [[0, 1, 0], [0, 1, 1], [2, 1, 0]]


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_first_and_second_derivatives(include_self):
    def f(a, b):
        return gn.scatter_reduce(a, 0, gn.tensor(IDX), b, "prod", include_self=include_self)

    check_grad(f, [X, S])
    check_grad_grad(f, [X, S])


def test_scatter_reduce_prod_values_and_zero_gradients():
    x = gn.tensor([2.0, 3.0, 5.0], requires_grad=True)
    s = gn.tensor([0.0, 4.0, 0.0, 0.0, 7.0], requires_grad=True)
    idx = gn.tensor([0, 0, 1, 1, 2])
    y = gn.scatter_reduce(x, 0, idx, s, "prod")
    # target 0: 2*0*4 (one zero), target 1: 3*0*0 (two zeros), target 2: 5*7
    assert y.tolist() == [0.0, 0.0, 35.0]
    y.sum().backward()
    # one zero: the zero's gradient is the product of the rest, the others' 0;
    # two zeros: all 0 (PyTorch's scatter_reduce prod backward)
    assert x.grad.tolist() == [0.0, 0.0, 7.0]
    assert s.grad.tolist() == [8.0, 0.0, 0.0, 0.0, 5.0]


# recorded once from PyTorch 2.13 (CPU): torch.linalg.matrix_norm(A, ord) and its gradient
A = [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0], [1.0, 0.0, 1.0]]
TORCH_NORMS = {
    "nuc": (9.441423242174796, [[0.8493357575, 0.0928285132, -0.0578357294],
                                [0.0527443765, 0.9644968146, 0.0172411911],
                                [-0.0979198661, 0.0573253278, 0.9594054617],
                                [0.5160024241, -0.2405048202, 0.2754976039]]),
    2: (4.841519029076572, [[0.0538143973, 0.1187015413, 0.1725159387],
                            [0.1384851316, 0.3054646969, 0.4439498284],
                            [0.1922995289, 0.4241662382, 0.6164657671],
                            [0.0538143973, 0.1187015413, 0.1725159387]]),
    -2: (1.5999042130982248, [[0.4621880268, -0.3592063615, 0.1029816653],
                              [-0.4190740884, 0.3256987844, -0.093375304],
                              [0.0431139384, -0.0335075771, 0.0096063613],
                              [0.4621880268, -0.3592063615, 0.1029816653]]),
}  # fmt: skip


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_singular_values_match_pytorch(ord):
    a = gn.tensor(A, dtype="float64", requires_grad=True)
    y = gn.linalg.matrix_norm(a, ord)
    value, grad = TORCH_NORMS[ord]
    assert y.item() == pytest.approx(value, rel=1e-12)
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), grad, atol=1e-9)
    assert gn.linalg.norm(gn.tensor(A, dtype="float64"), ord).item() == pytest.approx(value)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_singular_values_batched_dims_and_gradcheck(ord):
    a = np.random.default_rng(0).normal(size=(2, 3, 4))  # distinct singular values
    for dim, keepdim in [((-2, -1), False), ((2, 0), True), ((0, 2), False)]:
        out = gn.linalg.matrix_norm(gn.tensor(a), ord, dim, keepdim)
        # keepdim keeps both dims as size 1, as PyTorch
        assert out.shape == ((1, 3, 1) if keepdim else (2,) if dim == (-2, -1) else (3,))
        check_grad(lambda t, d=dim, k=keepdim: gn.linalg.matrix_norm(t, ord, d, k), [a])
    # the value per matrix: sum / max / min of its singular values (dims (2, 0): transposed)
    s = np.linalg.svd(a.transpose(1, 2, 0), compute_uv=False)
    expect = {"nuc": s.sum(-1), 2: s[:, 0], -2: s[:, -1]}[ord]
    np.testing.assert_allclose(gn.linalg.matrix_norm(gn.tensor(a), ord, (2, 0)).numpy(), expect)


# recorded once from PyTorch 2.13 (CPU, float64): g = autograd.grad(matrix_norm(A, ord), A,
# create_graph=True); autograd.grad((g * W).sum(), A), rounded to 10 decimals
W = [[1.0, -2.0, 0.5], [0.0, 1.0, 3.0], [2.0, -1.0, 1.0], [0.5, 0.5, -1.0]]
TORCH_SECOND = {
    "nuc": [[0.3197419548, -0.588194215, -0.1036708981], [0.0098286678, 0.2187810584, 0.4696652731],
            [0.5329487274, -0.7879001991, 0.1508854373],
            [-0.4261615916, 0.4625512381, -0.5766067692]],
    2: [[0.0333467983, -0.1040228149, -0.0762660362], [0.2350841177, 0.0615627871, 0.2822616356],
        [0.1746914518, -0.2492266075, -0.0945104445], [0.0346504222, -0.1011473358, -0.0720869331]],
    -2: [[0.262500294, -0.4220447573, -0.0518970961], [-0.152376119, 0.3161191076, 0.0661372098],
         [0.541650346, -0.4413020265, 0.110389908], [-0.6991632683, 0.3253473194, -0.2661685816]],
}  # fmt: skip


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_second_derivative_matches_pytorch(ord):
    a = gn.tensor(A, dtype="float64", requires_grad=True)
    (g,) = gn.grad(gn.linalg.matrix_norm(a, ord), [a], create_graph=True)
    np.testing.assert_allclose(g.numpy(), TORCH_NORMS[ord][1], atol=1e-9)
    (h,) = gn.grad((g * gn.tensor(W, dtype="float64")).sum(), [a])
    np.testing.assert_allclose(h.numpy(), TORCH_SECOND[ord], atol=1e-9)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 2, 5)])
def test_matrix_norm_second_derivative_gradchecks_on_every_shape(ord, shape):
    a = np.random.default_rng(1).normal(size=shape)  # distinct, nonzero singular values
    check_grad_grad(lambda t: gn.linalg.matrix_norm(t, ord), [a])


def test_matrix_norm_third_derivative_is_the_derivative_of_the_second():
    # nuc: sum(g * g) = rank is constant, so its gradient must vanish (PyTorch: ~1e-14)
    a = gn.tensor(A, dtype="float64", requires_grad=True)
    (g,) = gn.grad(gn.linalg.matrix_norm(a, "nuc"), [a], create_graph=True)
    (h,) = gn.grad((g * g).sum(), [a])
    np.testing.assert_allclose(h.numpy(), 0.0, atol=1e-12)
    # and in general third derivatives pass a finite-difference check of the second
    x = np.random.default_rng(2).normal(size=(4, 3))
    w = gn.tensor(np.random.default_rng(3).normal(size=(4, 3)))

    def second(t):
        (g,) = gn.grad(gn.linalg.matrix_norm(t, 2), [t], create_graph=True)
        return (g * w).sum()

    check_grad_grad(second, [x])


def test_matrix_norm_ties_share_the_gradient_and_have_no_second_derivative():
    # recorded once from PyTorch 2.13: matrix_norm(diag(3, 3, 1), 2) has gradient
    # diag(0.5, 0.5, 0) (amax splits the tie), matrix_norm(eye(3), -2) eye(3) / 3, and the
    # second derivative at a repeated singular value is nan everywhere
    d = gn.tensor(np.diag([3.0, 3.0, 1.0]), requires_grad=True)
    (g,) = gn.grad(gn.linalg.matrix_norm(d, 2), [d], create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.diag([0.5, 0.5, 0.0]), atol=1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        (h,) = gn.grad(g.sum(), [d])
    assert np.isnan(h.numpy()).all()
    eye = gn.tensor(np.eye(3), requires_grad=True)
    gn.linalg.matrix_norm(eye, -2).backward()
    np.testing.assert_allclose(eye.grad.numpy(), np.eye(3) / 3, atol=1e-12)


def test_linalg_norm_dispatches_as_pytorch():
    a = gn.tensor(A, dtype="float64")
    flat = np.sqrt(np.sum(np.square(A)))
    assert gn.linalg.norm(a).item() == pytest.approx(flat)  # ord=None, dim=None: all elements
    assert gn.linalg.norm(a, 1).item() == pytest.approx(6.0)  # 2-D: max column sum of |a|
    assert gn.linalg.norm(a, 1, dim=1).tolist() == [3.0, 5.0, 5.0, 2.0]  # one dim: vectors
    assert gn.linalg.norm(gn.tensor([3.0, 4.0]), 2).item() == pytest.approx(5.0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        gn.linalg.norm(gn.zeros(2, 2, 2), 2)


def test_bernoulli_normal_randperm_take_a_generator_and_stay_on_the_device():
    p = gn.full((2000,), 0.3, dtype="float64")
    dev = p.device  # the default device (cpu, or sim under GLASSNET_TEST_DEVICE=sim)
    a = gn.bernoulli(p, generator=gn.Generator(dev).manual_seed(5))
    b = gn.bernoulli(p, generator=gn.Generator(dev).manual_seed(5))
    assert a.tolist() == b.tolist() and a.device == p.device and abs(a.numpy().mean() - 0.3) < 0.04
    m = gn.zeros(3000, dtype="float64")
    n1 = gn.normal(m, 2.0, generator=gn.Generator(dev).manual_seed(1))
    n2 = gn.normal(m, 2.0, generator=gn.Generator(dev).manual_seed(1))
    assert n1.tolist() == n2.tolist() and n1.device == m.device
    assert n1.numpy().std() == pytest.approx(2.0, rel=0.1)
    g = gn.Generator(dev).manual_seed(2)
    assert gn.normal(0.0, 1.0, (4,), generator=g).shape == (4,)
    r1 = gn.randperm(20, generator=gn.Generator(dev).manual_seed(9)).tolist()
    assert r1 == gn.randperm(20, generator=gn.Generator(dev).manual_seed(9)).tolist()
    assert sorted(r1) == list(range(20))
    gn.manual_seed(4)  # without generator=: the device's generator, reseeded by manual_seed
    first = gn.bernoulli(p).tolist()
    gn.manual_seed(4)
    assert gn.bernoulli(p).tolist() == first
    with pytest.raises(TypeError, match="bernoulli: generator must be a glassnet Generator"):
        gn.bernoulli(p, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="bernoulli: probabilities"):
        gn.bernoulli(gn.tensor([0.5, 1.5]))


def test_empty_is_documented_as_uninitialized():
    assert "may be anything" in gn.empty.__doc__


def test_erfc_erfinv_on_a_device_make_no_host_transfer():
    from glassnet.backend.sim import TRANSFERS

    x = gn.tensor([-0.9, 0.0, 0.5, 0.99], dtype="float64", device="sim")
    TRANSFERS.reset()
    y, z = gn.erfc(x), gn.erfinv(x)
    assert TRANSFERS.count == 0  # the backend's device functions, no round trip to the host
    # libm's erfc (math.erfc) and the defining identity erf(erfinv(x)) = x
    expect = [1.7969082124228322, 1.0, 0.4795001221869535, 0.1614919304446302]
    np.testing.assert_allclose(y.numpy(), expect, rtol=1e-12)
    np.testing.assert_allclose([math.erf(v) for v in z.numpy()], [-0.9, 0.0, 0.5, 0.99])
