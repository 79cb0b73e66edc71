"""glassnet.backend.parallel: parallel_for covers every index once, runs inline where it
should, propagates errors, starts no thread at import, and the thread-count API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import blas_region, parallel
from glassnet.backend.sim import sim_xp


@pytest.fixture
def force_parallel(monkeypatch):
    """Every block worth a thread: tests split tiny arrays."""
    monkeypatch.setattr(parallel, "MIN_BLOCK_ELEMENTS", 1)


def _record(n_items, count, **kwargs):
    """Run parallel_for with ``count`` threads; return the blocks seen and their threads."""
    seen, lock = [], threading.Lock()

    def block(start, stop):
        with lock:
            seen.append((start, stop, threading.get_ident()))

    with parallel.threads(count):
        parallel.parallel_for(n_items, block, **kwargs)
    return seen


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n_items", [0, 1, 2, 3, 5, 10, 17, 64, 101])
@pytest.mark.parametrize("min_items", [1, 2, 3, 16])
def test_every_index_exactly_once(count, n_items, min_items):
    seen = _record(n_items, count, min_items=min_items)
    hits = np.zeros(n_items, np.int64)
    for start, stop, _ in seen:
        assert 0 <= start < stop <= n_items
        hits[start:stop] += 1
    assert (hits == 1).all()
    # up to BLOCKS_PER_THREAD blocks per thread, none with fewer than min_items items, and
    # one block (inline) when two would not fit
    most = n_items // min_items
    if not n_items:
        expected = 0
    elif min(count, most) <= 1:
        expected = 1
    else:
        expected = min(count * parallel.BLOCKS_PER_THREAD, most)
    assert len(seen) == expected
    if len(seen) > 1:
        assert min(stop - start for start, stop, _ in seen) >= min_items


def test_blocks_are_balanced_and_contiguous():
    assert parallel.blocks(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert parallel.blocks(2, 2) == [(0, 1), (1, 2)]
    assert parallel.blocks(5, 1) == [(0, 5)]


def test_blocks_run_on_several_threads(force_parallel):
    """Block 0 waits until another thread ran block 1: two threads must be at work."""
    ran_1, threads_used = threading.Event(), {}

    def block(start, stop):
        threads_used[start] = threading.get_ident()
        if start == 0:
            assert ran_1.wait(timeout=30), "no pool thread took block 1"
        elif start == 1:
            ran_1.set()

    with parallel.threads(2):
        parallel.parallel_for(2, block)
    assert threads_used[0] != threads_used[1]
    assert threading.get_ident() in threads_used.values()  # the caller works too


def test_caller_takes_the_blocks_of_a_thread_that_does_not_start(force_parallel, monkeypatch):
    """On a busy machine a pool thread may get no core: the caller does every block, and the
    pool task that never started is cancelled (not waited for)."""

    class NeverStarts:
        def __init__(self):
            self.futures = []

        def submit(self, fn):
            from concurrent.futures import Future

            self.futures.append(Future())
            return self.futures[-1]

    pool = NeverStarts()
    monkeypatch.setattr(parallel, "_pool", lambda workers: pool)
    seen = _record(10, 3)
    assert sorted((a, b) for a, b, _ in seen) == parallel.blocks(10, 10)
    assert {ident for _, _, ident in seen} == {threading.get_ident()}
    assert len(pool.futures) == 2 and all(f.cancelled() for f in pool.futures)


def test_item_size_sets_the_default_block_size(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BLOCK_ELEMENTS", 100)
    assert len(_record(10, 2, item_size=10)) == 1  # 100 elements: one block's worth
    assert len(_record(20, 2, item_size=10)) == 2
    assert len(_record(1000, 4, item_size=1)) == 10  # 100 items each


def test_inline_with_one_thread(force_parallel):
    caller = threading.get_ident()
    seen = _record(10, 1)
    assert seen == [(0, 10, caller)]


def test_inline_for_device_arrays(force_parallel):
    caller = threading.get_ident()
    sim_array = sim_xp.zeros(8)
    for like in (sim_array, (np.zeros(8), sim_array)):
        assert _record(8, 4, like=like) == [(0, 8, caller)]
    assert len(_record(8, 4, like=(np.zeros(8), None, 2.0))) == 8


def test_no_nested_parallelism(force_parallel):
    inner, lock = [], threading.Lock()

    def outer(start, stop):
        assert parallel.in_parallel_region()

        def block(a, b):
            with lock:
                inner.append((start, a, b, threading.get_ident()))

        parallel.parallel_for(5, block)

    with parallel.threads(3):
        parallel.parallel_for(3, outer)
    # each outer block ran its inner loop inline, on its own thread, in one block
    assert sorted((s, a, b) for s, a, b, _ in inner) == [(0, 0, 5), (1, 0, 5), (2, 0, 5)]
    assert not parallel.in_parallel_region()


@pytest.mark.parametrize("failing_block", [0, 1, 2, 7])
def test_exceptions_propagate_after_every_block_finished(force_parallel, failing_block):
    running, lock = [0], threading.Lock()

    def block(start, stop):
        with lock:
            running[0] += 1
        try:
            if start == failing_block:
                raise KeyError(f"block {start}")
        finally:
            with lock:
                running[0] -= 1

    with parallel.threads(3), pytest.raises(KeyError, match=f"block {failing_block}"):
        parallel.parallel_for(8, block)
    assert running[0] == 0  # nothing still running when the caller sees the error
    assert not parallel.in_parallel_region()
    # the pool still works afterwards
    assert len(_record(3, 3)) == 3


def test_exception_inline_resets_the_region_flag():
    def block(start, stop):
        raise RuntimeError("inline")

    with parallel.threads(1), pytest.raises(RuntimeError, match="inline"):
        parallel.parallel_for(3, block)
    assert not parallel.in_parallel_region()


def test_set_num_threads_validates_and_round_trips():
    before = gn.get_num_threads()
    with parallel.threads(3):
        assert gn.get_num_threads() == 3 == parallel.num_threads()
    assert gn.get_num_threads() == before
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="set_num_threads expects a positive int"):
            gn.set_num_threads(bad)


def test_threads_sets_and_restores_openblas():
    blas_before = parallel._get_blas_threads()
    if blas_before is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS here: only glassnet's count is set")
    with parallel.threads(3):
        assert parallel._get_blas_threads() == 3
    assert parallel._get_blas_threads() == blas_before


def test_small_products_run_on_one_blas_thread_and_restore_the_count(fake_openblas):
    """The OpenBLAS path (MKL, where installed, takes these products: turned off here)."""
    calls = fake_openblas
    rng = np.random.default_rng(0)
    small = rng.standard_normal((64, 128)), rng.standard_normal((128, 128))
    np.testing.assert_array_equal(parallel.product(*small), small[0] @ small[1])
    assert calls == [1, 2]  # one thread for the product, then the count it found
    calls.clear()
    big = rng.standard_normal((256, 128)), rng.standard_normal((128, 128))
    assert parallel.SMALL_PRODUCT <= 256 * 128 * 128
    np.testing.assert_array_equal(parallel.product(*big), big[0] @ big[1])
    parallel.parallel_for(1, lambda a, b: parallel.product(*small))  # inside a block
    assert calls == []


def test_a_sticky_region_switches_to_one_blas_thread_once(fake_openblas):
    calls = fake_openblas
    rng = np.random.default_rng(0)
    small = rng.standard_normal((64, 128)), rng.standard_normal((128, 128))
    big = rng.standard_normal((256, 128)), rng.standard_normal((128, 128))
    with blas_region.blas_region() as region:
        for _ in range(3):
            np.testing.assert_array_equal(parallel.product(*small), small[0] @ small[1])
        assert calls == [1] and not region.large  # one thread for all three
        np.testing.assert_array_equal(parallel.product(*big), big[0] @ big[1])
        assert calls == [1, 2] and region.large  # a larger product gets the threads back
        parallel.product(*small)
    assert calls == [1, 2, 1, 2]  # and the region's end restores the count
    calls.clear()
    with pytest.raises(RuntimeError), blas_region.blas_region():
        parallel.product(*small)
        raise RuntimeError("a failing step")
    assert calls == [1, 2]


def test_a_region_that_is_not_sticky_switches_per_product(fake_openblas):
    calls = fake_openblas
    small = np.ones((64, 128)), np.ones((128, 128))
    with blas_region.blas_region(sticky=False) as region:
        parallel.product(*small)
        parallel.product(*small)
        with blas_region.blas_region():  # nested: the outer region's rules
            parallel.product(*small)
    assert calls == [1, 2] * 3 and not region.large


def test_small_products_from_many_threads_leave_the_blas_count_as_it_was():
    blas_before = parallel._get_blas_threads()
    if blas_before is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    a, b = np.ones((32, 16)), np.ones((16, 8))
    with parallel.threads(2):

        def run():
            for _ in range(200):
                assert parallel.product(a, b)[0, 0] == 16.0

        workers = [threading.Thread(target=run) for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert parallel._get_blas_threads() == 2
    assert parallel._get_blas_threads() == blas_before


_FRESH = """
import json, os, threading
before = threading.active_count()
import glassnet as gn
from glassnet.backend import blas_region, parallel
after_import = threading.active_count()
parallel.MIN_BLOCK_ELEMENTS = 1
parallel.parallel_for(4, lambda a, b: None)
print(json.dumps({"import": after_import - before, "count": gn.get_num_threads(),
                  "after_call": threading.active_count() - before}))
