"""The diagnosis from a history alone: when only the per-epoch numbers of a run are known
(a Keras-style ``history`` dict: ``loss``, optional ``val_loss``, ``accuracy``,
``val_accuracy``, ``lr``), :func:`diagnose` reads them with the same rules as a watched run
(:mod:`glassnet.diagnostics.diagnosis`), so there is one diagnosis, not two.

It sees less than a watched run: no per-step losses (an epoch mean hides a blow-up inside the
epoch), no gradients or per-layer health, no graph, no class counts unless ``num_classes`` is
given. It says less accordingly; ``fit`` and :func:`glassnet.watch` give the full diagnosis.
"""

from __future__ import annotations

import math

from glassnet.diagnostics.diagnosis import Diagnosis, Finding, diagnose_run

Verdict = Finding  # the name the learning verdicts had


class HistoryEvidence:
    """The parts of a :class:`~glassnet.diagnostics.watch.Watch` a history can supply."""

    def __init__(self, history: dict, num_classes: int | None = None):
        loss = [float(v) if v is not None else math.nan for v in history.get("loss", [])]
        keys = ("accuracy", "val_loss", "val_accuracy", "lr")
        self.epochs = []
        for i, value in enumerate(loss):
            record = {"loss": value, "steps": i + 1, "predicted": None}
            for key in keys:
                values = history.get(key) or []
                if i < len(values) and values[i] is not None:
                    record[key] = float(values[i])
            self.epochs.append(record)
        self.step_loss = list(loss)  # one value per epoch: the finest grain a history has
        self.grad_norm, self.step_lr = [], []
        self.monitor = None
        self.num_classes = num_classes
        self.loss_op = "cross_entropy" if num_classes else None
        self.class_counts = None
        self.score_producer, self.probability_batches, self.loss_batches = None, 0, 0
        self.target_values, self.target_integral, self.target_var = set(), False, None
        self.input_stats, self.symmetric_at_start, self.accumulated_at = None, [], None
        self.recurrent, self.optimizer, self.stop_reason = False, None, None
        self.per_epoch = True
        self.init_scale, self.wiring = {}, None

    def symmetric_now(self) -> list:
        return []


def diagnose(history: dict, num_classes: int | None = None) -> list:
    """Findings from a history dict, most important first (an empty list: nothing wrong).

    >>> h = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.15], "val_loss": [1.0, 0.7, 0.6, 0.65, 0.8, 0.95]}
    >>> first = diagnose(h)[0]
    >>> print(first.kind, first.since_epoch)
    overfitting 4
    """
    if not history.get("loss"):
        return []
    return run_diagnosis(history, num_classes).findings


def run_diagnosis(history: dict, num_classes: int | None = None) -> Diagnosis:
    """The whole :class:`~glassnet.diagnostics.diagnosis.Diagnosis` of a history dict."""
    return diagnose_run(HistoryEvidence(history, num_classes))


def describe(findings: list) -> str:
    """The findings as text, one numbered block each ("no problems found" when empty)."""
    if not findings:
        return "no problems found"
    return "\n".join(f"{i}. {f}" for i, f in enumerate(findings, 1))
