"""Training-step speed and memory of glassnet against hand-written NumPy and PyTorch CPU eager.

One command runs the whole suite (issue 7) in a few minutes:

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_train.py            # glassnet + NumPy floor
    PYTHONPATH=src /tmp/torchenv/bin/python benchmarks/bench_train.py  # + PyTorch when importable

Workloads (median ms per full step: forward, loss, backward, optimizer step):
  W1   MLP 784-256-256-10, batch 128, ReLU, cross-entropy, SGD momentum 0.9
  W1s  MLP 64-128-128-10, batch 64, same
  W2   LeNet-5 (conv 6@5x5 pad 2, max-pool, conv 16@5x5, max-pool, 120, 84, 10) on 1x28x28,
       batch 64, Adam
  W3   character GPT: 4 pre-norm GELU Transformer encoder layers with a causal mask, d_model 128,
       4 heads, context 128, batch 16, AdamW
  sweep  W1 at hidden widths 64..2048 and batch sizes 16..1024: effective GFLOP/s (GEMM FLOPs
       of the step / time) against the float32 GEMM rate of this machine, measured in the run

Peers: ``glassnet`` (eager), ``compiled`` (``gn.compile`` capture and replay), ``numpy`` (the
hand-written floor, W1/W1s/sweep) and ``torch`` (skipped when not importable). Each workload
runs in its own subprocess; inside it the peers are interleaved block by block (so machine noise
hits all alike), with data drawn from a fixed pool of batches; wall and CPU (process) time per
step are both reported. Peak RSS is measured per (workload, peer) in a fresh subprocess.
The correctness check trains every peer from identical weights on identical data and compares
the first losses.

Threads: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS are set to ``--threads``
(default: OPENBLAS_NUM_THREADS if set, else 1) for every peer, and torch.set_num_threads alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

PEERS = ("glassnet", "compiled", "numpy", "torch")
WORKLOADS = ("W1", "W1s", "W2", "W3")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """VmHWM, the peak RSS of this process image (ru_maxrss would include the parent's RSS
    at fork time: Linux keeps it across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


from train_workloads import POOL, config, loss_value, make_peer  # noqa: E402


# -- workers (run in subprocesses) --------------------------------------------------------------
def worker_time(workload: str, peers: list, args) -> dict:
    """Interleaved timing of every peer on one workload, plus the correctness check."""
    cfg = config(workload, args.width, args.batch)
    out = {"workload": workload, "cfg": {k: v for k, v in cfg.items()}, "peers": {}}
    # correctness: identical weights and data; losses of the first steps
    losses = {}
    for peer in peers:
        step, pool = make_peer(peer, workload, cfg)
        losses[peer] = [loss_value(step(*pool[i % POOL])) for i in range(args.check_steps)]
    out["losses"] = losses
    # timing: fresh peers, warm-up, then blocks of steps round-robin
    runners = {p: make_peer(p, workload, cfg) for p in peers}
    counters = dict.fromkeys(peers, 0)
    wall = {p: [] for p in peers}
    cpu = {p: [] for p in peers}
    for p, (step, pool) in runners.items():
        for _ in range(args.warmup):
            step(*pool[counters[p] % POOL])
            counters[p] += 1
    deadline = time.perf_counter() + args.budget
    for _ in range(args.rounds):
        for p, (step, pool) in runners.items():
            for _ in range(args.block):
                batch = pool[counters[p] % POOL]
                counters[p] += 1
                t0, c0 = time.perf_counter(), time.process_time()
                step(*batch)
                wall[p].append(time.perf_counter() - t0)
                cpu[p].append(time.process_time() - c0)
        if time.perf_counter() > deadline:
            break
    for p in peers:
        out["peers"][p] = {
            "wall_ms": 1e3 * statistics.median(wall[p]),
            "cpu_ms": 1e3 * statistics.median(cpu[p]),
            "steps": len(wall[p]),
        }
    if "compiled" in runners:  # the compiled peer must really replay, not fall back to eager
        fast = runners["compiled"][0]
        if fast.replays == 0:
            raise RuntimeError(f"{workload}: gn.compile did not replay: {fast.reason}")
        out["peers"]["compiled"]["replays"] = fast.replays
    return out


def worker_mem(workload: str, peer: str, args) -> dict:
    """Peak RSS of one peer training one workload, and its growth over the post-import RSS."""
    import numpy  # noqa: F401

    import glassnet  # noqa: F401

    if peer == "torch":
        import torch  # noqa: F401
    base = _rss_mb()
    cfg = config(workload)
    step, pool = make_peer(peer, workload, cfg)
    for i in range(args.mem_steps):
        step(*pool[i % POOL])
    peak = _peak_rss_mb()
    return {"peak_mb": peak, "train_mb": peak - base, "import_mb": base}


def gemm_rate() -> float:
    """Best float32 GEMM rate of NumPy (GFLOP/s) on 1024 x 1024 matrices, these threads."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    best = float("inf")
    a @ a
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024**3 / best / 1e9


def mlp_flops(cfg: dict) -> float:
    """GEMM FLOPs of one step: forward 2BIO per layer, dW 2BIO each, dx 2BIO except layer 1."""
    s, b = cfg["sizes"], cfg["batch"]
    per = [2 * b * i * o for i, o in zip(s[:-1], s[1:])]
    return 2 * sum(per) + sum(per[1:])


def worker_sweep(args) -> dict:
    return {"gemm_gflops": gemm_rate()}


# -- the driver -------------------------------------------------------------------------------
def run_worker(argv: list, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *argv],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"worker {argv} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def loss_check(losses: dict) -> list:
    """Max |loss - glassnet loss| / |glassnet loss| over the checked steps, per peer."""
    ref = losses["glassnet"]
    rows = []
    for peer, vals in losses.items():
        if peer == "glassnet":
            continue
        rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(vals, ref))
        exact = vals == ref
        rows.append((peer, rel, exact))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", 1)))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--block", type=int, default=5, help="steps per peer per round")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds of timing per workload")
    ap.add_argument("--check-steps", type=int, default=5)
    ap.add_argument("--mem-steps", type=int, default=10)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--no-mem", action="store_true")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    ap.add_argument("--worker", choices=["time", "mem", "sweep"], help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--width", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker == "time":
        print(json.dumps(worker_time(args.workload, args.peers.split(","), args)))
        return
    if args.worker == "mem":
        print(json.dumps(worker_mem(args.workload, args.peer, args)))
        return
    if args.worker == "sweep":
        print(json.dumps(worker_sweep(args)))
        return

    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    peers = [p for p in args.peers.split(",") if p]
    if "torch" in peers and not have_torch():
        print("# PyTorch is not importable here: the torch peer is skipped")
        peers.remove("torch")
    torch_version = "-"
    if "torch" in peers:
        import torch

        torch_version = torch.__version__
    import numpy as np

    import glassnet as gn

    common = ["--rounds", str(args.rounds), "--block", str(args.block), "--warmup",
              str(args.warmup), "--budget", str(args.budget), "--check-steps",
              str(args.check_steps)]  # fmt: skip
    t_start = time.perf_counter()
    gemm = run_worker(["--worker", "sweep"], env)["gemm_gflops"]
    print(f"## bench_train: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, glassnet "
          f"{gn.__version__}, torch {torch_version}, BLAS threads {args.threads}")  # fmt: skip
    print(f"float32 GEMM rate (NumPy, 1024^3): {gemm:.1f} GFLOP/s\n")
    report = {"threads": args.threads, "gemm_gflops": gemm, "torch": torch_version,
              "workloads": {}, "sweep": [], "memory": {}}  # fmt: skip

    print("Ratios use CPU time (robust to other jobs on a shared machine).\n")
    print("| workload | peer | wall ms/step | CPU ms/step | vs torch | vs numpy | loss check |")
    print("|---|---|---|---|---|---|---|")
    for w in args.workloads.split(","):
        wp = [p for p in peers if p != "numpy" or w in ("W1", "W1s")]
        res = run_worker(
            ["--worker", "time", "--workload", w, "--peers", ",".join(wp), *common], env
        )
        report["workloads"][w] = res
        checks = {p: (rel, exact) for p, rel, exact in loss_check(res["losses"])}
        figs = res["peers"]
        for p in wp:
            f = figs[p]
            vs_t = ratio(f["cpu_ms"], figs["torch"]["cpu_ms"]) if "torch" in figs else "-"
            vs_n = ratio(f["cpu_ms"], figs["numpy"]["cpu_ms"]) if "numpy" in figs else "-"
            if p in checks:
                rel, exact = checks[p]
                chk = "bit-identical" if exact else f"max rel diff {rel:.1e}"
            else:
                chk = "reference"
            print(
                f"| {w} | {p} | {f['wall_ms']:.3f} | {f['cpu_ms']:.3f} | {vs_t} | {vs_n} | {chk} |"
            )
        sys.stdout.flush()

    if not args.no_sweep:
        print(f"\nScaling sweep (W1 shapes; effective GFLOP/s = GEMM FLOPs / CPU time per step; "
              f"machine GEMM rate {gemm:.1f})\n")  # fmt: skip
        print("| width | batch | peer | CPU ms/step | GFLOP/s | % of GEMM rate |")
        print("|---|---|---|---|---|---|")
        shapes = [(w, 128) for w in (64, 128, 256, 512, 1024, 2048)]
        shapes += [(256, b) for b in (16, 64, 256, 1024) if b != 128]
        sweep_args = ["--rounds", "4", "--block", "3", "--warmup", "2", "--budget", "15",
                      "--check-steps", "1"]  # fmt: skip
        for width, batch in shapes:
            argv = ["--worker", "time", "--workload", "W1", "--peers", ",".join(peers),
                    "--width", str(width), "--batch", str(batch), *sweep_args]  # fmt: skip
            res = run_worker(argv, env)
            flops = mlp_flops(config("W1", width, batch))
            for p in peers:
                ms = res["peers"][p]["cpu_ms"]
                gf = flops / (ms / 1e3) / 1e9
                report["sweep"].append({"width": width, "batch": batch, "peer": p, "ms": ms,
                                        "gflops": gf})  # fmt: skip
                print(f"| {width} | {batch} | {p} | {ms:.3f} | {gf:.1f} | {100 * gf / gemm:.0f}% |")
            sys.stdout.flush()

    if not args.no_mem:
        print(
            "\nPeak RSS per workload (MiB; fresh process each; 'training' = peak minus RSS after "
            "imports)\n"
        )
        print("| workload | peer | peak RSS | training | imports | training vs torch |")
        print("|---|---|---|---|---|---|")
        for w in args.workloads.split(","):
            rows = {}
            for p in peers:
                if p == "numpy" and w not in ("W1", "W1s"):
                    continue
                rows[p] = run_worker(["--worker", "mem", "--workload", w, "--peer", p,
                                      "--mem-steps", str(args.mem_steps)], env)  # fmt: skip
            report["memory"][w] = rows
            for p, m in rows.items():
                vs = ratio(m["train_mb"], rows["torch"]["train_mb"]) if "torch" in rows else "-"
                print(f"| {w} | {p} | {m['peak_mb']:.0f} | {m['train_mb']:.1f} | "
                      f"{m['import_mb']:.0f} | {vs} |")  # fmt: skip
    print(f"\nsuite time: {time.perf_counter() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
