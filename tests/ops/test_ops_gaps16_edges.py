"""Edges found by running PyTorch's signatures against glassnet (after issue 16): unique with
nan, unique_consecutive, median/prod/logsumexp over empty tensors, logsumexp of ints, the
one-argument overloads where(cond) and repeat_interleave(counts).

Expected values recorded once from PyTorch 2.13 (CPU) where noted, or PyTorch's documented
behaviour.
"""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_grad, check_grad_grad

NAN = math.nan


def test_unique_keeps_every_nan_distinct_as_pytorch():
    # torch.unique(t, return_inverse=True, return_counts=True) on [3, 1, nan, 1, 2, nan, 3]:
    # values [1, 2, 3, nan, nan], inverse [2, 0, 3, 0, 1, 4, 2], counts [2, 1, 2, 1, 1]
    x = gn.tensor([3.0, 1.0, NAN, 1.0, 2.0, NAN, 3.0])
    values, inverse, counts = gn.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [1.0, 2.0, 3.0, NAN, NAN])
    assert inverse.tolist() == [2, 0, 3, 0, 1, 4, 2] and inverse.dtype == np.int64
    assert counts.tolist() == [2, 1, 2, 1, 1]
    # the inverse rebuilds the input, nan included
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], x.numpy())


def test_unique_edges():
    v, inv = gn.unique(gn.tensor(3.0), return_inverse=True)  # 0-d: torch gives [3.] and 0-d 0
    assert v.tolist() == [3.0] and inv.shape == () and inv.item() == 0
    v, c = gn.unique(gn.zeros(0, 3), return_counts=True)
    assert v.shape == (0,) and c.shape == (0,)
    v, inv = gn.unique(gn.tensor([[2, 1], [1, 2]]), return_inverse=True)
    assert v.tolist() == [1, 2] and inv.tolist() == [[1, 0], [0, 1]]
    assert gn.unique(gn.tensor([True, False, True])).tolist() == [False, True]


def test_unique_consecutive_is_exported_as_a_function_and_method():
    x = gn.tensor([1, 1, 2, 2, 1, 3, 3])
    out, inverse, counts = gn.unique_consecutive(x, return_inverse=True, return_counts=True)
    # torch.unique_consecutive: [1, 2, 1, 3], inverse [0, 0, 1, 1, 2, 3, 3], counts [2, 2, 1, 2]
    assert out.tolist() == [1, 2, 1, 3]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3] and counts.tolist() == [2, 2, 1, 2]
    assert x.unique_consecutive().tolist() == [1, 2, 1, 3]


def test_median_of_an_empty_tensor_is_nan():
    # torch.median(torch.zeros(0, 3)) and torch.nanmedian(...) are tensor(nan)
    assert math.isnan(gn.median(gn.zeros(0, 3)).item())
    assert math.isnan(gn.nanmedian(gn.zeros(0, 3)).item())
    assert gn.median(gn.zeros(0, 3, dtype="float64")).dtype == np.float64


def test_prod_over_zero_size_dims_is_one_with_an_empty_gradient():
    # torch.prod(torch.zeros(0, 3)) == 1 and torch.prod(zeros(0, 3), 0) == [1, 1, 1]
    x = gn.zeros(0, 3, dtype="float64", requires_grad=True)
    assert gn.prod(x).item() == 1.0
    y = gn.prod(x, 0)
    assert y.tolist() == [1.0, 1.0, 1.0]
    (g,) = gn.grad(y.sum(), [x], create_graph=True)
    assert g.shape == (0, 3)
    assert gn.prod(gn.zeros(2, 0), 1).tolist() == [1.0, 1.0]


def test_logsumexp_over_an_empty_dim_is_minus_inf():
    # torch.logsumexp(zeros(0, 3), 0) == [-inf, -inf, -inf]; over dim 1: an empty tensor
    x = gn.zeros(0, 3, requires_grad=True)
    y = gn.logsumexp(x, 0)
    assert y.tolist() == [-math.inf] * 3
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    assert gn.logsumexp(gn.zeros(0, 3), 1).shape == (0,)
    check_grad(lambda t: gn.logsumexp(t, 1), [np.random.default_rng(0).normal(size=(2, 3))])


def test_logsumexp_of_ints_and_bools_is_float32():
    # torch.logsumexp(torch.tensor([1, 2]), 0): tensor(2.3132617), float32
    y = gn.logsumexp(gn.tensor([1, 2]), 0)
    assert y.dtype == np.float32 and y.item() == pytest.approx(2.3132617)
    assert gn.logsumexp(gn.tensor([True, False]), 0).dtype == np.float32


def test_where_with_only_a_condition_is_nonzero_as_tuple():
    # torch.where(cond) == torch.nonzero(cond, as_tuple=True); a 0-d condition counts as 1-D
    rows, cols = gn.where(gn.tensor([[1, 0], [0, 3]]) > 0)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1] and rows.dtype == np.int64
    assert [t.tolist() for t in gn.where(gn.tensor(True))] == [[0]]
    assert [t.tolist() for t in gn.where(gn.tensor(False))] == [[]]
    with pytest.raises(TypeError, match="give both input"):
        gn.where(gn.tensor([True]), 1.0)


def test_repeat_interleave_of_counts_alone_and_output_size():
    # torch.repeat_interleave(torch.tensor([2, 0, 1])) == [0, 0, 2]
    assert gn.repeat_interleave(gn.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert gn.tensor([1.0, 2.0]).repeat_interleave(2, output_size=4).tolist() == [1, 1, 2, 2]
    with pytest.raises(ValueError, match="output_size=3"):
        gn.tensor([1.0, 2.0]).repeat_interleave(2, output_size=3)
    with pytest.raises(ValueError, match="1-D int tensor of counts"):
        gn.repeat_interleave(gn.tensor([1.5]))
    check_grad_grad(lambda t: gn.repeat_interleave(t, gn.tensor([2, 1]), 0), [np.ones((2, 2))])


def test_square_and_integer_powers_of_bools_are_int64():
    # torch.square(torch.tensor([True, False])) and t ** 2: tensor([1, 0]) (int64)
    b = gn.tensor([True, False])
    for y in (gn.square(b), b**2, gn.pow(b, 3)):
        assert y.dtype == np.int64 and y.tolist() == [1, 0]
