"""Intra-op parallelism on the CPU: ``parallel_for`` over contiguous blocks on a thread pool.

NumPy releases the GIL inside its ufunc loops, reductions and copies, so several Python
threads that each run NumPy on a *different block* of a big array use several cores. An op
splits its work into blocks along an axis whose items are computed independently (rows of a
row-wise softmax, elements of an elementwise chain, heads of attention) and writes each block
into a preallocated output::

    out = np.empty_like(x)

    def block(start, stop):
        np.tanh(x[start:stop], out=out[start:stop])

    parallel_for(len(x), block, item_size=x[0].size)

**Determinism.** Every item is computed by the same NumPy calls on the same values whatever
the block boundaries, and reductions run only along axes that are not split, so results are
bit-identical for any thread count (tests check 1-4 threads on shapes that split unevenly).

**When it runs inline** (``fn(0, n_items)`` on the calling thread, no thread involved):

* with one thread (``set_num_threads(1)``, or a 1-core machine);
* when each block would hold fewer than ``min_items`` items. By default ``min_items`` is
  ``ceil(MIN_BLOCK_ELEMENTS / item_size)``: ``item_size`` is the number of array elements one
  item touches, and :data:`MIN_BLOCK_ELEMENTS` is measured (see below);
* for arrays that are not NumPy arrays (``like=``): on CuPy and the simulated ``sim`` device,
  the device is the parallelism, and host threads would only contend for its queue;
* when called from inside a block (a pool worker, or the caller while it runs its own block):
  no nested parallelism, so an op built from parallel ops never oversubscribes the pool.

**The pool** is created on the first call that runs in parallel (``import glassnet`` starts no
thread) and reused: ``num_threads() - 1`` worker threads, and the calling thread works too.
Up to :data:`BLOCKS_PER_THREAD` blocks per thread are handed out first come first served, so
on a machine whose other cores are busy the caller does the blocks a pool thread does not get
to, instead of waiting for it (a static split measured up to 2x slower than inline there).
Its size comes from ``GLASSNET_NUM_THREADS``, else ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` (so a process pinned to one BLAS thread is
pinned here too), else the CPUs this process may run on (``os.sched_getaffinity``).
``set_num_threads(n)`` (``glassnet.set_num_threads``, as ``torch.set_num_threads``) changes it
and also OpenBLAS's thread count, so one knob sets both.

**Threads and safety.** glassnet's model is one training thread. ``parallel_for`` may be called
from several threads at once (the pool is a ``concurrent.futures.ThreadPoolExecutor``, which is
thread-safe; the calls then share its workers), but ``set_num_threads`` while another thread is
inside ``parallel_for`` is not supported. After ``os.fork`` the child makes a fresh pool.
Exceptions raised by any block propagate to the caller after every block has finished.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from glassnet.backend import mkl as _mkl

__all__ = [
    "MIN_BLOCK_ELEMENTS",
    "blocks",
    "in_parallel_region",
    "num_threads",
    "parallel_for",
    "one_blas_thread",
    "product",
    "set_num_threads",
    "threads",
]

#: The least work, in array elements, for which a block is worth a thread hand-off. Measured on
#: a 2-core Zen 4 (docs/performance.md, "Threads"): waking a pool thread and joining it costs
#: about 20-40 us, and NumPy's float32 elementwise ufuncs run at 0.3-10 ns per element, so a
#: block of 64Ki elements (about 20 us of the cheapest work, far more of exp/erf) is where
#: splitting starts to pay.
MIN_BLOCK_ELEMENTS = 1 << 16

#: Blocks per thread: more blocks balance the load when a core is busy with another process,
#: at a few microseconds of Python per block.
BLOCKS_PER_THREAD = 4

#: A matrix product of fewer multiply-adds (M K N) than this runs on one OpenBLAS thread
#: (:func:`product`): below it, handing half of the product to a second BLAS thread costs
#: more than it saves (measured: docs/performance.md, "Threads"). 2^22, not 2^21: after a
#: threaded product OpenBLAS's worker spins on the other core (``OPENBLAS_THREAD_TIMEOUT``),
#: where glassnet's pool then waits for it; LeNet's 64x400x120 products (3.1M) on one thread
#: took the W2 step at 2 threads from 5.0-5.4 to 4.5-4.7 ms (RESULTS.md, issue 17, third
#: session).
SMALL_PRODUCT = 1 << 22

_ENV_VARS = ("GLASSNET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_state = {"threads": None, "pool": None, "pool_size": 0, "pid": 0}
_lock = threading.Lock()
_local = threading.local()


def _default_threads() -> int:
    for var in _ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def num_threads() -> int:
    """The number of threads ops may use on the CPU (like ``torch.get_num_threads``)."""
    count = _state["threads"]
    if count is None:
        count = _state["threads"] = _default_threads()
    return count


def set_num_threads(count: int) -> None:
    """Use ``count`` threads for intra-op parallelism on the CPU, and in OpenBLAS.

    Like ``torch.set_num_threads``: one setting for glassnet's own parallel ops and for the
    BLAS behind matrix products (when NumPy's BLAS is OpenBLAS; others keep their own setting).
    ``count=1`` runs everything on the calling thread.

    >>> import glassnet as gn
    >>> before = gn.get_num_threads()
    >>> gn.set_num_threads(1); gn.get_num_threads()
    1
    >>> gn.set_num_threads(before)
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(
            f"set_num_threads expects a positive int, got {count!r}; "
            "use 1 to run every op on the calling thread"
        )
    count = int(count)
    with _lock:
        _state["threads"] = count
        if _state["pool"] is not None and _state["pool_size"] != count - 1:
            _state["pool"].shutdown(wait=True)
            _state["pool"] = None
    _set_blas_threads(count)


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` threads (glassnet and OpenBLAS), then restore the old count.

    >>> import glassnet as gn
    >>> with gn.backend.parallel.threads(1):
    ...     gn.get_num_threads()
    1
    """
    before = num_threads()
    blas_before = _get_blas_threads()
    set_num_threads(count)
    try:
        yield
    finally:
        set_num_threads(before)
        if blas_before is not None:
            _set_blas_threads(blas_before)


def in_parallel_region() -> bool:
    """True inside a block of ``parallel_for`` (where nested calls run inline)."""
    return getattr(_local, "inside", False)


def blocks(n_items: int, n_blocks: int) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into ``n_blocks`` contiguous ``(start, stop)`` blocks whose
    sizes differ by at most one (the first ``n_items % n_blocks`` get one more)."""
    base, extra = divmod(n_items, n_blocks)
    out, start = [], 0
    for i in range(n_blocks):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def parallel_for(
    n_items: int,
    fn: Callable[[int, int], object],
    *,
    item_size: int = 1,
    min_items: int | None = None,
    like=None,
    single_blas: bool = False,
) -> None:
    """Call ``fn(start, stop)`` on contiguous blocks covering ``range(n_items)``, in parallel.

    Each index is in exactly one block; ``fn`` must write its results into preallocated
    outputs (blocks run concurrently, in no particular order) and must not depend on where the
    blocks start. Returns when every block is done; the first exception raised by a block
    (in block order) is re-raised.

    Args:
        n_items: how many items (rows, heads, elements) there are.
        fn: called as ``fn(start, stop)``; its return value is ignored.
        item_size: array elements one item touches (a row's length), to size blocks.
        min_items: the fewest items worth a block of their own; default
            ``ceil(MIN_BLOCK_ELEMENTS / item_size)``.
        like: an array (or a tuple of arrays) the work reads; when any is not a NumPy array
            (CuPy, sim), the call runs inline.
        single_blas: the blocks call BLAS (matrix products): while they run in parallel,
            OpenBLAS uses one thread, so the blocks' own threads are the only ones (two
            levels of threads on the same cores were measured up to 10x slower on a busy
            machine).
    """
    n_items = int(n_items)
    if n_items <= 0:
        return
    count = num_threads()
    if count > 1 and not getattr(_local, "inside", False) and _host_arrays(like):
        if min_items is None:
            min_items = -(-MIN_BLOCK_ELEMENTS // max(1, int(item_size)))
        count = min(count, n_items // max(1, int(min_items)))
    else:
        count = 1
    if count <= 1:
        before = getattr(_local, "inside", False)
        _local.inside = True
        try:
            fn(0, n_items)
        finally:
            _local.inside = before
        return
    # a few blocks per thread, so that a thread that gets no core leaves its share to others
    parts = blocks(n_items, min(count * BLOCKS_PER_THREAD, n_items // max(1, int(min_items))))
    pool = _pool(count - 1)
    blas_before = _get_blas_threads() if single_blas else None
    if blas_before is not None and blas_before != 1:
        _set_blas_threads(1)
    try:
        _run_blocks(pool, fn, parts, count - 1)
    finally:
        if blas_before is not None and blas_before != 1:
            _set_blas_threads(blas_before)


def _run_blocks(pool, fn, parts, helpers: int) -> None:
    """Run the blocks ``parts`` on the caller and up to ``helpers`` pool threads.

    Blocks are taken from a shared counter, first come first served: on a busy machine, where
    a pool thread may wait for a core, the caller takes the blocks the pool thread has not
    reached, and a pool task that has not started by then is cancelled. The caller never
    waits for a core that is not there, so a split op costs about what it costs inline
    instead of up to twice that. Re-raises the error of the first failing block.
    """
    taken = itertools.count()
    errors: list = []

    def work() -> None:
        before = getattr(_local, "inside", False)
        _local.inside = True
        try:
            for i in taken:  # next() on a count is atomic under the GIL
                if i >= len(parts) or errors:
                    return
                try:
                    fn(*parts[i])
                except BaseException as error:  # noqa: BLE001 - re-raised by the caller
                    errors.append((i, error))
                    return
        finally:
            _local.inside = before

    futures = [pool.submit(work) for _ in range(helpers)]
    work()
    for future in futures:
        if not future.cancel():
            future.result()
    if errors:
        raise min(errors, key=lambda e: e[0])[1]


def _host_arrays(like) -> bool:
    if like is None:
        return True
    if isinstance(like, (tuple, list)):
        return all(type(a) is np.ndarray or np.isscalar(a) or a is None for a in like)
    return type(like) is np.ndarray


def _pool(workers: int) -> ThreadPoolExecutor:
    pool = _state["pool"]
    if pool is not None and _state["pool_size"] >= workers and _state["pid"] == os.getpid():
        return pool
    with _lock:
        pool = _state["pool"]
        if pool is None or _state["pool_size"] < workers or _state["pid"] != os.getpid():
            if pool is not None and _state["pid"] == os.getpid():
                pool.shutdown(wait=True)
            # A forked child inherits the parent's pool object but none of its threads: it
            # is dropped (never shut down here: its locks may be held by threads that are gone).
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glassnet")
            _state.update(pool=pool, pool_size=workers, pid=os.getpid())
    return pool


# -- OpenBLAS ------------------------------------------------------------------------------
_BLAS: dict = {}


def _openblas_functions():
    """(set, get) of the OpenBLAS that NumPy loaded, found like threadpoolctl does, or None."""
    if "funcs" in _BLAS:
        return _BLAS["funcs"]
    import ctypes

    funcs = None
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    except OSError:
        paths = []
    for path in paths:
        if funcs is not None or not path.startswith("/"):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "")):
            setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                funcs = (setter, getter)
                break
    _BLAS["funcs"] = funcs
    return funcs


_blas_switch = threading.Lock()


def product(a, b, out=None):
    """``a @ b`` of 2-D arrays, the products of linear layers and ``matmul``; into ``out`` when
    given (a C-contiguous array of the result's shape and dtype), which is returned.

    With ``glassnet[mkl]`` (:mod:`glassnet.backend.mkl`), float32/float64 host products of at
    least ``mkl.MIN_MACS`` multiply-adds run through sequential MKL: one call at one thread,
    in blocks on this pool from :data:`SPLIT_MACS` on several; mid-size ones on several
    threads stay with NumPy's OpenBLAS. Otherwise NumPy's ``a @ b``, where a product of fewer
    than :data:`SMALL_PRODUCT` multiply-adds runs on one OpenBLAS thread
    (:func:`one_blas_thread`).

    OpenBLAS splits products from 64^3 multiply-adds on; for the small products of a small
    model (an MLP's 64x128 by 128x128) the second thread's wake-up and join cost more than
    its half of the work, and on a busy machine it waits for a core (a 64x128x128 product
    measured 170-220 us on 2 threads, 30 us on 1, at load average 6).

    >>> import numpy as np
    >>> product(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    if type(a) is not np.ndarray or a.ndim != 2 or b.ndim != 2:
        return _matmul(a, b, out)
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    region = getattr(_local, "region", None)  # backend/blas_region.py
    if region is not None and getattr(_local, "inside", False):
        region = None  # inside a block the block's BLAS count holds (parallel_for)
    if region is not None and macs >= SMALL_PRODUCT:
        region.large = True
        region.restore()  # a larger product sees the thread count as it was
    if macs >= _mkl.MIN_MACS:
        # MKL: one call on one thread (or inside a block); split over the pool when the
        # product is large; between, NumPy's OpenBLAS with its own threads (see SPLIT_MACS)
        if _mkl.threaded():  # one call on MKL's OpenMP threads (shared with the kernels)
            inside = in_parallel_region()
            res = _mkl.gemm(a, b, out=out, threads=1 if inside else _product_threads())
        elif in_parallel_region() or _product_threads() == 1:
            res = _mkl.gemm(a, b, out=out)
        elif macs >= SPLIT_MACS:
            res = _mkl.gemm(a, b, _split_product, out=out)
        else:
            res = None
        if res is not None:
            return res
    if macs < SMALL_PRODUCT and (_BLAS.get("seen") or _get_blas_threads() or 1) > 1:
        if region is None or not region.sticky:
            with one_blas_thread(0):
                return _matmul(a, b, out)
        region.one_thread()  # and it stays so until the region's end
    return _matmul(a, b, out)


def _matmul(a, b, out):
    return a @ b if out is None else np.matmul(a, b, out=out)


#: The fewest output rows (or columns) in a block of a product split over the pool: MKL's
#: sequential GEMM on 256 of 2048 rows runs as fast per row as on all of them, on 64 rows
#: 15-20% slower (measured, docs/performance.md "Threads").
PRODUCT_BLOCK = 128

#: On several threads, the fewest multiply-adds of a product that MKL runs in blocks on the
#: pool; smaller ones go to NumPy's OpenBLAS and its own threads. A pool thread that slept
#: takes 50-100 us to wake on an idle VM, while OpenBLAS's threads spin between products, so
#: for mid-size products OpenBLAS's two threads win (idle 2-core VM, 2 threads: 128x784 by
#: 784x256 0.26 ms against 0.33 split; a W1 step 2.1-2.2 ms against 2.8-3.1); in a
#: Transformer step the split MKL products win (W3 125-129 ms against 133-144).
SPLIT_MACS = 1 << 25


def _product_threads() -> int:
    """Threads for an MKL product: glassnet's count, capped by OpenBLAS's where NumPy has it,
    so that one BLAS count governs products whichever library runs them (``set_num_threads``
    sets both; ``glassnet train`` on a busy machine, ``OPENBLAS_NUM_THREADS=1``: one call)."""
    count = num_threads()
    region = getattr(_local, "region", None)  # a blas_region's switch does not count
    blas = (region and region.count) or _BLAS.get("seen") or _get_blas_threads()
    return min(count, blas) if blas else count  # blas None: no OpenBLAS


def _split_product(n_items: int, fn, rows: bool) -> None:
    """Blocks of a product's output rows or columns on the pool (:func:`backend.mkl.gemm`)."""
    count = _product_threads()
    size = max(PRODUCT_BLOCK, -(-n_items // (count * BLOCKS_PER_THREAD)))
    if n_items < 2 * size:  # e.g. 128 rows on 2 threads: 2 blocks of 64
        size = -(-n_items // count)
    parallel_for(n_items, fn, min_items=size)


class _OneBlasThread:
    """The context of :func:`one_blas_thread` (a class: a generator-based context manager
    costs about a microsecond per product, a tenth of a small product's time)."""

    __slots__ = ("count", "switch")

    def __init__(self, macs: int) -> None:
        self.switch = macs < SMALL_PRODUCT and not getattr(_local, "inside", False)
        self.count = None

    def __enter__(self) -> None:
        if self.switch:
            _blas_switch.acquire()  # one switch at a time: each restores the count it found
            count = _get_blas_threads()
            if count is not None and count > 1:
                _set_blas_threads(1)
                self.count = count

    def __exit__(self, *exc) -> None:
        if self.switch:
            try:
                if self.count is not None:
                    _set_blas_threads(self.count)
            finally:
                _blas_switch.release()


def one_blas_thread(macs: int) -> _OneBlasThread:
    """``with one_blas_thread(macs):`` runs the block's matrix products on one OpenBLAS
    thread when each of them has fewer than :data:`SMALL_PRODUCT` multiply-adds (``macs``);
    the thread count is restored after. A no-op for larger products, inside a
    ``parallel_for`` block (the block already chose its threads), or without OpenBLAS."""
    return _OneBlasThread(macs)


def _get_blas_threads() -> int | None:
    funcs = _openblas_functions()
    if funcs is None:
        return None
    # "seen": the count as glassnet last read or set it, so that product() at one thread
    # costs no foreign call (a ctypes call per product was 4% of a small MLP's step); a
    # switch re-reads the real count before it changes anything
    count = _BLAS["seen"] = int(funcs[1]())
    return count


def _set_blas_threads(count: int) -> None:
    funcs = _openblas_functions()
    if funcs is not None:
        funcs[0](int(count))
        _BLAS["seen"] = int(count)


def _reset_for_tests(count: int | None = None) -> None:
    """Forget the thread count (re-read from the environment) and the pool; for tests."""
    with _lock:
        if _state["pool"] is not None and _state["pid"] == os.getpid():
            _state["pool"].shutdown(wait=True)
        _state.update(threads=count, pool=None, pool_size=0, pid=0)
