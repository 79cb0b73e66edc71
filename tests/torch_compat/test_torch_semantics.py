"""PyTorch semantics of names that NumPy spells the same way (issue 13's silent traps).

Expected values are written from PyTorch's documentation and were checked once against
torch 2.13.0 (CPU) by hand; the tests never import torch.
"""

import numpy as np
import pytest

import glassnet as gn

A = [[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]


# -- the silent traps -----------------------------------------------------------------------
def test_transpose_of_two_dims_swaps_them_on_a_matrix():
    w = gn.tensor(A)
    assert w.transpose(0, 1).tolist() == [[1.0, 4.0], [5.0, 2.0], [3.0, 6.0]]
    assert gn.transpose(w, 1, 0).tolist() == [[1.0, 4.0], [5.0, 2.0], [3.0, 6.0]]
    assert w.transpose(dim0=0, dim1=1).shape == (3, 2)
    assert w.transpose(-1, -2).shape == (3, 2)
    assert w.transpose(0, 0).tolist() == A  # torch: swapping a dim with itself is identity


def test_transpose_forms_pytorch_lacks_keep_numpy_meaning():
    x = gn.zeros(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2)  # torch.transpose
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)  # one tuple: a permutation
    assert x.transpose(1, 2, 0).shape == (3, 4, 2)  # three ints: a permutation
    assert x.transpose().shape == (4, 3, 2)  # no argument: reversed, as .T
    with pytest.raises(ValueError, match="transpose: axis 3"):
        x.transpose(0, 3)


def test_transpose_gradient_flows_back_transposed():
    w = gn.tensor(A, requires_grad=True)
    (w.transpose(0, 1) * gn.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])).sum().backward()
    assert w.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]


def test_repeat_tiles_like_torch():
    x = gn.tensor([[1, 2, 3], [4, 5, 6]])
    # torch docs: x.repeat(4, 2) of shape (3,) -> (4, 6); here a (2, 3) -> (4, 3)
    assert x.repeat(2, 1).tolist() == [[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6]]
    assert x.repeat(1, 2).tolist() == [[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]
    v = gn.tensor([1, 2, 3])
    assert v.repeat(4, 2).shape == (4, 6)  # torch docs example
    assert v.repeat(4, 2, 1).shape == (4, 2, 3)  # torch docs example
    assert v.repeat((2,)).tolist() == [1, 2, 3, 1, 2, 3]
    with pytest.raises(ValueError, match="repeat_interleave"):
        x.repeat(2)  # fewer sizes than dims: torch raises too


def test_repeat_gradient_sums_the_copies():
    x = gn.tensor([[1.0, 2.0]], requires_grad=True)
    y = x.repeat(3, 2)  # (3, 4)
    (y * gn.arange(12, dtype="float32").reshape(3, 4)).sum().backward()
    # element (0, 0) appears at columns 0, 2 of all 3 rows: 0+2+4+6+8+10 = 30
    assert x.grad.tolist() == [[30.0, 36.0]]


def test_repeat_interleave_is_numpys_repeat():
    x = gn.tensor([[1, 2], [3, 4]])
    assert gn.repeat_interleave(x, 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]  # torch docs
    assert x.repeat_interleave(3, dim=1).tolist() == [[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]
    assert x.repeat_interleave(gn.tensor([1, 2]), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    with pytest.raises(ValueError, match="one count per element"):
        x.repeat_interleave([1, 2, 3], dim=0)


def test_max_with_dim_returns_values_and_indices():
    x = gn.tensor(A)
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    out = x.max(dim=0, keepdim=True)
    assert type(out).__name__ == "max" and isinstance(out, tuple)
    assert out.values.tolist() == [[4.0, 5.0, 6.0]] and out.indices.tolist() == [[1, 0, 1]]
    assert out.indices.dtype == gn.int64
    lo = gn.min(x, 1)
    assert lo.values.tolist() == [1.0, 2.0] and lo.indices.tolist() == [0, 1]
    assert type(lo).__name__ == "min"
    assert x.max(axis=1).indices.tolist() == [1, 2]  # NumPy's keyword, PyTorch's result


def test_max_without_dim_and_elementwise_forms():
    x = gn.tensor(A)
    assert isinstance(x.max(), gn.Tensor) and x.max().item() == 6.0
    assert gn.min(x).item() == 1.0
    other = gn.tensor([[2.0, 2.0, 2.0], [5.0, 5.0, 5.0]])
    assert gn.max(x, other).tolist() == [[2.0, 5.0, 3.0], [5.0, 5.0, 6.0]]
    assert x.min(other).tolist() == [[1.0, 2.0, 2.0], [4.0, 2.0, 5.0]]
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))


def test_max_dim_ties_pick_the_first_index_and_route_the_gradient_there():
    x = gn.tensor([[3.0, 1.0, 3.0]], requires_grad=True)
    values, indices = x.max(1)
    assert indices.tolist() == [0]
    values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0]]
    # max() over everything (and amax) split the gradient evenly among ties, as torch does
    x.grad = None
    x.max().backward()
    assert x.grad.tolist() == [[0.5, 0.0, 0.5]]


