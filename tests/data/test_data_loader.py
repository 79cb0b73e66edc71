"""Tests for DataLoader, default_collate and DistributedSampler."""

import gc
import json
import threading
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.data.dataset import ArrayDataset, Dataset, Subset
from glassnet.data.loader import DataLoader, DistributedSampler, default_collate


class CountingDataset(Dataset):
    """A map-style dataset without get_batch: forces the per-sample path."""

    def __init__(self, n):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        return np.full(2, i, dtype=np.float32), i


class NoPerSampleAccess(ArrayDataset):
    def __getitem__(self, index):
        raise AssertionError("the fast path must not read samples one by one")


def _labels(loader):
    return np.concatenate([yb.numpy() for _, yb in loader]).tolist()


def test_sequential_batches_and_sizes():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader((x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0].numpy(), x[8:10])


def test_drop_last():
    loader = DataLoader(np.arange(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_single_array_yields_tensors():
    loader = DataLoader(np.arange(5), batch_size=2)
    first = next(iter(loader))
    assert isinstance(first, gn.Tensor) and not first.requires_grad
    assert first.tolist() == [0, 1]


def test_fast_path_never_reads_single_samples():
    ds = NoPerSampleAccess(np.arange(30).reshape(15, 2), np.arange(15))
    out = _labels(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert sorted(out) == list(range(15))
    sub = Subset(ds, [3, 1, 4])
    assert _labels(DataLoader(sub, batch_size=2)) == [3, 1, 4]


def test_shuffle_is_permutation_and_differs_per_epoch():
    loader = DataLoader((np.zeros((50, 1)), np.arange(50)), batch_size=8, shuffle=True, seed=0)
    e1, e2 = _labels(loader), _labels(loader)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != list(range(50))
    assert e1 != e2
    assert loader.epoch == 2


def test_same_seed_same_order():
    data = (np.zeros((40, 1)), np.arange(40))
    a = DataLoader(data, batch_size=8, shuffle=True, seed=7)
    b = DataLoader(data, batch_size=8, shuffle=True, seed=7)
    assert [_labels(a) for _ in range(3)] == [_labels(b) for _ in range(3)]
    c = DataLoader(data, batch_size=8, shuffle=True, seed=8)
    assert _labels(c) != _labels(DataLoader(data, batch_size=8, shuffle=True, seed=7))


def test_seed_none_follows_global_seed():
    random = pytest.importorskip("glassnet.backend.random")
    data = (np.zeros((40, 1)), np.arange(40))
    random.manual_seed(5)
    a = _labels(DataLoader(data, batch_size=8, shuffle=True))
    random.manual_seed(5)
    b = _labels(DataLoader(data, batch_size=8, shuffle=True))
    assert a == b


def test_state_dict_is_json_safe_and_resumes_between_epochs():
    data = (np.zeros((30, 1)), np.arange(30))
    reference = DataLoader(data, batch_size=4, shuffle=True, seed=11)
    expected = [_labels(reference) for _ in range(4)]

    first = DataLoader(data, batch_size=4, shuffle=True, seed=11)
    _labels(first)
    _labels(first)
    state = json.loads(json.dumps(first.state_dict()))
    assert state["epoch"] == 2 and state["batches_done"] == 0
    resumed = DataLoader(data, batch_size=4, shuffle=True, seed=999)  # seed is overridden
    resumed.load_state_dict(state)
    assert [_labels(resumed) for _ in range(2)] == expected[2:]


def test_state_dict_resumes_mid_epoch():
    data = (np.zeros((30, 1)), np.arange(30))
    reference = DataLoader(data, batch_size=4, shuffle=True, seed=3)
    epoch0 = [b[1].tolist() for b in reference]
    epoch1 = _labels(reference)

    loader = DataLoader(data, batch_size=4, shuffle=True, seed=3)
    iterator = iter(loader)
    seen = [next(iterator)[1].tolist() for _ in range(3)]
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["batches_done"] == 3 and state["epoch"] == 0
    del iterator

    resumed = DataLoader(data, batch_size=4, shuffle=True, seed=0)
    resumed.load_state_dict(state)
    rest = [b[1].tolist() for b in resumed]
    assert seen + rest == epoch0
    assert _labels(resumed) == epoch1


def test_load_state_dict_rejects_bad_input():
    loader = DataLoader(np.arange(10), batch_size=2, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="missing keys"):
        loader.load_state_dict({"epoch": 0})
    state = loader.state_dict()
    state["batches_done"] = 99
    with pytest.raises(ValueError, match="batches_done=99"):
        loader.load_state_dict(state)
    state = loader.state_dict()
    state["rng_state"] = {"bit_generator": "MT19937"}
    with pytest.raises(ValueError, match="PCG64"):
        loader.load_state_dict(state)


def test_collate_path_for_plain_datasets():
    ds = CountingDataset(7)
    batches = list(DataLoader(ds, batch_size=3))
    assert ds.reads == 7
    xb, yb = batches[0]
    assert xb.shape == (3, 2) and xb.dtype == np.float32
    np.testing.assert_array_equal(yb.numpy(), [0, 1, 2])
    assert batches[-1][1].tolist() == [6]


def test_custom_collate_fn_is_used():
    loader = DataLoader(np.arange(6), batch_size=3, collate_fn=lambda s: int(np.sum(s)))
    assert list(loader) == [3, 12]


def test_default_collate_structures_and_errors():
    out = default_collate([{"a": np.zeros(2), "b": 1}, {"a": np.ones(2), "b": 2}])
    assert out["a"].shape == (2, 2) and out["b"].tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])
    with pytest.raises(ValueError, match="sequences of length 2"):
        default_collate([(1, 2), (1,)])


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(np.arange(4), batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(np.arange(4), batch_size=2.5)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(np.arange(4), prefetch=-1)
    with pytest.raises(TypeError, match="expects a Dataset"):
        DataLoader(42)
    with pytest.raises(ValueError, match="shuffle=True and a sampler"):
        DataLoader(np.arange(4), shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match=r"\(4,\), \(3,\)"):
        DataLoader((np.arange(4), np.arange(3)))


def test_sampler_hook_controls_order():
    loader = DataLoader(np.arange(10), batch_size=2, sampler=[9, 7, 5])
    assert [b.tolist() for b in loader] == [[9, 7], [5]]
    assert len(loader) == 2


def test_distributed_sampler_partitions_and_reshuffles():
    n, replicas = 11, 3
    shares = [DistributedSampler(n, replicas, rank, seed=4) for rank in range(replicas)]
    epoch0 = [list(s) for s in shares]
    assert all(len(share) == 4 for share in epoch0)
    assert set().union(*map(set, epoch0)) == set(range(n))
    for s in shares:
        s.set_epoch(1)
    assert [list(s) for s in shares] != epoch0
    loader = DataLoader(np.arange(n), batch_size=2, sampler=shares[0])
    e0 = np.concatenate([b.numpy() for b in loader]).tolist()
    e1 = np.concatenate([b.numpy() for b in loader]).tolist()
    assert e0 == epoch0[0] and e1 != e0  # the loader called set_epoch
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(4, 2, 2)


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "glassnet-prefetch" and t.is_alive()]


def test_prefetch_gives_same_batches():
    data = (np.random.default_rng(0).normal(size=(50, 3)), np.arange(50))
    plain = list(DataLoader(data, batch_size=7, shuffle=True, seed=1))
    ahead = list(DataLoader(data, batch_size=7, shuffle=True, seed=1, prefetch=2))
    assert len(plain) == len(ahead) == 8
    for (xa, ya), (xb, yb) in zip(plain, ahead):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert not _prefetch_threads()


def test_prefetch_runs_in_background_thread():
    main = threading.get_ident()
    seen = []

    def collate(samples):
        seen.append(threading.get_ident())
        return np.stack(samples)

    out = list(DataLoader(np.arange(6), batch_size=2, collate_fn=collate, prefetch=1))
    assert len(out) == 3
    assert seen and all(ident != main for ident in seen)


def test_prefetch_reraises_worker_exception():
    def collate(samples):
        if 4 in samples:
            raise RuntimeError("bad sample 4")
        return np.stack(samples)

    loader = DataLoader(np.arange(8), batch_size=2, collate_fn=collate, prefetch=2)
    got = []
    with pytest.raises(RuntimeError, match="bad sample 4"):
        for batch in loader:
            got.append(batch.tolist())
    assert got == [[0, 1], [2, 3]]
    time.sleep(0.05)
    assert not _prefetch_threads()


def test_prefetch_thread_stops_when_iteration_is_abandoned():
    loader = DataLoader(np.arange(1000), batch_size=1, prefetch=2)
    iterator = iter(loader)
    assert next(iterator).tolist() == [0]
    assert len(_prefetch_threads()) == 1
    iterator.close()
    assert not _prefetch_threads()
    for _ in loader:  # abandoned by break: the generator is collected
        break
    gc.collect()
    assert not _prefetch_threads()
