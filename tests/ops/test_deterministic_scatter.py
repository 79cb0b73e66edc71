"""Deterministic scatter-adds on devices (issue 18, item 5).

On the sim device (a GPU stand-in) every scatter-add must take the sorted segment-sum path of
``glassnet.ops._segment`` while deterministic algorithms are on: the sim array refuses a float
``add.at`` then (on a GPU it is an atomic scatter-add), and records every ``ufunc.at`` in
``sim.SCATTERS``. Expected values are the CPU's ``numpy.add.at`` results (same op on host
tensors), to float32 rounding; repeated runs must give the same bits.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import sim
from glassnet.backend.sim import sim_xp
from glassnet.ops._segment import scatter_add, segment_sum

RNG = np.random.default_rng(0)
IDX = RNG.integers(0, 4, 300)  # duplicate-heavy: 300 reads of 4 rows
IDX[:200] = 2  # one long run


@pytest.fixture
def nondeterministic():
    gn.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        gn.use_deterministic_algorithms(True)


def _leaf(a, device):
    return gn.tensor(a, device=device, requires_grad=True)


def _f32(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _getitem(device, idx):
    x = _leaf(_f32(4, 3), device)
    x[gn.tensor(idx, device=device)].backward(gn.tensor(_f32(idx.size, 3, seed=2), device=device))
    return [x.grad]


def _getitem_two_arrays(device, idx):
    x = _leaf(_f32(4, 5, 2), device)
    i, j = gn.tensor(idx, device=device), gn.tensor(idx[::-1] % 2, device=device)
    x[i, :, j].backward(gn.tensor(_f32(idx.size, 5, seed=3), device=device))
    return [x.grad]


def _gather(device, idx):
    x = _leaf(_f32(3, 4), device)
    index = gn.tensor(np.stack([idx[:50], idx[50:100], idx[100:150]]), device=device)
    gn.gather(x, 1, index).backward(gn.tensor(_f32(3, 50, seed=4), device=device))
    return [x.grad]


def _embedding(device, idx):
    w = _leaf(_f32(4, 6), device)
    ids = gn.tensor(idx.reshape(30, 10), device=device)
    F.embedding(ids, w).backward(gn.tensor(_f32(30, 10, 6, seed=5), device=device))
    return [w.grad]


def _index_add(device, idx):
    x, src = _leaf(_f32(4, 3), device), _leaf(_f32(idx.size, 3, seed=6), device)
    y = gn.index_add(x, 0, gn.tensor(idx, device=device), src)
    y.backward(gn.tensor(_f32(4, 3, seed=7), device=device))
    return [y, x.grad, src.grad]


def _scatter_add(device, idx):
    x, src = _leaf(_f32(4, 2), device), _leaf(_f32(idx.size, 2, seed=8), device)
    index = gn.tensor(np.stack([idx, idx[::-1]], axis=1), device=device)
    y = gn.scatter_add(x, 0, index, src)
    y.backward(gn.tensor(_f32(4, 2, seed=9), device=device))
    return [y, x.grad, src.grad]


def _scatter_reduce(reduce):
    def run(device, idx):
        x, src = _leaf(_f32(4), device), _leaf(_f32(idx.size, seed=10), device)
        y = gn.scatter_reduce(x, 0, gn.tensor(idx, device=device), src, reduce)
        y.backward(gn.tensor(_f32(4, seed=11), device=device))
        return [y, x.grad, src.grad]

    return run


def _index_put(device, idx):
    x, v = _leaf(_f32(4, 3), device), _leaf(_f32(idx.size, seed=12), device)
    rows, cols = gn.tensor(idx, device=device), gn.tensor(idx % 3, device=device)
    y = gn.index_put(x, (rows, cols), v, accumulate=True)
    y.backward(gn.tensor(_f32(4, 3, seed=13), device=device))
    return [y, x.grad, v.grad]


def _max_unpool(device, idx):
    # overlapping windows (stride 1 < kernel 2): one input position is the max of several
    # windows, so unpooling writes it several times and the scatter accumulates
    x = gn.tensor(_f32(2, 3, 6, 6, seed=14), device=device)
    pooled, where = F.max_pool2d(x, 2, stride=1, return_indices=True)
    p = _leaf(pooled.numpy(), device)
    y = F.max_unpool2d(p, where, 2, stride=1)
    y.backward(gn.tensor(_f32(*y.shape, seed=15), device=device))
    return [y, p.grad]


def _fold(device, idx):
    # overlapping 2x2 windows, stride 1: most output pixels sum several window entries
    x = _leaf(_f32(2, 3 * 2 * 2, 25, seed=16), device)
    y = F.fold(x, (6, 6), 2)
    y.backward(gn.tensor(_f32(2, 3, 6, 6, seed=17), device=device))
    return [y, x.grad]


CASES = {
    "getitem": _getitem,
    "getitem_two_arrays": _getitem_two_arrays,
    "gather": _gather,
    "embedding": _embedding,
    "index_add": _index_add,
    "scatter_add": _scatter_add,
    "scatter_reduce_sum": _scatter_reduce("sum"),
    "scatter_reduce_mean": _scatter_reduce("mean"),
    "index_put_accumulate": _index_put,
    "max_unpool2d": _max_unpool,
    "fold": _fold,
}


def _numpy(tensors):
    return [t.numpy() for t in tensors]


@pytest.mark.parametrize("name", list(CASES))
def test_device_scatters_are_deterministic_and_match_the_cpu(name):
    run = CASES[name]
    cpu = _numpy(run("cpu", IDX))
    sim.SCATTERS.clear()
    first = _numpy(run("sim", IDX))  # would raise on a float add.at (the sim's refusal)
    assert not [s for s in sim.SCATTERS if s.startswith("add")], sim.SCATTERS
    again = _numpy(run("sim", IDX))
    for a, b, c in zip(first, again, cpu):
        assert a.tobytes() == b.tobytes()  # the same bits on every run
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["getitem", "embedding", "index_add", "scatter_add"])
def test_permuted_duplicate_heavy_indices_are_reproducible(name):
    run = CASES[name]
    for seed in range(3):
        idx = np.random.default_rng(seed).permutation(IDX)
        cpu = _numpy(run("cpu", idx))
        first, again = _numpy(run("sim", idx)), _numpy(run("sim", idx))
        for a, b, c in zip(first, again, cpu):
            assert a.tobytes() == b.tobytes()
            np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["getitem", "embedding", "scatter_reduce_mean"])
def test_turning_determinism_off_uses_add_at_on_devices(nondeterministic, name):
    assert not gn.are_deterministic_algorithms_enabled()
    sim.SCATTERS.clear()
    got = _numpy(CASES[name]("sim", IDX))
    assert any(s.startswith("add float32") for s in sim.SCATTERS), sim.SCATTERS
    for a, c in zip(got, _numpy(CASES[name]("cpu", IDX))):
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)


def test_the_sim_device_refuses_an_atomic_float_scatter_while_deterministic():
    out, index = sim_xp.zeros(3), sim_xp.asarray(np.array([0, 0, 2]))
    with pytest.raises(RuntimeError, match="atomic scatter"):
        np.add.at(out, index, sim_xp.ones(3))
    np.maximum.at(out, index, sim_xp.ones(3))  # order-free: allowed
    counts = sim_xp.zeros(3, dtype=np.int64)
    np.add.at(counts, index, 1)  # integer sums are exact in any order: allowed
    assert counts.get().tolist() == [2, 0, 1]


def test_segment_sum_keeps_small_segments_after_large_ones():
    # a running-sum difference (CuPy's add.reduceat: cumsum[end] - cumsum[start]) keeps about
    # one digit of the 1e-3 segment after 1e4 ones in float32; pairwise segment sums keep all
    values = np.concatenate([np.full(1000, 10.0), np.full(7, 1e-3)]).astype(np.float32)
    segment = np.concatenate([np.zeros(1000, int), np.ones(7, int)])
    got = segment_sum(sim_xp, sim_xp.asarray(values[:, None]), sim_xp.asarray(segment), 3)
    got = got.get()[:, 0]
    np.testing.assert_allclose(got, [1e4, 7e-3, 0.0], rtol=1e-6)
    prefix = np.cumsum(values)
    assert abs((prefix[-1] - prefix[999]) - 7e-3) > 1e-5  # the cumsum route: visibly off


def test_scatter_add_helper_handles_every_index_form():
    rng = np.random.default_rng(3)
    forms = [
        ((7, 5), rng.integers(-7, 7, 40)),
        ((4, 6, 3), (slice(None), rng.integers(0, 6, (5, 2)))),
        ((4, 6, 3), (rng.integers(0, 4, 9), slice(1, 3), rng.integers(0, 3, 9))),
        ((4, 6, 3), (Ellipsis, rng.integers(0, 3, 9))),
        ((4, 6), (rng.integers(0, 4, 10), 2)),
        ((5, 4), rng.random((5, 4)) > 0.5),
    ]
    for shape, index in forms:
        g = rng.standard_normal(np.zeros(shape)[index].shape).astype(np.float32)
        expected = np.zeros(shape, np.float32)
        np.add.at(expected, index, g)
        on_sim = (tuple(sim_xp.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
                  if isinstance(index, tuple) else sim_xp.asarray(index))  # fmt: skip
        got = scatter_add(sim_xp, sim_xp.asarray(g), shape, on_sim).get()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=str(shape))


def test_use_deterministic_algorithms_takes_a_bool():
    with pytest.raises(TypeError, match="mode must be True or False"):
        gn.use_deterministic_algorithms("yes")
    gn.use_deterministic_algorithms(True, warn_only=True)
    assert gn.is_deterministic_algorithms_warn_only_enabled()
    gn.use_deterministic_algorithms(True)
    assert gn.are_deterministic_algorithms_enabled()
    assert not gn.is_deterministic_algorithms_warn_only_enabled()


def test_index_put_as_pytorch_documents_it():
    # torch.Tensor.index_put_: tensor[indices] = values; accumulate=True: tensor[indices] +=
    # values, repeated indices summing
    x = gn.zeros(3, 2)
    rows_cols = (gn.tensor([0, 2, 0]), gn.tensor([1, 1, 1]))
    summed = gn.index_put(x, rows_cols, gn.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert summed.tolist() == [[0.0, 4.0], [0.0, 0.0], [0.0, 2.0]]
    masked = gn.index_put(x, (gn.tensor([True, False, True]),), gn.tensor(5.0))
    assert masked.tolist() == [[5.0, 5.0], [0.0, 0.0], [5.0, 5.0]]
    assert x.index_put((gn.tensor([1]),), gn.tensor(7.0)).tolist()[1] == [7.0, 7.0]
    with pytest.raises(TypeError, match="tuple of index tensors"):
        gn.index_put(x, gn.tensor([0]), 1.0)
    with pytest.raises(TypeError, match="integers or bools, got dtype float32"):
        gn.index_put(x, (gn.tensor([0.5]),), 1.0)
