"""Optimizer step time: the fused flat-buffer step against the per-parameter loop (A/B).

    python benchmarks/bench_optim.py                  # Adam(W) on W3's parameters, SGD on W1's
    python benchmarks/bench_optim.py --threads 1,2 --blocks 8192,32768,131072

"per-parameter" is ``foreach=False`` (the loop over parameters, one ``update`` each: the code
before the fused step); "fused" is the default. Both run in one process, interleaved repeat by
repeat on the same parameters and gradients; the figure is the median of the repeats (min in
parentheses). Threads: ``glassnet.backend.parallel.set_num_threads`` (glassnet's blocks and
OpenBLAS alike), when the tree has it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from train_workloads import build_glassnet, config  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.optim import fused  # noqa: E402

CASES = {
    "W3 AdamW": ("W3", lambda ps, fe: gn.optim.AdamW(ps, lr=3e-4, weight_decay=0.01, foreach=fe)),
    "W1 SGD": ("W1", lambda ps, fe: gn.optim.SGD(ps, lr=0.01, momentum=0.9, foreach=fe)),
    "W2 Adam": ("W2", lambda ps, fe: gn.optim.Adam(ps, lr=1e-3, foreach=fe)),
}


def setup(case: str, foreach):
    workload, make = CASES[case]
    model = build_glassnet(workload, config(workload))
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    opt = make(params, foreach)

    def step():
        for p, g in zip(params, grads):
            p.grad = gn.from_numpy(g)
        opt.step()

    step()  # the first step makes the state (per parameter in both)
    step()  # the second builds the flat buffers (fused)
    return step, params


def time_ab(case: str, repeats: int, inner: int) -> dict:
    runners = {"per-parameter": setup(case, False), "fused": setup(case, None)}
    times = {k: [] for k in runners}
    for _ in range(repeats):
        for k, (step, _) in runners.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            times[k].append((time.perf_counter() - t0) / inner * 1e3)
    a, b = (runners[k][1] for k in runners)
    same = all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))
    return {k: (statistics.median(v), min(v)) for k, v in times.items()} | {"same": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--blocks", default=str(fused.BLOCK), help="fused block sizes to try")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--inner", type=int, default=10)
    args = ap.parse_args()
    n_params = {}
    print("| case | params | threads | block | per-parameter ms | fused ms | speed-up | same |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(t) for t in args.threads.split(",")):
        try:
            from glassnet.backend.parallel import set_num_threads
        except ImportError:  # a tree without intra-op parallelism
            set_num_threads = None
        if set_num_threads is not None:
            set_num_threads(n)
        elif n != 1:
            print(f"# glassnet has no set_num_threads here: {n} threads skipped")
            continue
        for block in (int(b) for b in args.blocks.split(",")):
            fused.BLOCK = block
            for case in args.cases.split(","):
                if case not in n_params:
                    w = CASES[case][0]
                    ps = list(build_glassnet(w, config(w)).parameters())
                    n_params[case] = f"{sum(p.numel() for p in ps) / 1e3:.0f}K in {len(ps)}"
                r = time_ab(case, args.repeats, args.inner)
                (a, amin), (f, fmin) = r["per-parameter"], r["fused"]
                cells = [case, n_params[case], n, block, f"{a:.3f} ({amin:.3f})",
                         f"{f:.3f} ({fmin:.3f})", f"{a / f:.2f}x", r["same"]]  # fmt: skip
                print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
