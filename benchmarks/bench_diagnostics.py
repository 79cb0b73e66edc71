"""Overhead of the diagnostics on a training step (MLP 64-128-128-10, batch 64, SGD).

``watch`` is what ``fit`` runs by default (the evidence for the end-of-training diagnosis,
with the health monitor sampling one batch in four; ``fit(health=False)`` keeps only the
loss, gradient-norm and input hooks: "watch, no health"; ``fit(health=1)`` watches every
batch). ``fit_overhead`` times whole ``fit`` calls on the digits the same three ways.

    python benchmarks/bench_diagnostics.py

Interleaved repetitions, median ms per step; the ratio to the plain step is what matters.
The sampled anomaly detector (one step in 10) must stay under 10% overhead so it can be left on.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import glassnet as gn  # noqa: E402
import glassnet.functional as F  # noqa: E402
from glassnet import nn, optim  # noqa: E402
from glassnet.diagnostics.anomaly import AnomalyDetector  # noqa: E402
from glassnet.diagnostics.health import HealthMonitor  # noqa: E402
from glassnet.diagnostics.watch import Watch  # noqa: E402


def make():
    gn.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


rng = np.random.default_rng(0)
X = [gn.tensor(rng.standard_normal((64, 64)).astype(np.float32)) for _ in range(8)]
Y = [gn.tensor(rng.integers(0, 10, 64)) for _ in range(8)]


def step(model, opt, i):
    opt.zero_grad()
    loss = F.cross_entropy(model(X[i % 8]), Y[i % 8])
    loss.backward()
    opt.step()


def plain(model, opt, i):
    step(model, opt, i)


def anomaly_every(n):
    detector = AnomalyDetector(every=n)

    def run(model, opt, i):
        with detector.step():
            step(model, opt, i)

    return run


MONITORS: dict = {}


def health(model, opt, i):
    monitor = MONITORS.get(id(model))
    if monitor is None:
        monitor = MONITORS[id(model)] = HealthMonitor(model).start()
    opt.zero_grad()
    loss = F.cross_entropy(model(X[i % 8]), Y[i % 8])
    loss.backward()
    monitor.after_backward()
    monitor.before_step()
    opt.step()
    monitor.after_step()


WATCHES: list = []


def watched(health):
    watches: dict = {}

    def run(model, opt, i):
        if id(model) not in watches:
            watches[id(model)] = Watch(model, opt, health=health, verbose=False)
            WATCHES.append(watches[id(model)])
        step(model, opt, i)  # the watch wraps opt.step and hooks the loss op

    return run


VARIANTS = {
    "plain": plain,
    "anomaly every step": anomaly_every(1),
    "anomaly 1 step in 10": anomaly_every(10),
    "health monitor": health,
    "watch, no health": watched(False),
    "watch, health every batch": watched(1),
    "watch, health 1 in 4 (default)": watched(True),
}


def main(rounds: int = 15, steps: int = 20) -> None:
    states = {name: make() for name in VARIANTS}
    times: dict = {name: [] for name in VARIANTS}
    for name, fn in VARIANTS.items():  # warm up
        for i in range(10):
            fn(*states[name], i)
    for _ in range(rounds):
        for name, fn in VARIANTS.items():  # interleaved: machine noise hits all alike
            start = time.perf_counter()
            for i in range(steps):
                fn(*states[name], i)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    base = statistics.median(times["plain"])
    best = min(times["plain"])
    print(f"{'variant':<32} {'median ms':>9} {'ratio':>6} {'best ms':>8} {'ratio':>6}")
    for name in VARIANTS:
        med, low = statistics.median(times[name]), min(times[name])
        print(f"{name:<32} {med:9.3f} {med / base:5.2f}x {low:8.3f} {low / best:5.2f}x")


def fit_overhead(repeats: int = 5) -> None:
    """Wall time of model.fit on the digits (3 epochs, batch 32, 135 steps) for a small MLP
    (64-64-10) and a wider one (64-512-512-10): nothing watched vs fit's default (the watch,
    health on 1 batch in 4) vs health on every batch. Interleaved repeats, minimum."""
    from glassnet.data.datasets import load_digits

    (x, y), _ = load_digits()
    variants = {"unwatched": {"health": False}, "default (health 1 in 4)": {},
                "health=1 (every batch)": {"health": 1}}  # fmt: skip
    models = {
        "MLP 64-64-10": lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)),
        "MLP 64-512-512-10": lambda: nn.Sequential(
            nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        ),
    }
    print(f"\n{'fit, 135 steps':<44} {'best s':>7} {'ratio':>6}")
    for model_name, make in models.items():
        times: dict = {name: [] for name in variants}
        for _ in range(repeats):
            for name, options in variants.items():
                gn.manual_seed(0)
                model = make()
                model.compile(optimizer="adam", metrics=["accuracy"])
                start = time.perf_counter()
                model.fit(x, y, epochs=3, verbose=0, interrupt_checkpoint=None, **options)
                times[name].append(time.perf_counter() - start)
        base = min(times["unwatched"])
        for name, ts in times.items():
            label = f"{model_name}, {name}"
            print(f"{label:<44} {min(ts):7.3f} {min(ts) / base:5.2f}x")


if __name__ == "__main__":
    main()
    for w in WATCHES:
        w.stop()
    for m in MONITORS.values():
        m.stop()
    fit_overhead()
