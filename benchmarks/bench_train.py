"""Training-step speed and memory of glassnet against hand-written NumPy and PyTorch CPU eager.

One command runs the whole suite (issues 7 and 17) in about 10 minutes on 2 cores:

    python benchmarks/bench_train.py --markdown tables.md --json out.json
    python benchmarks/bench_train.py --quick                 # a smoke run (seconds)

PyTorch is a peer when importable (never a dependency of glassnet); else it is skipped.

Workloads (one full step: forward, loss, backward, optimizer step; train_workloads.py):
  W1   MLP 784-256-256-10, batch 128, ReLU, cross-entropy, SGD momentum 0.9
  W1s  MLP 64-128-128-10, batch 64, same
  W2   LeNet-5 on 1x28x28, batch 64, Adam
  W3   character GPT: 4 pre-norm GELU Transformer encoder layers with a causal mask, d_model 128,
       4 heads, context 128, batch 16, AdamW

Peers: ``glassnet`` (eager), ``compiled`` (``gn.compile`` capture and replay), ``numpy`` (the
hand-written floor, MLPs only) and ``torch`` (PyTorch eager). Every measurement runs ONE peer in
its OWN process: OpenBLAS threads keep spinning for a while after a call and would steal the
cores of the next peer in a shared process. The processes alternate in rounds (round 1:
glassnet, compiled, numpy, torch; round 2 the reverse; then rotations), each process warms up
(the first steps' losses are the correctness check) and then times steps for ``--block``
seconds; a figure is the median over rounds of each process's median step, with the spread
(lowest and highest round) beside it.

Allocator: the glassnet and compiled peers call ``glassnet.runtime.configure_malloc_once()``,
as ``model.fit`` and ``glassnet train`` do (their users get it); the NumPy and PyTorch peers
run with the system allocator (``import glassnet`` changes nothing).

OpenBLAS spin: every peer process gets the ``OPENBLAS_THREAD_TIMEOUT`` that the ``glassnet``
command sets before NumPy loads (``--openblas-timeout``; src/glassnet_launch.py says why), so
the NumPy-based peers stand for ``glassnet train``; ``--openblas-timeout library`` measures
OpenBLAS's own default (what a script gets that does not export the variable).

Tables:
  1. wall ms/step at the DEFAULT thread count (no thread variables set, what users get), or at
     ``--threads N`` for every peer;
  2. CPU ms/step with every peer pinned to one thread;
  3. thread sweep 1, 2, ... up to the cores this process may use: wall ms/step and the
     speed-up over one thread, glassnet and PyTorch side by side;
  4. the targets of issue 17, met or missed;
  5. peak RSS, each peer in a fresh process.
"Pinned to n threads" sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and
GLASSNET_NUM_THREADS to n, and the torch peer calls torch.set_num_threads(n).
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
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GLASSNET_NUM_THREADS")
# Issue 17: glassnet (eager or compiled) / PyTorch eager, wall time, at 1 and at 2 threads.
TARGETS = {"W1": 0.85, "W1s": 0.5, "W2": 0.8, "W3": 0.9}


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


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


from train_workloads import POOL, config, loss_value, make_peer  # noqa: E402


# -- workers (each runs in its own process) ----------------------------------------------------
def worker_time(args) -> dict:
    """Warm up one peer (recording the first losses), then time steps for ``args.block`` s."""
    cfg = config(args.workload, args.width, args.batch)
    step, pool = make_peer(args.peer, args.workload, cfg)
    losses = []
    for i in range(max(args.warmup, args.check_steps)):
        loss = step(*pool[i % POOL])
        if i < args.check_steps:
            losses.append(loss_value(loss))
    wall, cpu, i = [], [], max(args.warmup, args.check_steps)
    end = time.perf_counter() + args.block
    while len(wall) < args.min_steps or time.perf_counter() < end:
        batch = pool[i % POOL]
        i += 1
        t0, c0 = time.perf_counter(), time.process_time()
        step(*batch)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out = {
        "wall_ms": 1e3 * statistics.median(wall),
        "cpu_ms": 1e3 * statistics.median(cpu),
        "steps": len(wall),
        "losses": losses,
    }
    if args.peer == "compiled":  # the compiled peer must really replay, not fall back to eager
        if step.replays == 0:
            raise RuntimeError(f"{args.workload}: gn.compile did not replay: {step.reason}")
        out["replays"] = step.replays
    if args.peer == "torch":
        import torch

        out["threads"] = torch.get_num_threads()
    elif args.peer in ("glassnet", "compiled"):
        out["threads"] = _glassnet_threads()
    return out


def _glassnet_threads():
    try:
        from glassnet.backend.parallel import num_threads
    except ImportError:  # a tree without intra-op parallelism
        return None
    return num_threads()


def worker_mem(args) -> dict:
    """Peak RSS of one peer training one workload, and its growth over the post-import RSS."""
    import numpy  # noqa: F401

    import glassnet  # noqa: F401

    if args.peer == "torch":
        import torch  # noqa: F401
    base = _rss_mb()
    step, pool = make_peer(args.peer, args.workload, config(args.workload))
    for i in range(args.mem_steps):
        step(*pool[i % POOL])
    peak = _peak_rss_mb()
    return {"peak_mb": peak, "train_mb": peak - base, "import_mb": base}


def worker_gemm(args) -> dict:
    """Best float32 GEMM rate of NumPy (GFLOP/s) on 1024 x 1024 matrices, these threads."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    best = float("inf")
    a @ a
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return {"gflops": 2 * 1024**3 / best / 1e9}


