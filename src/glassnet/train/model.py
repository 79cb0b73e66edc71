"""The Keras-style API on any ``nn.Module``: ``compile``, ``fit``, ``evaluate``, ``predict``.

``nn.Module`` has thin methods of the same names that call these functions, so
``model.fit(x, y, epochs=10)`` works on every model. This file turns the friendly arguments
(strings, arrays, validation_split) into objects and loaders; the loop itself is in
:mod:`glassnet.train.loop`.

>>> import numpy as np, glassnet as gn
>>> _ = gn.manual_seed(0)
>>> model = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))
>>> opt = gn.optim.Adam(model.parameters(), lr=0.05)
>>> model.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
>>> x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
>>> y = (x[:, 0] > 0).astype(np.int64)
>>> history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
>>> history.history["accuracy"][-1] > 0.9
True
>>> model.predict(x[:3]).shape
(3, 2)
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import Device
from glassnet.tensor import Tensor
from glassnet.train.callbacks import Callback, CallbackList, History
from glassnet.train.loop import FitState, _device_of, evaluate_loader, run_fit, to_tensor
from glassnet.train.metrics import Metric, get_metric
from glassnet.train.progress import ProgressBar

__all__ = ["LOSSES", "OPTIMIZERS", "compile", "evaluate", "fit", "make_optimizer", "predict"]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
LOSSES = ("cross_entropy", "mse", "l1", "huber", "binary_cross_entropy_with_logits")
_LOSS_ALIASES = {
    "crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "mean_squared_error": "mse",
    "mse_loss": "mse",
    "mae": "l1",
    "mean_absolute_error": "l1",
    "bce_with_logits": "binary_cross_entropy_with_logits",
}


@dataclass
class Compiled:
    """What ``compile`` chose: the optimizer, loss function, metric specs, clipping."""

    optimizer: Any
    loss_fn: Any
    metrics: list = field(default_factory=list)
    clip_grad_norm: float | None = None
    loss_name: str | None = None  # the canonical name when the loss was given by name


def make_optimizer(name: str, params, lr: float | None = None, weight_decay: float = 0.0):
    """Build an optimizer by name ("adam", "adamw", "sgd", "rmsprop", "adagrad"); ``lr=None``
    keeps the optimizer's default (SGD uses momentum 0.9, the usual practical choice)."""
    from glassnet import optim

    key = name.strip().lower()
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD,
               "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}  # fmt: skip
    if key not in classes:
        close = difflib.get_close_matches(key, list(classes), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(classes)}{hint}")
    options: dict = {"weight_decay": weight_decay}
    if lr is not None:
        options["lr"] = lr
    if key == "sgd":
        options.setdefault("lr", 0.01)
        options["momentum"] = 0.9
    return classes[key](params, **options)


def _sequence_aware(loss_fn):
    """Let class-index losses take (N, T, C) scores with (N, T) targets (character models):
    flatten both to (N*T, C) and (N*T,), which is what the per-token mean needs."""

    def loss(output, target):
        if output.ndim == 3 and target.ndim == 2:
            output = output.reshape(-1, output.shape[-1])
            target = target.reshape(-1)
        return loss_fn(output, target)

    return loss


