"""Data-parallel throughput and MPI all-reduce bandwidth on this machine.

Runs itself under ``mpirun -n R`` for each R in ``--ranks`` (default 1 and 2) and prints:

1. all-reduce time and bandwidth against message size (4 B .. 64 MiB of float32), for the raw
   blocking ``MPI_Allreduce`` and for ``glassnet.distributed.all_reduce`` (non-blocking plus
   polling, which is what gives timeouts and failure notices), with the fitted ring-all-reduce
   constants ``alpha`` (latency per step) and ``beta`` (seconds per byte);
2. training throughput of W1 (MLP 784-256-256-10, batch 128 per rank, ReLU, cross-entropy,
   SGD momentum 0.9) and W3 (character GPT: 4 layers, d_model 128, 4 heads, context 128,
   batch 16 per rank, AdamW, dropout 0) with R ranks: median ms per step, global samples/s,
   and for R > 1 the step time of the same model without DistributedDataParallel (all ranks
   running, so the machine is equally loaded), the time of the gradient all-reduce alone, and
   the overlap fraction ``1 - (t_ddp - t_local) / t_comm``.

    python benchmarks/bench_distributed.py                 # 1 and 2 ranks
    python benchmarks/bench_distributed.py --ranks 1 2 4 --steps 20

Each rank gets ``cores // R`` BLAS threads. Needs mpirun and mpi4py (see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.abspath(__file__)


# -- worker (runs under mpirun) -------------------------------------------------------------
def _median_time(fn, reps: int, barrier=None) -> float:
    times = []
    for _ in range(reps):
        if barrier is not None:
            barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def allreduce_sweep(max_exp: int) -> list[dict]:
    import glassnet.distributed as dist

    rows = []
    comm = dist.comm._W.comm
    for exp in range(2, max_exp + 1, 2):
        nbytes = 2**exp
        buf = np.ones(nbytes // 4, dtype=np.float32)
        reps = int(min(200, max(5, 2e8 / max(nbytes, 1) / 50)))
        row = {"bytes": nbytes, "reps": reps}
        if comm is not None:
            from mpi4py import MPI

            out = np.empty_like(buf)

            def raw(buf=buf, out=out):
                comm.Allreduce(buf, out, op=MPI.SUM)

            def ours(buf=buf):
                dist.all_reduce(buf)

            row["mpi_s"] = _median_time(raw, reps, comm.Barrier)
            row["glassnet_s"] = _median_time(ours, reps, comm.Barrier)
        rows.append(row)
    return rows


def w1_setup():
    import glassnet as gn

    gn.manual_seed(0)
    model = gn.nn.Sequential(
        gn.nn.Linear(784, 256), gn.nn.ReLU(), gn.nn.Linear(256, 256), gn.nn.ReLU(),
        gn.nn.Linear(256, 10),
    )  # fmt: skip
    rng = np.random.default_rng(1)
    pool = [(rng.standard_normal((128, 784)).astype(np.float32), rng.integers(0, 10, 128))
            for _ in range(8)]  # fmt: skip
    return model, lambda params: gn.optim.SGD(params, lr=0.01, momentum=0.9), pool, 128


def w3_setup():
    import glassnet as gn
    from glassnet.models.char import CharTransformer

    gn.manual_seed(0)
    model = CharTransformer(65, context_length=128, d_model=128, num_heads=4, num_layers=4,
                            dropout=0.0)  # fmt: skip
    rng = np.random.default_rng(1)
    pool = []
    for _ in range(4):
        ids = rng.integers(0, 65, (16, 129))
        pool.append((ids[:, :-1], ids[:, 1:]))
    return model, lambda params: gn.optim.AdamW(params, lr=3e-4), pool, 16


def time_training(setup, steps: int, ranks: int, bucket_cap_mb: float, rounds: int = 3) -> dict:
    """Median step time with DistributedDataParallel and, for R > 1, of a second copy of the
    model without it, alternating blocks of steps so that load changes hit both alike."""
    import glassnet as gn
    import glassnet.distributed as dist
    import glassnet.functional as F

    model, make_opt, pool, batch = setup()
    nets = {"ddp": dist.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)}
    if ranks > 1:
        nets["local"] = setup()[0]
    opts = {key: make_opt(net.parameters()) for key, net in nets.items()}

    def step(key, i):
        x, y = pool[i % len(pool)]
        opts[key].zero_grad()
        out = nets[key](gn.tensor(x))
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), gn.tensor(y.reshape(-1)))
        loss.backward()
        opts[key].step()

    times: dict = {key: [] for key in nets}
    waits = []
    for key in nets:
        for i in range(3):
            step(key, i)
    for _ in range(rounds):
        for key in nets:
            dist.barrier()
            for i in range(steps):
                start = time.perf_counter()
                step(key, i)
                times[key].append(time.perf_counter() - start)
                if key == "ddp":
                    waits.append(nets["ddp"].last_wait_seconds)
    ddp = nets["ddp"]
    row = {
        "step_s": statistics.median(times["ddp"]),
        "batch": batch,
        "params": sum(p._data.size for p in model.parameters()),
        "buckets": ddp.bucket_sizes,
    }
    if ranks > 1:
        row["local_step_s"] = statistics.median(times["local"])
        row["wait_s"] = statistics.median(waits)
    ddp.remove_hooks()
    return row


def comm_time(bucket_sizes: list[int], reps: int = 10) -> float:
    """Blocking all-reduce of buffers with the DDP bucket sizes, one after the other."""
    import glassnet.distributed as dist

    buffers = [np.ones(n // 4, np.float32) for n in bucket_sizes]

    def run():
        for b in buffers:
            dist.all_reduce(b)

    return _median_time(run, reps, dist.barrier)


def worker(out: str, steps: int, max_exp: int, bucket_cap_mb: float) -> None:
    import glassnet.distributed as dist

    dist.init(timeout=600)
    ranks = dist.world_size()
    result = {"ranks": ranks, "threads": os.environ.get("OMP_NUM_THREADS"), "workloads": {}}
    if ranks > 1:
        result["allreduce"] = allreduce_sweep(max_exp)
    for name, setup in (("W1", w1_setup), ("W3", w3_setup)):
        try:
            setup()
        except ImportError as exc:  # the char models live in glassnet.models
            result["workloads"][name] = {"skipped": str(exc)}
            continue
        row = time_training(setup, steps, ranks, bucket_cap_mb)
        if ranks > 1:
            row["comm_s"] = comm_time(row["buckets"])
        result["workloads"][name] = row
    if dist.rank() == 0:
        with open(out, "w") as f:
            json.dump(result, f)


# -- driver ---------------------------------------------------------------------------------
def run_ranks(ranks: int, args) -> dict:
    from glassnet.distributed.launch import mpirun_command

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = mpirun_command(ranks, [sys.executable, HERE, "--worker", out, "--steps",
                                     str(args.steps), "--max-exp", str(args.max_exp),
                                     "--bucket-cap-mb", str(args.bucket_cap_mb)])  # fmt: skip
        threads = str(args.threads or max(1, (os.cpu_count() or 1) // ranks))
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   MKL_NUM_THREADS=threads)  # fmt: skip
        subprocess.run(cmd, env=env, check=True, timeout=1800)
        with open(out) as f:
            return json.load(f)


def fit_alpha_beta(rows: list[dict], ranks: int, key: str) -> tuple[float, float]:
    """Least squares of t = 2 (R-1) alpha + 2 (R-1)/R * n * beta over the sweep."""
    n = np.array([r["bytes"] for r in rows], dtype=np.float64)
    t = np.array([r[key] for r in rows], dtype=np.float64)
    design = np.stack([np.full_like(n, 2 * (ranks - 1)), 2 * (ranks - 1) / ranks * n], axis=1)
    # weight by 1/t so that small messages (latency) count as much as large ones (bandwidth)
    coef, *_ = np.linalg.lstsq(design / t[:, None], np.ones_like(t), rcond=None)
    return float(coef[0]), float(coef[1])


def report(results: list[dict]) -> None:
    print(f"machine: {os.cpu_count()} cores; {sys.version.split()[0]}")
    for res in results:
        if "allreduce" not in res:
            continue
        ranks = res["ranks"]
        print(f"\n### All-reduce, {ranks} ranks (float32, median)\n")
        print("| bytes | MPI_Allreduce us | glassnet all_reduce us | bus bandwidth GB/s |")
        print("|---:|---:|---:|---:|")
        for row in res["allreduce"]:
            bus = 2 * (ranks - 1) / ranks * row["bytes"] / row["mpi_s"] / 1e9
            print(f"| {row['bytes']:,} | {row['mpi_s'] * 1e6:.1f} | "
                  f"{row['glassnet_s'] * 1e6:.1f} | {bus:.2f} |")  # fmt: skip
        for key in ("mpi_s", "glassnet_s"):
            alpha, beta = fit_alpha_beta(res["allreduce"], ranks, key)
            print(f"\nfit ({key[:-2]}): alpha = {alpha * 1e6:.2f} us, beta = {beta * 1e9:.3f} ns/B "
                  f"({1 / beta / 1e9 if beta > 0 else float('inf'):.2f} GB/s)")  # fmt: skip
    print("\n### Training throughput (per-rank batch fixed: global batch = R x batch)\n")
    print("| workload | ranks | threads/rank | ms/step | samples/s | local ms/step | "
          "all-reduce ms | exposed wait ms | overlap |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for res in results:
        for name, row in res["workloads"].items():
            if "skipped" in row:
                print(f"| {name} | {res['ranks']} | skipped: {row['skipped']} |")
                continue
            sps = row["batch"] * res["ranks"] / row["step_s"]
            local = comm = wait = overlap = ""
            if "local_step_s" in row:
                local = f"{row['local_step_s'] * 1e3:.1f}"
                comm = f"{row['comm_s'] * 1e3:.2f}"
                wait = f"{row['wait_s'] * 1e3:.2f}"
                overlap = f"{min(1.0, max(0.0, 1 - row['wait_s'] / row['comm_s'])):.2f}"
            print(f"| {name} ({row['params']:,} params, {len(row['buckets'])} buckets) | "
                  f"{res['ranks']} | {res['threads']} | {row['step_s'] * 1e3:.1f} | {sps:.0f} | "
                  f"{local} | {comm} | {wait} | {overlap} |")  # fmt: skip


# -- scaling model --------------------------------------------------------------------------
NET_ALPHA = 5e-6  # s per message step on a 100 Gb/s RDMA network (assumed, typical MPI latency)
NET_BETA = 8 / 100e9  # s per byte at 100 Gb/s line rate
BACKWARD_SHARE = 2 / 3  # backward ~ 2x forward FLOPs: the window communication can hide in


def machine_rates() -> tuple[float, float]:
    """This machine's float32 GEMM rate (FLOP/s) and memory copy bandwidth (B/s)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    gemm = _median_time(lambda: a @ a, 7)
    src = np.ones(2**25, np.float32)  # 128 MiB
    dst = np.empty_like(src)
    copy = _median_time(lambda: np.copyto(dst, src), 5)
    return 2 * 1024**3 / gemm, src.nbytes / copy


