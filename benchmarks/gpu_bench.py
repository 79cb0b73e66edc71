"""Time training steps of W1 (MLP), W2 (a LeNet CNN) and W3 (a small GPT) on an NVIDIA GPU:
glassnet eager, glassnet compiled and PyTorch CUDA eager (when torch with CUDA is installed).
Prints one Markdown table (milliseconds per step, the median of repeats). Run by
benchmarks/gpu_check.sh; it has never run on real hardware from this repository yet.

    python benchmarks/gpu_bench.py [--steps 30] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from train_workloads import build_glassnet, build_torch, config, glassnet_step_fn, make_pool  # noqa: E402

WORKLOADS = (("W1", "MLP 784-256-256-10, batch 128"), ("W2", "CNN (LeNet-5), batch 64"),
             ("W3", "GPT, 4 layers, d 128, ctx 128, batch 16"))  # fmt: skip


def _time(step, pool, sync, steps: int) -> float:
    for x, y in pool[:3]:  # warm-up: kernels compiled, memory pools filled
        step(x, y)
    sync()
    times = []
    for i in range(steps):
        x, y = pool[i % len(pool)]
        start = time.perf_counter()
        step(x, y)
        sync()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def glassnet_ms(workload: str, device: str, steps: int, compiled: bool) -> float:
    import glassnet as gn

    cfg = config(workload)
    model = build_glassnet(workload, cfg).to(device)
    step = glassnet_step_fn(workload, cfg, model)
    if compiled:
        step = gn.compile(step)
    pool = [(gn.tensor(x, device=device), gn.tensor(y, device=device))
            for x, y in make_pool(workload, cfg)]  # fmt: skip
    xp = gn.Device(device).xp

    def sync():
        if hasattr(xp, "cuda"):
            xp.cuda.get_current_stream().synchronize()

    return _time(step, pool, sync, steps)


def torch_ms(workload: str, steps: int):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    cfg = config(workload)
    gmodel = build_glassnet(workload, cfg)  # the same initial weights
    torch.set_default_device("cuda")
    try:
        step = build_torch(workload, cfg, gmodel)
    finally:
        torch.set_default_device("cpu")
    pool = [(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda())
            for x, y in make_pool(workload, cfg)]  # fmt: skip
    return _time(step, pool, torch.cuda.synchronize, steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    rows = []
    for workload, what in WORKLOADS:
        eager = glassnet_ms(workload, args.device, args.steps, compiled=False)
        fast = glassnet_ms(workload, args.device, args.steps, compiled=True)
        ref = torch_ms(workload, args.steps)
        ratio = f"{eager / ref:.2f}x" if ref else "-"
        ref_text = f"{ref:.2f}" if ref else "no torch with CUDA"
        rows.append(f"| {workload} | {what} | {eager:.2f} | {fast:.2f} | {ref_text} | {ratio} |")
    print("| workload | model | glassnet eager ms/step | glassnet compiled ms/step | "
          "PyTorch CUDA eager ms/step | glassnet eager / PyTorch |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
