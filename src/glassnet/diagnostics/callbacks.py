"""The diagnostics as ``fit`` callbacks: health monitoring, NaN root cause, step digests and
the learning diagnosis at the end of training.

``model.fit(..., health=True, detect_anomaly=10)`` adds the first two; ``glassnet train``
uses all of them and puts their findings in the run report.
"""

from __future__ import annotations

import sys

import numpy as np

from glassnet.diagnostics.anomaly import AnomalyDetector
from glassnet.diagnostics.health import HealthMonitor, HealthThresholds
from glassnet.diagnostics.repro import StepDigester
from glassnet.diagnostics.verdicts import describe, diagnose
from glassnet.train.callbacks import Callback


class HealthCallback(Callback):
    """Track dead ReLUs, saturation, gradient and update statistics per layer; print the
    epoch's warnings in plain words and keep them in ``history.health``.

    Args:
        every: sample one batch in ``every`` for the statistics (1 = all batches).
        verbose: print warnings as they appear.
    """

    def __init__(
        self, every: int = 1, thresholds: HealthThresholds | None = None, verbose: bool = True
    ):
        self.every, self.thresholds, self.verbose = every, thresholds, verbose
        self.monitor: HealthMonitor | None = None

    def on_train_begin(self, logs):
        self.monitor = HealthMonitor(self.model, self.thresholds, self.every).start()
        self.state.history.health = []

    def on_after_backward(self, step):
        self.monitor.after_backward()
        self.monitor.before_step()

    def on_train_batch_end(self, batch, logs):
        self.monitor.after_step()

    def on_epoch_end(self, epoch, logs):
        warnings = self.monitor.end_epoch(epoch + 1)
        self.state.history.health.extend(str(w) for w in warnings)
        if self.verbose:
            for w in warnings:
                print(f"  health: {w}", file=sys.stderr, flush=True)

    def on_train_end(self, logs):
        self.monitor.stop()


class AnomalyCallback(Callback):
    """Watch one training step in ``every`` for the first NaN/Inf and raise
    :class:`~glassnet.diagnostics.anomaly.NonFiniteError` naming the op, layer and cause."""

    def __init__(self, every: int = 1):
        self.detector = AnomalyDetector(every=every)
        self._step = None

    def on_train_batch_begin(self, batch, logs):
        self._step = self.detector.step()
        self._step.__enter__()

    def on_after_backward(self, step):
        total = 0.0
        for p in self.model.parameters():
            if p.grad is not None:
                g = p.grad._data
                total += float((g * g).sum())
        self.detector.record_grad_norm(total**0.5)

    def on_train_batch_end(self, batch, logs):
        if self._step is not None:
            self._step.__exit__(None, None, None)
            self._step = None

    def on_train_end(self, logs):
        self.on_train_batch_end(0, logs)
        self.detector.stop()


class DigestCallback(Callback):
    """Record per-step digests of data, loss, gradients and weights (``glassnet repro diff``
    compares two runs' digests to find where they diverge)."""

    def __init__(self, every: int = 1):
        self.every = every
        self.digester: StepDigester | None = None
        self._grads: dict = {}

    def on_train_begin(self, logs):
        self.digester = StepDigester(self.model, self.every)

    def on_after_backward(self, step):
        if step % self.every == 0:
            self._grads = {
                n: p.grad._data.copy()
                for n, p in self.model.named_parameters()
                if p.grad is not None
            }

    def on_train_batch_end(self, batch, logs):
        step = self.state.step - 1
        data = self.state.current_batch
        arrays = tuple(np.asarray(getattr(a, "_data", a)) for a in data)
        self.digester.record(step, arrays, float(logs.get("loss", float("nan"))), self._grads)
        self._grads = {}


class DiagnosisCallback(Callback):
    """At the end of training, read the curves and print the learning diagnosis (verdicts
    with evidence and remedies); also kept as ``history.verdicts``."""

    def __init__(self, verbose: bool = True):
        self.verbose = verbose

    def on_train_end(self, logs):
        history = self.state.history
        if not history.history:
            return
        history.verdicts = diagnose(history.history)
        if self.verbose:
            print("learning diagnosis:\n" + describe(history.verdicts), file=sys.stderr, flush=True)
