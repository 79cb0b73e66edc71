"""CPU data movement of LeNet-style ops (the im2col convolution, 2x2 max pooling, ReLU).

Each helper does on host NumPy arrays what one NumPy call would, and splits the work over the
threads of :func:`glassnet.backend.parallel.parallel_for` only when it streams at least
:data:`MIN_SPLIT_ELEMENTS` elements. Every output element is computed by the same NumPy call
on the same values whatever the split, so the results are bit-identical for any thread count.
On a GPU or the simulated device each helper is the plain array call.

- :func:`batch_first`: the 2-D transpose (M, N) -> (N, M) that moves the batch axis back
  to the front, in tiles of :data:`TILE_ROWS` rows: NumPy's own transposing copy reads the
  source with an N-element stride and runs 2-2.5x slower than the tiled copy (measured on
  LeNet's layers: 0.42 -> 0.17 ms for (4704, 64), 0.10 -> 0.04 ms for (1600, 64)).
- :func:`batch_last`: the transpose (N, M) -> (M, N) (NumPy's copy is fast that way round).
- :func:`copy_rows`: ``dst[...] = src`` (the im2col copy, split along the output rows).
- :func:`split`: ``fn(lo, hi)`` over items, split over threads only for streaming-sized work.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend.parallel import parallel_for

#: Source rows per tile of :func:`batch_first`: 64-128 rows of a 64-sample batch (16-32 KB)
#: stay in L1 while their columns are written out (measured: 0.17 ms for LeNet's first
#: layer's output at 64 and at 128 rows, 0.22 at 32, 0.28 at 256, 0.42 untiled).
TILE_ROWS = 96

#: The least work, in elements read and written, that these ops split over threads. On this
#: 2-core VM a NumPy call split over threads gains only when it streams arrays larger than
#: the L2 cache (1.3x for 4 MB, nothing for L2-resident arrays: every NumPy call takes the GIL
#: to start and to finish, and a contended hand-off waits for a thread wake-up; RESULTS.md,
#: issue 17). LeNet's ops (0.3-1.3M elements) measured 1.2-1.6x *slower* split at 2 threads
#: with another process on the second core, so they run inline below 4M elements.
MIN_SPLIT_ELEMENTS = 1 << 22


def host(*arrays) -> bool:
    """Whether every array is a host NumPy array (the helpers' CPU path applies)."""
    return all(type(a) is np.ndarray for a in arrays)


def split(n_items: int, fn, *, elements: int, like=None) -> None:
    """``fn(lo, hi)`` over ``range(n_items)``: on this thread, or over the threads of
    ``parallel_for`` when the work streams ``elements`` >= :data:`MIN_SPLIT_ELEMENTS`."""
    if elements < MIN_SPLIT_ELEMENTS or n_items < 2:
        fn(0, n_items)
        return
    parallel_for(n_items, fn, item_size=max(1, elements // n_items), like=like)


def batch_first(a, out=None):
    """``a.T`` of a 2-D (M, N) array as a C-contiguous (N, M) array (into ``out``)."""
    m, n = a.shape
    if out is None:
        out = np.empty((n, m), dtype=a.dtype)
    if not host(a) or m <= TILE_ROWS:
        out[...] = a.T
        return out
    tiles = -(-m // TILE_ROWS)

    def run(lo: int, hi: int) -> None:
        for t in range(lo, hi):
            r0 = t * TILE_ROWS
            out[:, r0 : r0 + TILE_ROWS] = a[r0 : r0 + TILE_ROWS].T

    split(tiles, run, elements=2 * a.size, like=a)
    return out


def batch_last(a, out=None):
    """``a.T`` of a 2-D (N, M) array as a C-contiguous (M, N) array."""
    n, m = a.shape
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    if not host(a):
        out[...] = a.T
        return out

    def run(lo: int, hi: int) -> None:
        out[lo:hi] = a[:, lo:hi].T

    split(m, run, elements=2 * a.size, like=a)
    return out


def copy_rows(dst, src, axis: int) -> None:
    """``dst[...] = src`` (same shape), split along ``axis`` for large copies."""
    if not host(dst, src):
        dst[...] = src
        return
    lead = (slice(None),) * axis

    def run(lo: int, hi: int) -> None:
        dst[(*lead, slice(lo, hi))] = src[(*lead, slice(lo, hi))]

    split(dst.shape[axis], run, elements=2 * dst.size, like=(dst, src))