# -- the driver -------------------------------------------------------------------------------
def thread_env(threads: int | None) -> dict:
    """The environment of a peer process: thread variables removed (None: each library's
    default) or all set to ``threads``."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if threads is not None:
        env.update(dict.fromkeys(THREAD_VARS, str(threads)))
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(os.path.dirname(here), "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def set_openblas_timeout(choice: str) -> str:
    """Put the peers' OPENBLAS_THREAD_TIMEOUT in this process's environment (the peers inherit
    it; this process's NumPy has read it already). The ``glassnet`` command sets it before
    NumPy loads (src/glassnet_launch.py), so the glassnet and NumPy peers stand for its runs;
    PyTorch's threads are OpenMP's and ignore it."""
    from glassnet_launch import BLAS_THREAD_TIMEOUT

    if choice == "library":
        os.environ.pop("OPENBLAS_THREAD_TIMEOUT", None)
        return "OpenBLAS's default (28)"
    value = BLAS_THREAD_TIMEOUT if choice == "command" else choice
    if not value.isdigit():
        raise SystemExit(f"--openblas-timeout: 'command', 'library' or a number, got {choice!r}")
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = value
    return f"{value} (as the glassnet command)" if choice == "command" else value


def run_worker(argv: list, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *argv],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"worker {argv} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def round_order(peers: list, r: int) -> list:
    """Round 0 in the given order, round 1 reversed, then rotations (so no peer always runs
    right after the same one)."""
    if r % 2 == 1:
        return peers[::-1]
    k = (r // 2) % len(peers)
    return peers[k:] + peers[:k]


def measure(workloads, peers, threads, args, log) -> dict:
    """{workload: {peer: {"wall": [per round], "cpu": [...], "losses", "threads"}}}."""
    env = thread_env(threads)
    res = {}
    for w in workloads:
        wp = [p for p in peers if p != "numpy" or w in ("W1", "W1s")]
        res[w] = {p: {"wall": [], "cpu": [], "steps": 0} for p in wp}
        for r in range(args.rounds):
            for p in round_order(wp, r):
                argv = ["--worker", "time", "--workload", w, "--peer", p, "--block",
                        str(args.block), "--warmup", str(args.warmup), "--min-steps",
                        str(args.min_steps), "--check-steps", str(args.check_steps)]  # fmt: skip
                out = run_worker(argv, env)
                fig = res[w][p]
                fig["wall"].append(out["wall_ms"])
                fig["cpu"].append(out["cpu_ms"])
                fig["steps"] += out["steps"]
                fig.setdefault("losses", out["losses"])
                fig["threads"] = out.get("threads")
                if "replays" in out:
                    fig["replays"] = out["replays"]
        for fig in res[w].values():
            fig["wall_ms"] = statistics.median(fig["wall"])
            fig["cpu_ms"] = statistics.median(fig["cpu"])
        label = "default" if threads is None else threads
        log(f"# measured {w} at threads={label}: "
            + ", ".join(f"{p} {f['wall_ms']:.3f} ms" for p, f in res[w].items()))  # fmt: skip
    return res


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def loss_check(figs: dict) -> dict:
    """Per peer: "reference" (glassnet), "bit-identical", or the max relative loss difference
    from glassnet eager over the first steps."""
    ref = figs["glassnet"]["losses"] if "glassnet" in figs else None
    out = {}
    for p, f in figs.items():
        if ref is None or p == "glassnet":
            out[p] = "reference"
            continue
        rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(f["losses"], ref))
        out[p] = "bit-identical" if f["losses"] == ref else f"max rel diff {rel:.1e}"
    return out


class Report:
    """Collects markdown tables; prints each as it is made (and writes them with --markdown)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def table(self, title: str, header: list, rows: list, note: str = "") -> None:
        block = [f"### {title}", ""]
        if note:
            block += [note, ""]
        block.append("| " + " | ".join(header) + " |")
        block.append("|" + "---|" * len(header))
        block += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        block.append("")
        self.lines += block
        print("\n".join(block), flush=True)


def spread(values: list) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def step_table(rep, title, res, key, note) -> None:
    rows = []
    for w, figs in res.items():
        checks = loss_check(figs)
        t = figs.get("torch", {}).get(key)
        n = figs.get("numpy", {}).get(key)
        for p, f in figs.items():
            vals = f["wall" if key == "wall_ms" else "cpu"]
            rows.append([w, p, f"{f[key]:.3f}", spread(vals), ratio(f[key], t) if t else "-",
                         ratio(f[key], n) if n else "-", f.get("threads") or "-",
                         checks[p]])  # fmt: skip
    head = ["workload", "peer", key.replace("_ms", " ms/step"), "spread (rounds)", "vs torch",
            "vs numpy", "threads seen", "loss check"]  # fmt: skip
    rep.table(title, head, rows, note)


def best_glassnet(figs: dict) -> tuple[str, float]:
    cands = [(figs[p]["wall_ms"], p) for p in ("glassnet", "compiled") if p in figs]
    ms, p = min(cands)
    return p, ms


def sweep_table(rep, sweep: dict) -> dict:
    """Wall ms/step per thread count and the speed-up over one thread, peers side by side."""
    counts = sorted(sweep)
    rows, speedups = [], {}
    for w in sweep[counts[0]]:
        for p in sweep[counts[0]][w]:
            base = sweep[1][w][p]["wall_ms"]
            cells = []
            for n in counts:
                ms = sweep[n][w][p]["wall_ms"]
                s = base / ms if base else None
                speedups[(w, p, n)] = s
                cells.append(f"{ms:.3f}" + (f" ({s:.2f}x)" if s and n > 1 else ""))
            vs = "-"
            if "torch" in sweep[counts[0]][w]:
                vs = " / ".join(
                    ratio(sweep[n][w][p]["wall_ms"], sweep[n][w]["torch"]["wall_ms"])
                    for n in counts
                )
            rows.append([w, p, *cells, vs])
    head = ["workload", "peer", *[f"{n} thr ms (speed-up)" for n in counts], "vs torch per count"]
    note = ("Wall ms/step with every peer pinned to n threads; in parentheses the speed-up "
            "over 1 thread (parallel efficiency = speed-up / n).")  # fmt: skip
    rep.table("Thread sweep", head, rows, note)
    return speedups


def target_table(rep, sweep: dict, speedups: dict) -> list:
    rows, out = [], []
    for n in (1, 2):
        if n not in sweep:
            continue
        for w, goal in TARGETS.items():
            figs = sweep[n].get(w)
            if not figs or "torch" not in figs:
                continue
            p, ms = best_glassnet(figs)
            r = ms / figs["torch"]["wall_ms"]
            met = "met" if r <= goal else "missed"
            cpu = ratio(figs[p]["cpu_ms"], figs["torch"]["cpu_ms"])
            rows.append([f"{w} <= {goal}x torch, {n} thread{'s' * (n > 1)}", f"{r:.2f}x ({p})",
                         met, cpu])  # fmt: skip
            out.append({"target": f"{w}@{n}", "ratio": r, "peer": p, "met": r <= goal})
    if 1 in sweep and 2 in sweep:
        for w in sweep[2]:
            if "torch" not in sweep[2][w]:
                continue
            ts = speedups[(w, "torch", 2)]
            gs = {p: speedups[(w, p, 2)] for p in ("glassnet", "compiled") if p in sweep[2][w]}
            p = max(gs, key=gs.get)
            met = gs[p] >= ts
            rows.append([f"{w} 2-thread speed-up >= torch's ({ts:.2f}x)", f"{gs[p]:.2f}x ({p})",
                         "met" if met else "missed", "-"])  # fmt: skip
            out.append({"target": f"{w} speed-up", "glassnet": gs[p], "torch": ts, "met": met})
    note = ("glassnet = the faster of eager and compiled (named), wall ms/step vs PyTorch eager "
            "at the same pinned thread count; the CPU-time ratio of that peer beside it (robust "
            "to other jobs on the machine; not the target).")  # fmt: skip
    head = ["target", "glassnet (wall)", "met?", "CPU-time ratio"]
    rep.table("Targets (issue 17)", head, rows, note)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, help="pin every peer to N threads in the headline")
    ap.add_argument("--sweep", help="thread counts of the sweep, e.g. 1,2 (default 1..cores)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--rounds", type=int, default=3, help="processes per peer per setting")
    ap.add_argument("--block", type=float, default=1.0, help="seconds of timed steps per process")
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--check-steps", type=int, default=3, help="first losses compared")
    ap.add_argument("--mem-steps", type=int, default=10)
    ap.add_argument("--no-mem", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round, short blocks")
    ap.add_argument("--openblas-timeout", default="command",
                    help="the peers' OPENBLAS_THREAD_TIMEOUT: 'command' (default: what the "
                    "glassnet command sets), 'library' (OpenBLAS's own) or N")  # fmt: skip
    ap.add_argument("--json", help="write every figure to this JSON file")
    ap.add_argument("--markdown", help="write the tables (ready for RESULTS.md) to this file")
    ap.add_argument("--worker", choices=["time", "mem", "gemm"], help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--width", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fn = {"time": worker_time, "mem": worker_mem, "gemm": worker_gemm}[args.worker]
        print(json.dumps(fn(args)))
        return
    if args.quick:
        args.rounds, args.block, args.min_steps, args.warmup = 1, 0.05, 2, 2
        args.check_steps, args.mem_steps = 2, 2

    spin = set_openblas_timeout(args.openblas_timeout)
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

    workloads = [w for w in args.workloads.split(",") if w]
    counts = [int(n) for n in args.sweep.split(",")] if args.sweep else list(range(1, cores() + 1))
    t_start = time.perf_counter()
    log = print  # progress lines go to stdout only, not to --markdown
    rep = Report()
    gemm = {n: run_worker(["--worker", "gemm"], thread_env(n))["gflops"] for n in (None, 1)}
    from glassnet.backend import mkl

    products = mkl.describe()  # MKL where glassnet[mkl] is installed (GLASSNET_BLAS=numpy: off)
    head = (f"Machine: {platform.processor() or platform.machine()}, {cores()} cores usable, "
            f"load average {os.getloadavg()[0]:.1f} at start; Python "
            f"{platform.python_version()}, NumPy {np.__version__}, glassnet {gn.__version__}, "
            f"torch {torch_version}. float32 GEMM (NumPy, 1024^3): {gemm[None]:.1f} GFLOP/s "
            f"default threads, {gemm[1]:.1f} at 1 thread. "
            f"OPENBLAS_THREAD_TIMEOUT: {spin}. glassnet's products: {products}.")  # fmt: skip
    rep.lines += [head, ""]
    print(head + "\n")
    report = {"cores": cores(), "torch": torch_version, "gemm_gflops": gemm[None], "spin": spin,
              "products": products, "load_start": os.getloadavg()[0],
              "gemm_gflops_1": gemm[1], "threads": args.threads, "sweep": {}}  # fmt: skip

    sweep = {}
    for n in counts:  # the 1-thread runs are also the CPU-time table
        sweep[n] = measure(workloads, peers, n, args, log)
    if args.threads is not None and args.threads in sweep:
        head_res = sweep[args.threads]
    else:
        head_res = measure(workloads, peers, args.threads, args, log)
    label = "the default thread count" if args.threads is None else f"{args.threads} threads"
    note = (f"Median over {args.rounds} rounds of each process's median step; spread = lowest "
            "and highest round. 'threads seen' = glassnet's get_num_threads() / "
            "torch.get_num_threads() in the peer process.")  # fmt: skip
    step_table(rep, f"Wall time per step at {label}", head_res, "wall_ms", note)
    if 1 in sweep:
        note = "process_time per step, every peer pinned to one thread (the ratios of issue 7)."
        step_table(rep, "CPU time per step at one thread", sweep[1], "cpu_ms", note)
    speedups = sweep_table(rep, sweep) if 1 in sweep else {}
    report["targets"] = target_table(rep, sweep, speedups)
    report["headline"] = head_res
    report["sweep"] = {str(n): res for n, res in sweep.items()}

    if not args.no_mem:
        rows, report["memory"] = [], {}
        env = thread_env(args.threads)
        for w in workloads:
            mem = {}
            for p in peers:
                if p != "numpy" or w in ("W1", "W1s"):
                    argv = ["--worker", "mem", "--workload", w, "--peer", p, "--mem-steps",
                            str(args.mem_steps)]  # fmt: skip
                    mem[p] = run_worker(argv, env)
            report["memory"][w] = mem
            for p, m in mem.items():
                vs = ratio(m["train_mb"], mem["torch"]["train_mb"]) if "torch" in mem else "-"
                rows.append([w, p, f"{m['peak_mb']:.0f}", f"{m['train_mb']:.1f}",
                             f"{m['import_mb']:.0f}", vs])  # fmt: skip
        note = (f"MiB; each peer in a fresh process, {args.mem_steps} steps; 'training' = peak "
                "minus the RSS after imports.")  # fmt: skip
        head = ["workload", "peer", "peak RSS", "training", "imports", "training vs torch"]
        rep.table("Peak memory", head, rows, note)
    elapsed = time.perf_counter() - t_start
    report["suite_seconds"] = elapsed
    load = (report["load_start"], os.getloadavg()[0])
    report["load_end"] = load[1]
    end = f"Suite time {elapsed:.0f} s; load average {load[0]:.1f} at start, {load[1]:.1f} at end."
    if max(load) > cores():
        end += (f" WARNING: more runnable jobs than the {cores()} cores: wall times (and all "
                "multi-thread figures) are unreliable; compare CPU times only.")  # fmt: skip
    rep.lines += [end, ""]
    print(end)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(rep.lines))


if __name__ == "__main__":
    main()
