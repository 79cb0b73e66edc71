"""PyTorch's dtypes and gradient conventions at the edges of reductions and a few pointwise
ops, with gradcheck cases for the ops added for them (rsqrt, reduce_all, nansum)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, check_grad, run_case

R = np.random.default_rng(7).normal(size=(3, 4))
NAN = float("nan")
CASES = [
    GradCase("rsqrt", gn.rsqrt, [np.abs(R) + 0.5]),
    GradCase("reduce_all", lambda x: x.max(), [R], "max"),
    GradCase("reduce_all", lambda x: x.min(), [R], "min"),
    GradCase("reduce_all", lambda x: x.median(), [R], "median"),
    GradCase("nansum", lambda x: gn.nansum(x, 1), [R]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_derivatives(case):
    run_case(case)


def grad_of(f, values):
    x = gn.tensor(values, requires_grad=True)
    f(x).sum().backward()
    return x.grad.numpy()


def test_rsqrt_edges():
    got = gn.tensor([-0.0, -np.inf, 0.0, 4.0]).rsqrt().numpy()
    np.testing.assert_array_equal(got, [-np.inf, np.nan, np.inf, 0.5])


def test_full_max_min_with_nan_give_the_gradient_to_the_nan_elements():
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [1.0, NAN]), [0, 1])
    np.testing.assert_array_equal(grad_of(lambda x: x.min(), [1.0, NAN, NAN]), [0, 0.5, 0.5])
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [3.0, 1.0, 3.0]), [0.5, 0, 0.5])


def test_median_of_all_elements_splits_the_gradient_over_ties():
    np.testing.assert_allclose(grad_of(lambda x: x.median(), [2.0, 2.0, 2.0]), [1 / 3] * 3)
    np.testing.assert_allclose(grad_of(lambda x: x.median(), [1, 2, 2, 5, 2.0]),
                               [0, 1 / 3, 1 / 3, 0, 1 / 3])  # fmt: skip
    np.testing.assert_array_equal(grad_of(lambda x: x.median(), [1.0, NAN, 2.0]), [0, 1, 0])
    np.testing.assert_array_equal(grad_of(lambda x: x.nanmedian(), [1.0, NAN, 2.0]), [1, 0, 0])
    assert float(gn.tensor([4.0, 1.0, 3.0, 2.0]).median()) == 2.0  # the lower median
    # along a dim: one index gets it (unchanged)
    np.testing.assert_array_equal(grad_of(lambda x: x.median(0).values, [2.0, 2, 2]), [0, 1, 0])


def test_atan2_at_the_origin_has_zero_gradient():
    a = gn.tensor([0.0, 1.0], requires_grad=True)
    b = gn.tensor([0.0, 0.0], requires_grad=True)
    gn.atan2(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0])
    np.testing.assert_array_equal(b.grad.numpy(), [0, -1])
    check_grad(gn.atan2, [R, R[::-1] + 0.1])


def test_fmax_fmin_give_ties_and_double_nan_to_input():
    for op, want in ((gn.fmax, [1.0, 3.0, 2.0, NAN]), (gn.fmin, [1.0, 3.0, 2.0, NAN])):
        a = gn.tensor([1.0, NAN, 2.0, NAN], requires_grad=True)
        b = gn.tensor([1.0, 3.0, NAN, NAN], requires_grad=True)
        y = op(a, b)
        np.testing.assert_array_equal(y.numpy(), want)
        y.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), [1, 0, 1, 1])
        np.testing.assert_array_equal(b.grad.numpy(), [0, 1, 0, 0])
    np.testing.assert_array_equal(gn.fmin(gn.tensor([1.0, 5.0]), gn.tensor([2.0, 4.0])).numpy(),
                                  [1.0, 4.0])  # fmt: skip


def test_nanmean_of_an_all_nan_row_has_nan_gradient():
    x = gn.tensor([[NAN, NAN], [1.0, 2.0]], requires_grad=True)
    with np.errstate(all="ignore"):
        y = gn.nanmean(x, 1)
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [NAN, 1.5])
    np.testing.assert_array_equal(x.grad.numpy(), [[NAN, NAN], [0.5, 0.5]])
    x = gn.tensor([[NAN, NAN], [1.0, 2.0]], requires_grad=True)
    gn.nansum(x, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [1, 1]])


@pytest.mark.parametrize("op", ["sum", "prod"])
def test_sum_prod_dtype_and_int_accumulation(op):
    x = gn.tensor([100, 100, 3], dtype=gn.int32)
    got = getattr(x, op)(dtype=gn.int16)
    ref = getattr(np.array([100, 100, 3], np.int16), op)(dtype=np.int16)  # wraps around
    assert got.dtype == gn.int16 and int(got) == int(ref)
    assert getattr(x, op)(dtype=gn.int32).dtype == gn.int32
    for dt in (gn.uint8, gn.int8, gn.int16, gn.int32, gn.bool):
        assert getattr(gn.ones(3, dtype=dt), op)().dtype == gn.int64
        assert getattr(gn.ones((2, 3), dtype=dt), op)(1).dtype == gn.int64
    assert gn.tensor([200, 100], dtype=gn.uint8).sum().item() == 300
    assert gn.tensor([1.5, 2.5]).sum(dtype=gn.int16).item() == 3  # cast first, as PyTorch
    assert gn.ones(2, dtype=gn.float16).sum().dtype == gn.float16


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumsum_cumprod_dtype(op):
    x = gn.tensor([True, False, True])
    assert getattr(x, op)(0, dtype=gn.int32).dtype == gn.int32
    assert getattr(x, op)(0).dtype == gn.int64
    got = getattr(gn.tensor([100, 100, 100], dtype=gn.int32), op)(0, dtype=gn.int8)
    ref = getattr(np, op)(np.array([100, 100, 100], np.int8), dtype=np.int8)
    assert got.dtype == gn.int8
    np.testing.assert_array_equal(got.numpy(), ref)


def test_argmax_keepdim_without_dim_and_uint8_all_any():
    x = gn.tensor([[1.0, 3.0], [2.0, 0.0]])
    assert x.argmax(keepdim=True).shape == (1, 1) and x.argmax(keepdim=True).item() == 1
    assert x.argmin(keepdim=True).shape == (1, 1) and x.argmin(keepdim=True).item() == 3
    assert x.argmax().shape == ()
    u = gn.tensor([1, 2], dtype=gn.uint8)
    assert u.all().dtype == gn.uint8 and u.any().dtype == gn.uint8 and u.all().item() == 1
    assert gn.tensor([1, 2]).all().dtype == gn.bool


def test_addcmul_on_int_tensors_truncates_value():
    t = gn.tensor([1, 2])
    got = gn.addcmul(t, t, gn.tensor([3, 3]), value=1.7)  # value -> 1
    assert got.dtype == gn.int64
    np.testing.assert_array_equal(got.numpy(), [4, 8])
    np.testing.assert_array_equal(gn.addcmul(t, t, gn.tensor([3, 3]), value=0.5).numpy(), [1, 2])
    f = gn.addcmul(gn.tensor([1.0, 2.0]), t, gn.tensor([3, 3]), value=0.5)
    np.testing.assert_array_equal(f.numpy(), [2.5, 5.0])
