"""One diagnosis from all the evidence: ranked findings, each with evidence and remedies.

The evidence is what a :class:`~glassnet.diagnostics.watch.Watch` saw: per-step losses and
gradient norms, per-epoch train/validation loss and accuracy, the predicted classes, the
health monitor's per-layer statistics (dead and saturated units, update-to-weight ratios,
gradient flow), the input scale, the optimizer and learning rate, the op that fed the loss,
the weights at the start, and whether gradients accumulated across steps.

Each rule names a *cause* and lists the symptoms it explains. Causes seen directly (a softmax
in the graph before ``cross_entropy``; gradients that a step already used receiving more;
identical units at initialization; class-index targets given to a regression loss; the
set-up rules of ``diagnosis_setup``: a collapsed learning-rate schedule, clipping far below
the gradient, unscaled regression targets, an output activation that cannot reach them,
validation data unlike or equal to the training data, batch norm over tiny batches) rank
first; causes inferred from several symptoms (a learning rate far too high or too low,
vanishing gradients, inputs on the wrong scale, labels unrelated to inputs) come next;
symptoms that no cause explains (overfitting, a model too small, dead units) come last. A
finding whose symptoms are already explained is dropped (dead ReLUs after a blow-up are the
learning rate's doing), and a finding that pulls a knob the other way from a higher-ranked
one (raise vs lower the learning rate, larger vs smaller model) is dropped too, so the
diagnosis never contradicts itself. When the evidence is weak, it says less.

Chance levels used: a classifier that knows nothing has cross-entropy ln C (C classes) and
accuracy 1/C, or the majority class's share when it predicts that class.
"""

from __future__ import annotations

import dataclasses
import math

from glassnet.diagnostics import diagnosis_data as data
from glassnet.diagnostics import diagnosis_rules as rules
from glassnet.diagnostics.diagnosis_setup import setup
from glassnet.diagnostics.diagnosis_wiring import wiring
from glassnet.diagnostics.findings import Facts, Finding, fmt

__all__ = ["Diagnosis", "Finding", "diagnose_run", "reconcile"]


@dataclasses.dataclass
class Diagnosis:
    """The findings, most important first; ``summary`` says what was trained and how."""

    findings: list
    summary: str

    @property
    def warnings(self) -> list:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def healthy(self) -> bool:
        return not self.warnings

    def lines(self) -> list:
        """One string per finding (what History.verdicts and the report hold)."""
        return [str(f) for f in self.findings] or ["no problems found"]

    def __str__(self) -> str:
        head = f"diagnosis: {self.summary}"
        if not self.findings:
            return head + "\n  no problems found"
        body = [f"{i}. {f}" for i, f in enumerate(self.findings, 1)]
        return head + "\n" + "\n".join("  " + b.replace("\n", "\n  ") for b in body)


def _symptom_of(finding: Finding) -> str:
    """The symptom key a finding stands for (when it is itself a symptom of something)."""
    return {
        "overfitting": "overfit",
        "model_too_small": "small_model",
        "collapse": "collapse",
        "no_learning": "no_learning",
        "still_falling": "still_falling",
        "hot_init": "hot_init",
        "lr_too_high": "lr_high",
        "lr_too_low": "lr_low",
        "nonfinite": "nonfinite",
        "vanishing_gradients": "vanishing",
        "dead_at_init": "dead",
        "exploding_gradients": "exploding",
        "labels_unrelated": "unrelated",
        "noisy_labels": "inverted",
        "heavy_dropout": "inverted",
    }.get(finding.problem, finding.explains[0] if finding.problem.startswith("health_") else "")


def reconcile(candidates: list) -> list:
    """Keep the best-scoring findings; drop those explained by, or pulling a knob against, a
    finding already kept; merge health findings of one symptom into one."""
    kept: list = []
    explained: set = set()
    knobs: dict = {}
    for c in sorted(candidates, key=lambda c: -c.score):
        symptom = _symptom_of(c)
        if symptom and symptom in explained:
            continue
        if any(knobs.get(k, d) != d for k, d in c.knobs):
            continue
        same = next((k for k in kept if k.problem == c.problem), None)
        if same is not None:
            same.evidence += c.evidence
            same.layers += c.layers
            continue
        kept.append(c)
        explained.update(c.explains)
        knobs.update(dict(c.knobs))
    return kept


def diagnose_run(w) -> Diagnosis:
    """Rank the findings of a :class:`~glassnet.diagnostics.watch.Watch`'s evidence."""
    f = Facts(w)
    stopped_on_nan = getattr(w, "nan_origin", None) or getattr(w, "nan_data", None)
    if not f.steps and not f.epochs and stopped_on_nan is None:
        return Diagnosis([], "nothing was trained yet")
    direct = rules.direct(f) + wiring(f) + data.unshuffled(f) + data.nonfinite_op(f) + setup(f)
    direct += data.nonfinite_data(f) + data.nll_on_scores(f)
    findings = reconcile(direct + rules.inferred(f) + rules.symptoms(f))
    validated = f.val_acc is not None or f.val_loss or getattr(w, "val_input_stats", None)
    if not validated and not any(x.severity == "warning" for x in findings):
        findings.append(Finding(
            "no_validation", "no validation data: overfitting cannot be judged",
            ["only training data was seen"],
            ["hold out data: fit(..., validation_split=0.2) or validation_data=(x, y)"],
            severity="note"))  # fmt: skip
    parts = [f"{f.n_epochs} epoch{'s' * (f.n_epochs != 1)}"]
    if f.unit == "step":
        parts[0] += f", {len(f.steps)} steps"
    if f.lr_text:
        parts.append(f.lr_text)
    if math.isfinite(f.init):
        parts.append(f"loss {fmt(f.init)} -> {fmt(f.final)}")
    if f.logC:
        parts.append(f"chance ln {f.C} = {f.logC:.2f}")
    if f.acc is not None:
        acc = f"train accuracy {f.acc:.1%}"
        if f.val_acc is not None:
            acc += f", validation {f.val_acc:.1%}"
        if f.chance is not None:
            acc += f" (chance {1 / f.C:.1%}, majority class {f.majority:.1%})"
        parts.append(acc)
    if w.stop_reason:
        parts.append(f"stopped early: {w.stop_reason}")
    return Diagnosis(findings, "; ".join(parts))
