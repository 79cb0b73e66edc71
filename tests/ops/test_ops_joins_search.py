"""Stacking by name, PyTorch's splitting and joining edge rules, searchsorted/bucketize and
tril/triu_indices, against NumPy."""

import numpy as np
import pytest

import glassnet as gn

A, B = np.arange(6.0).reshape(2, 3), np.arange(6.0, 9.0).reshape(1, 3)


@pytest.mark.parametrize(
    "name,arrays",
    [
        ("hstack", [np.ones(2), np.zeros(3)]),
        ("hstack", [A, A[:, :1]]),
        ("vstack", [np.ones(3), A]),
        ("row_stack", [A, B]),
        ("dstack", [np.ones(2), np.zeros(2)]),
        ("dstack", [A, A]),
        ("column_stack", [np.ones(2), A[:, :2].reshape(2, 2)]),
        ("column_stack", [np.array(1.0), np.array(2.0)]),
    ],
)
def test_stacks_match_numpy(name, arrays):
    np_name = "vstack" if name == "row_stack" else name
    want = getattr(np, np_name)(arrays)
    got = getattr(gn, name)([gn.tensor(a, dtype=gn.float64) for a in arrays])
    np.testing.assert_array_equal(got.numpy(), want)


def test_concatenate_is_cat_and_cat_skips_legacy_empty_tensors():
    assert gn.concatenate is gn.cat
    a = gn.tensor(A, dtype=gn.float64)
    out = gn.cat([a, gn.zeros(0), gn.tensor(B, dtype=gn.float64)])
    np.testing.assert_array_equal(out.numpy(), np.concatenate([A, B]))
    assert gn.cat([gn.zeros(0), gn.zeros(0)]).shape == (0,)
    assert gn.cat([a, gn.zeros(0)], dim=1).shape == (2, 3)
    with pytest.raises(ValueError):
        gn.cat([a, gn.zeros(0, 2)])


def test_split_edges():
    assert [t.shape for t in gn.zeros(0).chunk(2)] == [(0,), (0,)]
    assert [t.shape for t in gn.zeros(0, 2).chunk(3)] == [(0, 2)] * 3
    assert [t.shape[0] for t in gn.arange(5).chunk(4)] == [2, 2, 1]
    x = list(range(5))
    for cuts in ([3, 1], [-2], [-2, 1], [7, 2], [-9], [1, 3]):
        bounds = zip([None, *cuts], [*cuts, None])
        want = [x[s:e] for s, e in bounds]
        assert [t.tolist() for t in gn.arange(5).tensor_split(cuts)] == want
    assert [t.tolist() for t in gn.arange(5).tensor_split(gn.tensor(2))] == [[0, 1, 2], [3, 4]]
    assert [t.tolist() for t in gn.arange(5).tensor_split(gn.tensor([2]))] == [[0, 1], [2, 3, 4]]


def test_broadcast_to_and_expand_keep_sizes_for_minus_one():
    assert gn.broadcast_to(gn.ones(3), (2, -1)).shape == (2, 3)
    assert gn.ones(1, 3).expand(4, -1).shape == (4, 3)
    with pytest.raises(ValueError, match="leading"):
        gn.ones(3).expand(-1, 3)


def test_repeat_interleave_with_one_count_tensor():
    x = gn.arange(6).reshape(2, 3)
    want = np.repeat(np.arange(6).reshape(2, 3), 2, axis=1)
    np.testing.assert_array_equal(x.repeat_interleave(gn.tensor([2]), dim=1).numpy(), want)
    assert gn.arange(3).repeat_interleave(gn.tensor(2)).tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize_match_numpy(right):
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    vals = np.array([[0.0, 3.0, 4.0], [7.0, 9.0, 5.0]])
    side = "right" if right else "left"
    got = gn.searchsorted(gn.tensor(seq), gn.tensor(vals), right=right)
    np.testing.assert_array_equal(got.numpy(), np.searchsorted(seq, vals, side=side))
    assert got.dtype == np.int64
    by_side = gn.searchsorted(gn.tensor(seq), gn.tensor(vals), side=side)
    np.testing.assert_array_equal(by_side.numpy(), got.numpy())
    b = gn.bucketize(gn.tensor(vals), gn.tensor(seq), right=right)
    np.testing.assert_array_equal(b.numpy(), got.numpy())
    rows = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    q = np.array([[3.0, 6.0], [1.0, 5.0]])
    got2 = gn.searchsorted(gn.tensor(rows), gn.tensor(q), right=right)
    want2 = [np.searchsorted(r, v, side=side) for r, v in zip(rows, q)]
    np.testing.assert_array_equal(got2.numpy(), want2)


def test_searchsorted_options():
    seq = gn.tensor([5, 1, 7, 3])
    got = gn.searchsorted(seq, gn.tensor([3, 6]), sorter=gn.tensor([1, 3, 0, 2]))
    assert got.tolist() == [1, 3]
    assert gn.searchsorted(gn.tensor([1, 3, 5, 7]), 4).item() == 2
    assert gn.searchsorted(gn.tensor([1, 3]), gn.tensor([2]), out_int32=True).dtype == np.int32
    assert gn.bucketize(3, gn.tensor([1, 3, 5, 7])).item() == 1
    with pytest.raises(ValueError, match="contradict"):
        gn.searchsorted(gn.tensor([1, 3]), gn.tensor([2]), right=True, side="left")


@pytest.mark.parametrize("row,col,offset", [(3, 4, 1), (3, 3, 0), (4, 3, -1), (0, 3, 0), (3, 5, 9)])
def test_tril_triu_indices_match_numpy(row, col, offset):
    lo = gn.tril_indices(row, col, offset)
    hi = gn.triu_indices(row, col, offset)
    assert lo.dtype == np.int64 and lo.shape[0] == 2
    np.testing.assert_array_equal(lo.numpy(), np.stack(np.tril_indices(row, offset, col)))
    np.testing.assert_array_equal(hi.numpy(), np.stack(np.triu_indices(row, offset, col)))
