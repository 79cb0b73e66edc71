"""Optional fused CPU kernels (``pip install glassnet[jit]``, Numba), used where they are faster.

NumPy evaluates exact GELU, softmax, LayerNorm and Adam as chains of whole-array passes (GELU
forward is about 30 of them); a fused kernel makes one pass per row or element. The kernels
(:mod:`glassnet.backend._jit_kernels`) are taken only where a side-by-side measurement showed
them faster than the NumPy path (docs/performance.md has the figures); every other op, every
GPU or simulated-device array and every op under ``create_graph`` keeps the NumPy path.

- Off without Numba, or with ``GLASSNET_JIT=0`` in the environment, or after
  ``set_enabled(False)``: then everything runs exactly as in the NumPy-only install.
- Nothing is imported or compiled at ``import glassnet``: Numba is imported and each kernel
  compiled at its first use (cached on disk where the package directory or
  ``NUMBA_CACHE_DIR`` is writable).
- Results agree with the NumPy path to float32 rounding and are bit-identical for any thread
  count: rows (or elements) are split among threads, but each one is computed by one thread,
  start to end, in a fixed order.

Example:
    >>> from glassnet.backend import jit
    >>> previous = jit.set_enabled(False)   # the NumPy path only, whatever is installed
    >>> jit.kernels() is None
    True
    >>> _ = jit.set_enabled(previous)
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["available", "enabled", "kernels", "num_threads", "run_rows", "set_enabled", "usable"]

_LOCK = threading.Lock()
_STATE: dict = {"module": None, "tried": False, "enabled": None, "pool": None, "pool_size": 0}

# Below this many elements a call runs on the calling thread (submitting to the pool costs
# tens of microseconds).
_MIN_PARALLEL = 1 << 15


def _env_enabled() -> bool:
    return os.environ.get("GLASSNET_JIT", "1").strip().lower() not in ("0", "false", "off", "no")


def enabled() -> bool:
    """Whether the kernels may be used: ``set_enabled`` if called, else ``GLASSNET_JIT``."""
    flag = _STATE["enabled"]
    return _env_enabled() if flag is None else flag


def set_enabled(flag: bool | None) -> bool | None:
    """Turn the kernels on or off for this process (None: follow ``GLASSNET_JIT`` again);
    returns the previous setting, to restore it."""
    previous, _STATE["enabled"] = _STATE["enabled"], flag
    return previous


def available() -> bool:
    """Whether Numba imports (tries once; importing it takes about half a second)."""
    if not _STATE["tried"]:
        with _LOCK:
            if not _STATE["tried"]:
                try:
                    from glassnet.backend import _jit_kernels
                except ImportError:
                    _jit_kernels = None
                _STATE["module"], _STATE["tried"] = _jit_kernels, True
    return _STATE["module"] is not None


def kernels():
    """The kernel module when the kernels are enabled and Numba is installed, else None."""
    if not enabled() or not available():
        return None
    return _STATE["module"]


def usable(*arrays):
    """The kernel module if every array is a host NumPy array of one float dtype (float32 or
    float64), else None: the caller then takes its NumPy path."""
    if not enabled():
        return None
    dtype = arrays[0].dtype
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype:
            return None
    if dtype != np.float32 and dtype != np.float64:
        return None
    return kernels()


def num_threads() -> int:
    """Threads the kernels use: ``GLASSNET_NUM_THREADS``, else the BLAS/OpenMP environment
    (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``), else the cores this
    process may run on."""
    for var in ("GLASSNET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _pool(size: int):
    from concurrent.futures import ThreadPoolExecutor

    with _LOCK:
        if _STATE["pool_size"] < size:
            if _STATE["pool"] is not None:
                _STATE["pool"].shutdown(wait=False)
            _STATE["pool"] = ThreadPoolExecutor(size, thread_name_prefix="glassnet-jit")
            _STATE["pool_size"] = size
        return _STATE["pool"]


def run_rows(kernel, rows: int, *args, work: int | None = None, grain: int = 1) -> None:
    """``kernel(*args, lo, hi)`` over ``[0, rows)``, split in contiguous ranges among
    :func:`num_threads` threads (each range a multiple of ``grain`` rows) when the work
    (elements; default ``rows``) is large enough, else in one call on this thread."""
    threads = num_threads()
    work = rows if work is None else work
    if threads <= 1 or work < _MIN_PARALLEL or rows < 2 * grain:
        kernel(*args, 0, rows)
        return
    units = -(-rows // grain)
    parts = min(threads, units)
    bounds = [min(rows, (units * i // parts) * grain) for i in range(parts + 1)]
    pool = _pool(parts - 1)
    futures = [pool.submit(kernel, *args, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    kernel(*args, bounds[0], bounds[1])
    for f in futures:
        f.result()
