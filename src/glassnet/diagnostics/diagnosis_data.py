"""Diagnosis rules about the data order and the loss's arithmetic, each a cause seen directly:

- batches ordered by class (``shuffle=False`` over data sorted by label): each batch holds
  far fewer distinct classes than a shuffled batch of its size would. From the class counts
  of every batch of epoch 1, the rule compares the mean number of distinct classes per batch
  with its expectation under shuffling, ``E(n) = sum_k 1 - (1 - p_k)^n`` (``p_k`` the share
  of class k in epoch 1, ``n`` the batch size). It fires when the batches hold at most half
  of that expectation, over 8 batches or more, and only where a shuffled batch would hold at
  least 3 classes (``E >= 3``): a binary task, or batches of 2-3 samples, hold few classes
  by nature and are never judged;
- raw scores given to ``nll_loss``: the loss went below 0, which the negative
  log-likelihood of log-probabilities (``log_softmax``, all <= 0) never does;
- a NaN made by an op at a bad value (``log`` of an exact 0 or a negative, a division by 0,
  ``sqrt`` of a negative), found by replaying the batch whose loss became non-finite
  (:mod:`glassnet.diagnostics.nan_origin`): that op, not the learning rate, made the NaN;
- NaN/Inf that came with the data: no op made it in the replay, and the stopped batch's
  inputs (or targets) hold it.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.diagnostics.findings import Facts as _Facts
from glassnet.diagnostics.findings import Finding
from glassnet.diagnostics.findings import fmt as _fmt

MIN_BATCHES = 8  # batches of epoch 1 needed to judge their order
MIN_EXPECTED = 3.0  # a shuffled batch must be expected to hold at least 3 classes
SHARE = 0.5  # at most this share of the expected distinct classes: ordered by class


def unshuffled(f: _Facts) -> list:
    w = f.w
    batches = [(d, n) for d, n in getattr(w, "batch_classes", []) if n >= 2]
    counts = w.class_counts
    if len(batches) < MIN_BATCHES or counts is None or counts.sum() == 0:
        return []
    p = counts[counts > 0] / counts.sum()
    expected = float(np.mean([np.sum(1 - (1 - p) ** n) for _, n in batches]))
    seen = float(np.mean([d for d, _ in batches]))
    if expected < MIN_EXPECTED or seen > SHARE * expected:
        return []
    sizes = sorted({n for _, n in batches})
    one = sum(1 for d, _ in batches if d == 1)
    return [Finding(
        "unshuffled_batches", "the training batches are ordered by class (not shuffled)",
        [f"in epoch 1 a batch held {seen:.1f} distinct classes on average ({one} of "
         f"{len(batches)} batches a single class), of the {len(p)} in the data; shuffled "
         f"batches of {sizes[-1]} would hold about {expected:.1f}",
         "each step then pulls the model toward the few classes of its batch, and the "
         "classes seen last win: the loss zig-zags and training forgets earlier classes"],
        ["shuffle the training data every epoch: fit(..., shuffle=True) (the default), "
         "DataLoader(dataset, shuffle=True), or DataLoader(dataset, "
         "sampler=RandomSampler(dataset))",
         "if the order matters (a curriculum, a time series), still mix the classes within "
         "each batch"],
        score=88, explains=("collapse", "oscillation", "rose", "no_learning", "plateau",
                            "still_falling", "small_model", "overfit"))]  # fmt: skip


def _nan_fixes(origin) -> list:
    if origin.op.startswith("log"):
        log_softmax = ("compute log-probabilities with log_softmax (F.log_softmax(logits, "
                       "dim=1)), or give the logits to F.cross_entropy, instead of "
                       "log(softmax(...)): it never takes log of 0")  # fmt: skip
        clamp = (f"clamp the input of {origin.op} away from 0: "
                 f"{origin.op}(x.clamp(min=1e-12))")  # fmt: skip
        if origin.producer in ("softmax", "sigmoid"):
            return [log_softmax if origin.producer == "softmax" else
                    "use F.binary_cross_entropy_with_logits on the logits (or "
                    "F.logsigmoid) instead of log(sigmoid(...))", clamp]  # fmt: skip
        return [clamp, "use the library's losses (F.cross_entropy, F.nll_loss with "
                "log_softmax), which take log of no zero"]  # fmt: skip
    if origin.op in ("sqrt", "rsqrt"):
        return ["clamp the input at 0 (x.clamp(min=0)) or add an epsilon inside: "
                "sqrt(x + 1e-12)", "check the sign of what is square-rooted"]  # fmt: skip
    return [
        "add an epsilon to the denominator (x / (d + 1e-12)) or guard the zero case",
        "check why the denominator is 0 (an empty batch, a zero norm or count)",
    ]


def nonfinite_op(f: _Facts) -> list:
    origin = getattr(f.w, "nan_origin", None)
    if origin is None or not origin.domain:
        return []
    value = "0" if origin.zeros else "a negative value"
    what = {"div": "a division by 0"}.get(origin.op, f"{origin.op} of {value}")
    fed = f" (its input comes from {origin.producer})" if origin.producer else ""
    ev = [f"replaying the batch whose loss became non-finite, the first {origin.kind} is made "
          f"by op '{origin.op}'{fed} at {origin.source}",
          *origin.input_stats, f"likely cause: {origin.cause}"]  # fmt: skip
    return [Finding(
        "nonfinite_op", f"{what} made the loss non-finite", ev, _nan_fixes(origin),
        score=92, explains=("nonfinite", "no_learning", "plateau", "collapse"))]  # fmt: skip


def nonfinite_data(f: _Facts) -> list:
    found = getattr(f.w, "nan_data", None)
    if found is None:
        return []
    part, bad, size = found
    return [Finding(
        "nonfinite_data", f"the training data holds NaN or infinite values (in the {part})",
        [f"{bad} of the {size} samples of the batch whose loss became non-finite "
         f"{'holds' if bad == 1 else 'hold'} NaN or Inf in the {part}; replaying that batch, "
         "no op made them: they came with the data"],
        ["find them before training and fix or drop them: rows = "
         "np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))",
         "for missing values, fill them in (e.g. with the feature's mean) and add a feature "
         "that marks them"],
        score=95, explains=("nonfinite", "no_learning", "plateau", "collapse"))]  # fmt: skip


def nll_on_scores(f: _Facts) -> list:
    if f.w.loss_op != "nll_loss":
        return []
    low = min((v for v in f.steps + f.loss if math.isfinite(v)), default=math.nan)
    if not low < -1e-6:
        return []
    fed = f.w.score_producer
    return [Finding(
        "nll_without_log_softmax", "nll_loss was given raw scores, not log-probabilities",
        [f"the loss went below 0 (to {_fmt(low)} at its lowest): nll_loss of log-probabilities "
         "(log_softmax outputs, all <= 0) is never negative",
         "nll_loss(x, y) is the mean of -x[y]: on raw scores"
         + (f" (here {fed}'s output)" if fed else "")
         + " it only pushes the target's score up, without end, and never the others down"],
        ["apply log_softmax before nll_loss: nn.LogSoftmax(dim=1) as the model's last layer, "
         "or F.nll_loss(F.log_softmax(logits, dim=1), y)",
         "or give the raw scores to cross_entropy (nn.CrossEntropyLoss), which applies "
         "log_softmax itself"],
        score=94, explains=("blowup", "rose", "oscillation", "still_falling", "no_learning",
                            "plateau", "small_model", "lr_high", "lr_low", "update_high",
                            "collapse", "overfit", "hot_init"))]  # fmt: skip
