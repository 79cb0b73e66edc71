"""The clocks of a training run: the step-wise learning-rate schedule (constant or cosine
over a time budget or a number of steps) and the time budget itself, both following rank 0's
clock in a data-parallel run (see :mod:`glassnet.train.runs`)."""

from __future__ import annotations

import math
import time

import numpy as np

from glassnet.train.callbacks import Callback

SCHEDULES = ("constant", "cosine")


class StepSchedule(Callback):
    """The learning rate of every step: linear warmup, then constant or cosine decay.

    At optimizer step ``s`` (counted over the whole run, so a resumed run continues the
    curve)::

        lr = peak * (s + 1) / warmup                                   if s < warmup
        lr = peak                                                      "constant"
        lr = peak * (floor + (1 - floor) * (1 + cos(pi * p)) / 2)      "cosine"

    with ``p = (s - warmup) / (total - warmup)`` clipped to [0, 1]. With a ``deadline`` (a
    ``time.perf_counter()`` value) ``p`` is the larger of that and the share of the time
    from ``start`` to the deadline already used, so a run that the time budget stops still
    ends at the low learning rate. In a data-parallel run (``distributed``) that share is
    rank 0's (:func:`shared_now`), so every rank takes the same learning rate.
    """

    def __init__(self, peak: float, warmup: int = 0, total: int = 1, kind: str = "constant",
                 floor: float = 0.1, start: float | None = None,
                 deadline: float | None = None, distributed: bool = False):  # fmt: skip
        if kind not in SCHEDULES:
            raise ValueError(f"StepSchedule: kind must be one of {SCHEDULES}, got {kind!r}")
        self.peak, self.warmup, self.total = float(peak), int(warmup), max(1, int(total))
        self.kind, self.floor, self.start, self.deadline = kind, float(floor), start, deadline
        self.distributed = distributed

    def lr_at(self, step: int, now: float | None = None) -> float:
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        if self.kind == "constant":
            return self.peak
        p = (step - self.warmup) / max(1, self.total - self.warmup)
        if self.deadline is not None and self.start is not None and now is not None:
            p = max(p, (now - self.start) / max(1e-9, self.deadline - self.start))
        p = min(1.0, max(0.0, p))
        return self.peak * (self.floor + (1 - self.floor) * (1 + math.cos(math.pi * p)) / 2)

    def on_train_batch_begin(self, batch, logs):
        timed = self.deadline is not None and self.start is not None
        now = shared_now(self.start, self.distributed) if timed else None
        lr = self.lr_at(self.state.step, now)
        for group in self.state.optimizer.param_groups:
            group["lr"] = lr


class TimeBudget(Callback):
    """Stop training once ``time.perf_counter()`` passes ``deadline``, after the current
    batch. In a data-parallel run (``distributed``) rank 0's clock decides for every rank
    (:func:`shared_now`), so all ranks stop after the same batch. The unfinished epoch is
    then validated, logged and checkpointed like a finished one."""

    def __init__(self, deadline: float, distributed: bool = False, start: float | None = None):
        self.deadline, self.distributed, self.stopped = deadline, distributed, False
        self.start = time.perf_counter() if start is None else start

    def on_train_batch_end(self, batch, logs):
        if shared_now(self.start, self.distributed) >= self.deadline:
            self.stopped = True
            self.model.stop_training = True


def shared_now(start: float, distributed: bool = False) -> float:
    """``time.perf_counter()``; in a data-parallel run, ``start`` plus the seconds that rank 0
    has run since its own ``start``.

    The ranks of one run start a little apart and their clocks drift, so timed decisions
    (the learning rate of a time-budgeted cosine, stopping at the deadline) follow rank 0's
    clock: one 8-byte broadcast per call, which every rank must make at the same point.
    """
    now = time.perf_counter()
    if not distributed:
        return now
    import glassnet.distributed as dist

    return start + float(dist.broadcast(np.array([now - start]), 0)[0])
