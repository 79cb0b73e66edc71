"""Matrix products through Intel MKL (``pip install glassnet[mkl]``), used where installed.

NumPy's wheels multiply matrices with OpenBLAS. On the transformer and MLP shapes of
``benchmarks/bench_train.py`` MKL's single-precision GEMM is 10-18% faster on this machine's
Xeon (the same library PyTorch's CPU build uses; figures in docs/performance.md). With the
``mkl`` package installed, :func:`glassnet.backend.parallel.product` (linear layers, 2-D
``matmul``) calls ``cblas_sgemm`` / ``cblas_dgemm`` through ``ctypes``:

- Where the fused kernels run on Numba's OpenMP threads (:func:`glassnet.backend.jit.native`),
  MKL is loaded with its **GNU OpenMP** threading layer (:func:`threaded`): each product is
  one call on ``threads`` of the same OpenMP threads, which then serve kernels and products
  alike, as in PyTorch. (Two runtimes' threads spinning on the same cores measured about
  7 ms per op.) A forked child of such a process gets None from :func:`gemm`: GNU OpenMP is
  not fork-safe, so its products go to NumPy's BLAS.
- Otherwise MKL runs **sequential** (``MKL_Set_Threading_Layer(SEQUENTIAL)``): no OpenMP runtime is
  loaded and no thread of MKL's spins between products. At one thread each product is one
  call; on several, a large one (``parallel.SPLIT_MACS``) is split into row blocks (or column
  blocks when it has few rows) on glassnet's own pool
  (:func:`~glassnet.backend.parallel.parallel_for`), whose threads sleep when idle and hand
  their blocks back to the caller on a busy machine; mid-size ones stay with OpenBLAS's own
  threads (:func:`glassnet.backend.parallel.product` says why).
- Only host float32/float64 2-D operands with one unit stride (C- or Fortran-ordered, or a
  view with a row pitch) and at least :data:`MIN_MACS` multiply-adds; everything else (and
  every product without MKL) is NumPy's ``a @ b``. The result is a new C-ordered array, like
  NumPy's.
- A process that already runs an MKL (a NumPy built with MKL, as conda's) is left alone:
  NumPy's products are MKL's there already.
- ``GLASSNET_BLAS=numpy`` in the environment, or :func:`set_enabled` ``(False)``, keeps NumPy's
  BLAS; ``glassnet info`` says which one multiplies.

Results agree with NumPy's to float32 rounding (a different summation order), not bit for bit.

>>> from glassnet.backend import mkl
>>> previous = mkl.set_enabled(False)   # NumPy's BLAS, whatever is installed
>>> mkl.library() is None
True
>>> _ = mkl.set_enabled(previous)
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

__all__ = [
    "MIN_MACS", "available", "describe", "enabled", "gemm", "library", "set_enabled", "threaded",
]  # fmt: skip

#: The fewest multiply-adds (M K N) a product needs to go to MKL. Below it MKL's dispatch and
#: the ``ctypes`` call cost more than its kernels save (CPU time at one thread, measured:
#: 64x64 by 64x128 18.8 us through MKL against 12.3 us through NumPy, 64x128 by 128x128
#: 28.3 against 25.2; from 128x256 by 256x128, 4.2M multiply-adds, MKL is 7-12% faster).
MIN_MACS = 1 << 21

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_SEQUENTIAL, _GNU = 1, 3  # MKL_THREADING_SEQUENTIAL, MKL_THREADING_GNU
_LOCK = threading.Lock()
_STATE: dict = {
    "lib": None, "tried": False, "enabled": None, "env": None, "path": None, "threaded": False,
    "pid": 0,
}  # fmt: skip
_local = threading.local()


def _env_enabled() -> bool:
    return os.environ.get("GLASSNET_BLAS", "").strip().lower() not in ("numpy", "openblas")


def enabled() -> bool:
    """Whether products may use MKL: ``set_enabled`` if called, else ``GLASSNET_BLAS`` (read
    once: an environment lookup per product cost about a microsecond)."""
    flag = _STATE["enabled"]
    if flag is None:
        flag = _STATE["env"]
        if flag is None:
            flag = _STATE["env"] = _env_enabled()
    return flag


def set_enabled(flag: bool | None) -> bool | None:
    """Turn MKL products on or off for this process (None: follow ``GLASSNET_BLAS`` again,
    read anew); returns the previous setting, to restore it."""
    previous, _STATE["enabled"] = _STATE["enabled"], flag
    _STATE["env"] = None
    return previous


def _library_path() -> str | None:
    """Where the ``mkl`` distribution installed ``libmkl_rt.so.2`` (its wheel puts it in
    ``<prefix>/lib``), or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution("mkl")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name.startswith("libmkl_rt.so"):
            path = os.path.realpath(dist.locate_file(file))
            if os.path.exists(path):
                return path
    return None


