"""Diagnosis rules about how the steps and the data are set up, each read from a measurement
of the run, not from the code:

- a learning-rate schedule that collapsed the rate: the learning rate the optimizer held after
  its steps fell below 1% of its peak and stayed there for at least half of the steps (a
  per-epoch schedule, ``StepLR(step_size=1, gamma=0.5)``, stepped every batch halves the
  rate 45 times an epoch); a schedule that decays to 0 only at its end (cosine, one-cycle)
  is not called so;
- gradient clipping far below the gradient's size: in ``fit`` the gradient norm is read
  before ``clip_grad_norm``, so the shrink factor is measured (median norm over ``max_norm``
  above 100); in a hand-written loop it is read at ``optimizer.step()``, after the clipping:
  a norm equal on every measured step (within 0.1%) is one clipped to ``max_norm`` (natural
  gradient norms vary from batch to batch, and the step losses show the batches differ).
  Either way only when learning is slow and the
  updates tiny (below 3e-4 of the weights per step);
- regression targets far from unit scale (their root mean square above 100): an output
  layer that starts near 0 and moves by about the learning rate per step cannot reach them;
- an output activation whose range excludes the targets (a regression's last ReLU with
  negative targets, a sigmoid with targets outside 0..1, a tanh beyond +-1): over 20% of
  the targets (first batches) out of its reach, and no good fit;
- validation samples that are training samples: each sample's fingerprint (its dot product
  with fixed weights) from every training and validation batch of epoch 1; every
  validation batch at least half made of training samples (where training itself repeats
  under 10% of its samples): validation then measures memory, not generalization. A loop
  that also evaluates on training data has validation batches of new samples: not called;
- batch norm over batches of 4 samples or fewer, with validation (eval mode: running
  statistics) far better than training (train mode: statistics of the batch): the batch's
  mean and variance over 2-4 samples are noise;
- validation inputs unlike the training inputs (a mean apart by more than the training std,
  or a std 3x larger or smaller), with validation doing worse than training: the
  preprocessing of the validation data differs, and the gap is not overfitting.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.diagnostics._device_stats import shared_share
from glassnet.diagnostics.findings import Facts as _Facts
from glassnet.diagnostics.findings import Finding
from glassnet.diagnostics.findings import fmt as _fmt

COLLAPSED = 0.01  # the learning rate below 1% of its peak ...
COLLAPSED_SHARE = 0.5  # ... for at least half of the steps
CLIP_SHRINK = 100.0  # fit: median gradient norm / max_norm above this
CLIP_FLAT = 1e-3  # a loop: (max - min) / median of the measured norms below this
TINY_UPDATE = 3e-4  # the learning rate's own threshold (lr_too_low)
TARGET_RMS = 100.0  # regression targets' root mean square above this
SHIFT_STD = 3.0  # validation std this many times larger (or smaller) than training's
SMALL_BATCH = 4  # batch norm over this many samples or fewer

_SLOW = ("lr_low", "update_low", "no_learning", "plateau", "still_falling", "small_model",
         "collapse", "vanishing")  # fmt: skip


def setup(f: _Facts) -> list:
    return (_schedule(f) + _clipping(f) + _targets(f) + _validation_shift(f)
            + _small_batch_norm(f) + _output_range(f) + _validation_leak(f))  # fmt: skip


def _slow(f: _Facts) -> bool:
    return not f.good and (f.no_learning or f.improved < 0.3)


def _schedule(f: _Facts) -> list:
    lrs = [v for v in getattr(f.w, "step_lr", []) if math.isfinite(v)]
    if len(lrs) < 10 or not _slow(f):
        return []
    peak = max(lrs)
    low = [i for i, v in enumerate(lrs) if v < COLLAPSED * peak]
    if peak <= 0 or not low or lrs[-1] >= COLLAPSED * peak:
        return []
    first = low[0]
    if len(lrs) - first < COLLAPSED_SHARE * len(lrs):
        return []
    ends = [e["steps"] for e in f.epochs if e.get("steps")]
    epoch = next((i + 1 for i, s in enumerate(ends) if first < s), len(ends) or 1)
    per_epoch = ends[0] if ends else None
    changes = sum(1 for a, b in zip(lrs, lrs[1:]) if b != a)
    every_step = per_epoch is not None and changes >= 0.5 * (len(lrs) - 1) and len(ends) > 1
    ev = [
        f"the learning rate fell from {_fmt(peak)} to {_fmt(lrs[-1])}: below 1% of its peak "
        f"from step {first + 1} (epoch {epoch}) on, {len(lrs) - first} of {len(lrs)} steps"
    ]
    if every_step:
        ev.append(
            f"it changed at {changes} of {len(lrs) - 1} steps, {per_epoch} steps an "
            "epoch: the scheduler is stepped every batch, its decay meant per epoch"
        )
    ev.append(f"the loss only went from {_fmt(f.init)} to {_fmt(f.final)}")
    return [Finding(
        "lr_schedule_collapsed", "the learning-rate schedule decayed the rate to almost 0", ev,
        ["call scheduler.step() once per epoch, after the loop over batches (a per-epoch "
         "schedule such as StepLR(step_size=1, gamma=0.5) stepped every batch multiplies the "
         f"rate by gamma {per_epoch or 'N'} times an epoch)",
         "to change the rate every batch, count the schedule in steps: step_size, T_max or "
         "total_steps in batches, and a gamma close to 1"],
        score=89, knobs=(("lr", +1),), explains=_SLOW)]  # fmt: skip


def _clipping(f: _Facts) -> list:
    gn = [g for g in f.gn if g > 0]
    if len(gn) < 10 or not _slow(f) or not f.update or np.median(f.update) >= TINY_UPDATE:
        return []
    median = float(np.median(gn))
    clip = getattr(f.w, "clip_norm", None)
    if clip is not None and clip > 0 and median > CLIP_SHRINK * clip:
        seen = (f"the gradient norm before clipping was {_fmt(median)} (median of "
                f"{len(gn)} steps) and clip_grad_norm={_fmt(float(clip))} scaled every step "
                f"down {median / clip:.0f}x")  # fmt: skip
        target = _fmt(float(min(max(median, 1.0), 10.0)))
        fix = f"raise the clipping threshold: clip_grad_norm={_fmt(float(clip))} -> {target}"
    elif clip is None and (max(gn) - min(gn)) / median < CLIP_FLAT and _batches_differ(f):
        seen = (f"the gradient norm at optimizer.step() was {_fmt(median)} on every one of "
                f"{len(gn)} measured steps (within 0.1%): gradients clipped to max_norm "
                f"about {_fmt(median)} (unclipped norms vary from batch to batch)")  # fmt: skip
        fix = (f"raise max_norm in clip_grad_norm(model.parameters(), max_norm={_fmt(median)}) "
               "to about 1.0")  # fmt: skip
    else:
        return []
    return [Finding(
        "clipping_too_strong", "gradient clipping shrinks every step to almost nothing",
        [seen, f"updates were {float(np.median(f.update)):.1e} of the weights per step "
         f"(healthy is about 1e-3); the loss only went from {_fmt(f.init)} to "
         f"{_fmt(f.final)}"],
        [fix + ": clipping should cut rare spikes, not every step",
         "or remove the clipping (the learning rate is not the problem)"],
        score=90, knobs=(("lr", +1),), explains=_SLOW)]  # fmt: skip


def _batches_differ(f: _Facts) -> bool:
    """Whether the step losses vary (over 1%): the batches differ, so unclipped gradient norms
    would too (one batch trained at a tiny rate keeps one norm without any clipping)."""
    losses = [v for v in f.steps if math.isfinite(v)]
    return len(losses) >= 10 and (max(losses) - min(losses)) > 0.01 * abs(np.median(losses))


def _targets(f: _Facts) -> list:
    w = f.w
    var, mean = getattr(w, "target_var", None), getattr(w, "target_mean", None)
    if w.loss_op not in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        return []
    if var is None or mean is None or f.good:
        return []
    rms = math.sqrt(var + mean * mean)
    if rms <= TARGET_RMS:
        return []
    return [Finding(
        "targets_unscaled", "regression targets on a large scale (not standardized)",
        [f"the targets have mean {_fmt(mean)} and std {_fmt(math.sqrt(var))} (first batch); "
         "the model's outputs start near 0 and move by about the learning rate per step",
         f"so the loss starts huge ({_fmt(f.init)}) and its gradients are {_fmt(rms)}x "
         f"those of unit-scale targets; the loss went from {_fmt(f.init)} to {_fmt(f.final)}"],
        ["standardize the targets: y_s = (y - mean) / std with the training set's mean and "
         "std, train on y_s, and predict pred * std + mean",
         "for targets spanning decades (prices, counts), regress log(y) instead"],
        score=84, explains=("blowup", "nonfinite", "lr_high", "rose", "oscillation",
                            "update_high", "exploding", "no_learning", "plateau", "lr_low",
                            "update_low", "still_falling", "small_model", "dead",
                            "saturated"))]  # fmt: skip


def _validation_shift(f: _Facts) -> list:
    t, v = f.w.input_stats, getattr(f.w, "val_input_stats", None)
    if not t or not v:
        return []
    std_t, std_v = max(t["std"], 1e-12), max(v["std"], 1e-12)
    apart = abs(v["mean"] - t["mean"]) > max(t["std"], 1e-6)
    ratio = std_v / std_t
    if not (apart or ratio > SHIFT_STD or ratio < 1 / SHIFT_STD):
        return []
    worse_acc = f.acc is not None and f.val_acc is not None and f.acc - f.val_acc > 0.05
    worse_loss = f.val_loss and math.isfinite(f.final) and f.val_loss[-1] > 1.5 * f.final + 0.05
    if not (worse_acc or worse_loss):
        return []
    ev = [
        f"training inputs: mean {_fmt(t['mean'])}, std {_fmt(t['std'])}, range "
        f"{_fmt(t['min'])}..{_fmt(t['max'])}; validation inputs: mean {_fmt(v['mean'])}, std "
        f"{_fmt(v['std'])}, range {_fmt(v['min'])}..{_fmt(v['max'])} (first batches of each)"
    ]
    if f.acc is not None and f.val_acc is not None:
        ev.append(
            f"training accuracy {f.acc:.1%} vs validation {f.val_acc:.1%}: the gap comes "
            "from inputs the model never saw on this scale, not from memorizing"
        )
    else:
        ev.append(f"validation loss {_fmt(f.val_loss[-1])} vs training {_fmt(f.final)}")
    return [Finding(
        "validation_shift", "the validation inputs are not preprocessed like the training "
        "inputs", ev,
        ["apply the same preprocessing to validation (and test) data as to training data: "
         "the training set's mean and std (or x / 255) for both",
         "if the validation data really come from elsewhere, the gap measures that shift: "
         "regularizing will not close it"],
        score=87, explains=("overfit", "unrelated", "still_falling"))]  # fmt: skip


def _small_batch_norm(f: _Facts) -> list:
    wiring = getattr(f.w, "wiring", None)
    batch = getattr(wiring, "batch", None)
    norms = [m for m in getattr(wiring, "mode_modules", []) if "BatchNorm" in m]
    if not norms or not batch or batch > SMALL_BATCH or f.acc is None or f.val_acc is None:
        return []
    if f.val_acc < f.acc + 0.1:
        return []
    return [Finding(
        "batch_norm_small_batch", f"batch norm over batches of {batch} samples",
        [f"the batch norm layers {', '.join(norms[:3])} normalize each batch by its own mean "
         f"and variance: over {batch} samples these are noise, so training (train mode) "
         "sees a different network each step",
         f"validation accuracy {f.val_acc:.1%} (eval mode: running statistics) vs training "
         f"{f.acc:.1%} (train mode: batch statistics)"],
        ["a larger batch (32 or more): fit(..., batch_size=32), DataLoader(..., batch_size=32)",
         "or a normalization that does not use the batch: nn.LayerNorm or nn.GroupNorm"],
        score=83, explains=("inverted", "still_falling", "small_model", "plateau"))]  # fmt: skip


_RANGES = {"relu": (0.0, math.inf, ">= 0"), "sigmoid": (0.0, 1.0, "in 0..1"),
           "tanh": (-1.0, 1.0, "in -1..1"), "softplus": (0.0, math.inf, "> 0")}  # fmt: skip


def _output_range(f: _Facts) -> list:
    w = f.w
    act = _RANGES.get(w.score_producer or "")
    sample = getattr(w, "target_sample", None)
    regression = w.loss_op in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss")
    if act is None or not regression or sample is None or not sample.size or f.good:
        return []
    lo, hi, words = act
    out = float(np.mean((sample < lo) | (sample > hi)))
    if out <= 0.2:
        return []
    name = w.score_producer
    return [Finding(
        "output_range", f"the output activation ({name}) cannot produce the targets",
        [f"the model's last op is {name}, whose outputs are {words}, but {out:.0%} of the "
         f"targets lie outside that (they range from {_fmt(float(sample.min()))} to "
         f"{_fmt(float(sample.max()))})",
         f"so the loss cannot fall below what those targets cost: it went from "
         f"{_fmt(f.init)} to {_fmt(f.final)}"],
        [f"remove the {name} after the last layer: a regression's output layer is linear",
         "or transform the targets into the activation's range (and back on predictions)"],
        score=86, explains=("no_learning", "plateau", "small_model", "still_falling", "lr_low",
                            "update_low", "dead", "saturated", "collapse"))]  # fmt: skip


def _validation_leak(f: _Facts) -> list:
    train, batches = getattr(f.w, "train_prints", []), getattr(f.w, "val_prints", [])
    if not train or not batches:
        return []
    train = np.concatenate(train)
    if train.size < 32 or sum(b.size for b in batches) < 16:
        return []
    shares = [shared_share(train, b) for b in batches]
    if any(s < 0.5 for s, _ in shares) or shares[0][1] > 0.1:  # a batch of new samples, or
        return []  # many equal samples in training itself: not judged
    n = sum(b.size for b in batches)
    share = sum(s * b.size for (s, _), b in zip(shares, batches)) / n
    ev = [
        f"{share:.0%} of the {n} validation samples of epoch 1 ({len(batches)} batches, "
        "every one mostly training samples) are also training samples (equal inputs)"
    ]
    if f.acc is not None and f.val_acc is not None:
        ev.append(
            f"so validation accuracy {f.val_acc:.1%} (training {f.acc:.1%}) measures "
            "memory, not generalization: overfitting cannot be seen"
        )
    return [Finding(
        "validation_leak", "the validation data are training data", ev,
        ["split once into disjoint sets before training: fit(..., validation_split=0.2), or "
         "random_split(dataset, [0.8, 0.2]), and never validate on training samples",
         "if the data hold duplicates, deduplicate before splitting"],
        score=45, explains=("overfit",))]  # fmt: skip
