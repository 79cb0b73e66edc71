"""Matrix products through MKL (glassnet.backend.mkl, the ``glassnet[mkl]`` extra).

Expected values are float64 NumPy products of the same operands (a different library and
order of summation: agreement to float32 rounding, not bit for bit). The tests that need MKL
run where the ``mkl`` package is installed (the test extra installs it on Linux x86-64); the
fallback tests run everywhere.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import mkl, parallel

needs_mkl = pytest.mark.skipif(not mkl.available(), reason="the mkl package is not installed")


@pytest.fixture
def mkl_on():
    previous = mkl.set_enabled(True)
    yield
    mkl.set_enabled(previous)


def _operand(rng, shape, layout, dtype):
    """A (rows, cols) operand stored C-ordered, transposed (Fortran-ordered) or as a view
    with a row pitch wider than its columns."""
    rows, cols = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "T":
        return rng.standard_normal((cols, rows)).astype(dtype).T
    return rng.standard_normal((rows, cols + 7)).astype(dtype)[:, 3 : 3 + cols]


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("la", ["C", "T", "pitch"])
@pytest.mark.parametrize("lb", ["C", "T", "pitch"])
def test_gemm_matches_float64_for_every_layout(mkl_on, dtype, la, lb):
    rng = np.random.default_rng(0)
    a = _operand(rng, (300, 96), la, dtype)
    b = _operand(rng, (96, 80), lb, dtype)  # 2.3M multiply-adds: above MIN_MACS
    out = mkl.gemm(a, b)
    assert out is not None and out.dtype == dtype and out.shape == (300, 80)
    assert out.flags.c_contiguous
    want = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol * np.abs(want).max())


@needs_mkl
@pytest.mark.parametrize("shape", [(400, 64, 90), (60, 128, 333)])  # row split, column split
@pytest.mark.parametrize("lb", ["C", "T"])
def test_gemm_blocks_cover_the_output(mkl_on, shape, lb):
    """Every block writes its own rows (or columns) of the output, in any order."""
    m, k, n = shape
    rng = np.random.default_rng(1)
    a = _operand(rng, (m, k), "T", np.float32)
    b = _operand(rng, (k, n), lb, np.float32)
    seen = []

    def split(items, fn, rows):
        seen.append((items, rows))
        for lo, hi in reversed(parallel.blocks(items, 5)):
            fn(lo, hi)

    out = mkl.gemm(a, b, split)
    assert seen == [(m, True)] if m >= n else seen == [(n, False)]
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@needs_mkl
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_product_on_threads_matches_numpy(mkl_on, threads, block_counts):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1024, 256)).astype(np.float32)
    b = rng.standard_normal((256, 300)).astype(np.float32)
    with parallel.threads(threads):
        out = parallel.product(a, b)
        if mkl.threaded():  # one call on MKL's OpenMP threads, as many as glassnet's
            assert mkl.library().MKL_Get_Max_Threads() == threads and not block_counts
    if threads > 1 and not mkl.threaded():  # 1024 x 256 x 300 multiply-adds: on the pool
        assert block_counts and max(block_counts) > 1
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-3)


@needs_mkl
def test_product_is_reproducible_at_a_thread_count(mkl_on):
    """The blocks depend on the thread count only, so a count gives the same bits each time
    (whichever thread runs which block)."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((700, 200)).astype(np.float32)
    b = rng.standard_normal((200, 500)).astype(np.float32)
    with parallel.threads(2):
        runs = [parallel.product(a, b) for _ in range(5)]
    for out in runs[1:]:
        np.testing.assert_array_equal(out, runs[0])


@needs_mkl
def test_linear_layer_trains_the_same_with_and_without_mkl(mkl_on):
    """A linear layer's forward and gradients through MKL agree with NumPy's BLAS."""
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal((256, 128)).astype(np.float32)
    results = {}
    for flag in (True, False):
        mkl.set_enabled(flag)
        gn.manual_seed(0)
        layer = gn.nn.Linear(128, 192)
        x = gn.tensor(x_np, requires_grad=True)
        layer(x).square().sum().backward()
        results[flag] = [layer(x).numpy(), x.grad.numpy(), layer.weight.grad.numpy()]
    for got, want in zip(results[True], results[False]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones((512, 512), np.int64), np.ones((512, 512), np.int64)),  # not float
        (np.ones((512, 512), np.float32), np.ones((512, 512), np.float64)),  # mixed
        (np.ones((512, 1024), np.float32)[:, ::2], np.ones((512, 512), np.float32)),  # strided
        (np.ones((8, 8), np.float32), np.ones((8, 8), np.float32)),  # too small
        (np.ones((0, 512), np.float32), np.ones((512, 512), np.float32)),  # empty
    ],
)
def test_gemm_declines_what_it_does_not_take(mkl_on, a, b):
    assert mkl.gemm(a, b) is None
    np.testing.assert_array_equal(parallel.product(a, b), a @ b)  # NumPy's product


