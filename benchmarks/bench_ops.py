"""Per-op overhead of glassnet's autograd, against hand-written NumPy and PyTorch CPU.

Two measurements, in one run, with the frameworks interleaved repetition by repetition (so
CPU frequency drift and noisy neighbours hit all of them alike) and medians reported:

1. tiny op: ``a + b`` and ``a * b`` on two 4x4 tensors that require grad (forward only, graph
   recorded): the Python cost of one op, in microseconds.
2. chain: a 10-op forward + backward on 32x32 arrays

       h = relu((relu(x @ W1 + b1) * c @ W2 - d) * e + f).sum()
       (matmul, add, relu, mul, matmul, sub, mul, add, relu, sum)

   against the same forward and a hand-written NumPy backward (the floor any autodiff in
   Python pays for the arithmetic), and against PyTorch when it is importable.

Run: ``python benchmarks/bench_ops.py [--reps 15] [--profile]``. Targets (issue 3): tiny op
<= 4 us, chain <= 3x hand-written NumPy. Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import glassnet as gn

N = 32


def _timeit(fn, number: int) -> float:
    """CPU seconds per call of ``fn`` averaged over ``number`` calls.

    CPU time of this process (not wall time) so that other jobs on a shared machine, which
    deschedule us, do not count; every peer runs single-threaded on tiny arrays.
    """
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


# -- the chain, three ways --------------------------------------------------------------------
def make_arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    names = ["x", "W1", "c", "W2", "d", "e", "f"]
    arrays = {k: (rng.standard_normal((N, N)) / np.sqrt(N)).astype(np.float32) for k in names}
    arrays["b1"] = rng.standard_normal(N).astype(np.float32)
    return arrays


PARAMS = ["W1", "b1", "c", "W2", "d", "e", "f"]  # x is the input: no gradient


def numpy_chain(a: dict):
    """Forward and hand-written backward; returns the gradients of every parameter."""
    x, W1, b1, c, W2, d, e, f = (a[k] for k in ["x", *PARAMS])
    h1 = x @ W1
    h2 = h1 + b1
    m2 = h2 > 0
    h3 = h2 * m2
    h4 = h3 * c
    h5 = h4 @ W2
    h6 = h5 - d
    h7 = h6 * e
    h8 = h7 + f
    m8 = h8 > 0
    h9 = h8 * m8
    loss = h9.sum()
    g8 = np.ones_like(h9) * m8
    gf = g8
    ge = g8 * h6
    g6 = g8 * e
    gd = -g6
    gW2 = h4.T @ g6
    g4 = g6 @ W2.T
    gc = g4 * h3
    g2 = g4 * c * m2
    gb1 = g2.sum(axis=0)
    gW1 = x.T @ g2
    return loss, [gW1, gb1, gc, gW2, gd, ge, gf]


def glassnet_setup(a: dict):
    x = gn.from_numpy(a["x"])
    params = [gn.from_numpy(a[k].copy(), requires_grad=True) for k in PARAMS]

    def step():
        W1, b1, c, W2, d, e, f = params
        for p in params:
            p.grad = None
        h = gn.ops.relu((gn.ops.relu(x @ W1 + b1) * c @ W2 - d) * e + f).sum()
        h.backward()
        return h, [p.grad for p in params]

    return step


def torch_setup(a: dict):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x = torch.from_numpy(a["x"])
    params = [torch.from_numpy(a[k].copy()).requires_grad_() for k in PARAMS]

    def step():
        W1, b1, c, W2, d, e, f = params
        for p in params:
            p.grad = None
        h = torch.relu((torch.relu(x @ W1 + b1) * c @ W2 - d) * e + f).sum()
        h.backward()
        return h, [p.grad for p in params]

    return step


def check_chain_agrees(a: dict) -> None:
    loss_np, grads_np = numpy_chain(a)
    loss_gn, grads_gn = glassnet_setup(a)()
    assert np.allclose(loss_gn.item(), loss_np, rtol=1e-4), (loss_gn.item(), loss_np)
    for k, g_np, g_gn in zip(PARAMS, grads_np, grads_gn):
        assert np.allclose(g_gn.numpy(), g_np, rtol=1e-4, atol=1e-5), f"gradient of {k} differs"


# -- the tiny op --------------------------------------------------------------------------------
def tiny_setups():
    rng = np.random.default_rng(1)
    an, bn = rng.standard_normal((2, 4, 4)).astype(np.float32)
    a = gn.from_numpy(an, requires_grad=True)
    b = gn.from_numpy(bn, requires_grad=True)
    out = {
        "glassnet add": lambda: a + b,
        "glassnet mul": lambda: a * b,
        "glassnet mul by 2.0": lambda: a * 2.0,
        "numpy add": lambda: an + bn,
    }
    try:
        import torch

        ta = torch.from_numpy(an).requires_grad_()
        tb = torch.from_numpy(bn).requires_grad_()
        out["torch add"] = lambda: ta + tb
        out["torch mul"] = lambda: ta * tb
    except ImportError:
        pass
    return out


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    blas = "unknown BLAS"
    try:
        cfg = np.show_config(mode="dicts")
        info = cfg["Build Dependencies"]["blas"]
        blas = f"{info['name']} {info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - only decoration for the report
        pass
    try:
        import torch

        tv = f", torch {torch.__version__} (1 thread)"
    except ImportError:
        tv = ", torch not installed"
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__} ({blas}){tv}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="interleaved repetitions")
    parser.add_argument("--profile", action="store_true", help="cProfile the glassnet chain")
    args = parser.parse_args()

    arrays = make_arrays()
    check_chain_agrees(arrays)
    chain = {
        "numpy (hand-written)": lambda: numpy_chain(arrays),
        "glassnet": glassnet_setup(arrays),
    }
    torch_step = torch_setup(arrays)
    if torch_step is not None:
        chain["torch"] = torch_step

    if args.profile:
        import cProfile
        import pstats

        step = chain["glassnet"]
        cProfile.runctx("for _ in range(3000): step()", globals(), {"step": step}, "/tmp/gn.prof")
        pstats.Stats("/tmp/gn.prof").sort_stats("tottime").print_stats(15)
        return

    tiny = tiny_setups()
    tiny_times = {k: [] for k in tiny}
    chain_times = {k: [] for k in chain}
    for fn in [*tiny.values(), *chain.values()]:  # warm up
        _timeit(fn, 200)
    for _ in range(args.reps):
        for k, fn in tiny.items():
            tiny_times[k].append(_timeit(fn, 20000))
        for k, fn in chain.items():
            chain_times[k].append(_timeit(fn, 500))

    print(f"machine: {machine()}")
    print(f"CPU time per call: median (and min) of {args.reps} interleaved repetitions\n")
    print("tiny op, 4x4 float32, inputs require grad (forward, graph recorded):")
    for k, ts in tiny_times.items():
        print(f"  {k:<22} {statistics.median(ts) * 1e6:7.2f} us  ({min(ts) * 1e6:.2f})")
    print(f"\n10-op chain on {N}x{N} float32, forward + backward:")
    base = chain_times["numpy (hand-written)"]
    for k, ts in chain_times.items():
        med, low = statistics.median(ts), min(ts)
        print(
            f"  {k:<22} {med * 1e6:7.1f} us ({low * 1e6:.1f})  "
            f"{med / statistics.median(base):5.2f}x numpy ({low / min(base):.2f}x by min)"
        )
    if "torch" in chain_times:
        ratio = statistics.median(chain_times["torch"]) / statistics.median(chain_times["glassnet"])
        print(f"  glassnet is {ratio:.2f}x faster than torch on the chain")


if __name__ == "__main__":
    main()
