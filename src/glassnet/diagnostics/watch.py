"""Watch a training run and gather the evidence a diagnosis needs, in ``fit`` or a loop
written by hand:

    watch = glassnet.watch(model, optimizer)      # one line before the loop
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
    print(watch.diagnosis())

What is watched, and how (every hook is removed by ``watch.stop()``):

- the loss op of each step (a forward hook on ``cross_entropy``, ``nll_loss``, ``mse_loss``,
  ...): its value, the scores fed to it (accuracy, predicted classes, whether they sum to one)
  and the op that produced them (a softmax before a loss that expects logits);
- forward passes in eval mode or under ``no_grad`` with a loss: validation batches;
- ``optimizer.step`` (wrapped on this one optimizer object; in ``fit`` the loop tells the
  watch instead): the global gradient norm, the learning rate, and the health monitor's
  gradient, update and activation statistics;
- the start of each backward: a gradient that an optimizer step already used, still there,
  is about to receive more (``zero_grad`` was not called); warned once with the line to add,
  unless ``accumulation=True`` declares that gradients are accumulated on purpose;
- the model's input (a forward pre-hook): its scale;
- the weights at the start: layers whose units are all identical (a constant initialization).

An epoch ends when ``end_epoch()`` is called (``fit`` does), or in a hand-written loop when
training resumes after validation batches; ``diagnosis()`` closes the last one.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from glassnet.autograd.grad_mode import is_grad_enabled
from glassnet.autograd.hooks import register_backward_pre_hook, register_forward_hook
from glassnet.diagnostics._context import user_frame
from glassnet.diagnostics.health import HealthMonitor

CLASS_LOSSES = ("cross_entropy", "nll_loss")
REGRESSION_LOSSES = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss")
LOSS_OPS = (
    CLASS_LOSSES
    + REGRESSION_LOSSES
    + (
        "binary_cross_entropy_with_logits",
        "binary_cross_entropy",
    )
)


HEALTH_EVERY = 4  # health=True: per-layer statistics on one batch in 4 (benchmarks/RESULTS.md)


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") else a)


class Watch:
    """Evidence about one training run; ``diagnosis()`` turns it into ranked findings.

    Args:
        model: the ``nn.Module`` being trained.
        optimizer: its optimizer; its ``step`` is wrapped so a hand-written loop needs no
            other call (``None`` when a loop reports steps itself, as ``fit`` does).
        accumulation: True when gradients are accumulated over several backward passes on
            purpose (no warning about a missing ``zero_grad``).
        health: watch activations, gradients and updates per layer: True samples one batch
            in ``HEALTH_EVERY`` (4), an int N one batch in N (1: every batch).
        verbose: print the one-time warning about accumulating gradients.
    """

    def __init__(
        self, model, optimizer=None, *, accumulation=False, health=True, verbose=True, wrap=True
    ):
        self.model, self.optimizer, self._wrap = model, optimizer, wrap
        self._named = list(model.named_parameters())  # fixed for a run: walked once
        self.accumulation, self.verbose = bool(accumulation), verbose
        every = HEALTH_EVERY if health is True else int(health)
        self.monitor = HealthMonitor(model, every=every) if health else None
        # per step
        self.step_loss: list = []
        self.grad_norm: list = []
        self.step_lr: list = []
        # per epoch: dicts with loss, accuracy, val_loss, val_accuracy, steps, predicted
        self.epochs: list = []
        self.health_new: list = []  # health warnings new at each epoch end
        self.stop_reason: str | None = None
        # facts about the task
        self.loss_op: str | None = None
        self.num_classes: int | None = None
        self.class_counts: np.ndarray | None = None
        self.score_producer: str | None = None  # op that produced the loss's input
        self.probability_batches = 0  # batches whose scores were >= 0 and summed to 1
        self.loss_batches = 0
        self.target_values: set = set()  # distinct values of regression targets (first 50)
        self.target_integral = True
        self.target_var: float | None = None
        self.input_stats: dict | None = None
        self.symmetric_at_start = self._symmetric_layers()
        self.init_scale = self._init_scale()
        self.accumulated_at: tuple | None = None  # (step, "file:line: code")
        self.recurrent = any(
            type(m).__name__ in ("RNN", "LSTM", "GRU") for _, m in model.named_modules()
        )
        self._reset_epoch()
        self._pending_loss: float | None = None
        self._used_grads: dict = {}
        self._checked = True
        self._val_since_train = False
        self._model_ran = False
        self._handles: list = []
        self._orig_step = None
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Watch:
        if self._handles:
            return self
        self._handles = [
            register_forward_hook(self._on_op),
            register_backward_pre_hook(self._on_backward),
            self.model.register_forward_pre_hook(self._on_input),
        ]
        if self.monitor is not None:
            self.monitor.start()
        if self.optimizer is not None and self._wrap and self._orig_step is None:
            self._orig_step = self.optimizer.step
            self.optimizer.step = self._wrapped_step
        return self

    def stop(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        if self.monitor is not None:
            self.monitor.stop()
        if self._orig_step is not None:
            self.optimizer.__dict__.pop("step", None)
            self._orig_step = None

    def __enter__(self) -> Watch:
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    def _wrapped_step(self, *args, **kwargs):
        self.before_step()
        result = self._orig_step(*args, **kwargs)
        self.after_step()
        return result

    # -- what the hooks record ----------------------------------------------------------------
    def _reset_epoch(self) -> None:
        self._ep = {"loss": 0.0, "n": 0, "correct": 0, "count": 0, "val_loss": 0.0,
                    "val_n": 0, "val_correct": 0, "val_count": 0, "pred": None}  # fmt: skip

    def _on_input(self, module, inputs) -> None:
        self._model_ran = True
        if self.input_stats is not None and self.input_stats["batches"] >= 5:
            return
        x = inputs[0] if inputs else None
        a = getattr(x, "_data", None)
        if a is None or getattr(a, "dtype", None) is None or a.dtype.kind != "f" or not a.size:
            return
        a = _host(a).astype(np.float64)
        s = self.input_stats or {"batches": 0, "min": np.inf, "max": -np.inf, "sum": 0.0,
                                 "sumsq": 0.0, "n": 0}  # fmt: skip
        s["batches"] += 1
        s["min"], s["max"] = min(s["min"], float(a.min())), max(s["max"], float(a.max()))
        s["sum"] += float(a.sum())
        s["sumsq"] += float((a * a).sum())
        s["n"] += a.size
        s["mean"] = s["sum"] / s["n"]
        s["std"] = max(s["sumsq"] / s["n"] - s["mean"] ** 2, 0.0) ** 0.5
        self.input_stats = s

    def _on_op(self, node, inputs, out) -> None:
        if node.name not in LOSS_OPS or out._data.size != 1 or not inputs:
            return
        if not self._model_ran:
            return  # a loss of some other model (or of no model): not this run's
        self._model_ran = False
        training = is_grad_enabled() and getattr(self.model, "training", True)
        value = float(_host(out._data))
        scores = _host(inputs[0]._data)
        target = self._target(node, inputs)
        if training and self._val_since_train and self._ep["n"]:
            self.end_epoch()  # a hand-written loop went back to training after validation
        self._val_since_train = not training
        self.loss_op = node.name
        correct = count = 0
        pred = None
        if node.name in CLASS_LOSSES and scores.ndim >= 2:
            classes = scores.shape[1]
            self.num_classes = classes
            flat = np.moveaxis(scores, 1, -1).reshape(-1, classes)
            pred = flat.argmax(axis=1)
            if target is not None and target.size == len(pred):
                t = target.reshape(-1).astype(np.int64)
                keep = (t >= 0) & (t < classes)
                correct, count = int((pred[keep] == t[keep]).sum()), int(keep.sum())
                if training:
                    counts = np.bincount(t[keep], minlength=classes)
                    prev = self.class_counts
                    same = prev is not None and prev.shape == counts.shape
                    self.class_counts = prev + counts if same else counts
            if training and self.loss_batches < 50:  # enough to tell scores from probabilities
                producer = inputs[0]._ctx.name if inputs[0]._ctx is not None else None
                self.score_producer = producer
                self.loss_batches += 1
                sums = flat.sum(axis=1)
                if flat.min() >= 0 and np.allclose(sums, 1.0, atol=1e-3):
                    self.probability_batches += 1
        elif node.name in REGRESSION_LOSSES and target is not None and training:
            self.score_producer = inputs[0]._ctx.name if inputs[0]._ctx is not None else None
            if len(self.target_values) < 50:
                self.target_values.update(np.unique(target)[:50].tolist())
            self.target_integral &= bool(np.all(np.mod(target, 1) == 0))
            if self.target_var is None:
                self.target_var = float(np.var(target))
        ep = self._ep
        if training:
            self._pending_loss = value
            ep["loss"] += value
            ep["n"] += 1
            ep["correct"] += correct
            ep["count"] += count
            if pred is not None:
                bins = np.bincount(pred, minlength=self.num_classes)
                same = ep["pred"] is not None and ep["pred"].shape == bins.shape
                ep["pred"] = ep["pred"] + bins if same else bins
        else:
            ep["val_loss"] += value
            ep["val_n"] += 1
            ep["val_correct"] += correct
            ep["val_count"] += count

    @staticmethod
    def _target(node, inputs):
        if len(inputs) > 1:
            return _host(inputs[1]._data)
        safe = getattr(node, "safe", None)  # class-index losses keep their targets here
        if safe is None:
            safe = getattr(node, "target", None)
        return None if safe is None else _host(getattr(safe, "_data", safe))

    def _on_backward(self, node, grad) -> None:
        if self._checked:
            return
        self._checked = True
        if self.accumulation or not self._used_grads:
            return
        # the very gradient a step used, still there and not zeroed in place
        # (zero_grad(set_to_none=False) on a module keeps the tensor, filled with 0)
        stale = [name for name, p in self._named
                 if p.grad is not None and self._used_grads.get(name) is p.grad
                 and bool(p.grad._data.any())]  # fmt: skip
        if stale and self.accumulated_at is None:
            file, line, code = user_frame()
            file = os.path.relpath(file) if not os.path.relpath(file).startswith("..") else file
            code = code.split("#", 1)[0].strip()
            self.accumulated_at = (len(self.grad_norm) + 1, f"{file}:{line} (`{code}`)")
            if self.verbose:
                print(
                    f"glassnet.watch: gradients are accumulating across steps: {len(stale)} "
                    "parameters still hold the gradient the last optimizer step used, and "
                    f"this backward adds to it ({file}:{line}). Add `optimizer.zero_grad()` "
                    "before `loss.backward()` (or watch(..., accumulation=True) if you "
                    "accumulate on purpose).",
                    file=sys.stderr,
                    flush=True,
                )

    # -- steps and epochs (fit calls these; a wrapped optimizer.step calls the first two) ----
    def before_step(self) -> None:
        """Between ``loss.backward()`` and ``optimizer.step()``: read the gradients."""
        if self.monitor is not None:
            norm = self.monitor.after_backward()
            self.monitor.before_step()
        else:
            norm = 0.0
            for _, p in self._named:
                if p.grad is not None:
                    norm += float((p.grad._data * p.grad._data).sum())
            norm = norm**0.5
        self.grad_norm.append(norm)
        self.step_loss.append(self._pending_loss if self._pending_loss is not None else math.nan)
        self._pending_loss = None

    def after_step(self) -> None:
        """After ``optimizer.step()``: update statistics, and remember the used gradients."""
        if self.monitor is not None:
            self.monitor.after_step()
        opt = self.optimizer
        if opt is not None and getattr(opt, "param_groups", None):
            self.step_lr.append(float(opt.param_groups[0]["lr"]))
        self._used_grads = {n: p.grad for n, p in self._named}
        self._checked = False

    def end_epoch(self, logs: dict | None = None) -> list:
        """Close an epoch: ``logs`` (from ``fit``) has loss, accuracy, val_loss, ...; without
        it the watched batches give them. Returns the health warnings new this epoch."""
        ep, logs = self._ep, dict(logs or {})
        record = {"steps": len(self.grad_norm), "predicted": ep["pred"]}
        record["loss"] = logs.get("loss", ep["loss"] / ep["n"] if ep["n"] else None)
        if "accuracy" in logs or ep["count"]:
            record["accuracy"] = logs.get("accuracy", ep["correct"] / max(ep["count"], 1))
        if "val_loss" in logs or ep["val_n"]:
            record["val_loss"] = logs.get("val_loss", ep["val_loss"] / max(ep["val_n"], 1))
        if "val_accuracy" in logs or ep["val_count"]:
            val_acc = ep["val_correct"] / max(ep["val_count"], 1)
            record["val_accuracy"] = logs.get("val_accuracy", val_acc)
        if self.optimizer is not None and getattr(self.optimizer, "param_groups", None):
            record["lr"] = float(self.optimizer.param_groups[0]["lr"])
        self.epochs.append(record)
        self._reset_epoch()
        new = self.monitor.end_epoch(len(self.epochs)) if self.monitor is not None else []
        self.health_new.append(new)
        return new

    # -- the diagnosis --------------------------------------------------------------------------
    def _symmetric_layers(self) -> list:
        """Weight matrices (not the output layer) whose rows (units) are all identical."""
        weights = [(n, p) for n, p in self.model.named_parameters()
                   if n.endswith("weight") and p.ndim >= 2 and p.shape[0] > 1]  # fmt: skip
        found = []
        for name, p in weights[:-1]:
            w = _host(p._data).reshape(p.shape[0], -1)
            if np.all(w == w[:1]):
                found.append(name)
        return found

    def _init_scale(self) -> dict:
        """std(W) * sqrt(fan_in) of each weight matrix at the start: about 0.58 under the
        default init (uniform in +-1/sqrt(fan_in)), 1.41 under He, 1 under LeCun; a layer far
        below 0.1 shrinks the signal at every layer, far above 10 blows it up."""
        out = {}
        for name, p in self.model.named_parameters():
            if name.endswith("weight") and p.ndim >= 2 and p.shape[0] > 1:
                w = _host(p._data).astype(np.float64)
                fan_in = w.size // w.shape[0]
                if w.std() > 0:
                    out[name] = float(w.std() * fan_in**0.5)
        return out

    def symmetric_now(self) -> list:
        """Of the layers with identical units at the start, those still identical now."""
        params = dict(self.model.named_parameters())
        still = []
        for name in self.symmetric_at_start:
            w = _host(params[name]._data).reshape(params[name].shape[0], -1)
            if np.allclose(w, w[:1], rtol=1e-5, atol=1e-7):
                still.append(name)
        return still

    def finish(self) -> None:
        """Close a last unfinished epoch (steps since the last ``end_epoch``)."""
        if self._pending_loss is not None:  # a last loss with no step after it (non-finite)
            self.step_loss.append(self._pending_loss)
            self._pending_loss = None
        if self._ep["n"] and self.grad_norm or not self.epochs and self.grad_norm:
            self.end_epoch()

    def diagnosis(self):
        """The ranked findings from everything watched so far
        (:class:`~glassnet.diagnostics.diagnosis.Diagnosis`)."""
        from glassnet.diagnostics.diagnosis import diagnose_run

        self.finish()
        return diagnose_run(self)


def watch(model, optimizer=None, *, accumulation: bool = False, health: bool | int = True) -> Watch:
    """Watch a hand-written training loop; ``print(watch.diagnosis())`` at the end.

    >>> import glassnet as gn, glassnet.functional as F
    >>> gn.manual_seed(0)
    >>> model = gn.nn.Sequential(gn.nn.Linear(4, 16), gn.nn.ReLU(), gn.nn.Linear(16, 3))
    >>> opt = gn.optim.SGD(model.parameters(), lr=0.1)
    >>> w = gn.watch(model, opt)
    >>> x, y = gn.randn(48, 4), gn.tensor([i % 3 for i in range(48)])
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     F.cross_entropy(model(x), y).backward()
    ...     opt.step()
    >>> w.stop(); len(w.grad_norm)
    3
    """
    return Watch(model, optimizer, accumulation=accumulation, health=health)