def test_off_switch_keeps_numpys_blas(monkeypatch):
    monkeypatch.setenv("GLASSNET_BLAS", "numpy")
    previous = mkl.set_enabled(None)
    try:
        assert not mkl.enabled() and mkl.library() is None
        a = np.arange(512 * 512, dtype=np.float32).reshape(512, 512) / 1e5
        assert mkl.gemm(a, a) is None
        assert "NumPy" in mkl.describe()
    finally:
        mkl.set_enabled(previous)


def test_broken_install_falls_back_to_numpy(monkeypatch, tmp_path, mkl_on):
    """A file that is not a loadable library (a broken or partial install) leaves products on
    NumPy's BLAS instead of failing."""
    fake = tmp_path / "libmkl_rt.so.2"
    fake.write_bytes(b"not a shared library")
    monkeypatch.setattr(mkl, "_library_path", lambda: str(fake))
    monkeypatch.setattr(mkl, "_STATE", {**mkl._STATE, "lib": None, "tried": False, "enabled": True})
    a = np.ones((512, 512), np.float32)
    assert mkl.library() is None and mkl.gemm(a, a) is None
    np.testing.assert_array_equal(parallel.product(a, a), a @ a)


def test_no_mkl_installed_means_numpy(monkeypatch, mkl_on):
    monkeypatch.setattr(mkl, "_library_path", lambda: None)
    monkeypatch.setattr(mkl, "_STATE", {**mkl._STATE, "lib": None, "tried": False, "enabled": True})
    assert not mkl.available()
    assert "pip install glassnet[mkl]" in mkl.describe()


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/maps"), reason="Linux only")
def test_import_glassnet_does_not_load_mkl():
    """MKL loads at the first large product, never at ``import glassnet``."""
    import subprocess
    import sys

    code = (
        "import glassnet, sys\n"
        "maps = open('/proc/self/maps').read()\n"
        "sys.exit(1 if 'libmkl' in maps else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@needs_mkl
def test_one_blas_thread_means_one_mkl_call(mkl_on, monkeypatch, block_counts):
    """OpenBLAS's count governs MKL's products too: at one BLAS thread (``glassnet train`` on
    a busy machine, OPENBLAS_NUM_THREADS=1) a large product is one call, not split."""
    monkeypatch.setitem(parallel._BLAS, "seen", 1)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((1024, 256)).astype(np.float32)
    b = rng.standard_normal((256, 300)).astype(np.float32)
    with parallel.threads(2):
        parallel._BLAS["seen"] = 1  # threads() set OpenBLAS's count to 2; one BLAS thread again
        out = parallel.product(a, b)
    assert block_counts == []
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-3)


def test_an_mkl_already_in_the_process_is_left_alone(monkeypatch, mkl_on):
    """A NumPy built with MKL (conda's) already multiplies with MKL: glassnet neither loads a
    second copy nor changes the threading layer of the host's."""
    monkeypatch.setattr(mkl, "_mkl_already_loaded", lambda: True)
    monkeypatch.setattr(mkl, "_library_path", lambda: "/nonexistent/libmkl_rt.so.2")
    monkeypatch.setattr(mkl, "_STATE", {**mkl._STATE, "lib": None, "tried": False, "enabled": True})
    assert mkl.library() is None
    assert "left alone" in mkl.describe()


