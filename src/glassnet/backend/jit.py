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
  count: rows (or elements) are split among the threads of
  :mod:`glassnet.backend.parallel` (``gn.set_num_threads``), but each one is computed by one
  thread, start to end, in a fixed order.

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

from glassnet.backend.parallel import parallel_for

__all__ = ["available", "enabled", "kernels", "run_rows", "set_enabled", "usable"]

_LOCK = threading.Lock()
_STATE: dict = {"module": None, "tried": False, "enabled": None, "env": None}


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


def run_rows(kernel, rows: int, *args, work: int | None = None, grain: int = 1) -> None:
    """``kernel(*args, lo, hi)`` over ``[0, rows)`` in contiguous ranges (each a multiple of
    ``grain`` rows, the last one cut at ``rows``) on the threads of
    :func:`glassnet.backend.parallel.parallel_for`; ``work`` (elements, default ``rows``)
    sizes the blocks, so small calls run on this thread."""
    units = -(-rows // grain)
    per_unit = max(1, (rows if work is None else work) * grain // max(rows, 1))

    def block(start: int, stop: int) -> None:
        kernel(*args, start * grain, min(stop * grain, rows))

    parallel_for(units, block, item_size=per_unit)
