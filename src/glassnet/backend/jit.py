"""Optional fused CPU kernels (``pip install glassnet[jit]``, Numba), used where they are faster.

NumPy evaluates exact GELU, softmax, LayerNorm and Adam as chains of whole-array passes (GELU
forward is about 30 of them); a fused kernel makes one pass per row or element. A stride-1
conv2d runs as a direct convolution without the im2col copy. The kernels
(:mod:`glassnet.backend._jit_kernels`, ``_jit_attention``, ``_jit_conv``) are taken only
where a side-by-side measurement showed them faster than the NumPy path
(docs/performance.md has the figures); every other op, every GPU or simulated-device array
and every op under ``create_graph`` keeps the NumPy path.

- Off without Numba, or with ``GLASSNET_JIT=0`` in the environment, or after
  ``set_enabled(False)``: then everything runs exactly as in the NumPy-only install.
- Nothing is imported or compiled at ``import glassnet``: Numba is imported and each kernel
  compiled at its first use (cached on disk where the package directory or
  ``NUMBA_CACHE_DIR`` is writable).
- Results agree with the NumPy path to float32 rounding and are bit-identical for any thread
  count: rows (or elements) are split among threads
  (:func:`glassnet.backend.kernel_threads.run_rows`, ``gn.set_num_threads``), but each one is
  computed by one thread, start to end, in a fixed order.
- With Numba's ``omp`` threading layer (:func:`native`) the kernels run on GNU OpenMP's
  threads, from start to end in native code, and MKL's products on the same threads
  (:mod:`glassnet.backend.mkl`), as in PyTorch; otherwise on glassnet's pool
  (:mod:`glassnet.backend.parallel`), whose Python hand-off costs 15-60 us per block.

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

__all__ = [
    "available", "describe", "enabled", "kernels", "native", "native_why", "openmp_expected",
    "set_enabled", "set_native", "usable",
]  # fmt: skip

_LOCK = threading.Lock()
_STATE: dict = {
    "module": None, "tried": False, "enabled": None, "env": None,
    "native": None, "native_tried": False, "native_pid": 0, "native_off": False,
}  # fmt: skip


def _env_enabled() -> bool:
    """``GLASSNET_JIT``, read at the first call (every op asks: reading the environment each
    time cost about 0.3 ms of a W3 step) and again after ``set_enabled(None)``."""
    env = _STATE["env"]
    if env is None:
        value = os.environ.get("GLASSNET_JIT", "1").strip().lower()
        env = _STATE["env"] = value not in ("0", "false", "off", "no")
    return env


def enabled() -> bool:
    """Whether the kernels may be used: ``set_enabled`` if called, else ``GLASSNET_JIT``."""
    flag = _STATE["enabled"]
    return _env_enabled() if flag is None else flag


def set_enabled(flag: bool | None) -> bool | None:
    """Turn the kernels on or off for this process (None: follow ``GLASSNET_JIT`` again, read
    anew); returns the previous setting, to restore it."""
    previous, _STATE["enabled"] = _STATE["enabled"], flag
    if flag is None:
        _STATE["env"] = None
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


def native():
    """The runners of :mod:`glassnet.backend._jit_parallel` when the kernels may run on
    Numba's OpenMP threads, else None: the kernels are enabled, Numba's threading layer is
    ``omp`` (tried once, by a tiny parallel loop) and this is the process that started it (a
    forked child must not enter the parent's OpenMP runtime: it keeps glassnet's pool)."""
    state = _STATE
    if not state["native_tried"]:
        if kernels() is None:
            return None
        with _LOCK:
            if not state["native_tried"]:
                state["native"] = _start_native()
                state["native_pid"], state["native_tried"] = os.getpid(), True
    if state["native"] is None or not enabled() or state["native_off"]:
        return None
    return state["native"] if state["native_pid"] == os.getpid() else None


def openmp_expected() -> bool:
    """Whether the kernels will run on Numba's ``omp`` layer, known without importing Numba
    (MKL asks at its first product, before any kernel may have run; Numba and its compiler
    take about 100 MiB, not worth paying for a model that uses no kernel): after
    :func:`native` was tried, its answer; before, the kernels are enabled, Numba is installed
    and ``NUMBA_THREADING_LAYER`` leaves ``omp`` in reach. (Numba prefers TBB where TBB's
    library loads, as in a conda environment: then :func:`native` says None and the kernels
    keep the pool, while MKL's products still run on OpenMP's threads.)"""
    if _STATE["native_tried"]:
        return native() is not None
    if not enabled() or _STATE["native_off"]:
        return False
    if _STATE["tried"] and _STATE["module"] is None:
        return False
    from importlib.util import find_spec

    layer = os.environ.get("NUMBA_THREADING_LAYER", "default").strip().lower()
    return layer in ("default", "omp", "threadsafe") and find_spec("numba") is not None


def _start_native():
    try:
        import numba

        from glassnet.backend import _jit_parallel
    except ImportError as error:  # pragma: no cover - Numba without its parallel support
        _STATE["native_why"] = f"Numba's parallel support does not import: {error}"
        return None
    try:
        _jit_parallel.probe(np.zeros(2, np.int64))
        layer = numba.threading_layer()
    except Exception as error:  # noqa: BLE001 - any failure to start the layer: glassnet's pool
        _STATE["native_why"] = f"Numba's threading layer did not start: {error!r}"
        return None
    if layer != "omp":
        _STATE["native_why"] = f"Numba's threading layer is {layer!r}, not 'omp'"
        return None
    return _jit_parallel


def describe() -> str:
    """One line for ``glassnet info``: whether the kernels run, and on which threads."""
    if not enabled():
        return "off (GLASSNET_JIT=0 or jit.set_enabled(False)): NumPy's path"
    if not available():
        return "not installed (pip install glassnet[jit] for Numba's fused kernels)"
    import numba

    if native() is not None:
        return f"Numba {numba.__version__}, on OpenMP's threads (shared with MKL's products)"
    why = native_why() or ("off: jit.set_native(False)" if _STATE["native_off"] else "")
    return f"Numba {numba.__version__}, on glassnet's pool ({why})"


def native_why() -> str | None:
    """Why :func:`native` is None in this process after it was tried (or None)."""
    return _STATE.get("native_why")


def set_native(flag: bool) -> bool:
    """Let :func:`glassnet.backend.kernel_threads.run_rows` use Numba's threads (True, the
    default) or only glassnet's pool (False; for side-by-side measurements and tests).
    Returns the previous setting."""
    previous = not _STATE["native_off"]
    _STATE["native_off"] = not flag
    return previous
