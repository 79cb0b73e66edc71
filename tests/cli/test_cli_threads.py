"""glassnet train's thread choice: --threads sets glassnet's and BLAS's count; the environment
wins otherwise; a busy machine gives a small model one BLAS thread, an idle one every core."""

from types import SimpleNamespace

import pytest

import glassnet as gn
from glassnet import cli
from glassnet.backend import parallel


@pytest.fixture
def blas_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "_set_blas_threads", calls.append)
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


@pytest.mark.parametrize("load, expected", [(0.1, []), (0.8, []), (1.2, [1]), (9.0, [1])])
def test_busy_machine_gets_one_blas_thread(blas_calls, monkeypatch, load, expected):
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (load, load, load))
    parallel._state["threads"] = 2
    _choose()
    assert blas_calls == expected
    assert gn.get_num_threads() == 2  # glassnet's own pool keeps every core


def test_environment_and_big_models_are_left_alone(blas_calls, monkeypatch):
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    parallel._state["threads"] = 2
    _choose(model="resnet-like-user-model")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    _choose()
    assert blas_calls == []
