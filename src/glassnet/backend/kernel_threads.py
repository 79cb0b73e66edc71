"""Running a fused kernel over rows on several threads: :func:`run_rows`.

A kernel of :mod:`glassnet.backend.jit` computes rows ``[lo, hi)``. ``run_rows`` cuts
``[0, rows)`` into ranges and runs them on Numba's OpenMP threads where
:func:`glassnet.backend.jit.native` allows (the kernel's runner in
:mod:`glassnet.backend._jit_parallel`: no GIL, a hand-off of microseconds, the same threads
as MKL's products), else on glassnet's pool (:func:`glassnet.backend.parallel.parallel_for`).
A kernel computes each row the same way whatever the ranges, so the results are the same
bits on either, for any thread count.
"""

from __future__ import annotations

import threading

from glassnet.backend import jit
from glassnet.backend.parallel import in_parallel_region, num_threads, parallel_for

__all__ = ["NATIVE_MIN_BLOCK", "run_rows"]

#: The least work, in elements, for a block of a kernel on Numba's threads (:func:`jit.native`):
#: an OpenMP hand-off costs a few microseconds, not the pool's 15-60 us, so blocks may be a
#: quarter of the pool's :data:`~glassnet.backend.parallel.MIN_BLOCK_ELEMENTS`
#: (docs/performance.md, "Threads").
NATIVE_MIN_BLOCK = 1 << 15

_local = threading.local()
_STATE: dict = {"numba_max": None}


def _numba_threads(count: int) -> None:
    """Numba's thread count for this thread (Numba keeps one per calling thread)."""
    if getattr(_local, "numba_threads", None) != count:
        import numba

        numba.set_num_threads(count)
        _local.numba_threads = count


def run_rows(kernel, rows: int, *args, work: int | None = None, grain: int = 1, reduce=False):
    """``kernel(*args, lo, hi)`` over ``[0, rows)`` in contiguous ranges (each a multiple of
    ``grain`` rows, the last one cut at ``rows``); ``work`` (elements, default ``rows``)
    sizes the blocks, so small calls run on this thread.

    The ranges run on Numba's OpenMP threads where :func:`glassnet.backend.jit.native`
    allows (the kernel's runner in :mod:`glassnet.backend._jit_parallel`), else on the threads of
    :func:`glassnet.backend.parallel.parallel_for`; inside a ``parallel_for`` block, on this
    thread. ``reduce``: the kernel returns a tuple of counts, summed over the ranges and
    returned."""
    units = -(-rows // grain)
    total = rows if work is None else work
    runners = jit.native() if units > 1 else None
    if runners is not None and not in_parallel_region():
        threads = min(num_threads(), _max_numba_threads())
        count = min(units, threads, total // NATIVE_MIN_BLOCK)
        if count <= 1:
            result = kernel(*args, 0, rows)
        else:
            _numba_threads(threads)
            step = -(-units // count) * grain
            result = _launch(getattr(runners, kernel.__name__), args, rows, step, count)
        return result if reduce else None
    per_unit = max(1, total * grain // max(rows, 1))
    results: list = []

    def block(start: int, stop: int) -> None:
        results.append(kernel(*args, start * grain, min(stop * grain, rows)))

    parallel_for(units, block, item_size=per_unit)
    if reduce:
        return tuple(sum(parts) for parts in zip(*results))
    return None


def _launch(runner, args: tuple, rows: int, step: int, blocks: int):
    """``runner(*args, rows, step)``: ``blocks`` ranges on Numba's threads."""
    return runner(*args, rows, step)


def _max_numba_threads() -> int:
    """``NUMBA_NUM_THREADS``: the most threads Numba started (the CPUs, unless set)."""
    count = _STATE["numba_max"]
    if count is None:
        import numba

        count = _STATE["numba_max"] = numba.config.NUMBA_NUM_THREADS
    return count
