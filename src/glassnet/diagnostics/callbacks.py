"""The diagnostics as ``fit`` callbacks: health monitoring, NaN root cause, step digests and
the learning diagnosis at the end of training.

``model.fit`` adds :class:`DiagnosisCallback` (the watch behind the end-of-training diagnosis,
with the health monitor when ``health`` is on) and, with ``detect_anomaly=N``, the NaN
detector; ``glassnet train`` uses all of them and puts their findings in the run report.
"""

from __future__ import annotations

import sys

from glassnet.backend.device import to_numpy
from glassnet.diagnostics.anomaly import AnomalyDetector
from glassnet.diagnostics.fit_report import write_fit_report
from glassnet.diagnostics.health import HealthMonitor, HealthThresholds
from glassnet.diagnostics.nan_origin import first_nonfinite_op, nonfinite_data
from glassnet.diagnostics.repro import StepDigester
from glassnet.diagnostics.watch import Watch
from glassnet.train.callbacks import Callback


class DiagnosisCallback(Callback):
    """Watch the run (:class:`~glassnet.diagnostics.watch.Watch`) and, at the end, print one
    diagnosis: ranked findings with evidence and remedies (``history.diagnosis``; its lines
    are ``history.verdicts``). Health warnings are printed once, when they begin, and kept
    up to date in ``history.health``.

    Args:
        health: watch per-layer health (dead ReLUs, saturation, update sizes, gradient flow);
            an int N samples the activation statistics on one batch in N.
        verbose: print new health warnings and the final diagnosis.
        thresholds: :class:`~glassnet.diagnostics.health.HealthThresholds` to override.
    """

    def __init__(
        self,
        health: bool | int = True,
        verbose: bool = True,
        thresholds: HealthThresholds | None = None,
    ):
        self.health, self.verbose, self.thresholds = health, verbose, thresholds
        self.watch: Watch | None = None

    @property
    def monitor(self) -> HealthMonitor | None:
        return self.watch.monitor if self.watch is not None else None

    def on_train_begin(self, logs):
        self.watch = Watch(self.model, self.state.optimizer, health=self.health, wrap=False)
        self.watch.clip_norm = getattr(self.state, "clip_grad_norm", None)  # read before it
        if self.watch.monitor is not None and self.thresholds is not None:
            self.watch.monitor.t = self.thresholds
        self.state.history.health = []

    def on_after_backward(self, step):
        self.watch.before_step()

    def on_train_batch_end(self, batch, logs):
        self.watch.after_step()

    def on_epoch_end(self, epoch, logs):
        new = self.watch.end_epoch(logs)
        self._sync_health()
        if self.verbose:
            for w in new:
                print(f"  health: {w}", file=sys.stderr, flush=True)

    def _sync_health(self):
        if self.watch.monitor is not None:
            self.state.history.health = [str(w) for w in self.watch.monitor.warnings]

    def on_train_end(self, logs):
        watch, history = self.watch, self.state.history
        watch.stop_reason = self.state.stop_reason
        if watch.stop_reason and "the loss became" in watch.stop_reason:
            watch.stop()  # the replay is no training step
            batch = getattr(self.state, "current_batch", None)
            if batch is not None:  # which op made the NaN (fit stopped before its update)
                watch.nan_origin = first_nonfinite_op(self.model, self.state.loss_fn, batch)
                if watch.nan_origin is None:  # no op made it: did it come with the data?
                    watch.nan_data = nonfinite_data(batch)
        try:
            diagnosis = watch.diagnosis()
        finally:
            watch.stop()
        self._sync_health()
        history.diagnosis = diagnosis
        history.verdicts = diagnosis.lines()
        history.stop_reason = watch.stop_reason
        history.steps = {
            "loss": watch.step_loss,
            "lr": watch.step_lr,
            "grad_norm": watch.grad_norm,
            "epoch_ends": [e["steps"] for e in watch.epochs],
        }
        monitor = watch.monitor
        history.layers = monitor.history if monitor is not None else []
        history.gradient_flow = monitor.gradient_flow() if monitor is not None else []
        classes = watch.num_classes if watch.loss_op in ("cross_entropy", "nll_loss") else None
        history.chance = 1.0 / classes if classes else None
        if self.verbose:
            print(str(diagnosis), file=sys.stderr, flush=True)


class HealthCallback(DiagnosisCallback):
    """:class:`DiagnosisCallback` under the name ``glassnet train`` uses; ``every`` samples
    one batch in N for the activation statistics."""

    def __init__(
        self, every: int = 1, thresholds: HealthThresholds | None = None, verbose: bool = True
    ):
        super().__init__(health=max(1, int(every)), verbose=verbose, thresholds=thresholds)


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
        # summed where the gradients live, read once: one transfer per step on a device
        squares = [(p.grad._data * p.grad._data).sum() for p in self.model.parameters()
                   if p.grad is not None]  # fmt: skip
        total = float(sum(squares)) if squares else 0.0
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
        arrays = tuple(to_numpy(a) for a in data)  # batches may be tensors on a device
        self.digester.record(step, arrays, float(logs.get("loss", float("nan"))), self._grads)
        self._grads = {}


class ReportCallback(Callback):
    """Write the HTML report of the run to ``path`` when training ends, also when it stopped on
    a non-finite loss or an error (the report says why). With ``x``, ``y`` (held-out data) it
    adds the confusion matrix and sample predictions, mistakes first.

    >>> # model.fit(x, y, epochs=5, callbacks=[ReportCallback("report.html")])
    """

    def __init__(self, path: str = "report.html", x=None, y=None):
        self.path, self.x, self.y = path, x, y

    def on_train_end(self, logs):
        write_fit_report(self.state.history, self.path, model=self.model, x=self.x, y=self.y)
