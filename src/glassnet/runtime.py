"""Process-level settings that decide CPU speed: the memory allocator and BLAS threads.

**Allocator.** A training step allocates the same large arrays (activations, im2col columns,
gradients) every step and frees them at its end. With glibc's default settings, freed memory
at the top of the heap is handed back to the operating system (``M_TRIM_THRESHOLD``, 128 KiB
and adaptive) and blocks of 128 KiB and more get their own ``mmap`` (``M_MMAP_THRESHOLD``),
so every step page-faults its working set in again: on a LeNet-5 step that is half of the
time. ``configure_malloc()`` raises both thresholds, so freed memory is reused by the next
step. The cost: the process keeps its high-water mark of memory (peak RSS is unchanged; RSS
after a peak stays there), and the setting is process-wide. So ``import glassnet`` changes
nothing (a library is a guest in someone else's process); ``model.fit`` and ``glassnet train``
turn it on (``configure_malloc_once``), and you may call ``configure_malloc()`` yourself.
Opt out with ``GLASSNET_MALLOC=system`` in the environment. Only glibc (Linux) is tuned;
elsewhere nothing changes.

**Threads.** NumPy's BLAS (OpenBLAS) reads ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``)
once, when NumPy is first imported; set it in the environment before starting Python.
``blas_threads()`` reports the setting glassnet sees. See docs/performance.md.

>>> from glassnet import runtime
>>> isinstance(runtime.blas_threads(), (int, type(None)))
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["blas_threads", "configure_malloc", "configure_malloc_once", "MALLOC_SETTINGS"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: What ``configure_malloc`` applied (empty when nothing was changed).
MALLOC_SETTINGS: dict = {}
#: How many times ``mallopt`` was called through this module (0 after ``import glassnet``).
MALLOPT_CALLS = [0]


def configure_malloc(trim_threshold: int = 1 << 30, mmap_threshold: int = 32 << 20) -> bool:
    """Keep freed memory for reuse instead of returning it to the OS (glibc ``mallopt``).

    Args:
        trim_threshold: free memory at the heap top kept before trimming (bytes).
        mmap_threshold: allocations at least this large get their own mapping (bytes;
            glibc caps it at 32 MiB on 64-bit systems).

    Returns:
        True if the settings were applied (glibc), False otherwise.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    MALLOPT_CALLS[0] += 1
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    ok = (mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1) and ok
    if ok:
        MALLOC_SETTINGS.update(trim_threshold=trim_threshold, mmap_threshold=mmap_threshold)
    return ok


def blas_threads() -> int | None:
    """The BLAS thread count requested by the environment (None: the library default)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit():
            return int(value)
    return None


def configure_malloc_once() -> bool:
    """:func:`configure_malloc` unless already done or ``GLASSNET_MALLOC=system``; what
    ``model.fit`` and ``glassnet train`` call. Returns True when the settings are in place."""
    if MALLOC_SETTINGS:
        return True
    if os.environ.get("GLASSNET_MALLOC", "tuned").strip().lower() == "system":
        return False
    return configure_malloc()
