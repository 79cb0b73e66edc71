"""Check that an op gives the same bits for any thread count (glassnet.backend.parallel)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from glassnet.backend import parallel

__all__ = ["check_thread_counts"]


def check_thread_counts(
    run: Callable[[], Sequence[np.ndarray]],
    threads: Sequence[int] = (1, 2, 3, 4),
    block_counts: list | None = None,
    name: str = "op",
) -> list:
    """Call ``run()`` (it returns arrays: outputs, gradients) under each thread count and
    assert every count gives the arrays of the first, bit for bit and dtype for dtype.

    ``block_counts``: a list that ``parallel_for`` appends each split's block count to (the
    test suite's ``block_counts`` fixture); then each count above 1 must really have split.
    Returns the results of the first count.

    >>> import numpy as np, glassnet as gn
    >>> res = check_thread_counts(lambda: [gn.tensor(np.arange(4.0)).exp().numpy()], (1, 2))
    >>> float(res[0][0])
    1.0
    """
    results = {}
    for n in threads:
        if block_counts is not None:
            block_counts.clear()
        with parallel.threads(n):
            results[n] = [np.asarray(a) for a in run()]
        if n > 1 and block_counts is not None:
            assert block_counts and max(block_counts) > 1, f"{name}: {n} threads did not split"
    first = results[threads[0]]
    for n in threads[1:]:
        for got, want in zip(results[n], first):
            assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} at {n} threads"
            np.testing.assert_array_equal(got, want, err_msg=f"{name}: {n} threads vs {threads[0]}")
    return first