def get_loss(spec):
    """A loss function ``(output, target) -> scalar Tensor`` for a name or callable."""
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"loss must be a name like 'cross_entropy' or a callable, got {spec!r}")
    import glassnet.functional as F

    key = _LOSS_ALIASES.get(spec.strip().lower(), spec.strip().lower())
    table = {
        "cross_entropy": _sequence_aware(F.cross_entropy),
        "mse": F.mse_loss,
        "l1": F.l1_loss,
        "huber": F.huber_loss,
        "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    }
    if key not in table:
        close = difflib.get_close_matches(key, list(table), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown loss {spec!r}; available: {', '.join(table)}{hint}")
    return table[key]


def compile(
    model,
    optimizer="adam",
    loss="cross_entropy",
    metrics: list | None = None,
    clip_grad_norm: float | None = None,
) -> None:
    """Choose how ``model`` trains (Keras's ``compile``).

    Args:
        model: any ``nn.Module``.
        optimizer: an optimizer object, or a name ("adam", "adamw", "sgd", "rmsprop",
            "adagrad") built over ``model.parameters()`` with default hyperparameters.
        loss: a callable ``(output, target) -> Tensor`` (e.g. ``nn.CrossEntropyLoss()``) or a
            name: "cross_entropy" (integer targets; (N, T, C) outputs are flattened), "mse",
            "l1", "huber", "binary_cross_entropy_with_logits".
        metrics: names ("accuracy", "top5_accuracy", "precision", "recall", "f1", "mae",
            "mse", "perplexity") or :class:`~glassnet.train.metrics.Metric` objects.
        clip_grad_norm: rescale gradients to this global norm before each step (None: off).
    """
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, model.parameters())
    elif not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(
            f"compile: optimizer must be a name like 'adam' or an optimizer object, got "
            f"{type(optimizer).__name__}"
        )
    specs = list(metrics or [])
    for spec in specs:
        get_metric(spec)  # validate names now, not in the middle of fit
    name = (
        _LOSS_ALIASES.get(loss.strip().lower(), loss.strip().lower())
        if isinstance(loss, str)
        else getattr(loss, "__name__", None)
    )
    object.__setattr__(
        model, "_compiled", Compiled(optimizer, get_loss(loss), specs, clip_grad_norm, name)
    )


def _compiled(model, what: str) -> Compiled:
    compiled = model.__dict__.get("_compiled")
    if compiled is None:
        raise ValueError(
            f"{what}: the model is not compiled; call model.compile(optimizer='adam', "
            "loss='cross_entropy', metrics=['accuracy']) first"
        )
    return compiled


def _fresh_metrics(specs: list) -> list[Metric]:
    # Metric objects given by the user are used as they are; names make new ones.
    return [get_metric(spec) for spec in specs]


def _as_loader(x, y, batch_size: int, shuffle: bool, what: str):
    """A DataLoader over ``(x, y)``; refuses an empty dataset and complex inputs."""
    loader = _make_loader(x, y, batch_size, shuffle, what)
    try:
        size = len(loader)
    except TypeError:  # a loader over an iterable of unknown length
        return loader
    if size == 0:
        raise ValueError(
            f"{what}: the data holds no batch ({_length(loader.dataset)} samples); give it at "
            "least one sample (check the file or the split that produced it)"
        )
    return loader


def _length(dataset) -> str:
    try:
        return str(len(dataset))
    except TypeError:
        return "an unknown number of"


def _real(a, what: str, name: str):
    if getattr(a, "dtype", None) is not None and np.dtype(a.dtype).kind == "c":
        raise TypeError(
            f"{what}: {name} has complex dtype {a.dtype}; models take real numbers (the "
            "imaginary part would be dropped): pass x.real, np.abs(x) or both as features"
        )
    return a


def _make_loader(x, y, batch_size: int, shuffle: bool, what: str):
    from glassnet.data import DataLoader, Dataset

    if isinstance(x, DataLoader):
        if y is not None:
            raise ValueError(f"{what}: got a DataLoader and y; the loader already yields targets")
        return x
    if isinstance(x, Dataset):
        return DataLoader(x, batch_size=batch_size, shuffle=shuffle)
    if y is None:
        raise ValueError(f"{what}: got x without y; pass fit(x, y), a Dataset or a DataLoader")
    x, y = _real(_host(x), what, "x"), _real(_host(y), what, "y")
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        raise ValueError(f"{what}: x and y must be arrays with one sample per row, got scalars")
    if len(x) != len(y):
        raise ValueError(
            f"{what}: x has {len(x)} samples but y has {len(y)}; they must match along axis 0"
        )
    return DataLoader((x, y), batch_size=batch_size, shuffle=shuffle)


def _host(a):
    return a.numpy() if isinstance(a, Tensor) else np.asarray(a)


def fit(
    model,
    x=None,
    y=None,
    batch_size: int = 32,
    epochs: int = 1,
    verbose: int = 1,
    callbacks: list[Callback] | None = None,
    validation_split: float = 0.0,
    validation_data=None,
    shuffle: bool = True,
    initial_epoch: int = 0,
    resume: str | os.PathLike | None = None,
    interrupt_checkpoint: str | None = "interrupted.safetensors",
    distributed: bool = False,
    health: bool | int = True,
    detect_anomaly: bool | int = False,
    mixed_precision: bool = False,
    log_every: int | None = None,
) -> History:
    """Train a compiled model (Keras's ``fit``); returns a History.

    Args:
        x, y: arrays (or Tensors) of inputs and targets; or ``x`` a Dataset / DataLoader
            yielding ``(inputs, targets)`` with ``y=None``.
        batch_size: samples per step (ignored for a DataLoader).
        epochs: train until this epoch count (epochs ``initial_epoch .. epochs - 1`` run).
        verbose: 0 silent, 1 progress bar (plain lines when not a terminal), 2 lines.
        callbacks: Callback objects (a History is always added and returned).
        validation_split: share of (x, y) held out from the END (before shuffling) and
            evaluated after each epoch, as ``val_loss`` / ``val_<metric>``.
        validation_data: ``(x_val, y_val)``, a Dataset or a DataLoader (overrides the split).
        shuffle: reshuffle the training samples each epoch.
        initial_epoch: epoch to start from (for resuming by hand).
        resume: a checkpoint from ``ModelCheckpoint`` or an interrupted fit: restores weights,
            optimizer, RNG, the data order and callback state, and continues from its epoch,
            so the result is bit-identical to an uninterrupted run on CPU.
        interrupt_checkpoint: where Ctrl-C saves a checkpoint (None: do not save).
        distributed: data-parallel training under ``mpirun -n R`` (see
            ``docs/distributed.md``): each rank reads its shard of ``x`` (``batch_size`` is
            per rank, so the global batch is ``R * batch_size``), gradients are averaged over
            ranks during backward, losses and metrics are reduced over ranks, and only rank 0
            prints and writes checkpoints. In a plain process it trains as usual.
        health: watch training health per layer (dead ReLUs, saturation, update sizes,
            gradient flow) and print each warning once, when it begins; an int N samples the
            activation statistics on one batch in N. On by default (it costs a few percent
            of a step: benchmarks/RESULTS.md). Warnings are kept in ``history.health``.
        detect_anomaly: watch for the first NaN/Inf and raise an error naming the op, layer,
            source line and likely cause; an int N checks one step in N (cheap enough to
            leave on).
        mixed_precision: train under ``glassnet.autocast`` (float16 matmuls, convolutions
            and linear layers; float32 softmax, losses, norms and reductions) with a
            ``glassnet.amp.GradScaler`` (dynamic loss scaling, steps with inf/NaN gradients
            skipped). Meant for GPUs; it works on the CPU but is slower there (NumPy's
            float16 is emulated). See docs/gpu.md.
        log_every: read the training loss on the host every N steps. Default 1 on the CPU
            (every step; a non-finite loss stops training before its update) and 50 on a
            device, where the losses are summed on the device and each read is one
            device-to-host transfer (a sync); per-batch logs then show the loss as of the
            last read, and a non-finite loss is noticed at the next read.

    With ``health`` or ``verbose`` on, the run is watched and one diagnosis is made at the
    end from all the evidence (per-step losses, gradient norms, accuracy against chance,
    train/validation gap, health, the loss's input, the learning rate): ranked findings with
    evidence and remedies, printed when ``verbose`` and kept in ``history.diagnosis``
    (``history.verdicts``: its lines). ``history.report("report.html")`` writes the HTML
    report of the run, also after a run stopped on a NaN.

    Returns:
        :class:`~glassnet.train.callbacks.History`; ``history.history["loss"]`` has one value
        per epoch.
    """
    compiled = _compiled(model, "fit")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: validation_split must lie in [0, 1), got {validation_split}")
    if validation_split and validation_data is None:
        if y is None:
            raise ValueError("fit: validation_split needs arrays x, y; pass validation_data")
        x, y = _host(x), _host(y)
        cut = len(x) - int(round(len(x) * validation_split))
        if cut <= 0 or cut >= len(x):
            raise ValueError(f"fit: validation_split={validation_split} leaves an empty split")
        validation_data = (x[cut:], y[cut:])
        x, y = x[:cut], y[:cut]
    train_loader = _as_loader(x, y, batch_size, shuffle, "fit")
    val_loader = None
    if validation_data is not None:
        vx, vy = (
            (validation_data, None)
            if not isinstance(validation_data, (tuple, list))
            else validation_data
        )
        val_loader = _as_loader(vx, vy, batch_size, False, "fit(validation_data)")

    helper = None
    if distributed:
        from glassnet.distributed.training import DistributedFit
        from glassnet.train.callbacks import CSVLogger

        helper = DistributedFit(model)
        train_loader = helper.train_loader(train_loader, shuffle)
        val_loader = helper.eval_loader(val_loader)
        if not helper.is_main:  # rank 0 alone prints and writes files
            verbose = 0
            callbacks = [cb for cb in callbacks or [] if not isinstance(cb, CSVLogger)]
        elif verbose == 1 and helper.world_size > 1:
            verbose = 2  # mpirun relays output by lines: a live bar would show as blank lines

    history = History()
    user_callbacks = list(callbacks or [])
    all_callbacks = [history]
    if health or detect_anomaly or verbose:
        # The diagnostics subscribe to the loop through callbacks; they sit a layer above
        # train, hence the lazy import (the one other upward reference, like Module.fit).
        from glassnet.diagnostics import callbacks as diagnostics

        watched = any(isinstance(cb, diagnostics.DiagnosisCallback) for cb in user_callbacks)
        if (health or verbose) and not watched:  # before user callbacks: a report reads it
            all_callbacks.append(diagnostics.DiagnosisCallback(health, verbose=bool(verbose)))
        if detect_anomaly:
            all_callbacks.append(diagnostics.AnomalyCallback(every=int(detect_anomaly)))
    all_callbacks += user_callbacks
    if verbose and not any(isinstance(cb, ProgressBar) for cb in user_callbacks):
        all_callbacks.append(ProgressBar(verbose))
    from glassnet.runtime import configure_malloc_once

    configure_malloc_once()  # glassnet's allocator settings for training (docs/performance.md)
    device = Device(_device_of(model))
    if log_every is None:
        log_every = 1 if device.type == "cpu" else 50
    if not isinstance(log_every, int) or isinstance(log_every, bool) or log_every < 1:
        raise ValueError(f"fit: log_every must be a positive int, got {log_every!r}")
    scaler = autocast_dtype = None
    if mixed_precision:
        from glassnet.amp import GradScaler

        scaler, autocast_dtype = GradScaler(device.type), "float16"
    state = FitState(
        model=model,
        optimizer=compiled.optimizer,
        loss_fn=compiled.loss_fn,
        metrics=_fresh_metrics(compiled.metrics),
        train_loader=train_loader,
        val_loader=val_loader,
        callbacks=CallbackList(all_callbacks),
        epochs=epochs,
        initial_epoch=initial_epoch,
        clip_grad_norm=compiled.clip_grad_norm,
        interrupt_checkpoint=interrupt_checkpoint,
        history=history,
        distributed=helper,
        log_every=log_every,
        scaler=scaler,
        autocast_dtype=autocast_dtype,
    )
    state.callbacks.set_context(model, state)
    if resume is not None:
        _resume(state, resume, user_callbacks)
    if helper is None:
        return run_fit(state)
    helper.start()  # after the resume: broadcast rank 0's weights, attach gradient hooks
    try:
        return run_fit(state)
    finally:
        helper.close()


def _resume(state: FitState, path, callbacks: list) -> None:
    from glassnet.io.checkpoint import load

    ckpt = load(path, state.model, state.optimizer, restore_rng=True)
    state.initial_epoch, state.step = ckpt.epoch, ckpt.step
    from glassnet.distributed.training import resume_loader_state

    # adapted when the checkpoint came from a different number of ranks or batch size
    loader_state = resume_loader_state(ckpt.metadata, state)
    if loader_state is not None and hasattr(state.train_loader, "load_state_dict"):
        state.train_loader.load_state_dict(loader_state)
    saved = ckpt.metadata.get("callbacks") or {}
    for cb in callbacks:
        name = type(cb).__name__
        if hasattr(cb, "load_state_dict") and name in saved:
            try:
                cb.load_state_dict(saved[name])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                raise ValueError(
                    f"{path}: the saved state of the {name} callback does not fit it ({why}); "
                    f"resume without {name}, or from a checkpoint saved with it"
                ) from None


def evaluate(model, x=None, y=None, batch_size: int = 32, verbose: int = 0) -> dict:
    """Loss and metrics of a compiled model on ``(x, y)`` (or a Dataset / DataLoader), in
    eval mode without a graph. Returns ``{"loss": ..., "accuracy": ..., ...}``."""
    compiled = _compiled(model, "evaluate")
    loader = _as_loader(x, y, batch_size, False, "evaluate")
    logs = evaluate_loader(model, loader, compiled.loss_fn, _fresh_metrics(compiled.metrics))
    if verbose:
        from glassnet.train.progress import format_logs

        print(format_logs(logs))
    return logs


def predict(model, x, batch_size: int = 32) -> np.ndarray:
    """Model outputs for ``x`` (an array or Tensor of inputs, or a Dataset / DataLoader of
    ``(inputs, targets)`` like ``fit`` takes; the targets are ignored), computed in
    batches in eval mode without a graph; returns one NumPy array (N, ...)."""
    from glassnet.data import DataLoader, Dataset

    if isinstance(x, (DataLoader, Dataset)):
        loader = x if isinstance(x, DataLoader) else DataLoader(x, batch_size=batch_size)
    else:
        loader = DataLoader(_real(_host(x), "predict", "x"), batch_size=batch_size)
    device = _device_of(model)
    was_training = getattr(model, "training", True)
    outputs = []
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                # A loader of (inputs, targets) pairs, as fit takes: the targets are ignored.
                inputs = batch[:-1] if isinstance(batch, (tuple, list)) else (batch,)
                out = model(*(to_tensor(b, device) for b in inputs))
                outputs.append(out.numpy())
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: got no samples")
    return np.concatenate(outputs)
