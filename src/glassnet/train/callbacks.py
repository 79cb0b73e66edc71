"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras's names.

A callback subclasses :class:`Callback` and overrides any of ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
``on_train_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``, and
``on_after_backward(step)``: between ``loss.backward()`` and ``optimizer.step()``, where the
gradients can be read (the diagnostics use it).
``epoch`` and ``batch`` count from 0. ``logs`` holds the running numbers: ``loss`` and each
metric, and at epoch end also ``val_loss``, ``val_<metric>`` and ``lr``. During ``fit`` every
callback can read ``self.model`` and ``self.state`` (the loop's
:class:`~glassnet.train.loop.FitState`: optimizer, loaders, epoch, step) and stop training
with ``self.model.stop_training = True``.

A callback that has ``state_dict()`` / ``load_state_dict()`` (EarlyStopping, ModelCheckpoint,
the learning-rate schedulers) is saved in training checkpoints and restored by
``fit(resume=...)``, so a resumed run behaves exactly like an uninterrupted one.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Callback",
    "CallbackList",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "save_training_checkpoint",
]


class Callback:
    """Base class of callbacks; every hook does nothing by default."""

    model = None
    state = None

    def set_context(self, model, state) -> None:
        self.model, self.state = model, state

    def on_train_begin(self, logs: dict) -> None: ...
    def on_train_end(self, logs: dict) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: dict) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict) -> None: ...
    def on_after_backward(self, step: int) -> None: ...


