"""The training loop behind ``model.fit``: read it top to bottom.

One training step is five lines of ``train_step``:

1. forward:   ``output = model(*inputs)``
2. loss:      ``loss = loss_fn(output, target)`` (+ the regularization loss, reported apart)
3. backward:  ``total.backward()`` fills ``p.grad`` for every parameter ``p``
4. clip:      optionally rescale the gradients so their global norm is at most ``max_norm``
5. step:      ``optimizer.step()`` updates the parameters from their gradients

``train_epoch`` runs it over every batch of the loader, updating the metrics and telling the
callbacks; ``run_fit`` runs the epochs, evaluates on the validation data after each one, and
handles the two ways training stops early: Ctrl-C (finish the batch, save a checkpoint, say
how to resume) and a non-finite loss (stop before the bad update, name the epoch and batch).

The same loop written by hand, PyTorch style::

    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(x)), gn.tensor(y))
            loss.backward()
            optimizer.step()
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.tensor import Tensor
from glassnet.train.callbacks import CallbackList, History, save_training_checkpoint
from glassnet.train.metrics import MeanMetric, read_pending

__all__ = ["FitState", "evaluate_loader", "run_fit", "train_epoch", "train_step"]

_NULL = nullcontext()


@dataclass
class FitState:
    """Everything the loop and the callbacks share during one ``fit`` call."""

    model: Any
    optimizer: Any
    loss_fn: Any
    metrics: list
    train_loader: Any
    val_loader: Any = None
    callbacks: CallbackList | None = None
    epochs: int = 1
    initial_epoch: int = 0
    clip_grad_norm: float | None = None
    interrupt_checkpoint: str | None = "interrupted.safetensors"
    epochs_done: int = 0  # completed epochs (what a checkpoint saved now would resume from)
    step: int = 0  # optimizer steps taken, over the whole run
    interrupt_requested: bool = False
    stop_reason: str | None = None
    history: History = field(default_factory=History)
    current_batch: Any = None  # the batch being trained on (read by diagnostics callbacks)
    distributed: Any = None  # a glassnet.distributed.training.DistributedFit, or None
    # Read the loss on the host every `log_every` steps (1: every step, the CPU default). On a
    # device the losses are summed there and read at those points only: one transfer each.
    log_every: int = 1
    scaler: Any = None  # a glassnet.amp.GradScaler when training in mixed precision
    autocast_dtype: Any = None  # the low-precision dtype of autocast, or None


# -- one step ---------------------------------------------------------------------------------
def to_tensor(array, device) -> Tensor:
    """A batch array as a Tensor on the model's device (no gradient: it is data)."""
    if isinstance(array, Tensor):  # a DataLoader yields CPU tensors, as PyTorch's does
        return array if array.device == device else array.to(device)
    return Tensor(array, device=device)


def split_batch(batch, device) -> tuple[tuple, Tensor]:
    """A batch ``(x, y)`` (or ``(x1, x2, ..., y)``) as model inputs and target."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            "fit: every batch must be a pair (inputs, targets); got "
            f"{type(batch).__name__}; give fit(x, y) or a loader yielding (x, y)"
        )
    *inputs, target = batch
    return tuple(to_tensor(x, device) for x in inputs), to_tensor(target, device)


def regularization_loss(model):
    """The model's weight penalties (``nn.regularizers``), or None when it has none."""
    try:
        from glassnet.nn.regularizers import regularization_loss as penalty
    except ImportError:
        return None
    reg = penalty(model)
    if reg is None:
        return None
    # No layer declares a penalty: a constant 0 that needs no place in the graph. (A constant
    # adds nothing to the gradients; on a device it is dropped without reading it: no sync.)
    if not getattr(reg, "requires_grad", False) and (not _on_host(reg) or float(reg) == 0.0):
        return None
    return reg


def _on_host(t: Tensor) -> bool:
    """True for a tensor whose data is a host NumPy array (reading it costs no transfer)."""
    return isinstance(t._data, (np.ndarray, np.generic))


