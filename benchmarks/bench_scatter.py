"""The CPU cost of the deterministic scatter-add (issue 18, item 5) against ``numpy.add.at``.

On a device, glassnet's scatter-adds (the backward of indexing, gather, embedding and
max-unpooling; index_add, scatter_add, scatter_reduce, index_put) take
``glassnet.ops._segment.sorted_scatter_add`` instead of the atomic ``add.at`` while
deterministic algorithms are on. No GPU has been available, so its GPU cost is not measured;
this script runs that same code with NumPy on the CPU, beside ``numpy.add.at`` (the CPU path)
and the embedding's CPU path (sorted runs + ``add.reduceat``), to show how much more work it
is (a sort and ceil(log2 n) vectorized passes). The frameworks alternate repetition by
repetition and the minimum is reported: CPU numbers on a shared machine are noisy.

    python benchmarks/bench_scatter.py [--reps 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from glassnet.ops._segment import sorted_scatter_add
from glassnet.ops.nn import _sorted_scatter_add

RNG = np.random.default_rng(0)


def _cases():
    """(name, output shape, index, gradient, max_run): the scatter of a typical backward."""
    cases = []
    for vocab, dim, n in ((65, 128, 16 * 128), (5000, 256, 32 * 128)):
        ids = RNG.integers(0, vocab, n)
        g = RNG.standard_normal((n, dim)).astype(np.float32)
        cases.append((f"embedding {n} ids -> ({vocab}, {dim})", (vocab, dim), ids, g, None))
    rows = np.arange(256)
    cls = RNG.integers(0, 10, 256)
    cases.append(("gather (256, 10) by class, one per row", (256, 10), (rows, cls),
                  RNG.standard_normal(256).astype(np.float32), 1))  # fmt: skip
    idx = RNG.integers(0, 1000, 100_000)
    cases.append(("x[idx], 100k reads of 1000", (1000,), idx,
                  RNG.standard_normal(100_000).astype(np.float32), None))  # fmt: skip
    plane = RNG.integers(0, 28 * 28, (32 * 16, 14 * 14))
    cases.append(("max_unpool (32, 16, 14x14) -> 28x28", (32 * 16, 28 * 28),
                  (np.arange(32 * 16)[:, None], plane),
                  RNG.standard_normal((32 * 16, 14 * 14)).astype(np.float32), None))  # fmt: skip
    return cases


def _add_at(shape, index, g):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def _reduceat(shape, index, g):
    out = np.zeros(shape, dtype=g.dtype)
    _sorted_scatter_add(out, index, g)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    print("| scatter | numpy add.at (CPU path) | sorted segment sums (device path, on NumPy) "
          "| ratio |")  # fmt: skip
    print("|---|---|---|---|")
    for name, shape, index, g, run in _cases():
        peers = {"add.at": lambda a=(shape, index, g): _add_at(*a),
                 "sorted": lambda a=(g, shape, index, run): sorted_scatter_add(np, *a)}  # fmt: skip
        if name.startswith("embedding"):
            peers["reduceat"] = lambda a=(shape, index, g): _reduceat(*a)
        np.testing.assert_allclose(peers["sorted"](), peers["add.at"](), rtol=1e-4, atol=1e-4)
        best = dict.fromkeys(peers, float("inf"))
        for _ in range(args.reps):
            for key, fn in peers.items():
                start = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - start)
        extra = (
            f" (CPU embedding path: {best['reduceat'] * 1e3:.2f} ms)" if "reduceat" in best else ""
        )
        print(f"| {name} | {best['add.at'] * 1e3:.2f} ms{extra} | {best['sorted'] * 1e3:.2f} ms "
              f"| {best['sorted'] / best['add.at']:.1f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
