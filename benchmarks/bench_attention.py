"""Causal scaled dot-product attention, forward + backward at W3's sizes, three peers.

Peers, each timed in a fresh process of its own (so one peer's threads, caches and allocator
never touch another's), rounds alternating peer by peer:

- ``numpy``: glassnet with the fused kernels off (``GLASSNET_JIT=0``): batched NumPy matmuls
  per batch block on glassnet's threads, the causal two-block path, NumPy softmax;
- ``kernel``: glassnet with ``glassnet[jit]``: the fused Numba kernel (one (batch, head) pair
  start to end per task, the causal triangle skipped, two numbers saved per query row);
- ``torch``: ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)`` (its CPU
  flash kernel), skipped when PyTorch is not installed (it is never a dependency).

Each process warms up, then reports the minimum over ``--calls`` calls; the table gives the
minimum over ``--rounds`` processes. The machine is shared: minima are the least noisy figure.

    PYTHONPATH=src python benchmarks/bench_attention.py [--threads 1 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

SHAPE = (16, 4, 128, 32)  # W3: batch 16, 4 heads, T = 128, head size 32


def _inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(4)]


def _step(peer: str, threads: int):
    """Causal attention forward + backward in ``peer`` (both spell it the same way)."""
    import importlib

    lib = importlib.import_module("torch" if peer == "torch" else "glassnet")
    F = importlib.import_module("torch.nn.functional" if peer == "torch" else "glassnet.functional")
    lib.set_num_threads(threads)
    q, k, v, g = _inputs()
    ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
    grad = lib.tensor(g)

    def step():
        for t in ts:
            t.grad = None
        F.scaled_dot_product_attention(*ts, is_causal=True).backward(grad)

    return step


def run_peer(peer: str, threads: int, calls: int) -> float:
    """Minimum wall ms of one forward + backward in this process."""
    step = _step(peer, threads)
    for _ in range(5):
        step()
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _spawn(peer: str, threads: int, calls: int) -> float | None:
    env = dict(os.environ, GLASSNET_JIT="0" if peer == "numpy" else "1")
    cmd = [sys.executable, __file__, "--peer", peer, "--threads", str(threads)]
    cmd += ["--calls", str(calls)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        if peer == "torch" and "No module named 'torch'" in res.stderr:
            return None
        raise RuntimeError(f"{peer} at {threads} threads failed:\n{res.stderr}")
    return float(res.stdout.split()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--peer", choices=["numpy", "kernel", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:  # a child: time one peer, print its figure
        print(f"{run_peer(args.peer, args.threads[0], args.calls):.3f}")
        return
    peers = ["numpy", "kernel", "torch"]
    print(f"causal attention forward + backward, q k v {SHAPE} float32, min wall ms")
    print("| threads | " + " | ".join(peers) + " | kernel / numpy | kernel / torch |")
    print("|---" * (len(peers) + 3) + "|")
    for threads in args.threads:
        best: dict = {p: float("inf") for p in peers}
        for _ in range(args.rounds):
            for peer in peers:
                ms = _spawn(peer, threads, args.calls)
                best[peer] = None if ms is None else min(best[peer], ms)
        cells = ["-" if best[p] is None else f"{best[p]:.2f}" for p in peers]
        ratio = f"{best['kernel'] / best['numpy']:.2f}x"
        vs_torch = "-" if best["torch"] is None else f"{best['kernel'] / best['torch']:.2f}x"
        print(f"| {threads} | " + " | ".join(cells) + f" | {ratio} | {vs_torch} |")


if __name__ == "__main__":
    main()
