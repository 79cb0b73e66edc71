"""``torch.utils.data`` features: ConcatDataset / ``ds1 + ds2``, IterableDataset in a
DataLoader, TensorDataset and Subset indexed by slices and lists, ``DataLoader(batch_size=None)``,
the loader's ``sampler``/``batch_sampler`` attributes, and ``random_split`` returning lists.

Expected values are written out by hand from the sample values (sample ``i`` holds ``i``).
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_convert,
    get_worker_info,
    random_split,
)


def _ds(start, stop):
    return TensorDataset(gn.arange(start, stop).float(), gn.arange(start, stop))


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([np.float32(i) for i in range(self.n)])


# -- ConcatDataset ------------------------------------------------------------------------------
def test_concat_dataset_indexes_across_parts():
    ds = ConcatDataset([_ds(0, 3), _ds(10, 12)])
    assert len(ds) == 5 and ds.cumulative_sizes == [3, 5]
    assert [ds[i][1].item() for i in range(5)] == [0, 1, 2, 10, 11]
    assert ds[-1][1].item() == 11
    with pytest.raises(IndexError):
        ds[5]


def test_dataset_add_concatenates_and_loads():
    ds = _ds(0, 3) + _ds(10, 12)
    assert isinstance(ds, ConcatDataset)
    batches = [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    assert batches == [[0, 1], [2, 10], [11]]


def test_concat_rejects_empty_and_iterable():
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([_ds(0, 2), Stream(2)])


# -- IterableDataset ----------------------------------------------------------------------------
def test_iterable_dataset_batches_in_order():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [
        [0.0, 1.0, 2.0],
        [3.0, 4.0, 5.0],
        [6.0],
    ]
    dropped = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dropped] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert [b.item() for b in DataLoader(Stream(3), batch_size=None)] == [0.0, 1.0, 2.0]


def test_iterable_dataset_refuses_shuffle_and_samplers():
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(3), sampler=[0, 1, 2])


def test_iterable_dataset_without_len_has_no_loader_len():
    with pytest.raises(TypeError, match="__len__"):
        len(DataLoader(Stream(3), batch_size=2))


def test_iterable_dataset_chains_and_prefetches():
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset)
    assert [float(v) for v in chained] == [0.0, 1.0, 0.0, 1.0, 2.0]
    loader = DataLoader(chained, batch_size=2, prefetch=2)
    assert [b.tolist() for b in loader] == [[0.0, 1.0], [0.0, 1.0], [2.0]]
    assert get_worker_info() is None


# -- indexing -----------------------------------------------------------------------------------
def test_tensor_dataset_slices_lists_and_masks():
    ds = _ds(0, 5)
    x, y = ds[1:3]
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [1, 2]
    assert ds[[4, 0]][1].tolist() == [4, 0]
    assert ds[gn.tensor([True, False, True, False, False])][1].tolist() == [0, 2]
    assert [t.tolist() for t in ds.tensors] == [[0.0, 1.0, 2.0, 3.0, 4.0], [0, 1, 2, 3, 4]]


def test_subset_list_index_maps_through_indices():
    sub = Subset(_ds(0, 5), [4, 2, 0])
    assert sub[[0, 2]][1].tolist() == [4, 0]
    assert sub[1:][1].tolist() == [2, 0]
    assert sub.indices == [4, 2, 0]  # kept as given


def test_random_split_indices_are_lists():
    parts = random_split(_ds(0, 10), [6, 4], generator=gn.Generator().manual_seed(0))
    assert all(type(p.indices) is list for p in parts)
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))


# -- DataLoader options ---------------------------------------------------------------------------
def test_batch_size_none_serves_converted_samples():
    loader = DataLoader(_ds(0, 3), batch_size=None)
    assert len(loader) == 3 and loader.batch_sampler is None
    samples = list(loader)
    assert [y.item() for _, y in samples] == [0, 1, 2]
    assert isinstance(samples[0], list)  # default_convert turns tuples into lists
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(_ds(0, 3), batch_size=None, drop_last=True)


def test_default_convert_rules():
    out = default_convert({"a": np.arange(2), "b": (np.float32(1.5), 3, "s")})
    assert isinstance(out["a"], gn.Tensor) and out["a"].tolist() == [0, 1]
    assert isinstance(out["b"], list) and out["b"][0].item() == 1.5 and out["b"][1:] == [3, "s"]


def test_loader_sampler_attributes():
    plain = DataLoader(_ds(0, 5), batch_size=2)
    assert isinstance(plain.sampler, SequentialSampler)
    assert isinstance(plain.batch_sampler, BatchSampler)
    assert list(plain.batch_sampler) == [[0, 1], [2, 3], [4]]
    shuffled = DataLoader(_ds(0, 5), batch_size=2, shuffle=True)
    assert isinstance(shuffled.sampler, RandomSampler)
    custom = [3, 1]
    given = DataLoader(_ds(0, 5), batch_size=2, sampler=custom)
    assert given.sampler is custom
    assert [y.tolist() for _, y in given] == [[3, 1]]