def train_step(state: FitState, inputs: tuple, target: Tensor) -> tuple[float, float, Tensor]:
    """Forward, loss, backward, clip, step. Returns ``(loss, regularization, output)``; when
    the loss is not finite it returns before the update, so the weights stay finite.

    With ``state.log_every > 1`` (devices) the loss is not read: ``loss`` and
    ``regularization`` come back as 0-d tensors on the device (no host transfer), and a
    non-finite loss is noticed at the next log point instead."""
    model, optimizer = state.model, state.optimizer
    optimizer.zero_grad()
    with _autocast(state):
        output = model(*inputs)  # 1. forward
        loss = state.loss_fn(output, target)  # 2. loss
    reg = regularization_loss(model)
    total = loss if reg is None else loss + reg
    detached = output.detach()
    for metric in state.metrics:  # on a device: summed there (read with the loss)
        metric.update(detached, target)
    if state.log_every > 1 and state.distributed is None:
        _backward_and_step(state, total)
        return loss.detach(), None if reg is None else reg.detach(), detached
    if _on_host(loss):
        loss_value, reg_value = loss.item(), 0.0 if reg is None else float(reg.item())
    else:  # the loss and the metrics' device sums in one transfer
        parts = [loss._data] if reg is None else [loss._data, reg._data]
        values = read_pending(state.metrics, parts)
        loss_value, reg_value = float(values[0]), 0.0 if reg is None else float(values[1])
    if state.distributed is not None:  # global mean loss; every rank stops together
        loss_value, reg_value = state.distributed.agree_step(
            state, loss_value, reg_value, len(target)
        )
    if not math.isfinite(loss_value + reg_value):
        return loss_value + reg_value, reg_value, detached
    _backward_and_step(state, total)
    return loss_value, reg_value, detached


def _autocast(state: FitState):
    if state.autocast_dtype is None:
        return _NULL
    from glassnet.amp import autocast

    return autocast(_device_of(state.model).type, dtype=state.autocast_dtype)


def _backward_and_step(state: FitState, total: Tensor) -> None:
    model, optimizer, scaler = state.model, state.optimizer, state.scaler
    if scaler is None:
        total.backward()  # 3. backward
    else:  # mixed precision: backward of the scaled loss, gradients unscaled before use
        scaler.scale(total).backward()
        scaler.unscale_(optimizer)
    if state.callbacks is not None:
        state.callbacks.on_after_backward(state.step)  # gradients are readable here
    if state.clip_grad_norm is not None:  # 4. clip
        from glassnet.optim import clip_grad_norm

        clip_grad_norm(model.parameters(), state.clip_grad_norm)
    if scaler is None:
        optimizer.step()  # 5. step
    else:
        scaler.step(optimizer)  # skipped when a gradient is inf/NaN
        scaler.update()


