"""Tests for Dataset, ArrayDataset, Subset, random_split and make_generator."""

import numpy as np
import pytest

from glassnet.data.dataset import (
    ArrayDataset,
    Dataset,
    Subset,
    TensorDataset,
    make_generator,
    random_split,
)


def test_array_dataset_returns_aligned_samples():
    x = np.arange(12).reshape(6, 2)
    y = np.arange(6) * 10
    ds = ArrayDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, [8, 9])
    assert yi == 40
    xi, yi = ds[-1]
    assert yi == 50


def test_array_dataset_single_array_returns_bare_sample():
    ds = ArrayDataset(np.arange(5))
    assert ds[3] == 3
    np.testing.assert_array_equal(ds.get_batch(np.array([4, 0])), [4, 0])


def test_tensor_dataset_items_are_tensors_as_in_pytorch():
    import glassnet as gn

    ds = TensorDataset(gn.arange(6).reshape(3, 2), np.array([7, 8, 9]))
    x, y = ds[1]
    assert isinstance(x, gn.Tensor) and x.tolist() == [2, 3] and y.item() == 8
    assert isinstance(ds, ArrayDataset) and len(ds) == 3


def test_array_dataset_unequal_lengths_names_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\), \(4,\)"):
        ArrayDataset(np.zeros((5, 3)), np.zeros(4))


def test_array_dataset_rejects_scalars_and_empty():
    with pytest.raises(ValueError, match="scalar"):
        ArrayDataset(np.float32(1.0))
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()


def test_array_dataset_index_errors():
    ds = ArrayDataset(np.arange(3))
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    with pytest.raises(TypeError, match="must be an int"):
        ds[1.5]


def test_array_dataset_transform_applies_to_first_array_only():
    ds = ArrayDataset(np.ones((4, 2)), np.arange(4), transform=lambda b: b * 3)
    xb, yb = ds.get_batch(np.array([0, 1]))
    np.testing.assert_array_equal(xb, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(yb, [0, 1])
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi, [3.0, 3.0])
    assert yi == 2


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_subset_maps_indices_and_validates():
    ds = ArrayDataset(np.arange(10) * 2)
    sub = Subset(ds, [9, 0, 4])
    assert len(sub) == 3
    assert [int(sub[i]) for i in range(3)] == [18, 0, 8]
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        Subset(ds, [10])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        Subset(ds, [0.5])


def test_random_split_fractions_disjoint_and_complete():
    ds = ArrayDataset(np.arange(103))
    parts = random_split(ds, [0.8, 0.1, 0.1], seed=3)
    assert [len(p) for p in parts] == [83, 10, 10]  # 82 + 10 + 10 = 102, leftover to first
    all_values = np.concatenate([[p[i] for i in range(len(p))] for p in parts])
    assert sorted(all_values.tolist()) == list(range(103))


def test_random_split_is_seeded():
    ds = ArrayDataset(np.arange(50))
    a = random_split(ds, [25, 25], seed=1)[0].indices
    b = random_split(ds, [25, 25], seed=1)[0].indices
    c = random_split(ds, [25, 25], seed=2)[0].indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(np.sort(a), a)  # actually shuffled


def test_random_split_bad_lengths():
    ds = ArrayDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to the dataset length 10"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="at least one"):
        random_split(ds, [])


def test_make_generator_seeded_and_validated():
    a = make_generator(5).integers(1000, size=5)
    b = make_generator(5).integers(1000, size=5)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(0)
    assert make_generator(g) is g
    with pytest.raises(TypeError, match="non-negative int"):
        make_generator(-1)
    with pytest.raises(TypeError, match="non-negative int"):
        make_generator("0")


def test_make_generator_none_follows_global_seed():
    random = pytest.importorskip("glassnet.backend.random")
    random.manual_seed(123)
    a = make_generator(None).integers(10**9)
    random.manual_seed(123)
    b = make_generator(None).integers(10**9)
    assert a == b