"""


def _fresh(env: dict) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in parallel._ENV_VARS}
    out = subprocess.run(
        [sys.executable, "-c", _FRESH], env={**base, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_threads_at_import_pool_made_on_first_parallel_call():
    got = _fresh({"GLASSNET_NUM_THREADS": "3"})
    assert got["import"] == 0
    assert got["count"] == 3
    # up to two workers (the caller runs a block; the executor starts a worker only when none
    # is idle, so a fast first block may leave the second worker unborn)
    assert 1 <= got["after_call"] <= 2


def test_thread_count_from_the_environment():
    assert _fresh({"OMP_NUM_THREADS": "2"})["count"] == 2
    assert _fresh({"OPENBLAS_NUM_THREADS": "1"})["count"] == 1
    assert _fresh({"GLASSNET_NUM_THREADS": "3", "OMP_NUM_THREADS": "1"})["count"] == 3
    assert _fresh({})["count"] == len(os.sched_getaffinity(0))


def test_pool_survives_fork(force_parallel):
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    with parallel.threads(2):
        parallel.parallel_for(2, lambda a, b: None)  # the parent has a pool
        pid = os.fork()
        if pid == 0:  # the child: a fresh pool, and the work still done
            hits = np.zeros(6)

            def block(start, stop):
                hits[start:stop] += 1

            try:
                parallel.parallel_for(6, block)
                os._exit(0 if (hits == 1).all() else 1)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_products_inside_a_block_leave_the_regions_count_alone(fake_openblas):
    """A block of parallel_for keeps the BLAS count its caller set: a large product there
    neither restores the region's count nor marks it."""
    calls = fake_openblas
    small = np.ones((64, 128)), np.ones((128, 128))
    big = np.ones((256, 128)), np.ones((128, 128))
    with blas_region.blas_region() as region:
        parallel.product(*small)
        parallel.parallel_for(1, lambda lo, hi: parallel.product(*big))  # inline: a block
        assert calls == [1] and not region.large
    assert calls == [1, 2]
