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
- the model's input (a forward pre-hook): its scale, in training and in validation apart,
  and a fingerprint of each sample of epoch 1 (training and validation batches), to find
  validation batches made of training samples;
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
from glassnet.backend.device import xp_of
from glassnet.diagnostics._context import user_frame
from glassnet.diagnostics._device_stats import (
    class_stats,
    fold_inputs,
    fold_target,
    initial_weights,
    read,
    row_prints,
    still_identical,
    target_counts,
)
from glassnet.diagnostics.health import HealthMonitor
from glassnet.diagnostics.wiring import Wiring

CLASS_LOSSES = ("cross_entropy", "nll_loss", "cross_entropy_probs")
REGRESSION_LOSSES = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss")
LOSS_OPS = (
    CLASS_LOSSES
    + REGRESSION_LOSSES
    + (
        "binary_cross_entropy_with_logits",
        "binary_cross_entropy",
    )
)
# one loss under two ops: cross_entropy with class probabilities as targets (PyTorch's form)
_SAME_LOSS = {"cross_entropy_probs": "cross_entropy"}


HEALTH_EVERY = 4  # health=True: per-layer statistics on one batch in 4 (benchmarks/RESULTS.md)
INPUT_BATCHES = 5  # the input's scale: from the first 5 batches
TARGET_BATCHES = 5  # regression targets (distinct values, integral, variance): first 5 sampled
PRINT_ROWS = 65536  # training samples fingerprinted (epoch 1) to find them in validation
DENSE_STEPS = 50  # the gradient norm on each of the first 50 steps (blow-ups start early)