@pytest.mark.parametrize("use_mkl", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_product_into_out_gives_the_bits_of_a_fresh_result(monkeypatch, use_mkl, threads):
    """``out=`` (gn.compile's flat gradient buffers) changes where the product goes, not its
    bits: MKL's path (when installed), NumPy's, one thread and the split over the pool."""
    monkeypatch.setattr(parallel, "SPLIT_MACS", 1)  # on 2 threads: MKL's blocks on the pool
    previous = mkl.set_enabled(use_mkl)
    try:
        rng = np.random.default_rng(4)
        for m, k, n in ((256, 300, 200), (20, 30, 40)):  # above and below MKL's MIN_MACS
            a = rng.standard_normal((k, m)).astype(np.float32).T  # a weight gradient's g.T
            b = rng.standard_normal((k, n)).astype(np.float32)
            with parallel.threads(threads):
                fresh = parallel.product(a, b)
                out = np.full((m, n), np.nan, np.float32)
                res = parallel.product(a, b, out=out)
            assert res is out
            np.testing.assert_array_equal(out, fresh)
            np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    finally:
        mkl.set_enabled(previous)


def test_out_that_mkl_cannot_write_goes_to_numpy(mkl_on):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 96)).astype(np.float32)
    b = rng.standard_normal((96, 80)).astype(np.float32)
    out_f = np.empty((80, 300), np.float32).T  # Fortran-ordered: not C-contiguous
    assert mkl.gemm(a, b, out=out_f) is None
    assert mkl.gemm(a, b, out=np.empty((300, 80), np.float64)) is None  # another dtype
    res = parallel.product(a, b, out=out_f)
    assert res is out_f
    np.testing.assert_allclose(out_f, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)


@needs_mkl
def test_a_sticky_region_leaves_larger_products_their_threads(mkl_on, monkeypatch, block_counts):
    """Inside a sticky blas_region OpenBLAS is on one thread after a small product; a product
    of MKL's size range must still be routed as without the region: mid-size ones to NumPy
    (not one MKL call), large ones split over the pool after the count is restored."""
    from glassnet.backend.blas_region import blas_region

    state = {"count": 2}

    def set_count(n):
        state["count"] = parallel._BLAS["seen"] = n

    monkeypatch.setattr(parallel, "_get_blas_threads", lambda: state["count"])
    monkeypatch.setitem(parallel._BLAS, "seen", 2)
    monkeypatch.setattr(parallel, "_set_blas_threads", set_count)
    monkeypatch.setattr(parallel, "SPLIT_MACS", parallel.SMALL_PRODUCT)
    monkeypatch.setattr(mkl, "threaded", lambda: False)  # MKL sequential, glassnet's pool
    calls = []
    gemm = mkl.gemm
    monkeypatch.setattr(mkl, "gemm", lambda a, b, split=None, out=None: calls.append(split)
                        or gemm(a, b, split, out))  # fmt: skip
    rng = np.random.default_rng(6)
    small = rng.standard_normal((64, 64)).astype(np.float32), np.ones((64, 64), np.float32)
    mid = rng.standard_normal((256, 128)).astype(np.float32), np.ones((128, 100), np.float32)
    big = rng.standard_normal((512, 256)).astype(np.float32), np.ones((256, 128), np.float32)
    assert mkl.MIN_MACS <= 256 * 128 * 100 < parallel.SMALL_PRODUCT <= 512 * 256 * 128
    with parallel.threads(2), blas_region() as region:
        parallel.product(*small)
        assert state["count"] == 1
        np.testing.assert_allclose(parallel.product(*mid), mid[0] @ mid[1], rtol=1e-5)
        assert calls == [] and state["count"] == 1  # NumPy's path, still one thread
        np.testing.assert_allclose(parallel.product(*big), big[0] @ big[1], rtol=1e-4)
        assert state["count"] == 2 and region.large
        assert len(calls) == 1 and calls[0] is not None and block_counts  # split on the pool


@needs_mkl
def test_threaded_mkl_products_keep_their_threads_in_a_sticky_region(mkl_on, monkeypatch):
    """With MKL on OpenMP threads, a product of MKL's size range is one call on glassnet's
    thread count, even after a small product switched OpenBLAS to one thread in a region;
    inside a parallel_for block it runs on one thread."""
    from glassnet.backend.blas_region import blas_region

    monkeypatch.setattr(mkl, "threaded", lambda: True)
    seen = []
    gemm = mkl.gemm
    monkeypatch.setattr(mkl, "gemm", lambda a, b, split=None, out=None, threads=1:
                        seen.append((split, threads)) or gemm(a, b, split, out))  # fmt: skip
    rng = np.random.default_rng(7)
    small = rng.standard_normal((64, 64)).astype(np.float32), np.ones((64, 64), np.float32)
    mid = rng.standard_normal((256, 128)).astype(np.float32), np.ones((128, 100), np.float32)
    with parallel.threads(2), blas_region():
        parallel.product(*small)
        np.testing.assert_allclose(parallel.product(*mid), mid[0] @ mid[1], rtol=1e-5)
        parallel.parallel_for(2, lambda lo, hi: parallel.product(*mid), min_items=1)
    assert seen[0] == (None, 2) and seen[1:] == [(None, 1)] * (len(seen) - 1)
