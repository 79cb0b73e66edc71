"""What a diagnosis is made of: a :class:`Finding` (one problem with its evidence and
remedies) and :class:`Facts` (the numbers the rules read, computed once from a watch)."""

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


def fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) and math.isfinite(v) else str(v)


class Facts:
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
        # a blow-up: far above the start (or chance), on several steps or by 10x on one (a
        # single noisy minibatch of a regression can be 3x its neighbours)
        high = [v for v in finite[1:] if v > 3 * self.ref] if finite else []
        # ... and not one the run recovered from (ending at under half its start and chance)
        recovered = math.isfinite(self.final) and self.final < 0.5 * min(
            self.init, ref or self.init
        )
        self.blowup = bool(high) and (len(high) >= 3 or self.peak > 10 * self.ref)
        self.blowup = self.blowup and not recovered
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
        self.dropout = max((getattr(m, "p", 0) for _, m in (model.named_modules() if model else [])
                            if "Dropout" in type(m).__name__), default=0.0)  # fmt: skip
        scales = getattr(w, "init_scale", {}) or {}
        hidden = list(scales.items())[:-1] or list(scales.items())
        self.init_small = [n for n, v in hidden if v < 0.05]
        self.init_scales = scales
        self.adaptive = self.opt_name in ("Adam", "AdamW", "RMSprop", "Adagrad")
        self.lr_text = f"{self.opt_name} lr={fmt(self.lr)}" if self.lr is not None else ""
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