def test_amax_amin_reduce_over_several_dims():
    x = gn.tensor([[[1.0, 7.0], [3.0, 2.0]], [[0.0, 4.0], [9.0, -1.0]]])
    assert x.amax(dim=(0, 2)).tolist() == [7.0, 9.0]
    assert gn.amin(x, dim=(1, 2), keepdim=True).tolist() == [[[1.0]], [[-1.0]]]
    assert x.amax().item() == 9.0


def test_squeeze_of_a_dim_that_is_not_one_returns_the_tensor_unchanged():
    x = gn.zeros(4, 1, 3)
    assert x.squeeze(0).shape == (4, 1, 3)
    assert x.squeeze(1).shape == (4, 3)
    assert x.squeeze((0, 1)).shape == (4, 3)  # torch >= 2.0 accepts a tuple
    assert gn.tensor(2.0).squeeze(0).shape == ()
    with pytest.raises(ValueError, match="squeeze: axis 3"):
        x.squeeze(3)


def test_mixed_int_and_tensor_indexing_orders_dims_as_pytorch():
    x = gn.tensor(np.arange(24.0).reshape(2, 3, 4))
    # NumPy would give (2, 3) here: the int and the list are separated by a slice
    y = x[0, :, [1, 2]]
    assert y.shape == (3, 2)
    assert y.tolist() == [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]
    assert x[1, [0, 2]].shape == (2, 4)
    assert x[:, 0, [1, 3]].tolist() == [[1.0, 3.0], [13.0, 15.0]]
    assert x[[0, 1], :, [1, 2]].shape == (2, 3)  # only tensors: same in NumPy and PyTorch
    assert x[0, None, :, gn.tensor([3])].shape == (1, 3, 1)
    assert x[..., 1, [0, 1]].shape == (2, 2)


def test_mixed_indexing_gradient():
    x = gn.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    x[1, :, [0, 0, 3]].sum().backward()
    expected = np.zeros((2, 3, 4))
    expected[1, :, 0] = 2.0
    expected[1, :, 3] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# -- dim / keepdim everywhere -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp"])
def test_reductions_accept_dim_and_keepdim_like_axis_and_keepdims(name):
    a = np.array([[[1.0, 2.0], [3.0, 5.0]], [[0.5, 4.0], [2.0, 1.0]]])
    x = gn.tensor(a)
    fn = getattr(gn.Tensor, name)
    for dim in (1, (0, 2), -1):
        by_dim = fn(x, dim=dim, keepdim=True).numpy()
        by_axis = fn(x, axis=dim, keepdims=True).numpy()
        positional = fn(x, dim, True).numpy() if name not in ("var", "std") else by_dim
        np.testing.assert_array_equal(by_dim, by_axis)
        np.testing.assert_array_equal(by_dim, positional)
        assert by_dim.ndim == 3


def test_reduction_values_match_torch_definitions():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 7.0]])
    x = gn.tensor(a, dtype="float64")
    assert x.sum(dim=(0, 1)).item() == 22.0
    np.testing.assert_allclose(x.var(1).numpy(), [7.0 / 3.0, 4.0])  # unbiased by default
    np.testing.assert_allclose(x.var(1, False).numpy(), [14.0 / 9.0, 8.0 / 3.0])  # unbiased=False
    np.testing.assert_allclose(x.std(dim=0, correction=0).numpy(), [1.0, 1.5, 1.5])
    np.testing.assert_allclose(x.var(dim=1, keepdim=True).numpy(), [[7.0 / 3.0], [4.0]])
    with pytest.raises(TypeError, match="unbiased"):
        x.var(1, 3)
    with pytest.raises(TypeError, match="both dim"):
        x.sum(dim=0, axis=1)


def test_reductions_on_0d_tensors_accept_dim_0_and_minus_1():
    s = gn.tensor(3.0)
    for name in ("sum", "mean", "prod", "amax", "amin", "logsumexp"):
        for dim in (0, -1):
            out = getattr(s, name)(dim=dim)
            assert out.shape == () and out.item() == pytest.approx(3.0)
    assert s.sum(0, keepdim=True).shape == ()
    values, indices = s.max(0)
    assert values.item() == 3.0 and indices.item() == 0
    assert s.argmax(0).item() == 0
    with pytest.raises(ValueError, match="out of range"):
        s.sum(dim=1)


def test_argmax_any_all_softmax_cat_stack_take_dim():
    x = gn.tensor(A)
    assert x.argmax(dim=1).tolist() == [1, 2]
    assert x.argmin(dim=0, keepdim=True).tolist() == [[0, 1, 0]]
    assert (x > 4).any(dim=1).tolist() == [True, True]
    assert (x > 1).all(dim=0).tolist() == [False, True, True]
    np.testing.assert_allclose(gn.softmax(x, dim=0).sum(dim=0).numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(gn.functional.log_softmax(x, dim=1).exp().sum(1).numpy(), [1, 1])
    assert gn.cat([x, x], dim=1).shape == (2, 6)
    assert gn.stack([x, x], dim=2).shape == (2, 3, 2)
    assert [p.shape for p in x.split(2, dim=1)] == [(2, 2), (2, 1)]
    assert x.unsqueeze(dim=1).shape == (2, 1, 3)
    assert gn.zeros(2, 3, 4).flatten(start_dim=1).shape == (2, 12)
    with pytest.raises(TypeError, match="pass dim="):
        gn.softmax(gn.zeros(2, 3, 4))  # torch's deprecated implicit dim would be 0 here