def exposed_comm(grad_bytes: float, bucket: float, ranks: int, alpha: float, beta: float,
                 window: float) -> tuple[float, float]:  # fmt: skip
    """(exposed seconds, total all-reduce seconds) of one step with ring all-reduces.

    Each bucket of b bytes costs 2 (R-1) alpha + 2 (R-1)/R b beta. All but the last bucket
    can hide behind the rest of backward (``window`` seconds); the last one never can.
    """
    if ranks == 1:
        return 0.0, 0.0
    buckets = max(1, math.ceil(grad_bytes / bucket))
    last = min(bucket, grad_bytes)
    lat, bw = 2 * (ranks - 1) * alpha, 2 * (ranks - 1) / ranks * beta
    total = buckets * lat + bw * grad_bytes
    return max(lat + bw * last, total - window), total


def predict_rows(name: str, params: int, compute_s: float, staging_bps: float,
                 alpha: float = NET_ALPHA, beta: float = NET_BETA) -> list[dict]:  # fmt: skip
    """Predicted efficiency t_c / (t_c + staging + exposed + agreement) at 8, 64, 512 ranks,
    for the default 25 MB buckets and for the best bucket size from 64 KiB to 256 MiB (the
    largest within 5% of the least exposed communication)."""
    grad = 4.0 * params
    staging = 2 * grad / staging_bps  # gradients into the bucket buffers and back
    window = BACKWARD_SHARE * compute_s
    rows = []
    for ranks in (8, 64, 512):
        agree = 2 * (ranks - 1) * alpha  # fit's per-step loss all-reduce (tiny message)
        sizes = [2.0**k for k in range(16, 29)]
        sizes = [b for b in sizes if b < 2 * grad] or sizes[:1]
        exposed = [exposed_comm(grad, b, ranks, alpha, beta, window)[0] for b in sizes]
        # the largest bucket within 5% of the least exposed time (or 1% of the step): fewer
        # messages, less CPU per step for the same result
        slack = max(0.05 * min(exposed), 0.01 * compute_s)
        best = max(b for b, e in zip(sizes, exposed) if e <= min(exposed) + slack)
        best_label = "one bucket" if best >= grad else f"{best / 2**20:g} MB"
        for label, bucket in (("25 MB", 25 * 2**20), (f"{best_label} (best)", best)):
            exposed, total = exposed_comm(grad, bucket, ranks, alpha, beta, window)
            step = compute_s + staging + exposed + agree
            rows.append({"model": name, "ranks": ranks, "bucket": label,
                         "compute_ms": compute_s * 1e3, "comm_ms": total * 1e3,
                         "exposed_ms": exposed * 1e3, "overlap": 1 - exposed / total,
                         "efficiency": compute_s / step})  # fmt: skip
    return rows