def _mkl_already_loaded() -> bool:
    """Whether this process already runs an MKL (a NumPy built with MKL, as conda's): then
    NumPy's products are MKL's already, and setting the threading layer of that copy would
    change its host's products, so glassnet leaves it alone."""
    try:
        with open("/proc/self/maps") as f:
            return any("libmkl_" in line for line in f)
    except OSError:  # not Linux: the extra is not loaded there anyway
        return False


def _load():
    path = _library_path()
    if path is None or _mkl_already_loaded():
        return None
    # MKL's threads are GNU OpenMP's when the fused kernels run on it (jit.native): one
    # team of threads, which spins briefly between regions, serves both, as in PyTorch
    gomp = _gnu_openmp()
    try:
        lib = ctypes.CDLL(path)
        # before any other MKL call; the layer cannot change afterwards
        lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
        lib.MKL_Set_Threading_Layer(_GNU if gomp else _SEQUENTIAL)
        lib.MKL_Set_Num_Threads_Local.argtypes = [ctypes.c_int]
        ptr, i = ctypes.c_void_p, ctypes.c_int
        for name, scalar in (("cblas_sgemm", ctypes.c_float), ("cblas_dgemm", ctypes.c_double)):
            fn = getattr(lib, name)
            fn.restype = None
            fn.argtypes = [i, i, i, i, i, i, scalar, ptr, i, ptr, i, scalar, ptr, i]
    except (OSError, AttributeError):  # a broken or foreign install: NumPy's BLAS
        return None
    _STATE.update(path=path, threaded=gomp, pid=os.getpid())
    return lib


def _gnu_openmp() -> bool:
    """True when the fused kernels will run on GNU OpenMP's threads
    (:func:`glassnet.backend.jit.openmp_expected`, decided without importing Numba); then
    ``libgomp`` is loaded global, for MKL's GNU threading layer (which expects the runtime
    already loaded), and Numba's ``omp`` layer later finds the same library."""
    from glassnet.backend import jit

    if not jit.openmp_expected():
        return False
    try:
        ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:  # no GNU OpenMP runtime on this system: MKL stays sequential
        return False
    return True


def threaded() -> bool:
    """Whether MKL was loaded with OpenMP threads (shared with the fused kernels), and this
    is the process that loaded it (a forked child must not enter its parent's OpenMP)."""
    return library() is not None and _STATE["threaded"] and _STATE["pid"] == os.getpid()


def library():
    """The loaded MKL (``ctypes.CDLL``), or None when it is off or not installed; loads it
    once, at the first large product (never at ``import glassnet``)."""
    if not enabled():
        return None
    if not _STATE["tried"]:
        with _LOCK:
            if not _STATE["tried"]:
                _STATE["lib"] = _load()
                _STATE["tried"] = True
    return _STATE["lib"]


def available() -> bool:
    """Whether the ``mkl`` package is installed and loads (tries once)."""
    return library() is not None


