"""First-order forward + backward of a few heavy ops, for instruction counts or wall time.

    python benchmarks/bench_op_backward.py --op gelu --iters 3          # run, print nothing
    python benchmarks/bench_op_backward.py --op gelu --time --reps 20   # min wall time (ms)
                                                     # and minor page faults per step

Under ``valgrind --tool=callgrind`` run it twice, ``--iters 1`` and ``--iters 3``, with
``PYTHONHASHSEED=0``: half the difference of the two totals is the instructions of one
forward + backward, without the import (repeatable under machine load, unlike wall time).
Instruction counts miss what fresh large temporaries cost (memory traffic, and the kernel's
page faults when NumPy maps a new multi-MB buffer): add ``--cache-sim=yes`` for simulated
cache misses; ``--time`` also prints the minor page faults per step, which are repeatable.
Pick the tree to measure with ``PYTHONPATH=<tree>/src``.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import glassnet as gn
import glassnet.functional as F


def make(op: str):
    """A closure running one forward + backward of ``op`` at the benchmark's shapes."""
    rng = np.random.default_rng(0)
    if op == "gelu":
        x = gn.tensor(rng.standard_normal((16, 128, 512), dtype=np.float32), requires_grad=True)
        return lambda: F.gelu(x).sum().backward()
    if op == "ce":
        x = gn.tensor(rng.standard_normal((2048, 65), dtype=np.float32), requires_grad=True)
        t = gn.tensor(rng.integers(0, 65, 2048))
        return lambda: F.cross_entropy(x, t).backward()
    if op == "sdpa":
        q, k, v = (
            gn.tensor(rng.standard_normal((16, 4, 128, 32), dtype=np.float32), requires_grad=True)
            for _ in range(3)
        )
        return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    if op == "ln":
        x = gn.tensor(rng.standard_normal((2048, 128), dtype=np.float32), requires_grad=True)
        w = gn.tensor(np.ones(128, np.float32), requires_grad=True)
        b = gn.tensor(np.zeros(128, np.float32), requires_grad=True)
        return lambda: F.layer_norm(x, (128,), w, b).sum().backward()
    raise SystemExit(f"unknown op {op!r}: gelu, ce, sdpa, ln")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", required=True)
    parser.add_argument("--iters", type=int, default=1)
    parser.add_argument("--time", action="store_true", help="print the min wall time in ms")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    step = make(args.op)
    step()  # warm up (allocator, caches)
    if not args.time:
        for _ in range(args.iters):
            step()
        return
    best, faults = float("inf"), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(args.reps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / args.reps
    print(f"{args.op} {best * 1e3:.3f} ms (min of {args.reps}), {faults:.0f} page faults/step")


if __name__ == "__main__":
    main()
