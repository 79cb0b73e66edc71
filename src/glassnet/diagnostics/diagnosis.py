"""One diagnosis from all the evidence: ranked findings, each with evidence and remedies.

The evidence is what a :class:`~glassnet.diagnostics.watch.Watch` saw: per-step losses and
gradient norms, per-epoch train/validation loss and accuracy, the predicted classes, the
health monitor's per-layer statistics (dead and saturated units, update-to-weight ratios,
gradient flow), the input scale, the optimizer and learning rate, the op that fed the loss,
the weights at the start, and whether gradients accumulated across steps.

Each rule names a *cause* and lists the symptoms it explains. Causes seen directly (a softmax
in the graph before ``cross_entropy``; gradients that a step already used receiving more;
identical units at initialization; class-index targets given to a regression loss) rank
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

import numpy as np


@dataclasses.dataclass
class Finding:
    """One problem: what it is, the numbers that show it, and fixes most likely first."""

    problem: str  # a stable key, e.g. "lr_too_high", "softmax_before_loss"
    title: str
    evidence: list
    remedies: list
    score: float = 0.0
    explains: tuple = ()  # the symptoms this cause accounts for
    knobs: tuple = ()  # (knob, direction): ("lr", -1) lowers the learning rate
    severity: str = "warning"  # or "note" (information, not a problem)
    since_epoch: int | None = None
    layers: tuple = ()

    @property
    def kind(self) -> str:
        """The problem key (the name learning verdicts had)."""
        return self.problem

    def __str__(self) -> str:
        since = f" (since epoch {self.since_epoch})" if self.since_epoch else ""
        lines = [f"{self.title}{since}"]
        lines += [f"    evidence: {e}" for e in self.evidence]
        lines += [f"    fix {i}: {r}" for i, r in enumerate(self.remedies, 1)]
        return "\n".join(lines)


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


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) and math.isfinite(v) else str(v)


class _Facts:
    """The numbers the rules read, computed once from a watch."""

    def __init__(self, w):
        self.w = w
        self.epochs = w.epochs
        self.n_epochs = len(w.epochs)
        self.steps = [v for v in w.step_loss]
        finite = [v for v in self.steps if math.isfinite(v)]
        loss = [e.get("loss") for e in w.epochs]
        self.loss = [v if v is not None else math.nan for v in loss]
        self.init = finite[0] if finite else (self.loss[0] if self.loss else math.nan)
        self.peak = max(finite) if finite else math.nan
        self.peak_step = self.steps.index(self.peak) + 1 if finite else None
        self.nonfinite_step = next(
            (i + 1 for i, v in enumerate(self.steps) if not math.isfinite(v)), None
        )
        if self.nonfinite_step is None and any(not math.isfinite(v) for v in self.loss):
            self.nonfinite_step = len(self.steps)
        self.C = w.num_classes if w.loss_op in ("cross_entropy", "nll_loss") else None
        self.logC = math.log(self.C) if self.C and self.C > 1 else None
        counts = w.class_counts
        self.majority = float(counts.max() / counts.sum()) if counts is not None else None
        self.chance = max(1.0 / self.C, self.majority or 0.0) if self.C else None
        acc = [e.get("accuracy") for e in w.epochs]
        self.acc = acc[-1] if acc and acc[-1] is not None else None
        self.best_acc = max((a for a in acc if a is not None), default=None)
        vacc = [e.get("val_accuracy") for e in w.epochs if e.get("val_accuracy") is not None]
        self.val_acc = vacc[-1] if vacc else None
        self.best_val_acc = max(vacc) if vacc else None
        self.val_loss = [e["val_loss"] for e in w.epochs if e.get("val_loss") is not None]
        self.final = next((v for v in reversed(self.loss) if math.isfinite(v)), math.nan)
        self.best = min((v for v in self.loss if math.isfinite(v)), default=math.nan)
        ref = self.logC if self.logC else self.init
        self.ref = max(self.init, ref) if math.isfinite(self.init) else ref
        # learned: the loss fell well below both its start and chance
        self.improved = (self.init - self.best) / self.init if self.init and self.init > 0 else 0
        self.good = (self.acc is not None and self.acc >= 0.9) or (
            self.acc is None and self.improved > 0.8
        )
        self.no_learning = (
            (self.acc is not None and self.chance is not None and self.acc < self.chance + 0.1)
            or (self.acc is None and self.improved < 0.1)
        ) and self.improved < 0.25
        self.blowup = bool(finite) and self.peak_step > 1 and self.peak > 3 * self.ref
        self.rose = len(self.loss) >= 2 and self.final > 1.1 * self.loss[0]
        gn = [g for g in w.grad_norm if math.isfinite(g)]
        base = float(np.median(gn[: max(5, len(gn) // 10)])) if gn else 0.0
        self.grad_spike = max(gn) / max(base, 1e-12) if gn else 1.0
        self.grad_growth = gn[-1] / max(gn[0], 1e-12) if len(gn) > 1 else 1.0
        self.gn = gn
        # the optimizer and learning rate actually used
        opt = w.optimizer if w.optimizer is not None else getattr(w, "fit_optimizer", None)
        self.opt_name = type(opt).__name__ if opt is not None else "optimizer"
        self.lr = w.step_lr[0] if w.step_lr else (self.epochs[0].get("lr") if self.epochs else None)
        group = opt.param_groups[0] if getattr(opt, "param_groups", None) else {}
        model = getattr(w, "model", None)
        self.regularized = bool(group.get("weight_decay")) or any(
            "Dropout" in type(m).__name__ and getattr(m, "p", 0) > 0
            for _, m in (model.named_modules() if model else [])
        )
        self.adaptive = self.opt_name in ("Adam", "AdamW", "RMSprop", "Adagrad")
        self.lr_text = f"{self.opt_name} lr={_fmt(self.lr)}" if self.lr is not None else ""
        self.lr_note = f" ({self.lr_text})" if self.lr_text else ""
        self.unit = "epoch" if getattr(w, "per_epoch", False) else "step"
        # health
        mon = w.monitor
        self.health = list(mon.warnings) if mon is not None else []
        hist = mon.history if mon is not None else []
        self.update = [float(np.median(list(h["updates"].values()))) for h in hist if h["updates"]]
        self.flow = []
        for h in hist:
            ws = [g["mean_abs"] for n, g in h["grads"].items() if n.endswith("weight")]
            if len(ws) >= 2:
                self.flow.append(ws[0] / max(ws[-1], 1e-30))
        acts = hist[-1]["activations"] if hist else {}
        self.saturating = any(k.endswith(("/sigmoid", "/tanh")) for k in acts)
        s = w.input_stats
        self.input_scale = None
        if s:
            self.input_scale = max(abs(s["min"]), abs(s["max"]))
        self.bad_inputs = s is not None and (s["std"] > 5 or abs(s["mean"]) > 5)
        last = w.epochs[-1].get("predicted") if w.epochs else None
        self.collapse = None
        if last is not None and last.sum():
            k = int(last.argmax())
            share = float(last[k] / last.sum())
            if share > 0.9 and (self.acc is None or self.acc < (self.chance or 0) + 0.1):
                self.collapse = (k, share)

    def health_of(self, kind: str) -> list:
        return [h for h in self.health if h.kind == kind]


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
    f = _Facts(w)
    if not f.steps and not f.epochs:
        return Diagnosis([], "nothing was trained yet")
    from glassnet.diagnostics import diagnosis_rules as rules

    findings = reconcile(rules.direct(f) + rules.inferred(f) + rules.symptoms(f))
    if f.val_acc is None and not f.val_loss and not any(x.severity == "warning" for x in findings):
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
        parts.append(f"loss {_fmt(f.init)} -> {_fmt(f.final)}")
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
