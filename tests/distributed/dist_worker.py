"""Scenarios run under ``mpirun -n R`` by the distributed tests (not collected by pytest).

Usage: python dist_worker.py <scenario> <out.json> [args...]. Rank 0 writes the JSON result.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def make_data(n: int = 64, d: int = 5, classes: int = 3):
    rng = np.random.default_rng(123)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def make_model(seed: int, rank: int):
    import glassnet as gn

    # Different seeds per rank: DistributedDataParallel must broadcast rank 0's weights.
    gn.manual_seed(seed + 1000 * rank)
    return gn.nn.Sequential(gn.nn.Linear(5, 16), gn.nn.Tanh(), gn.nn.Linear(16, 3))


def make_optimizer(name: str, params):
    from glassnet import optim

    if name == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def train(optimizer_name: str, batch: int, epochs: int, replicas: int, rank: int, ddp: bool):
    """Train the small MLP over DistributedSampler(64, replicas, rank) shards; return weights."""
    import glassnet as gn
    import glassnet.functional as F
    from glassnet.data import DataLoader, DistributedSampler
    from glassnet.distributed import DistributedDataParallel

    x, y = make_data()
    model = make_model(0, rank)
    if ddp:
        # A tiny bucket cap gives several buckets, launched in order during backward.
        model = DistributedDataParallel(model, bucket_cap_mb=0.0002)
    opt = make_optimizer(optimizer_name, model.parameters())
    sampler = DistributedSampler(len(x), num_replicas=replicas, rank=rank, shuffle=True, seed=7)
    loader = DataLoader((x, y), batch_size=batch, sampler=sampler)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(xb)), gn.tensor(yb))
            loss.backward()
            opt.step()
    return {k: v.numpy().tolist() for k, v in model.state_dict().items()}


def ddp_grads(rank: int) -> dict:
    """Gradients after one synced backward on top of two no_sync ones; one head unused."""
    import glassnet as gn
    from glassnet.distributed import DistributedDataParallel

    class Model(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.used = gn.nn.Linear(3, 2)
            self.unused = gn.nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    gn.manual_seed(rank)
    model = DistributedDataParallel(Model(), bucket_cap_mb=1e-5, find_unused_parameters=True)
    x = gn.tensor(worker_input(rank))
    with model.no_sync():
        model(x).sum().backward()
        model(x).sum().backward()
    model(x).sum().backward()
    return {
        k: (None if p.grad is None else p.grad.numpy().tolist())
        for k, p in model.module.named_parameters()
    }


def worker_input(rank: int) -> np.ndarray:
    return (np.arange(12, dtype=np.float32).reshape(4, 3) - 5.0) * (rank + 1)


def scenario_suite(out: str) -> None:
    import glassnet as gn
    import glassnet.distributed as dist
    from glassnet.data import DataLoader, DistributedSampler

    dist.init(timeout=60)
    r, n = dist.rank(), dist.world_size()
    result: dict = {"world_size": n}
    # collectives
    t = gn.tensor(np.array([1.0, 2.0], np.float32) * (r + 1))
    dist.all_reduce(t)
    result["sum_tensor"] = t.numpy().tolist()
    a = np.array([r, 10 * r], dtype=np.int64)
    dist.all_reduce(a, op="max")
    result["max_int"] = a.tolist()
    result["mean_number"] = dist.all_reduce(float(r), op="mean")
    result["min_number"] = dist.all_reduce(r + 5, op="min")
    b = np.full(3, float(r), np.float64)
    dist.broadcast(b, src=n - 1)
    result["broadcast"] = b.tolist()
    result["object"] = dist.broadcast_object({"from": r, "list": [1, 2]} if r == 0 else None)
    dist.barrier()
    # sharding: which sample each rank saw, per epoch
    x = np.arange(10, dtype=np.float32)
    sampler = DistributedSampler(10, num_replicas=n, rank=r, shuffle=True, seed=3)
    loader = DataLoader(x, batch_size=2, sampler=sampler)
    counts = []
    orders = []
    for _ in range(2):
        seen = np.concatenate(list(loader)).astype(np.int64)
        count = np.bincount(seen, minlength=10)
        dist.all_reduce(count)
        counts.append(count.tolist())
        order = np.zeros((n, len(seen)), np.int64)
        order[r] = seen
        dist.all_reduce(order)
        orders.append(order.tolist())
    result["shard_counts"], result["shard_orders"] = counts, orders
    # DistributedDataParallel with an unused branch and no_sync accumulation
    result["grads"] = ddp_grads(r)
    # training equivalence (per-rank batch 4)
    for name in ("sgd", "adam"):
        result[f"weights_{name}"] = train(name, 4, 2, n, r, ddp=True)
    if r == 0:
        with open(out, "w") as f:
            json.dump(result, f)


def fit_run(batch: int, epochs: int, checkpoint: str | None = None, resume: str | None = None):
    """model.fit(distributed=True) on the small MLP; returns (weights, history dict)."""
    import glassnet as gn
    from glassnet.train.callbacks import ModelCheckpoint

    x, y = make_data()
    xv, yv = make_data(11)
    # A resumed run must take everything from the checkpoint (weights, optimizer, RNG and the
    # sampler's seed), so a different seed here must not change the result.
    gn.manual_seed(0 if resume is None else 1)
    model = gn.nn.Sequential(gn.nn.Linear(5, 16), gn.nn.Tanh(), gn.nn.Linear(16, 3))
    model.compile(optimizer=gn.optim.Adam(model.parameters(), lr=0.01), metrics=["accuracy"])
    callbacks = [ModelCheckpoint(checkpoint, monitor="loss")] if checkpoint else []
    history = model.fit(
        x, y, batch_size=batch, epochs=epochs, verbose=0, validation_data=(xv, yv),
        callbacks=callbacks, resume=resume, distributed=True, interrupt_checkpoint=None,
    )  # fmt: skip
    weights = {k: v.numpy().tolist() for k, v in model.state_dict().items()}
    return weights, history.history


def scenario_fit(out: str, from_one_rank: str, to_one_rank: str) -> None:
    """Epoch 1 on R ranks saved to ``to_one_rank``; epochs 1..2 resumed from ``from_one_rank``."""
    import glassnet.distributed as dist

    dist.init(timeout=60)
    fit_run(4, 1, checkpoint=to_one_rank)
    weights, history = fit_run(4, 2, resume=from_one_rank)
    if dist.rank() == 0:
        with open(out, "w") as f:
            json.dump({"weights": weights, "history": history}, f)


def scenario_timed_run(out: str, run_dir: str) -> None:
    """A time-budgeted cosine run of the tuned shakespeare char-transformer config (a tiny
    model) on R ranks; rank 1 starts a second late, so its own clock would stop it later."""
    import glassnet.distributed as dist
    from glassnet.train.callbacks import Callback
    from glassnet.train.runs import RunConfig, train_run

    class Recorder(Callback):
        def __init__(self):
            self.lrs, self.batch_sizes = [], []

        def on_train_batch_end(self, batch, logs):
            self.lrs.append(self.state.optimizer.param_groups[0]["lr"])
            self.batch_sizes.append(logs["size"])

    dist.init(timeout=60)
    if dist.rank() == 1:
        time.sleep(1.0)
    recorder = Recorder()
    config = RunConfig(dataset="shakespeare", model="char-transformer", context_length=16,
                       model_options={"num_layers": 1, "d_model": 16, "dropout": 0.0},
                       epochs=1000, warmup_steps=2, max_minutes=3.0 / 60)  # fmt: skip
    summary = train_run(config, out=run_dir, verbose=0, callbacks=[recorder])
    weights = recorder.model.state_dict()
    digest = float(sum(float(np.abs(v.numpy()).sum()) for v in weights.values()))
    result = {
        "lrs": recorder.lrs,
        "batch_sizes": recorder.batch_sizes,
        "digest": digest,
        "stopped": summary["stopped_by_time_budget"],
    }
    with open(f"{out}.rank{dist.rank()}", "w") as f:
        json.dump(result, f)


def scenario_fail(out: str) -> None:
    import glassnet.distributed as dist

    dist.init(timeout=120)
    dist.barrier()
    if dist.rank() == 1:
        time.sleep(0.2)
        raise ValueError("boom from rank 1")
    dist.all_reduce(np.ones(4))  # rank 0 waits here for a rank that is gone
    print("rank 0 finished (should not happen)", flush=True)


def scenario_timeout(out: str) -> None:
    import glassnet.distributed as dist

    dist.init(timeout=1.0)
    if dist.rank() == 1:
        time.sleep(30)
    dist.barrier()


def scenario_sim(out: str) -> None:
    """DDP on the simulated device: buckets stay in device memory (no counted host transfer
    during backward) and the gradients come back averaged, on the device."""
    import glassnet as gn
    import glassnet.distributed as dist
    from glassnet.backend.sim import TRANSFERS
    from glassnet.distributed import DistributedDataParallel

    dist.init(timeout=60)
    r = dist.rank()
    gn.manual_seed(r)
    model = DistributedDataParallel(gn.nn.Linear(3, 2).to("sim"), bucket_cap_mb=1e-5)
    x = gn.tensor(worker_input(r), device="sim")
    TRANSFERS.reset()
    model(x).sum().backward()
    result = {
        "transport": model._transport.name,
        "transfers": TRANSFERS.count,
        "devices": sorted({str(p.grad.device) for p in model.parameters()}),
        "grads": {k: p.grad.numpy().tolist() for k, p in model.module.named_parameters()},
    }
    if r == 0:
        with open(out, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    globals()[f"scenario_{sys.argv[1]}"](*sys.argv[2:])
