"""Regressions for results that differed from PyTorch (issue 16, "Wrong today").

Expected values are PyTorch's documented behaviour, worked out by hand in the comments (the
formulas PyTorch's derivatives.yaml gives for pow, its type-promotion table, its reductions).
"""

import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


def _leaf(value, dtype="float64"):
    return gn.tensor(value, dtype=dtype, requires_grad=True)


# -- weighted cross-entropy / nll: the mean divides by any nonzero weight sum ----------------
def test_weighted_nll_mean_with_negative_weight_sum():
    x = _leaf([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]])
    t = gn.tensor([0, 2])
    w = gn.tensor([-1.0, 0.5, 0.2], dtype="float64")
    loss = F.nll_loss(x, t, weight=w)
    # -(w0 x00 + w2 x12) / (w0 + w2) = -(-1 + 0.06) / -0.8 = -1.175
    assert loss.item() == pytest.approx(-1.175)
    loss.backward()
    expected = np.zeros((2, 3))
    expected[0, 0], expected[1, 2] = 1.0 / -0.8, -0.2 / -0.8  # -w_t / (w0 + w2)
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_weighted_cross_entropy_mean_with_negative_weight_sum():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]])
    x = _leaf(logits)
    w = np.array([-1.0, 0.5, 0.2])
    loss = F.cross_entropy(x, gn.tensor([0, 2]), weight=gn.tensor(w))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -(w[0] * logp[0, 0] + w[2] * logp[1, 2]) / (w[0] + w[2])
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert np.abs(x.grad.numpy()).sum() > 0


def test_label_smoothing_keeps_float32():
    x = gn.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]], requires_grad=True)
    loss = F.cross_entropy(x, gn.tensor([0, 2]), label_smoothing=0.1)
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32


# -- pow at the edges (PyTorch: pow_backward_self / pow_backward_exponent) -------------------
def _pow_grads(a, b):
    x, y = _leaf(a), _leaf(b)
    with np.errstate(all="ignore"):
        (x**y).sum().backward()
    return x.grad.item(), y.grad.item()


def test_pow_gradient_of_zero_exponent_at_zero_base_is_zero():
    assert _pow_grads(0.0, 0.0)[0] == 0.0  # d/dx x^0 = 0, not 0 * 0^-1 = nan
    x = _leaf(0.0)
    (x**0).backward()
    assert x.grad.item() == 0.0
    x = _leaf(0.0)
    (x**0.0).backward()
    assert x.grad.item() == 0.0


def test_pow_exponent_gradient_of_negative_base_is_nan():
    assert np.isnan(_pow_grads(-2.0, 2.0)[1])  # (-2)^y ln(-2): ln of a negative is nan
    assert _pow_grads(-2.0, 2.0)[0] == pytest.approx(-4.0)


def test_pow_of_zero_base_with_negative_exponent():
    gx, gy = _pow_grads(0.0, -1.0)
    assert gx == -np.inf  # -1 * 0^-2
    assert gy == -np.inf  # 0^-1 ln 0 = inf * -inf
    assert _pow_grads(0.0, 2.0)[1] == 0.0  # 0^y ln 0 is taken as 0 for y >= 0
    y = _leaf(-1.0)
    with np.errstate(all="ignore"):
        (0.0**y).backward()
    assert y.grad.item() == -np.inf


def test_pow_second_derivative_at_zero_exponent():
    x = _leaf([0.0, 2.0])
    (g,) = gn.grad((x**0).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


# -- PyTorch's type promotion for integer tensors ---------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda i, j: i / j,
        lambda i, j: i * 1.5,
        lambda i, j: 1.5 - i,
        lambda i, j: gn.exp(i),
        lambda i, j: gn.cos(i),
        lambda i, j: gn.sqrt(j),
        lambda i, j: gn.sigmoid(i),
        lambda i, j: 2.0**i,
        lambda i, j: i**0.5,
        lambda i, j: i + gn.tensor([0.5, 0.5, 0.5]),
    ],
)
def test_int_tensors_promote_to_float32(fn):
    i, j = gn.tensor([1, 2, 3]), gn.tensor([2, 2, 2])
    assert fn(i, j).dtype == np.float32


def test_int_results_stay_int():
    i = gn.tensor([1, 2, 3])
    assert (i + 1).dtype == np.int64
    assert (i * i).dtype == np.int64
    assert (i**2).dtype == np.int64
    assert (gn.tensor([1, 2], dtype="int32") + 1).dtype == np.int32
    np.testing.assert_allclose((i / gn.tensor([2, 2, 2])).numpy(), [0.5, 1.0, 1.5])


