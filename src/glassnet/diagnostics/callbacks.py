"""The diagnostics as ``fit`` callbacks: health monitoring, NaN root cause, step digests and
the learning diagnosis at the end of training.

``model.fit`` adds :class:`DiagnosisCallback` (the watch behind the end-of-training diagnosis,
with the health monitor when ``health`` is on) and, with ``detect_anomaly=N``, the NaN
detector; ``glassnet train`` uses all of them and puts their findings in the run report.
"""

from __future__ import annotations

import html
import os
import sys

import numpy as np

from glassnet.diagnostics.anomaly import AnomalyDetector
from glassnet.diagnostics.health import HealthMonitor, HealthThresholds
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
        total = 0.0
        for p in self.model.parameters():
            if p.grad is not None:
                g = p.grad.data
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
                n: p.grad.data.copy()
                for n, p in self.model.named_parameters()
                if p.grad is not None
            }

    def on_train_batch_end(self, batch, logs):
        step = self.state.step - 1
        data = self.state.current_batch
        arrays = tuple(np.asarray(getattr(a, "data", a)) for a in data)
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
        self.state.history.report(self.path, model=self.model, x=self.x, y=self.y)


def write_fit_report(history, path: str, model=None, x=None, y=None, title=None) -> str:
    """The HTML report of a ``fit`` run (what ``History.report`` writes)."""
    from glassnet.diagnostics.report import render_html, report_data

    confusion = samples = None
    if model is not None and x is not None and y is not None:
        confusion, samples = predictions_summary(model, np.asarray(x), np.asarray(y))
    summary = str(model.summary((1, *np.asarray(x).shape[1:]))) if x is not None and hasattr(
        model, "summary") else ""  # fmt: skip
    data = report_data(
        diagnosis=getattr(history, "diagnosis", None),
        steps=getattr(history, "steps", None),
        layers=getattr(history, "layers", None),
        chance=getattr(history, "chance", None),
        history=history.history,
        verdicts=getattr(history, "verdicts", None),
        health=getattr(history, "health", []),
        gradient_flow=getattr(history, "gradient_flow", None),
        confusion=confusion,
        samples=samples,
        summary=summary,
    )
    reason = getattr(history, "stop_reason", None)
    page = render_html(data, title or "glassnet training report")
    if reason:
        note = f"<p class='note'>Training stopped early: {html.escape(reason)}</p>"
        page = page.replace("</h1>", "</h1>" + note, 1)
    tmp = str(path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return str(path)


def predictions_summary(model, x, y, raw=None, limit: int = 2000, show: int = 16):
    """(confusion matrix, samples) of a classifier on held-out data; the samples are the
    mistakes first, then correct ones, with images from ``raw`` (original pixels) or ``x``."""
    n = min(len(x), limit)
    logits = model.predict(x[:n], batch_size=256)
    if logits.ndim != 2:
        return None, None
    pred, true = logits.argmax(axis=1), y[:n].astype(np.int64).reshape(-1)
    c = logits.shape[1]
    keep = (true >= 0) & (true < c)
    confusion = np.bincount(true[keep] * c + pred[keep], minlength=c * c).reshape(c, c)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    order = np.concatenate([np.flatnonzero(pred != true), np.flatnonzero(pred == true)])[:show]
    source = raw if raw is not None else x
    samples = {
        "images": images_of(np.asarray(source[:n])[order]),
        "true": true[order],
        "pred": pred[order],
        "prob": p[order, pred[order]],
    }
    return confusion, samples


def images_of(x: np.ndarray):
    """Inputs as (N, H, W) or (N, C, H, W) images, or None when they are not images."""
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x[:, 0] if x.shape[1] == 1 else x
    if x.ndim == 3:
        return x
    side = int(round(np.sqrt(x.shape[-1]))) if x.ndim == 2 else 0
    return x.reshape(len(x), side, side) if side and side * side == x.shape[-1] else None