def report_predictions(w3_step_s: float, flops: float, copy_bps: float) -> None:
    tokens = 16 * 512  # 100M model: batch 16 x context 512 per rank
    big_flops = 6 * 100e6 * tokens
    cases = [
        ("W3, this CPU", 826_433, w3_step_s, copy_bps),
        ("W3, 10 ms step (GPU-class)", 826_433, 0.010, 25e9),
        ("100M, this CPU", 100_000_000, big_flops / flops, copy_bps),
        ("100M, 100 TFLOP/s accelerator", 100_000_000, big_flops / 100e12, 25e9),
    ]
    print(f"\n### Predicted efficiency on 100 Gb/s (alpha {NET_ALPHA * 1e6:g} us, "
          f"beta {NET_BETA * 1e9:g} ns/B)\n")  # fmt: skip
    print(f"(this machine: float32 GEMM {flops / 1e9:.1f} GFLOP/s, copy {copy_bps / 1e9:.1f} GB/s;"
          " 100M model: 6 x 1e8 x 8192 FLOP/step)\n")  # fmt: skip
    print("| case | ranks | bucket | compute ms | all-reduce ms | exposed ms | overlap | "
          "efficiency |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, params, compute, staging in cases:
        for r in predict_rows(name, params, compute, staging):
            print(f"| {r['model']} | {r['ranks']} | {r['bucket']} | {r['compute_ms']:.1f} | "
                  f"{r['comm_ms']:.2f} | {r['exposed_ms']:.2f} | {r['overlap']:.2f} | "
                  f"{r['efficiency']:.3f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--max-exp", type=int, default=26, help="largest message 2**k bytes")
    parser.add_argument("--bucket-cap-mb", type=float, default=25.0)
    parser.add_argument("--threads", type=int, help="BLAS threads per rank (default cores // R)")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the raw results here")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.max_exp, args.bucket_cap_mb)
        return
    results = [run_ranks(r, args) for r in args.ranks]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    report(results)
    w3 = [res["workloads"]["W3"] for res in results if res["ranks"] == 1]
    if w3 and "step_s" in w3[0]:
        report_predictions(w3[0]["step_s"], *machine_rates())


if __name__ == "__main__":
    main()