def test_int_with_float64_tensor_takes_float64():
    i = gn.tensor([1, 2])
    assert (i * gn.tensor([1.0, 2.0], dtype="float64")).dtype == np.float64


# -- 0-d tensors as axes, iteration -----------------------------------------------------------
def test_zero_d_tensor_as_dim():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(x.sum(gn.tensor(0)).numpy(), [4.0, 6.0])
    np.testing.assert_allclose(x.amax(gn.tensor(-1)).numpy(), [2.0, 4.0])
    # max/min with a tensor argument is PyTorch's elementwise form (torch 2.13: x.max(tensor(-1))
    # is x), never a dim
    np.testing.assert_allclose(x.max(gn.tensor(-1)).numpy(), x.numpy())
    assert gn.argmax(x, gn.tensor(1)).tolist() == [1, 1]
    with pytest.raises(TypeError, match="integers"):
        x.sum(gn.tensor(0.0))


def test_iteration_over_first_axis_and_error_on_zero_d():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    sum(r.sum() for r in rows).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 2)))
    with pytest.raises(TypeError, match="0-d"):
        list(gn.tensor(1.0))
    assert list(gn.zeros(0, 3)) == []


# -- no raw NumPy errors ------------------------------------------------------------------------
def test_gather_with_index_smaller_than_input_in_other_dims():
    x = _leaf(np.arange(12.0).reshape(3, 4))
    y = gn.gather(x, 1, gn.tensor([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(y.numpy(), [[0.0, 1.0], [6.0, 7.0]])
    y.sum().backward()
    expected = np.zeros((3, 4))
    expected[0, [0, 1]] = expected[1, [2, 3]] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    with pytest.raises(ValueError, match="gather"):
        gn.gather(x, 1, gn.tensor([[0], [0], [0], [0]]))


@pytest.mark.parametrize(
    "sa, sb", [((2, 2, 0), (0, 3)), ((0,), (2, 0, 3)), ((0,), (0,)), ((3, 0), (0, 2))]
)
def test_matmul_backward_with_zero_inner_dim(sa, sb):
    a, b = _leaf(np.zeros(sa)), _leaf(np.ones(sb))
    y = a @ b
    assert np.all(y.numpy() == 0)  # an empty sum
    y.sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb


def test_var_std_without_degrees_of_freedom_is_nan_with_warning():
    x = _leaf([1.0])
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        y = x.var()
    assert np.isnan(y.item())
    y.backward()  # 2 (x - mean) / 0 = 0 * inf
    assert np.isnan(x.grad.item())
    with pytest.warns(RuntimeWarning):  # sum of squares 0.5 over max(2 - 2, 0): inf
        assert gn.ops.var(gn.tensor([1.0, 2.0]), correction=2).item() == np.inf


def test_var_std_unbiased_keyword():
    x = gn.tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), [0.25, 1.0])
    np.testing.assert_allclose(x.var(1, unbiased=True).numpy(), [0.5, 2.0])
    np.testing.assert_allclose(x.std(0, correction=0).numpy(), [1.0, 1.5])


@pytest.mark.parametrize("name", ["sum", "prod", "logsumexp", "max", "min", "mean"])
@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_of_zero_d_tensor_along_dim_zero(name, dim):
    x = _leaf(2.5)
    y = getattr(x, name)(dim)
    if name in ("max", "min"):  # (values, indices) along a dim, as PyTorch
        assert y.indices.item() == 0
        y = y.values
    assert y.shape == () and y.item() == pytest.approx(2.5)
    y.backward()
    assert x.grad.item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="out of range"):
        getattr(x, name)(1)


def test_softmax_over_zero_size_dim():
    x = gn.zeros(2, 0, requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, -1)
        assert y.shape == (2, 0)
        y.sum().backward()
        assert x.grad.shape == (2, 0)
    assert F.softmax(gn.tensor(3.0), 0).item() == 1.0


def test_norms_with_empty_batch():
    x = gn.zeros(0, 4, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (F.group_norm(x, 2), F.layer_norm(x, (3,))):
            assert y.shape == (0, 4, 3)
            y.sum().backward()
            assert x.grad.shape == (0, 4, 3)


def test_negative_padding_crops():
    x = _leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = gn.pad(x, ((-1, 1), (1, -2)))
    np.testing.assert_array_equal(y.numpy(), [[0.0, 4.0], [0.0, 0.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="crop"):
        gn.pad(x, ((-2, -1), (0, 0)))
