"""LeNet-5 convolution speed: glassnet conv2d vs a hand-written NumPy im2col and PyTorch (CPU).

Shapes: 64 images 1x28x28; conv1 6@5x5 (input needs no grad), conv2 16@5x5 on 6x12x12, then a
whole LeNet-5 training step (conv, relu, max-pool x2, fc 256-120-84-10, cross-entropy, SGD).
Prints the median wall-clock and best CPU milliseconds of forward + backward. PyTorch is
used only if importable:

    python benchmarks/bench_conv.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_conv.py   # steadier on a busy machine
"""

from __future__ import annotations

import os
import time

import numpy as np

import glassnet as gn
import glassnet.functional as F
from glassnet import ops

try:
    import torch
except ImportError:  # a comparison peer only, never a dependency
    torch = None

BATCH = 64
LAYERS = [("conv1 6@5x5", (BATCH, 1, 28, 28), (6, 1, 5, 5), False),
          ("conv2 16@5x5", (BATCH, 6, 12, 12), (16, 6, 5, 5), True)]  # fmt: skip


def timing(fn, reps=40, warmup=5):
    """Median wall-clock and best CPU (process) milliseconds per call.

    On a shared, oversubscribed machine wall-clock time mostly measures the other processes;
    process CPU time (all threads of this process) is the steadier figure to compare.
    """
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return f"{1e3 * np.median(wall):6.2f} wall / {1e3 * min(cpu):5.2f} cpu ms"


def numpy_conv_step(x, w, b, g, need_dx):
    """Reference: im2col via sliding_window_view, one GEMM, col2im over kernel positions."""
    o, c, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # N,C,Ho,Wo,kh,kw
    n, _, ho, wo = win.shape[:4]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)
    y = (w.reshape(o, -1) @ cols + b[:, None]).reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
    y = np.ascontiguousarray(y)
    g2 = g.transpose(1, 0, 2, 3).reshape(o, -1)
    dw = (g2 @ cols.T).reshape(w.shape)
    db = g2.sum(axis=1)
    if need_dx:
        dcols = (w.reshape(o, -1).T @ g2).reshape(c, kh, kw, n, ho, wo)
        dx = np.zeros((c, n, *x.shape[2:]), dtype=x.dtype)
        for p in range(kh):
            for q in range(kw):
                dx[:, :, p : p + ho, q : q + wo] += dcols[:, p, q]
        dx = np.ascontiguousarray(dx.transpose(1, 0, 2, 3))
    return y, dw, db


def bench_layers(rng):
    for layer in LAYERS:
        bench_layer(rng, *layer)


def bench_layer(rng, label, xs, ws, need_dx):
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    b = np.zeros(ws[0], np.float32)
    xt = gn.tensor(x, requires_grad=need_dx)
    wt, bt = gn.tensor(w, requires_grad=True), gn.tensor(b, requires_grad=True)
    out_shape = F.conv2d(xt, wt, bt).shape
    g = rng.standard_normal(out_shape).astype(np.float32)

    def glassnet_step():
        wt.grad = bt.grad = xt.grad = None
        F.conv2d(xt, wt, bt).backward(g)

    row = [f"{label:14s} glassnet {timing(glassnet_step)}"]
    row.append(f"numpy-im2col {timing(lambda: numpy_conv_step(x, w, b, g, need_dx))}")
    if torch is not None:
        tx = torch.tensor(x, requires_grad=need_dx)
        tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        tg = torch.tensor(g)

        def torch_step():
            tw.grad = tb.grad = tx.grad = None
            torch.nn.functional.conv2d(tx, tw, tb).backward(tg)

        row.append(f"torch {timing(torch_step)}")
    print("  ".join(row))


SHAPES = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 256), (120,), (84, 120), (84,),
          (10, 84), (10,)]  # fmt: skip


def bench_lenet(rng):
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    params, fan_in = [], 1
    for s in SHAPES:  # PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        fan_in = int(np.prod(s[1:])) if len(s) > 1 else fan_in
        params.append((rng.uniform(-1, 1, s) / np.sqrt(fan_in)).astype(np.float32))
    ps = [gn.tensor(p, requires_grad=True) for p in params]
    xt, idx = gn.tensor(x), y[:, None]

    def glassnet_step():
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = ps
        h = F.max_pool2d(ops.relu(F.conv2d(xt, c1w, c1b)), 2)
        h = F.max_pool2d(ops.relu(F.conv2d(h, c2w, c2b)), 2).reshape(BATCH, -1)
        h = ops.relu(F.linear(h, f1w, f1b))
        h = ops.relu(F.linear(h, f2w, f2b))
        logp = ops.log_softmax(F.linear(h, f3w, f3b), axis=1)
        loss = -ops.take_along_axis(logp, idx, axis=1).mean()
        loss.backward()
        with gn.no_grad():
            for p in ps:
                p.sub_(0.01 * p.grad._data)
                p.grad = None

    row = [f"{'LeNet-5 step':14s} glassnet {timing(glassnet_step, reps=20)}"]
    if torch is not None:
        tp = [torch.tensor(p, requires_grad=True) for p in params]
        tx, ty = torch.tensor(x), torch.tensor(y)
        tf = torch.nn.functional

        def torch_step():
            c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = tp
            h = tf.max_pool2d(torch.relu(tf.conv2d(tx, c1w, c1b)), 2)
            h = tf.max_pool2d(torch.relu(tf.conv2d(h, c2w, c2b)), 2).reshape(BATCH, -1)
            h = torch.relu(tf.linear(h, f1w, f1b))
            h = torch.relu(tf.linear(h, f2w, f2b))
            tf.cross_entropy(tf.linear(h, f3w, f3b), ty).backward()
            with torch.no_grad():
                for p in tp:
                    p -= 0.01 * p.grad
                    p.grad = None

        row.append(f"torch {timing(torch_step, reps=20)}")
    print("  ".join(row))


if __name__ == "__main__":
    if torch is not None and os.environ.get("OPENBLAS_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))  # same threads as NumPy
    print(
        f"numpy {np.__version__}"
        + (
            f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
            if torch
            else ", torch not installed"
        )
    )
    bench_layers(np.random.default_rng(0))
    bench_lenet(np.random.default_rng(0))
