"""Test-suite switches shared by tests/ and the doctests in src/glassnet.

``GLASSNET_TEST_DEVICE=sim python -m pytest -n 2`` (or ``--device sim``) runs the whole suite
with tensors created on the strict simulated device (glassnet.backend.sim): every op, layer,
optimizer, fit and checkpoint path then runs "on a device", where mixing host and device arrays
or converting to the host implicitly raises. Tests that genuinely need host tensors ask for the
``host_device`` fixture.
"""

from __future__ import annotations

import os

import pytest

from glassnet.backend import get_default_device, set_debug, set_default_device

# Scripts that record PyTorch reference values by hand (they import torch): never collected,
# not even by --doctest-modules.
collect_ignore_glob = ["tests/*/record_torch_*.py", "tests/record_torch_*.py"]
try:  # the optional glassnet[jit] kernels import numba at module level (loaded only on use)
    import numba  # noqa: F401
except ImportError:
    collect_ignore_glob.append("src/glassnet/backend/_jit_*.py")


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default=None,
        help="default device for tensors in the tests: cpu (default) or sim "
        "(also GLASSNET_TEST_DEVICE)",
    )


def pytest_configure(config):
    device = config.getoption("--device") or os.environ.get("GLASSNET_TEST_DEVICE") or "cpu"
    set_default_device(device)
    if device != "cpu":  # the tests of value errors expect them: value checks on (debug mode)
        set_debug(True)  # everywhere; the sync-budget tests set the default (off on devices)
    config.glassnet_device = device


def pytest_report_header(config):
    return f"glassnet test device: {get_default_device()}"


@pytest.fixture(autouse=True)
def _native_threads_default():
    """``glassnet train`` on a busy machine (as the test machine often is) moves the fused
    kernels to the pool for the rest of its process (``jit.set_native(False)``); CLI tests
    run it in this process, some in module-scoped fixtures, so every test starts from the
    default (OpenMP's threads where they start)."""
    from glassnet.backend import jit

    jit._STATE["native_off"] = False
    yield


@pytest.fixture(autouse=True)
def _default_dtype_restored():
    """``set_default_dtype`` is process-wide (as PyTorch's): a test that changes it must not
    change the dtypes of the tests that run after it in the same worker."""
    from glassnet.backend.dtypes import float32, set_default_float

    yield
    set_default_float(float32)


@pytest.fixture
def host_device():
    """Run one test with tensors created on the CPU whatever the suite's device."""
    before = get_default_device()
    set_default_device("cpu")
    yield
    set_default_device(before)


@pytest.fixture
def value_checks():
    """Run one test in debug mode: ops check the values of their inputs (class and index
    ranges) on every device; by default they do on CPU only (glassnet.backend.debug)."""
    from glassnet.backend import debug

    before = debug._MODE  # the suite's mode (on everywhere when it runs on the sim device)
    set_debug(True)
    yield
    set_debug(before)


@pytest.fixture
def test_device():
    """The device the suite runs on (``cpu`` or ``sim``)."""
    return get_default_device()


@pytest.fixture
def block_counts(monkeypatch):
    """The number of blocks of every ``parallel_for`` call that splits, and of every kernel
    run on Numba's threads (inline calls add nothing): tests assert an op really ran on
    several threads."""
    from glassnet.backend import kernel_threads, parallel

    counts: list[int] = []
    run_blocks = parallel._run_blocks

    def counting(pool, fn, parts, helpers):
        counts.append(len(parts))
        return run_blocks(pool, fn, parts, helpers)

    launch = kernel_threads._launch

    def counting_native(runner, args, rows, step, blocks):
        counts.append(blocks)
        return launch(runner, args, rows, step, blocks)

    monkeypatch.setattr(parallel, "_run_blocks", counting)
    monkeypatch.setattr(kernel_threads, "_launch", counting_native)
    return counts


@pytest.fixture(params=["native", "pool"])
def split_small(request, monkeypatch):
    """Every parallel op splits, even on tiny arrays; the fused kernels' ranges run on
    Numba's OpenMP threads ("native", where this machine has them) or on glassnet's pool
    ("pool"). Returns which."""
    from glassnet.backend import jit, kernel_threads, parallel

    monkeypatch.setattr(parallel, "MIN_BLOCK_ELEMENTS", 1)
    monkeypatch.setattr(kernel_threads, "NATIVE_MIN_BLOCK", 1)
    if request.param == "pool":
        monkeypatch.setitem(jit._STATE, "native_off", True)
    elif jit.kernels() is not None and jit.native() is None:
        pytest.skip(f"Numba's OpenMP threading layer does not start here: {jit.native_why()}")
    return request.param


@pytest.fixture
def native_launches(monkeypatch):
    """Kernels on OpenMP's threads, from any size (skips where Numba's omp layer does not
    start), and the SGD kernel from any size: the list of (kernel name, rows, blocks) of
    every launch there."""
    from glassnet.backend import jit, kernel_threads
    from glassnet.ops import _fused

    if jit.native() is None:
        pytest.skip(f"Numba's OpenMP threading layer does not start here: {jit.native_why()}")
    monkeypatch.setattr(kernel_threads, "NATIVE_MIN_BLOCK", 1)
    monkeypatch.setattr(_fused, "SGD_MIN_ELEMENTS", 1)
    launches: list = []
    launch = kernel_threads._launch

    def spy(runner, args, rows, step, blocks):
        launches.append((runner.__name__, rows, blocks))
        return launch(runner, args, rows, step, blocks)

    monkeypatch.setattr(kernel_threads, "_launch", spy)
    return launches


@pytest.fixture
def fake_openblas(monkeypatch):
    """OpenBLAS at 2 threads, as glassnet sees it, with MKL off (products on the OpenBLAS
    path): the list of thread counts glassnet sets, in order."""
    from glassnet.backend import mkl, parallel

    monkeypatch.setattr(mkl, "enabled", lambda: False)
    state, calls = {"count": 2}, []

    def set_count(n):
        calls.append(n)
        state["count"] = parallel._BLAS["seen"] = n

    monkeypatch.setattr(parallel, "_get_blas_threads", lambda: state["count"])
    monkeypatch.setitem(parallel._BLAS, "seen", 2)
    monkeypatch.setattr(parallel, "_set_blas_threads", set_count)
    return calls


def pytest_runtest_setup(item):
    # Doctests show tensor reprs and printed values as documentation: they run on the host.
    if type(item).__name__ == "DoctestItem":
        item._glassnet_device = get_default_device()
        set_default_device("cpu")


def pytest_runtest_teardown(item):
    before = getattr(item, "_glassnet_device", None)
    if before is not None:
        set_default_device(before)
