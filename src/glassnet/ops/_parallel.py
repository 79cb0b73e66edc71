"""Row-parallel helpers for ops: run an op's array code on blocks of rows on several cores.

An op whose items are rows computed independently (a softmax or a layer norm along its last
axes, attention per batch entry) hands :func:`map_rows` a function of row blocks; the rows are
split over :func:`glassnet.backend.parallel.parallel_for`'s threads, and every block runs the
same NumPy calls on its rows as one call on all rows would, with reductions only along the
row's own axes: the results are bit-identical for any thread count. With one block (small
arrays, one thread, a GPU or the sim device) the function runs once on all rows, with no copy.
"""

from __future__ import annotations

import threading

import numpy as np

from glassnet.backend.parallel import parallel_for

__all__ = ["map_rows", "rows_view"]


def rows_view(a, tail: int):
    """``a`` viewed as (rows, *last ``tail`` axes) without copying, or None when that needs a
    copy (a non-contiguous array) or ``a`` is not a NumPy array."""
    if type(a) is not np.ndarray or a.ndim < tail:
        return None
    if a.ndim == tail:
        return a[None]
    if a.ndim == tail + 1:
        return a
    if not a.flags.c_contiguous:
        return None
    return a.reshape(-1, *a.shape[a.ndim - tail :])


def map_rows(fn, rows, *, item_size: int, cost: int = 1, single_blas: bool = False, axis: int = 0):
    """``fn(*blocks)`` over row blocks of the arrays ``rows`` (same first axis), in parallel.

    ``fn`` returns an array or a tuple of arrays whose first axis is the block's rows; the
    result is the same array(s) for all rows. Blocks write their outputs into arrays made by
    the first block to finish (each block copies its own part, in parallel).

    Args:
        fn: the op's code for a block of rows.
        rows: arrays split along axis 0 (all with the same length).
        item_size: elements in one row (to size blocks).
        cost: elementwise passes per element (a 30-pass chain splits from smaller arrays).
        single_blas: the blocks call BLAS: use one BLAS thread while they run in parallel.
        axis: the axis the blocks split (0, or 1 for the channels of (N, C, ...) arrays);
            the arrays and the results have the same length on it.
    """
    n = rows[0].shape[axis]
    lead = (slice(None),) * axis
    if n == 0:
        return fn(*rows)
    state: dict = {}
    outs: list = []
    lock = threading.Lock()

    def block(start, stop):
        part = (*lead, slice(start, stop))
        res = fn(*(a[part] for a in rows))
        if start == 0 and stop == n:  # inline: the result as it is, no copy
            state["whole"] = res
            return
        parts = res if isinstance(res, tuple) else (res,)
        with lock:
            if not outs:
                outs.extend(
                    np.empty((*p.shape[:axis], n, *p.shape[axis + 1 :]), dtype=p.dtype)
                    for p in parts
                )
                state["single"] = not isinstance(res, tuple)
        for out, res_part in zip(outs, parts):
            out[part] = res_part

    parallel_for(n, block, item_size=item_size * cost, like=tuple(rows), single_blas=single_blas)
    if "whole" in state:
        return state["whole"]
    return outs[0] if state["single"] else tuple(outs)