# -- one epoch --------------------------------------------------------------------------------
def train_epoch(state: FitState, epoch: int) -> dict:
    """One pass over the training loader; returns the epoch's logs (loss and metrics)."""
    model, callbacks = state.model, state.callbacks
    device = _device_of(model)
    loss_mean, reg_mean = MeanMetric("loss"), MeanMetric("regularization_loss")
    for metric in state.metrics:
        metric.reset()
    model.train()
    logs: dict = {}
    pending = _DeviceLosses(state, epoch)
    for batch_index, batch in enumerate(state.train_loader):
        callbacks.on_train_batch_begin(batch_index, {"batch": batch_index})
        state.current_batch = batch
        inputs, target = split_batch(batch, device)
        loss, reg, output = train_step(state, inputs, target)
        if isinstance(loss, Tensor):  # on a device: summed there, read every log_every steps
            state.step += 1
            pending.add(loss, reg, len(target))
            if pending.due(batch_index) and not pending.flush(loss_mean, reg_mean, batch_index):
                model.stop_training = True
                break
            loss, reg = None, None
        elif not math.isfinite(loss):
            state.stop_reason = (
                f"the loss became {loss} at epoch {epoch + 1}, batch {batch_index + 1} (step "
                f"{state.step + 1}); training stopped before that update. Usual causes: a "
                "learning rate that is too high (try 10x smaller), unnormalized inputs, or a "
                "log/division of zero in a custom loss"
            )
            model.stop_training = True
            break
        else:
            state.step += 1
        size = len(target)
        if loss is not None:
            loss_mean.update(loss, weight=size)
        if reg:
            reg_mean.update(reg, weight=size)
        logs = {"batch": batch_index, "size": size}
        if loss_mean.count:  # on a device: the loss as of the last log point
            logs["loss"] = loss_mean.result()
        if not pending.count:  # on a device: the metrics as of the last log point too
            pending.metric_logs = _metric_logs(state.metrics)
        logs.update(pending.metric_logs)
        if reg_mean.count:
            logs["regularization_loss"] = reg_mean.result()
        callbacks.on_train_batch_end(batch_index, logs)
        if state.interrupt_requested or getattr(model, "stop_training", False):
            break
    if pending.count and pending.flush(loss_mean, reg_mean, None) and logs:
        logs["loss"] = loss_mean.result()
        logs.update(_metric_logs(state.metrics))
        if reg_mean.count:
            logs["regularization_loss"] = reg_mean.result()
    elif pending.count:
        model.stop_training = True
    if state.distributed is not None and logs:  # metrics over every rank's shard
        state.distributed.end_epoch(state.metrics)
        logs.update(_metric_logs(state.metrics))
    return {k: v for k, v in logs.items() if k not in ("batch", "size")}


class _DeviceLosses:
    """Losses of the steps since the last log point, summed on the device (0-d tensors)."""

    def __init__(self, state: FitState, epoch: int):
        self.state, self.epoch = state, epoch
        self.loss = self.reg = None
        self.count = 0
        self.first = 0
        self.metric_logs: dict = {}  # the metrics as of the last read
        try:
            self.batches = len(state.train_loader)
        except TypeError:
            self.batches = None

    def add(self, loss: Tensor, reg, size: int) -> None:
        with no_grad():
            loss = loss.astype("float32") * float(size)
            self.loss = loss if self.loss is None else self.loss + loss
            if reg is not None:
                reg = reg.astype("float32") * float(size)
                self.reg = reg if self.reg is None else self.reg + reg
        self.count += size

    def due(self, batch_index: int) -> bool:
        last = self.batches is not None and batch_index + 1 >= self.batches
        return last or (batch_index + 1) % self.state.log_every == 0

    def flush(self, loss_mean, reg_mean, batch_index) -> bool:
        """Read the sums and the metrics' device sums (one device-to-host transfer for all);
        False when the loss is not finite."""
        parts = [self.loss] if self.reg is None else [self.loss, self.reg]
        # the one transfer of this interval
        values = read_pending(self.state.metrics, [p._data for p in parts])
        total = float(sum(values))
        if not math.isfinite(total):
            state = self.state
            state.stop_reason = (
                f"the loss became {total} at epoch {self.epoch + 1}, in the steps up to step "
                f"{state.step} (on a device the loss is read every {state.log_every} steps; "
                "pass fit(log_every=1) to stop before the first bad update). Usual causes: a "
                "learning rate that is too high (try 10x smaller), unnormalized inputs, or a "
                "log/division of zero in a custom loss"
            )
            self.count = 0
            return False
        loss_mean.update(values[0] / self.count, weight=self.count)
        if len(values) > 1 and values[1]:
            reg_mean.update(values[1] / self.count, weight=self.count)
        self.loss = self.reg = None
        self.count = 0
        return True


def _metric_logs(metrics: list, prefix: str = "") -> dict:
    logs = {}
    for metric in metrics:
        value = metric.result()
        if isinstance(value, float):  # the confusion matrix is an array: not a log entry
            logs[prefix + metric.name] = value
    return logs


def _device_of(model):
    for p in model.parameters():
        return p.device
    return "cpu"