class Watch:
    """Evidence about one training run; ``diagnosis()`` turns it into ranked findings.

    What is read on which step (the cost: benchmarks/RESULTS.md): the loss of every step is
    kept as the array the loss op returned (on the device) and read with everything else in
    one transfer when an epoch ends (``end_epoch``, ``diagnosis``, or reading ``step_loss``).
    Sampled steps (one in ``every``, and the first training batch of each epoch) add the
    global gradient norm (also taken on each of the first ``DENSE_STEPS``), the scores'
    statistics (accuracy, predicted classes, class counts, whether scores sum to one:
    computed on the device) and the check for a missing ``zero_grad`` on the next backward;
    the other steps cost the hook calls and an append.

    Args:
        model: the ``nn.Module`` being trained.
        optimizer: its optimizer; its ``step`` is wrapped so a hand-written loop needs no
            other call (``None`` when a loop reports steps itself, as ``fit`` does).
        accumulation: True when gradients are accumulated over several backward passes on
            purpose (no warning about a missing ``zero_grad``).
        health: watch activations, gradients and updates per layer: True samples one batch
            in ``HEALTH_EVERY`` (4), an int N one batch in N (1: every batch). It also sets
            the sampling of the watch's own statistics (one in 4 when health is off).
        verbose: print the one-time warning about accumulating gradients.
    """

    def __init__(
        self, model, optimizer=None, *, accumulation=False, health=True, verbose=True, wrap=True
    ):
        self.model, self.optimizer, self._wrap = model, optimizer, wrap
        self._named = list(model.named_parameters())  # fixed for a run: walked once
        self.accumulation, self.verbose = bool(accumulation), verbose
        every = HEALTH_EVERY if health is True or not health else int(health)
        self.every = max(1, every)
        self.monitor = HealthMonitor(model, every=self.every) if health else None
        # per step (the losses are read when an epoch ends: see ``step_loss``)
        self._step_loss: list = []
        self.steps = 0  # optimizer steps taken
        self._grad_norm: list = []  # on sampled steps only; their indices in grad_norm_steps
        self.grad_norm_steps: list = []
        self.step_lr: list = []
        # per epoch: dicts with loss, accuracy, val_loss, val_accuracy, steps, predicted
        self.epochs: list = []
        self.health_new: list = []  # health warnings new at each epoch end
        self.stop_reason: str | None = None
        # facts about the task
        self.loss_op: str | None = None
        self.num_classes: int | None = None
        self.class_counts: np.ndarray | None = None
        self.batch_classes: list = []  # (distinct classes, size) of each batch of epoch 1
        self.nan_origin = None  # the op that made a stopped fit's NaN (nan_origin.py)
        self.nan_data = None  # or the data: (part, samples, batch size) (nan_origin.py)
        self.score_producer: str | None = None  # op that produced the loss's input
        self.probability_batches = 0  # batches whose scores were >= 0 and summed to 1
        self.loss_batches = 0
        self.target_values: set = set()  # distinct values of regression targets (first 50)
        self.target_integral = True
        self.target_var: float | None = None
        self.target_mean: float | None = None
        self.target_sample = np.zeros(0)  # regression targets of the first sampled batches
        self._input_stats: dict | None = None
        self._inputs: list = []  # (min, max, sum, sum of squares, size) of the first batches
        self._val_inputs: list = []  # the same for the first validation batches
        self.val_input_stats: dict | None = None
        self.train_prints: list = []  # one number per sample (row_prints), per batch of epoch 1
        self.val_prints: list = []  # ... and of its validation batches
        self._print_rows = [0, 0]  # samples fingerprinted: validation, training
        self.clip_norm: float | None = None  # fit's clip_grad_norm (gradients read before it)
        self.custom_loss = False  # the loss was no known loss op (a hand-written one)
        self._scalar = None  # the last 0-d output that requires grad: a hand-written loss
        self._targets: list = []  # regression targets of the first sampled batches
        self._unread: list = []  # (list, index) of values still on the device
        self.symmetric_at_start, self.init_scale = initial_weights(self._named)
        self.accumulated_at: tuple | None = None  # (step, "file:line: code")
        self.wiring = Wiring(model, optimizer, self._named)  # what the optimizer trains
        self.recurrent = any(
            type(m).__name__ in ("RNN", "LSTM", "GRU") for _, m in model.named_modules()
        )
        self._reset_epoch()
        self._pending_loss = self._eval_loss = None
        self._used_grads: dict = {}
        self._loss_used = self._checked = True
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

    # -- values kept on the device until an epoch ends -----------------------------------------
    def _keep(self, where: list, value) -> None:
        """Append ``value`` (a device or NumPy array) to ``where``; read it in ``flush``."""
        self._unread.append((where, len(where)))
        where.append(value)

    def flush(self, extra: list | None = None) -> list:
        """Read every value kept on the device, and ``extra`` ones, in one transfer, and fold
        in what they say; returns the host copies of ``extra``."""
        extra = extra or []
        if self._unread or extra:
            values = read([where[i] for where, i in self._unread] + extra)
            for (where, i), v in zip(self._unread, values):
                where[i] = float(v) if v.ndim == 0 else v
            self._unread, extra = [], values[len(self._unread) :]
        self._input_stats = fold_inputs(self._input_stats, self._inputs)
        self.val_input_stats = fold_inputs(self.val_input_stats, self._val_inputs)
        self._inputs, self._val_inputs = [], []
        for target in self._targets:
            fold_target(self, np.asarray(target, dtype=np.float64))
        self._targets = []
        return extra

    @property
    def step_loss(self) -> list:
        """The training loss of every step (read from the device now if still there)."""
        self.flush()
        return self._step_loss

    @property
    def grad_norm(self) -> list:
        """The global gradient norm on sampled steps (their indices: ``grad_norm_steps``)."""
        self.flush()
        return self._grad_norm

    @property
    def input_stats(self) -> dict | None:
        """min, max, mean, std of the model's input over its first batches."""
        self.flush()
        return self._input_stats

    # -- what the hooks record ----------------------------------------------------------------
    def _reset_epoch(self) -> None:
        # losses: arrays, one per batch; stats: one vector per sampled batch (_class_stats)
        self._ep = {"losses": [], "stats": [], "n": 0, "val_losses": [], "val_stats": [],
                    "val_n": 0, "counts": []}  # fmt: skip

    def _on_input(self, module, inputs) -> None:
        self._model_ran = True
        x = inputs[0] if inputs else None
        a = getattr(x, "_data", None)
        if a is None or getattr(a, "dtype", None) is None or a.dtype.kind != "f" or not a.size:
            return
        training = is_grad_enabled() and getattr(self.model, "training", True)
        prints = self.train_prints if training else self.val_prints
        if a.ndim >= 2 and not self.epochs and self._print_rows[training] < PRINT_ROWS:
            self._print_rows[training] += a.shape[0]
            self._keep(prints, row_prints(a))  # which samples validation shares with training
        kept, stats = (self._inputs, self._input_stats) if training else (
            self._val_inputs, self.val_input_stats)  # fmt: skip
        if len(kept) + (stats or {}).get("batches", 0) >= INPUT_BATCHES:
            return
        xp = xp_of(a)
        a = a.astype(xp.float64)
        stats = xp.stack([a.min(), a.max(), a.sum(), (a * a).sum(), a.sum() * 0 + a.size])
        self._keep(kept, stats)

    def _sampling(self, training: bool) -> bool:
        return not training or self.steps % self.every == 0 or self._ep["n"] == 0

    def _on_op(self, node, inputs, out) -> None:
        if node.name not in LOSS_OPS:
            if out._data.ndim == 0 and out.requires_grad and self._model_ran:
                self._scalar = out._data  # maybe a hand-written loss (read if a step follows)
            return
        if out._data.size != 1 or not inputs:
            return
        if not self._model_ran:
            return  # a loss of some other model (or of no model): not this run's
        self._model_ran = False
        training = is_grad_enabled() and getattr(self.model, "training", True)
        if training and self._val_since_train and self._ep["n"]:
            self.end_epoch()  # a hand-written loop went back to training after validation
        self._val_since_train = not training
        self.loss_op = _SAME_LOSS.get(node.name, node.name)
        self.wiring.summed = getattr(node, "reduction", None) == "sum"
        ep = self._ep
        sampled = self._sampling(training)
        self._eval_loss = None if training or not is_grad_enabled() else out._data
        if training:
            self._pending_loss, self._loss_used = out._data, False
            ep["n"] += 1
            self._keep(ep["losses"], out._data)
        else:
            ep["val_n"] += 1
            self._keep(ep["val_losses"], out._data)
        if not sampled:
            if training and not self.epochs and self.num_classes and node.name in CLASS_LOSSES:
                target = self._target(node, inputs)  # class counts: every batch of epoch 1
                if target is not None:
                    self._keep(ep["counts"], target_counts(target, self.num_classes))
            return
        scores = inputs[0]._data
        target = self._target(node, inputs)
        if node.name in CLASS_LOSSES and scores.ndim >= 2:
            self.num_classes = scores.shape[1]
            self.wiring.batch = self.wiring.batch or scores.shape[0]  # the first batch's size
            check = training and self.loss_batches < 50  # enough to tell scores from probs
            if check:
                self.score_producer = inputs[0]._ctx.name if inputs[0]._ctx is not None else None
                self.loss_batches += 1
            stats = class_stats(scores, target, check)
            self._keep(ep["stats"] if training else ep["val_stats"], stats)
        elif node.name in REGRESSION_LOSSES and target is not None and training:
            self.score_producer = inputs[0]._ctx.name if inputs[0]._ctx is not None else None
            if len(self._targets) + (self.target_var is not None) * TARGET_BATCHES < TARGET_BATCHES:
                self._keep(self._targets, target)
        elif training:  # binary cross-entropy: a sigmoid before the one with logits
            self.score_producer = inputs[0]._ctx.name if inputs[0]._ctx is not None else None

    @staticmethod
    def _target(node, inputs):
        if len(inputs) > 1:
            return inputs[1]._data
        safe = getattr(node, "safe", None)  # class-index losses keep their targets here
        if safe is None:
            safe = getattr(node, "target", None)
        return None if safe is None else getattr(safe, "_data", safe)  # a Tensor's array

    def _on_backward(self, node, grad) -> None:
        self._loss_used = True  # the pending loss's backward ran (before the step: as it should)
        if self._checked:
            return
        self._checked = True
        if self.accumulation or not self._used_grads:
            return
        # the very gradient a step used, still there and not zeroed in place
        # (zero_grad(set_to_none=False) on a module keeps the tensor, filled with 0)
        same = [(name, p.grad._data) for name, p in self._named
                if p.grad is not None and self._used_grads.get(name) is p.grad]  # fmt: skip
        if not same:
            return
        xp = xp_of(same[0][1])
        nonzero = read([xp.stack([g.any() for _, g in same])])[0]  # one transfer
        stale = [name for (name, _), nz in zip(same, nonzero) if nz]
        if stale and self.accumulated_at is None:
            file, line, code = user_frame()
            file = os.path.relpath(file) if not os.path.relpath(file).startswith("..") else file
            code = code.split("#", 1)[0].strip()
            self.accumulated_at = (self.steps + 1, f"{file}:{line} (`{code}`)")
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
        """Between ``loss.backward()`` and ``optimizer.step()``: read the gradients (on
        sampled steps: the global norm, and the health monitor's statistics)."""
        loss, self._pending_loss = self._pending_loss, None
        scalar, self._scalar = self._scalar, None
        self.wiring.steps_before_backward += loss is not None and not self._loss_used
        if loss is None and scalar is not None and self.model.training:
            loss, self.custom_loss = scalar, True  # a hand-written loss: no loss op ran
            self._ep["n"] += 1
            self._keep(self._ep["losses"], scalar)
        if loss is None and not self.model.training:  # a step on a loss made in eval mode
            loss, self._eval_loss = self._eval_loss, None
            self.wiring.eval_steps += 1
        if loss is not None:
            self._keep(self._step_loss, loss)
        else:
            self._step_loss.append(math.nan)
        self._sampled = self.steps % self.every == 0
        dense = self._sampled or self.steps < DENSE_STEPS
        monitor = self.monitor
        if monitor is not None and monitor.sampled:
            norm = monitor.after_backward(host=False)
            monitor.before_step()
        elif dense:
            squares = [(p.grad._data * p.grad._data).sum() for _, p in self._named
                       if p.grad is not None]  # fmt: skip
            norm = sum(squares) ** 0.5 if squares else None
        else:
            return
        self.wiring.gradless_steps += norm is None  # no gradient at all reached the step
        if norm is not None:
            self.grad_norm_steps.append(self.steps)
            self._keep(self._grad_norm, norm)

    def after_step(self) -> None:
        """After ``optimizer.step()``: update statistics, and on sampled steps remember the
        used gradients (the next backward checks that they were zeroed)."""
        if self.monitor is not None:
            self.monitor.after_step()
        opt = self.optimizer
        if opt is not None and getattr(opt, "param_groups", None):
            self.step_lr.append(float(opt.param_groups[0]["lr"]))
        if getattr(self, "_sampled", True) and not self.accumulation:
            self._used_grads = {n: p.grad for n, p in self._named if n in self.wiring.stepped}
            self._checked = False
        else:
            self._used_grads = {}
        self.steps += 1

    def end_epoch(self, logs: dict | None = None) -> list:
        """Close an epoch: ``logs`` (from ``fit``) has loss, accuracy, val_loss, ...; without
        it the watched batches give them. Reads what the epoch kept on the device in one
        transfer (with the health monitor's). Returns the health warnings new this epoch."""
        monitor = self.monitor
        health = self.flush(monitor.pending() if monitor is not None else None)
        if monitor is not None:
            monitor.apply(health)
        ep, logs = self._ep, dict(logs or {})
        train = np.sum(ep["stats"], axis=0) if ep["stats"] else None
        val = np.sum(ep["val_stats"], axis=0) if ep["val_stats"] else None
        classes = self.num_classes
        pred = train[4 : 4 + classes].astype(np.int64) if train is not None else None
        record = {"steps": self.steps, "predicted": pred}
        mean = float(np.mean(ep["losses"])) if ep["losses"] else None
        record["loss"] = logs.get("loss", mean)
        if "accuracy" in logs or train is not None and train[1]:
            record["accuracy"] = logs["accuracy"] if "accuracy" in logs else train[0] / train[1]
        if "val_loss" in logs or ep["val_losses"]:
            val_loss = float(np.mean(ep["val_losses"])) if ep["val_losses"] else None
            record["val_loss"] = logs.get("val_loss", val_loss)
        if "val_accuracy" in logs or val is not None and val[1]:
            record["val_accuracy"] = (logs["val_accuracy"] if "val_accuracy" in logs
                                      else val[0] / val[1])  # fmt: skip
        if train is not None:
            self.probability_batches += int(round(train[3]))
        if train is not None and self.class_counts is None:  # the first epoch: every batch
            counts = train[4 + classes :] + np.sum(ep["counts"], axis=0)
            self.class_counts = counts.astype(np.int64)
            per_batch = [s[4 + classes :] for s in ep["stats"]] + list(ep["counts"])
            self.batch_classes = [(int((c > 0).sum()), int(c.sum())) for c in per_batch]
        if self.optimizer is not None and getattr(self.optimizer, "param_groups", None):
            record["lr"] = float(self.optimizer.param_groups[0]["lr"])
        self.epochs.append(record)
        self._reset_epoch()
        new = self.monitor.end_epoch(len(self.epochs)) if self.monitor is not None else []
        self.health_new.append(new)
        return new

    # -- the diagnosis --------------------------------------------------------------------------
    def symmetric_now(self) -> list:
        """Of the layers with identical units at the start, those still identical now."""
        return still_identical(dict(self.model.named_parameters()), self.symmetric_at_start)

    def finish(self) -> None:
        """Close a last unfinished epoch (steps since the last ``end_epoch``)."""
        if self._pending_loss is not None:  # a last loss with no step after it (non-finite)
            self._keep(self._step_loss, self._pending_loss)
            self._pending_loss = None
        if self._ep["n"] and self.steps or not self.epochs and self.steps:
            self.end_epoch()
        self.flush()

    def diagnosis(self):
        """The ranked findings from everything watched so far
        (:class:`~glassnet.diagnostics.diagnosis.Diagnosis`)."""
        from glassnet.diagnostics.diagnosis import diagnose_run

        self.finish()
        return diagnose_run(self)


def watch(model, optimizer=None, *, accumulation: bool = False, health: bool | int = True) -> Watch:
    """Watch a hand-written training loop; ``print(watch.diagnosis())`` at the end.

    >>> import glassnet as gn, glassnet.functional as F
    >>> _ = gn.manual_seed(0)
    >>> model = gn.nn.Sequential(gn.nn.Linear(4, 16), gn.nn.ReLU(), gn.nn.Linear(16, 3))
    >>> opt = gn.optim.SGD(model.parameters(), lr=0.1)
    >>> w = gn.watch(model, opt)
    >>> x, y = gn.randn(48, 4), gn.tensor([i % 3 for i in range(48)])
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     F.cross_entropy(model(x), y).backward()
    ...     opt.step()
    >>> w.stop(); w.steps, len(w.step_loss), len(w.grad_norm)
    (3, 3, 3)
    """
    return Watch(model, optimizer, accumulation=accumulation, health=health)
