"""Scatter-adds, deterministic on every device: the one helper behind every accumulation.

``scatter_add(xp, g, shape, index)`` is zeros(shape) with ``g`` added at ``index`` (repeated
indices accumulate): the adjoint of ``x[index]``, so the backward of indexing, ``gather``,
``take_along_axis``, ``embedding`` and max-unpooling, and the forward of ``index_add``,
``scatter_add``, ``scatter_reduce`` and ``index_put(accumulate=True)``.

* On the CPU it is ``numpy.add.at``, which adds in index order: deterministic.
* On a device (CuPy, or the sim device that stands in for it) ``add.at`` is an atomic
  scatter-add whose adds land in a different order on every run, so float sums differ in the
  last bits. With deterministic algorithms on (the default,
  :func:`glassnet.use_deterministic_algorithms`), the sum is instead
  :func:`segment_sum` over the flat destination of each element: a stable sort, then a fixed
  pairwise tree per destination. Same bits on every run, no atomics, no host sync.

Why not CuPy's ``add.reduceat``: CuPy implements it as differences of a running sum
(``cumsum[end] - cumsum[start]``, cupy/_core/_routines_indexing.pyx), which loses the digits of
a small segment that follows large ones (float32: a segment of 1e-3 after a prefix of 1e4
keeps about one digit), and a CUB scan's bracketing is not promised to be the same run to
run. The tree below uses only elementwise ops, gathers, a stable sort and an integer cumsum
(exact in any order).
"""

from __future__ import annotations

import numpy as np

from glassnet.backend.determinism import are_deterministic_algorithms_enabled


def segment_sum(xp, values, segment, num_segments: int, max_run: int | None = None):
    """out[s] = sum of values[i] over the i with segment[i] = s, deterministically.

    ``values`` is (n, *d), ``segment`` (n,) integers in [0, num_segments); returns
    (num_segments, *d), zeros where no value lands. ``max_run``: a bound, known from shapes,
    on how many values share a segment (it must hold: the tree stops at it); default n.

    Sort the segments (stable), then add each run of equal segments as a pairwise tree: in
    step k = 1, 2, 4, ... the value at rank j of its run (j a multiple of 2k) adds the value
    at rank j + k when that is in the same run. ceil(log2 n) vectorized steps, a count known
    from the shape alone (no host sync); the fixed order makes the sums the same bits on every
    run, and pairwise sums are as accurate as NumPy's (error O(log n) ulps, not O(n)). They are
    not the same bits as ``add.at``'s sequential sums, only equal to float rounding. Each
    run's total ends at its first position and is written to its row: one write per row.
    """
    n = segment.shape[0]
    d = values.shape[1:]
    out = xp.zeros((num_segments + 1, *d), dtype=values.dtype)  # row num_segments: a sink
    if n == 0:
        return out[:num_segments]
    order = xp.argsort(segment, kind="stable")  # stable: equal segments keep their order
    ordered = segment[order]
    vals = values[order]
    pos = xp.arange(n)
    change = ordered[1:] != ordered[:-1]
    is_start = xp.concatenate([xp.ones(1, dtype=bool), change])
    is_end = xp.concatenate([change, xp.ones(1, dtype=bool)])
    run = xp.cumsum(is_start) - 1  # the run of each sorted position
    start_of_run = xp.zeros(n + 1, dtype=pos.dtype)  # slot n: a sink for the non-starts
    start_of_run[xp.where(is_start, run, n)] = pos  # one write per run
    end_of_run = xp.zeros(n + 1, dtype=pos.dtype)
    end_of_run[xp.where(is_end, run, n)] = pos
    rank = pos - start_of_run[run]  # the position of each value within its run
    after = end_of_run[run] - pos  # how many values of its run follow it
    expand = (slice(None),) + (None,) * len(d)
    k, longest = 1, n if max_run is None else min(n, max_run)
    while k < longest:
        # rank j (a multiple of 2k) adds rank j + k when its run reaches that far
        add = ((rank & (2 * k - 1)) == 0) & (after >= k)
        partner = xp.minimum(pos + k, n - 1)
        vals = vals + xp.where(add[expand], vals[partner], 0)
        k *= 2
    out[xp.where(is_start, ordered, num_segments)] = vals
    return out[:num_segments]


def scatter_add(xp, g, shape, index, max_run: int | None = None):
    """zeros(shape) with ``g`` (the shape of ``zeros(shape)[index]``) added at ``index``,
    repeated indices accumulating: ``numpy.add.at`` on the CPU, :func:`segment_sum` on a device
    while deterministic algorithms are on (see the module docstring). ``max_run``: a bound on
    how many elements of ``g`` share a destination, when the caller knows one from shapes."""
    shape = tuple(shape)
    advanced = is_advanced(index)
    if advanced and xp is not np and are_deterministic_algorithms_enabled():
        return sorted_scatter_add(xp, g, shape, index, max_run)
    out = xp.zeros(shape, dtype=g.dtype)
    if advanced:
        xp.add.at(out, index, g)  # on CuPy: an atomic scatter-add
    else:
        out[index] = g  # slices and ints: each element written once
    return out


def sorted_scatter_add(xp, g, shape, index, max_run: int | None = None):
    """The device path of :func:`scatter_add`, without atomics (any ``xp``; the benchmark
    runs it on NumPy): flat destinations by indexing an arange, then :func:`segment_sum`."""
    shape = tuple(shape)
    items = index if isinstance(index, tuple) else (index,)
    if all(_is_basic(i) or _is_mask(i) for i in items):
        out = xp.zeros(shape, dtype=g.dtype)
        out[index] = g  # masks select each element at most once: nothing to accumulate
        return out
    lead = _lead_dims(items)
    if lead is None:  # Ellipsis, None or masks among the items: destinations over all dims
        lead, items = len(shape), index
    else:
        items = items[:lead]
    rows = int(np.prod(shape[:lead], dtype=np.int64))
    dest = xp.arange(rows).reshape(shape[:lead])[items]  # the flat row each element goes to
    tail = shape[lead:]
    values = xp.broadcast_to(g, dest.shape + tail).reshape((dest.size, *tail))
    return segment_sum(xp, values, dest.reshape(-1), rows, max_run).reshape(shape)


def is_advanced(index) -> bool:
    """Whether ``index`` has an array (or list) among its items: NumPy's advanced indexing."""
    items = index if isinstance(index, tuple) else (index,)
    return not all(_is_basic(i) for i in items)


def _is_basic(item) -> bool:
    return isinstance(item, (int, np.integer, slice)) or item is None or item is Ellipsis


def _is_mask(item) -> bool:
    return getattr(item, "dtype", None) is not None and item.dtype.kind == "b"


def _lead_dims(items):
    """The number of leading dims ``items`` address before trailing full slices (whose dims
    stay whole rows of the sum), or None when items are not one per dim."""
    if any(i is None or i is Ellipsis or isinstance(i, bool) or _is_mask(i) for i in items):
        return None
    k = len(items)
    while k and isinstance(items[k - 1], slice) and items[k - 1] == slice(None):
        k -= 1
    return k
