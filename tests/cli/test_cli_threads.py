"""glassnet train's thread choice: --threads sets glassnet's and BLAS's count; the environment
wins otherwise; a busy machine gives a small model one BLAS thread, an idle one every core."""

from types import SimpleNamespace

import pytest

import glassnet as gn
from glassnet import cli
from glassnet.backend import jit, parallel


@pytest.fixture
def blas_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "_set_blas_threads", calls.append)
    monkeypatch.setitem(jit._STATE, "native_off", False)  # restored after the test
    for var in parallel._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    before = gn.get_num_threads()
    yield calls
    parallel._state["threads"] = before


def _choose(model="char-transformer", threads=None):
    cli._choose_threads(SimpleNamespace(threads=threads), SimpleNamespace(model=model))


def test_threads_option_sets_both(blas_calls):
    _choose(threads=3)
    assert gn.get_num_threads() == 3 and blas_calls == [3]


@pytest.mark.parametrize(
    "load, others, expected",
    [
        (0.1, 1.0, []),
        (0.8, 2.0, []),
        (1.2, 1.0, [1]),
        (9.0, 4.0, [1]),
        (9.0, None, [1]),  # no /proc/stat: the load average decides
        (1.2, 0.0, []),  # the average still shows a job that has ended: idle now
    ],
)
def test_busy_machine_gets_one_blas_thread(blas_calls, monkeypatch, load, others, expected):
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(cli, "_runnable_others", lambda: others)
    parallel._state["threads"] = 2
    _choose()
    assert blas_calls == expected
    assert gn.get_num_threads() == 2  # glassnet's own pool keeps every core
    # busy: the fused kernels leave OpenMP's static split for the pool's first-come blocks
    assert jit._STATE["native_off"] is bool(expected)


def test_environment_and_big_models_are_left_alone(blas_calls, monkeypatch):
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(cli, "_runnable_others", lambda: 4.0)
    parallel._state["threads"] = 2
    _choose(model="resnet-like-user-model")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    _choose()
    assert blas_calls == []


@pytest.mark.parametrize("with_mkl", [False, True])
def test_workers_hint_when_products_are_on_one_blas_thread(monkeypatch, capsys, with_mkl):
    """One BLAS thread on a busy machine: the hint names --workers, with MKL too (its products
    follow OpenBLAS's count: one call on one thread)."""
    from glassnet.backend import mkl

    monkeypatch.setattr(parallel, "_get_blas_threads", lambda: 1)
    monkeypatch.setattr(mkl, "available", lambda: with_mkl)
    monkeypatch.setitem(parallel._state, "threads", 2)
    config = SimpleNamespace(resolved=lambda: SimpleNamespace(max_minutes=13.5))
    cli._hint_workers(config)
    assert "--workers 2" in capsys.readouterr().out


def test_products_follow_a_one_thread_blas_count_with_mkl(monkeypatch):
    """What the hint relies on: with OpenBLAS at one thread an MKL product is one call on one
    thread, sequential or threaded MKL alike."""
    from glassnet.backend import mkl

    monkeypatch.setitem(parallel._state, "threads", 2)
    monkeypatch.setitem(parallel._BLAS, "seen", 1)
    assert parallel._product_threads() == 1
    if mkl.available():
        import numpy as np

        a = np.ones((300, 300), np.float32)
        with parallel.threads(2):
            parallel._set_blas_threads(1)
            parallel.product(a, a)
            if mkl.threaded():
                assert mkl.library().MKL_Get_Max_Threads() == 1


def test_runnable_others_reads_proc_stat(monkeypatch, tmp_path):
    """procs_running minus this process's own thread, averaged over the samples; None where
    /proc/stat cannot be read."""
    import builtins

    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")
    real_open = builtins.open
    monkeypatch.setattr(
        builtins, "open", lambda p, *a, **k: real_open(stat if p == "/proc/stat" else p, *a, **k)
    )
    assert cli._runnable_others(samples=3, interval=0) == 2.0
    stat.write_text("cpu  1 2 3\n")
    assert cli._runnable_others(samples=2, interval=0) is None
    stat.unlink()
    assert cli._runnable_others(samples=2, interval=0) is None