class CallbackList(Callback):
    """Call every callback in order (the loop talks to this one object)."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)

    def set_context(self, model, state) -> None:
        for cb in self.callbacks:
            cb.set_context(model, state)

    def on_train_begin(self, logs):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs):
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs):
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_after_backward(self, step):
        for cb in self.callbacks:
            cb.on_after_backward(step)


class History(Callback):
    """Record every epoch's logs: ``history.history["val_loss"]`` is a list, one per epoch.
    ``fit`` always adds one and returns it.

    >>> h = History(); h.on_epoch_end(0, {"loss": 0.5}); h.history
    {'loss': [0.5]}
    """

    def __init__(self) -> None:
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.interrupted = False
        self.checkpoint_path: str | None = None
        self.health: list[str] = []  # health warnings, when fit(health=...) watched them
        self.verdicts: list = []  # the diagnosis's findings as text, one per finding
        self.diagnosis = None  # the Diagnosis made at the end of training (fit watches)
        self.stop_reason: str | None = None  # why training stopped early, if it did

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def report(self, path="report.html", model=None, x=None, y=None) -> str:
        """Write the HTML report of this run: curves (per epoch and per step), learning rate,
        the diagnosis, health by layer, layer statistics over epochs; with ``model`` and
        held-out ``x``, ``y`` also the confusion matrix and sample predictions (mistakes
        first). Works after a run that stopped on a NaN; returns the path."""
        from glassnet.diagnostics.fit_report import write_fit_report

        return write_fit_report(self, path, model=model, x=x, y=y)


def _better(mode: str, monitor: str) -> Callable[[float, float, float], bool]:
    if mode == "auto":
        mode = "max" if any(s in monitor for s in ("acc", "precision", "recall", "f1")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    if mode == "min":
        return lambda value, best, delta: value < best - delta
    return lambda value, best, delta: value > best + delta


def _monitored(logs: dict, monitor: str, owner: str) -> float | None:
    if monitor not in logs:
        print(
            f"{owner}: '{monitor}' is not in the logs (available: {', '.join(logs)}); "
            "pass validation data or monitor another value",
            file=sys.stderr,
        )
        return None
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row (``patience`` 0 or 1: stop at the first epoch without improvement).
    Improvement for mode "min" is ``value < best - min_delta`` ("max": ``>``; "auto" picks
    "max" for accuracy-like names). With ``restore_best_weights`` the model ends with the
    weights of its best epoch instead of its last.

    >>> es = EarlyStopping(monitor="val_loss", patience=1)
    >>> class Dummy: stop_training = False
    >>> es.model = Dummy()
    >>> for epoch, loss in enumerate([1.0, 0.9, 0.95]): es.on_epoch_end(epoch, {"val_loss": loss})
    >>> es.stopped_epoch, es.best
    (2, 0.9)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self._better = _better(mode, monitor)
        self.best = math.nan
        self.best_epoch = -1
        self.wait = 0
        self.stopped_epoch = -1
        self.best_weights: dict | None = None

    def on_epoch_end(self, epoch, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if value is None:
            return
        if math.isnan(self.best) or self._better(value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {
                    k: np.array(t.numpy()) for k, t in self.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        if self.stopped_epoch >= 0:
            print(
                f"EarlyStopping: no improvement of {self.monitor} for {self.wait} epochs; stopped "
                f"after epoch {self.stopped_epoch + 1} (best {self.best:.4g} at epoch "
                f"{self.best_epoch + 1})",
                file=sys.stderr,
            )

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        best, best_epoch, wait = state["best"], state["best_epoch"], state["wait"]
        if type(best_epoch) is not int or type(wait) is not int or wait < 0:
            raise ValueError(f"best_epoch and wait must be integers, got {best_epoch!r:.40}, "
                             f"{wait!r:.40}")  # fmt: skip
        self.best, self.best_epoch, self.wait = _saved_best(best), best_epoch, wait


def save_training_checkpoint(path: str | os.PathLike, state, logs: dict | None = None) -> Path:
    """Save everything needed to resume training exactly: weights, optimizer, RNG (by
    :func:`glassnet.save_checkpoint`), plus the epochs completed, the step count, the data loader's
    position and the state of every callback that has one."""
    from glassnet.io.checkpoint import save

    distributed = getattr(state, "distributed", None)
    if distributed is not None and not distributed.is_main:
        return Path(path)  # only rank 0 writes; every rank holds the same weights
    callbacks = {}
    for cb in state.callbacks.callbacks if state.callbacks is not None else []:
        if hasattr(cb, "state_dict"):
            callbacks[type(cb).__name__] = cb.state_dict()
    return save(
        path,
        state.model,
        state.optimizer,
        epoch=state.epochs_done,
        step=state.step,
        metrics={k: v for k, v in (logs or {}).items() if isinstance(v, (int, float))},
        loader_state=state.train_loader.state_dict(),
        callbacks=callbacks,
        config=getattr(state.model, "config", None),
        distributed=distributed.checkpoint_info() if distributed is not None else None,
    )


def _saved_best(value) -> float:
    """A checkpoint's ``best`` value (NaN: none yet), checked: a string there failed only
    at the first comparison, an epoch into the resumed run."""
    if type(value) not in (int, float):
        raise ValueError(f"best must be a number, got {value!r:.40}")
    return float(value)


class ModelCheckpoint(Callback):
    """Save a resumable checkpoint at the end of each epoch (``filepath`` may hold fields
    such as ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``, with ``epoch`` counted from
    1). With ``save_best_only`` it saves only when ``monitor`` improves (see EarlyStopping
    for the rule), so the file always holds the best model so far."""

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        verbose: int = 0,
    ):
        self.filepath = os.fspath(filepath)
        self.monitor, self.save_best_only, self.verbose = monitor, save_best_only, verbose
        self._better = _better(mode, monitor)
        self.best = math.nan
        self.last_path: str | None = None

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if value is None or not (math.isnan(self.best) or self._better(value, self.best, 0)):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        save_training_checkpoint(path, self.state, logs)
        self.last_path = path
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}", file=sys.stderr)

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = _saved_best(state["best"])


def _set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class LearningRateScheduler(Callback):
    """Change the learning rate every epoch.

    ``schedule`` is either a function ``(epoch, lr) -> new_lr`` called at the start of each
    epoch (Keras's form), or a scheduler from ``glassnet.optim.lr_scheduler`` whose
    ``step()`` is called at the end of each epoch (``step(logs[monitor])`` when ``monitor``
    is given, as ``ReduceLROnPlateau`` needs).
    """

    def __init__(self, schedule, monitor: str | None = None, verbose: int = 0):
        if not callable(schedule) and not hasattr(schedule, "step"):
            raise TypeError(
                "LearningRateScheduler expects a function (epoch, lr) -> lr or a scheduler "
                f"with step(); got {type(schedule).__name__}"
            )
        self.schedule, self.monitor, self.verbose = schedule, monitor, verbose

    def on_epoch_begin(self, epoch, logs):
        if hasattr(self.schedule, "step"):
            return
        lr = float(self.schedule(epoch, self.state.optimizer.param_groups[0]["lr"]))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned lr={lr} at epoch {epoch}")
        _set_lr(self.state.optimizer, lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.4g}", file=sys.stderr)

    def on_epoch_end(self, epoch, logs):
        if not hasattr(self.schedule, "step"):
            return
        if self.monitor is None:
            self.schedule.step()
        else:
            value = _monitored(logs, self.monitor, "LearningRateScheduler")
            if value is not None:
                self.schedule.step(value)

    def state_dict(self) -> dict:
        inner = getattr(self.schedule, "state_dict", None)
        return {"schedule": inner()} if callable(inner) else {}

    def load_state_dict(self, state: dict) -> None:
        if "schedule" in state:
            self.schedule.load_state_dict(state["schedule"])


class ReduceLROnPlateau(LearningRateScheduler):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs (never below ``min_lr``): plateau scheduling as a callback, built on
    ``glassnet.optim.lr_scheduler.ReduceLROnPlateau`` once the optimizer is known."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        mode: str = "auto",
    ):
        if mode == "auto":
            mode = "max" if any(s in monitor for s in ("acc", "f1")) else "min"
        self.options = {"mode": mode, "factor": factor, "patience": patience, "min_lr": min_lr}
        self.monitor, self.verbose, self.schedule = monitor, 0, None
        self._pending: dict | None = None

    def on_train_begin(self, logs):
        from glassnet.optim.lr_scheduler import ReduceLROnPlateau as Plateau

        self.schedule = Plateau(self.state.optimizer, **self.options)
        if self._pending is not None:
            self.schedule.load_state_dict(self._pending)

    def load_state_dict(self, state: dict) -> None:
        self._pending = state.get("schedule")  # the scheduler exists from on_train_begin


class CSVLogger(Callback):
    """Append one row per epoch (``epoch`` from 0, then every logged value) to a CSV file,
    flushed at once so the file can be watched while training runs."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        if exists:
            with open(self.filename, newline="") as f:
                self._keys = next(csv.reader(f, delimiter=self.separator))[1:]

    def on_epoch_end(self, epoch, logs):
        if self._keys is None:
            self._keys = list(logs)
        writer = csv.writer(self._file, delimiter=self.separator)
        if self._writer is None:
            self._writer = writer
            if not (self.append and self._file.tell()):
                writer.writerow(["epoch", *self._keys])
        writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training when the batch loss, or any value logged at epoch end, is NaN or
    infinite (the loop already stops on a non-finite batch loss; this adds the epoch logs,
    e.g. a diverging ``val_loss``)."""

    def on_train_batch_end(self, batch, logs):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch} gave loss {loss}; stopping", file=sys.stderr)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs):
        bad = [k for k, v in logs.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            print(f"TerminateOnNaN: epoch {epoch + 1} logged non-finite {bad}; stopping",
                  file=sys.stderr)  # fmt: skip
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g.
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))``."""

    def __init__(self, **hooks: Callable[..., Any]):
        names = {"on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_train_batch_begin", "on_train_batch_end"}  # fmt: skip
        unknown = set(hooks) - names
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {sorted(unknown)}; use {sorted(names)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