def describe() -> str:
    """One line for ``glassnet info``: which library multiplies matrices."""
    if library() is not None and _STATE["threaded"]:
        return f"MKL (OpenMP threads, shared with the fused kernels) {_STATE['path']}"
    if library() is not None:
        return f"MKL (sequential, glassnet's threads) {_STATE['path']}"
    if _library_path() is not None and not enabled():
        return "NumPy's (MKL installed, off: GLASSNET_BLAS)"
    if _library_path() is not None:
        return "NumPy's (this process already had an MKL: NumPy's own, left alone)"
    return "NumPy's (pip install glassnet[mkl] for MKL)"


def _layout(a):
    """(transpose flag, leading dimension) of a 2-D array for row-major CBLAS, or None when
    neither axis has unit stride (a strided view: NumPy's path copies it)."""
    size = a.itemsize
    rows, cols = a.shape
    s0, s1 = a.strides
    if s1 == size and s0 % size == 0 and s0 // size >= max(cols, 1):
        return _NO_TRANS, s0 // size
    if s0 == size and s1 % size == 0 and s1 // size >= max(rows, 1):
        return _TRANS, s1 // size
    return None


def gemm(a, b, split=None, out=None, threads: int = 1):
    """``a @ b`` through MKL, or None when MKL does not take it (off, not installed, a dtype
    other than float32/float64, mixed dtypes, no unit stride, fewer than :data:`MIN_MACS`
    multiply-adds, an ``out`` that is not C-contiguous of the result's shape and dtype).

    ``split(n_items, fn, rows)``, when given, runs ``fn(lo, hi)`` over blocks of the output's
    rows (``rows=True``) or columns; each block is one sequential MKL call on its own slice of
    the output, so blocks may run on different threads. ``threads``: the OpenMP threads of one
    call when MKL is :func:`threaded` (ignored otherwise; a forked child of such a process gets
    None: NumPy's BLAS).
    """
    if (
        type(a) is not np.ndarray
        or type(b) is not np.ndarray
        or a.ndim != 2
        or b.ndim != 2
        or a.dtype != b.dtype
        or a.dtype not in (np.float32, np.float64)
    ):
        return None
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or m * k * n < MIN_MACS:
        return None
    la, lb = _layout(a), _layout(b)
    if la is None or lb is None:
        return None
    lib = library()
    if lib is None:
        return None
    if _STATE["threaded"]:
        if _STATE["pid"] != os.getpid():
            return None
        if getattr(_local, "threads", None) != threads:
            lib.MKL_Set_Num_Threads_Local(threads)
            _local.threads = threads
    fn = lib.cblas_sgemm if a.dtype == np.float32 else lib.cblas_dgemm
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    elif (
        type(out) is not np.ndarray
        or out.shape != (m, n)
        or out.dtype != a.dtype
        or not out.flags.c_contiguous
    ):
        return None
    (ta, lda), (tb, ldb) = la, lb
    pa, pb, pc, size = a.ctypes.data, b.ctypes.data, out.ctypes.data, a.itemsize
    # a row of a is a step of lda elements when a is row-major (NoTrans), 1 when transposed
    a_row = lda * size if ta == _NO_TRANS else size
    b_col = size if tb == _NO_TRANS else ldb * size

    def rows(lo, hi):
        fn(_ROW_MAJOR, ta, tb, hi - lo, n, k, 1.0, pa + lo * a_row, lda, pb, ldb, 0.0,
           pc + lo * n * size, n)  # fmt: skip

    def cols(lo, hi):
        fn(_ROW_MAJOR, ta, tb, m, hi - lo, k, 1.0, pa, lda, pb + lo * b_col, ldb, 0.0,
           pc + lo * size, n)  # fmt: skip

    if split is None:
        rows(0, m)
    elif m >= n or m >= 256:
        split(m, rows, True)
    else:
        split(n, cols, False)
    return out
