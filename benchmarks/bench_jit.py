"""Fused Numba kernels (glassnet[jit]) against the NumPy path, per op at W3 sizes and per step.

Each case runs the same glassnet op forward + backward (or optimizer step) with the kernels
on and off (``glassnet.backend.jit.set_enabled``), alternating on/off block by block inside
one process, at each thread count; the figure is the minimum over the blocks of the median
of each block (the machine is shared: minima are the least noisy statistic), for wall time
and for this process's CPU time.

    PYTHONPATH=src python benchmarks/bench_jit.py [--threads 1 2] [--repeats 7] [--step]

Threads: ``glassnet.backend.parallel.threads(n)`` per thread count (glassnet's threads, the
kernels' and OpenBLAS's); both paths run as glassnet runs them at that count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np


def _cases(step: bool):
    import glassnet as gn
    import glassnet.functional as F

    rng = np.random.default_rng(0)

    def tensor(shape, scale=1.0):
        data = (rng.standard_normal(shape) * scale).astype(np.float32)
        return gn.tensor(data, requires_grad=True)

    x_gelu = tensor((16, 128, 512))
    g_gelu = gn.tensor(rng.standard_normal((16, 128, 512)).astype(np.float32))

    def gelu():
        x_gelu.grad = None
        F.gelu(x_gelu).backward(g_gelu)

    x_sm = tensor((16, 4, 128, 128), 3.0)
    g_sm = gn.tensor(rng.standard_normal((16, 4, 128, 128)).astype(np.float32))

    def softmax():
        x_sm.grad = None
        F.softmax(x_sm, dim=-1).backward(g_sm)

    q, k, v = (tensor((16, 4, 128, 32)) for _ in range(3))
    g_att = gn.tensor(rng.standard_normal((16, 4, 128, 32)).astype(np.float32))

    def attention():
        for t in (q, k, v):
            t.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g_att)

    x_ln = tensor((16, 128, 128))
    w_ln, b_ln = tensor((128,)), tensor((128,))
    g_ln = gn.tensor(rng.standard_normal((16, 128, 128)).astype(np.float32))

    def layer_norm():
        for t in (x_ln, w_ln, b_ln):
            t.grad = None
        F.layer_norm(x_ln, (128,), w_ln, b_ln).backward(g_ln)

    sys.path.insert(0, os.path.dirname(__file__))
    import train_workloads as tw

    cfg = tw.config("W3")
    model = tw.build_glassnet("W3", cfg)
    params = list(model.parameters())
    for p in params:
        p.grad = gn.tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-2)
    opt = gn.optim.AdamW(params, lr=3e-4, weight_decay=0.01)

    def adamw():
        opt.step()

    cases = {
        "gelu (16,128,512)": gelu,
        "softmax (16,4,128,128)": softmax,
        "attention causal (16,4,128,32)": attention,
        "layer_norm (16,128,128)": layer_norm,
        f"AdamW {sum(p.numel() for p in params) / 1e3:.0f}K params": adamw,
    }
    if step:
        step_fn = tw.glassnet_step_fn("W3", cfg, model)
        pool = [(gn.tensor(a), gn.tensor(b)) for a, b in tw.make_pool("W3", cfg)]
        state = {"i": 0}

        def w3_step():
            x, y = pool[state["i"] % len(pool)]
            state["i"] += 1
            step_fn(x, y)

        cases["W3 step"] = w3_step
    return cases


def _block(fn, calls: int) -> tuple:
    """(median wall s, median CPU s of this process) per call over ``calls`` calls."""
    wall, cpu = [], []
    for _ in range(calls):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=7, help="on/off blocks per case")
    ap.add_argument("--calls", type=int, default=5, help="calls per block")
    ap.add_argument("--step", action="store_true", help="also time the whole W3 step")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(max(args.threads))
    from glassnet.backend import jit, parallel

    if not jit.available():
        sys.exit("bench_jit: Numba is not installed (pip install glassnet[jit])")
    t = time.perf_counter()
    cases = _cases(args.step)
    jit.set_enabled(True)
    for fn in cases.values():  # first calls: compile (or load from the cache)
        fn()
    print(f"set-up and first calls with the kernels: {time.perf_counter() - t:.2f} s")
    print("| op (fwd + bwd) | threads | NumPy wall ms | kernel wall ms | kernel / NumPy | "
          "NumPy CPU ms | kernel CPU ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for threads in args.threads:
        with parallel.threads(threads):
            _measure(cases, threads, args)
    jit.set_enabled(None)


def _measure(cases: dict, threads: int, args) -> None:
    """One table row per case: kernels off and on, alternating block by block."""
    from glassnet.backend import jit

    for name, fn in cases.items():
        best = {flag: [float("inf")] * 2 for flag in (False, True)}
        calls = 3 if name == "W3 step" else args.calls
        for _ in range(args.repeats):
            for flag in (False, True):
                jit.set_enabled(flag)
                fn()
                best[flag] = [min(a, b) for a, b in zip(best[flag], _block(fn, calls))]
        (off, off_cpu), (on, on_cpu) = best[False], best[True]
        print(
            f"| {name} | {threads} | {off * 1e3:.2f} | {on * 1e3:.2f} | {on / off:.2f}x | "
            f"{off_cpu * 1e3:.2f} | {on_cpu * 1e3:.2f} |"
        )


if __name__ == "__main__":
    main()