def evaluate_loader(
    model, loader, loss_fn, metrics: list, prefix: str = "", distributed=None
) -> dict:
    """Mean loss and metrics over a loader, in eval mode and without a graph (over every
    rank's shard when ``distributed`` is a ``DistributedFit``)."""
    device = _device_of(model)
    was_training = getattr(model, "training", True)
    loss_mean = MeanMetric("loss")
    for metric in metrics:
        metric.reset()
    model.eval()
    loss_sum, count = None, 0  # on a device: summed there, read once with the metrics
    try:
        with no_grad():
            for batch in loader:
                inputs, target = split_batch(batch, device)
                output = model(*inputs)
                loss = loss_fn(output, target)
                if not _on_host(loss):
                    part = loss.astype("float32") * float(len(target))
                    loss_sum = part if loss_sum is None else loss_sum + part
                    count += len(target)
                else:
                    loss_mean.update(loss.item(), weight=len(target))
                for metric in metrics:
                    metric.update(output, target)
        if count:
            (total,) = read_pending(metrics, [loss_sum._data])
            loss_mean.update(total / count, weight=count)
    finally:
        model.train(was_training)
    if distributed is not None:
        distributed.reduce_metrics([loss_mean, *metrics])
    return {prefix + "loss": loss_mean.result(), **_metric_logs(metrics, prefix)}


# -- the whole run ----------------------------------------------------------------------------
@contextmanager
def _stop_on_ctrl_c(state: FitState):
    """First Ctrl-C: finish the current batch, then stop. Second Ctrl-C: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def handler(signum, frame):
        if state.interrupt_requested:
            raise KeyboardInterrupt
        state.interrupt_requested = True
        print("\nCtrl-C: stopping after this batch (press again to abort at once)",
              file=sys.stderr, flush=True)  # fmt: skip

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_fit(state: FitState) -> History:
    """Run epochs ``initial_epoch .. epochs - 1``; returns the History."""
    model, callbacks = state.model, state.callbacks
    model.stop_training = False
    state.epochs_done = state.initial_epoch
    logs: dict = {}
    with _stop_on_ctrl_c(state):
        callbacks.on_train_begin({})
        try:
            for epoch in range(state.initial_epoch, state.epochs):
                callbacks.on_epoch_begin(epoch, {})
                logs = train_epoch(state, epoch)
                if state.interrupt_requested or state.stop_reason:
                    break  # an unfinished epoch is neither validated nor logged
                if state.val_loader is not None:
                    logs.update(evaluate_loader(model, state.val_loader, state.loss_fn,
                                                state.metrics, prefix="val_",
                                                distributed=state.distributed))  # fmt: skip
                logs["lr"] = float(state.optimizer.param_groups[0]["lr"])
                state.epochs_done = epoch + 1
                callbacks.on_epoch_end(epoch, logs)
                if model.stop_training:
                    break
        except BaseException as error:  # the report written at train end says why it stopped
            state.stop_reason = state.stop_reason or f"{type(error).__name__}: {error}"
            raise
        finally:
            callbacks.on_train_end(logs)
    if state.interrupt_requested:
        _save_after_interrupt(state, logs)
    if state.stop_reason:
        print(f"Stopping: {state.stop_reason}.", file=sys.stderr, flush=True)
    return state.history


def _save_after_interrupt(state: FitState, logs: dict) -> None:
    history = state.history
    history.interrupted = True
    where = f"epoch {state.epochs_done + 1}, step {state.step}"
    if state.interrupt_checkpoint is None:
        print(f"Training interrupted at {where}; no checkpoint saved (interrupt_checkpoint=None).",
              file=sys.stderr, flush=True)  # fmt: skip
        return
    path = save_training_checkpoint(state.interrupt_checkpoint, state, logs)
    history.checkpoint_path = str(path)
    print(
        f"Training interrupted at {where}. Saved a checkpoint to {path}.\n"
        f"Resume with: model.fit(..., epochs={state.epochs}, resume={str(path)!r})",
        file=sys.stderr,
        flush=True,
    )
