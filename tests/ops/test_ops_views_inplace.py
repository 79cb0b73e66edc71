"""Views that write through (diagonal, unfold), in-place operators and shape changes, and
PyTorch's indexing rules (uint8 masks, x[[]], == None), against NumPy and hand values."""

import numpy as np
import pytest

import glassnet as gn


def test_diagonal_is_a_view_sharing_the_version_counter():
    a = gn.zeros(3, 4)
    d = a.diagonal(1)
    d.fill_(1.0)
    np.testing.assert_array_equal(a.numpy(), np.eye(3, 4, k=1))
    assert a._version == d._version == 1
    b = gn.zeros(2, 3, 3)
    b.diagonal(0, 1, 2).add_(gn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    want = np.zeros((2, 3, 3))
    want[:, [0, 1, 2], [0, 1, 2]] = [[1, 2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(b.numpy(), want)


@pytest.mark.parametrize(
    "offset,dim1,dim2", [(0, 0, 1), (1, 0, 1), (-2, 1, 0), (1, 2, 0), (9, 0, 2)]
)
def test_diagonal_values_match_numpy(offset, dim1, dim2):
    x = np.arange(60.0).reshape(3, 4, 5)
    got = gn.tensor(x).diagonal(offset, dim1, dim2)
    np.testing.assert_array_equal(got.numpy(), np.diagonal(x, offset, dim1, dim2))
    start = (np.diagonal(x, offset, dim1, dim2).ctypes.data - x.ctypes.data) // 8
    assert got.numel() == 0 or got.storage_offset() == start


def test_unfold_is_a_view():
    a = gn.zeros(4)
    a.unfold(0, 2, 2).fill_(1.0)
    assert a.tolist() == [1.0, 1.0, 1.0, 1.0]
    x = gn.arange(24.0).reshape(3, 8)
    u = x.unfold(1, 3, 2)
    assert u.shape == (3, 3, 3) and u.stride() == (8, 2, 1)
    want = np.stack([np.arange(24.0).reshape(3, 8)[:, 2 * k : 2 * k + 3] for k in range(3)], 1)
    np.testing.assert_array_equal(u.numpy(), want)
    u[0, 1, 0] = -1.0
    assert x[0, 2].item() == -1.0


def test_diag_of_a_matrix_is_a_copy():
    a = gn.zeros(3, 3)
    gn.diag(a).fill_(1.0)
    assert a.sum().item() == 0.0


@pytest.mark.parametrize(
    "stmt,start,want",
    [
        ("v //= 2", [[7, 9], [1, 1]], [[3, 4], [1, 1]]),
        ("v %= 4", [[7, 9], [1, 1]], [[3, 1], [1, 1]]),
        ("v **= 2", [[4.0, 9.0], [1.0, 1.0]], [[16.0, 81.0], [1.0, 1.0]]),
        ("v &= 3", [[7, 9], [1, 1]], [[3, 1], [1, 1]]),
        ("v |= 8", [[7, 9], [1, 1]], [[15, 9], [1, 1]]),
        ("v ^= 1", [[7, 9], [1, 1]], [[6, 8], [1, 1]]),
        ("v <<= 1", [[7, 9], [1, 1]], [[14, 18], [1, 1]]),
        ("v >>= 1", [[7, 9], [1, 1]], [[3, 4], [1, 1]]),
    ],
)
def test_augmented_assignment_is_in_place(stmt, start, want):
    a = gn.tensor(start)
    v = a[0]
    same = v
    exec(stmt)  # noqa: S102 - the statement under test, a constant
    assert a.tolist() == want
    assert a._version == 1
    ns = {"v": same}
    exec(stmt, {}, ns)  # noqa: S102
    assert ns["v"] is same


def test_augmented_assignment_under_grad_rebinds_like_iadd():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x
    y **= 2
    assert y is not x and x.tolist() == [1.0, 2.0] and y.tolist() == [1.0, 4.0]
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_int_tensor_refuses_a_float_result_in_place():
    a = gn.tensor([4])
    with pytest.raises(TypeError, match="can't be cast"):
        a **= 0.5


def test_shape_changing_in_place_methods():
    x = gn.zeros(2, 3)
    flat = x.view(6)
    assert x.unsqueeze_(0).shape == (1, 2, 3)
    assert x.squeeze_().shape == (2, 3)
    assert x.t_().shape == (3, 2)
    x[0, 1] = 5.0  # still the same storage: (0, 1) of the transpose is element (1, 0)
    assert flat.tolist() == [0.0, 0.0, 0.0, 5.0, 0.0, 0.0]
    assert x.transpose_(0, 1).shape == (2, 3)
    assert x.swapaxes_(0, 1).shape == (3, 2) and x.swapdims_(0, 1).shape == (2, 3)
    assert x.squeeze_(0).shape == (2, 3)
    assert x._version >= 7
    w = gn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.unsqueeze_(0)
    with gn.no_grad():
        assert w.unsqueeze_(0).shape == (1, 3)


def test_resize_():
    x = gn.arange(6.0)
    assert x.resize_(2, 3).tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.resize_(4).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x.resize_((2, 3)).shape == (2, 3)


def test_div_with_rounding_mode_in_place():
    a = gn.tensor([7.0, -7.0])
    assert a.div_(2, rounding_mode="floor").tolist() == [3.0, -4.0]
    b = gn.tensor([7, -7])
    assert b.div_(2, rounding_mode="trunc").tolist() == [3, -3]
    assert b.dtype == np.int64
    assert gn.tensor([6.0]).div_(4).tolist() == [1.5]


def test_masked_scatter_and_put():
    mask = gn.tensor([[True, False, True], [False, True, False]])
    out = gn.zeros(2, 3).masked_scatter(mask, gn.arange(10.0))
    assert out.tolist() == [[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    out = gn.zeros(2, 3).masked_scatter(gn.tensor([True, False, True]), gn.arange(10.0))
    assert out.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 3.0]]
    with pytest.raises(ValueError, match="at least one element"):
        gn.zeros(2, 3).masked_scatter(mask, gn.arange(2.0))
    x = gn.zeros(2, 3)
    assert x.masked_scatter_(mask, gn.ones(3) * 7).tolist() == [[7.0, 0.0, 7.0], [0.0, 7.0, 0.0]]
    p = gn.zeros(2, 3).put(gn.tensor([1, -1]), gn.tensor([9.0, 8.0]))
    assert p.tolist() == [[0.0, 9.0, 0.0], [0.0, 0.0, 8.0]]
    p = gn.zeros(2, 3).put(gn.tensor([1, 1]), gn.tensor([9.0, 8.0]), accumulate=True)
    assert p.tolist() == [[0.0, 17.0, 0.0], [0.0, 0.0, 0.0]]
    y = gn.zeros(2, 3)
    y.put_(gn.tensor([[1], [4]]), gn.tensor([9.0, 8.0]))
    assert y.tolist() == [[0.0, 9.0, 0.0], [0.0, 8.0, 0.0]]


def test_random_and_rsub():
    gn.manual_seed(0)
    v = gn.zeros(200).random_(3, 6)
    assert set(v.tolist()) == {3.0, 4.0, 5.0}
    assert set(gn.zeros(200, dtype=gn.int64).random_(2).tolist()) == {0, 1}
    assert gn.rsub(gn.tensor([1.0, 2.0]), 5, alpha=2).tolist() == [3.0, 1.0]
    assert gn.tensor([1.0, 2.0]).rsub(gn.tensor([5.0, 5.0])).tolist() == [4.0, 3.0]


def test_copy_broadcasts_and_casts():
    assert gn.zeros(2, 3).copy_(gn.arange(3)).tolist() == [[0.0, 1.0, 2.0]] * 2
    with pytest.raises(ValueError, match="does not broadcast"):
        gn.zeros(2, 3).copy_(gn.ones(2))


def test_writing_into_an_expanded_tensor_says_why():
    x = gn.zeros(1, 4)
    with pytest.raises(ValueError, match="broadcast view"):
        x.expand(3, 4).fill_(1.0)


def test_uint8_index_is_a_mask_when_reading_and_refused_when_writing():
    x = gn.tensor([10.0, 20.0, 30.0])
    m = gn.tensor([1, 0, 1], dtype=gn.uint8)
    assert x[m].tolist() == [10.0, 30.0]
    with pytest.raises(TypeError, match="bool"):
        x[m] = 0.0
    with pytest.raises(TypeError, match="bool"):
        x.index_put((m,), gn.tensor(5.0))
    assert x.tolist() == [10.0, 20.0, 30.0]


def test_empty_list_index_and_none_comparison():
    assert gn.arange(6.0).reshape(2, 3)[[]].shape == (0, 3)
    t = gn.tensor([1.0])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711
    assert (t == gn.tensor([1.0])).tolist() == [True]


def test_strides_offsets_contiguity_and_adjoints():
    x = gn.arange(24.0).reshape(2, 3, 4)
    assert x.stride() == (12, 4, 1) and x.stride(-1) == 1
    assert x.transpose(0, 2).stride() == (1, 4, 12)
    s = x[:, 1:, ::2]
    assert s.stride() == (12, 4, 2) and s.storage_offset() == 4
    assert gn.ones(3).expand(2, 3).stride() == (0, 1)
    assert not x.transpose(0, 1).is_contiguous() and not x[:, :1].is_contiguous()
    assert gn.ones(3, 1)[:, ::2].is_contiguous()
    assert x.mH.shape == (2, 4, 3) and x.adjoint().shape == (2, 4, 3)
    m = gn.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(m.H.numpy(), np.arange(6.0).reshape(2, 3).T)
    with pytest.raises(ValueError, match="mH"):
        _ = x.H
    with pytest.raises(ValueError, match="matri"):
        _ = gn.ones(3).mH


def test_a_gathered_copy_keeps_its_own_version_counter():
    """x[int array], x[mask] and F.pad(mode='reflect') (a gather) are copies in PyTorch, with
    their own version counter: changing x in place afterwards leaves the backward of ops that
    used the copy valid. glassnet shared x's counter and raised "modified in place"
    (fast_neural_style divides its input batch in place after ReflectionPad2d read it)."""
    w = gn.tensor([[2.0, -1.0], [0.5, 3.0]], requires_grad=True)
    x = gn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    padded = gn.nn.functional.pad(x, (1, 1), mode="reflect")  # [[2, 1, 2, 3, 2], ...]
    picked = x[:, [2, 0]]
    masked = x[x > 2.0]
    loss = (w @ padded[:, :2]).sum() + (w * picked).sum() + masked.sum()
    x.div_(2.0)
    assert picked._version == masked._version == 0 and x._version == 1
    loss.backward()
    # d/dw of sum(w @ P) is P's row sums by column; of sum(w * Q) it is Q
    want = np.array([[2 + 1, 5 + 4], [2 + 1, 5 + 4]]) + np.array([[3, 1], [6, 4]])
    np.testing.assert_allclose(w.grad.numpy(), want)
    view = x[0, 1:]
    x.mul_(2.0)
    assert view._version == x._version == 2  # basic indexing is still a view
