"""The rules of :mod:`glassnet.diagnostics.diagnosis`: each reads the facts of a run and
returns the findings it supports, with the symptoms each one explains.

- :func:`direct`: causes seen directly (missing ``zero_grad``, a softmax before the loss,
  identical units at initialization, class labels given to a regression loss);
- :func:`inferred`: causes inferred from several symptoms (the input scale, exploding
  gradients through time, a learning rate far too high or too low, labels unrelated to the
  inputs, vanishing gradients, ReLUs dead from initialization);
- :func:`symptoms`: what is left when no cause explains it (overfitting, a model too small,
  a loss still falling, a collapsed model, no learning, per-layer health warnings).

Thresholds are stated where they are used; docs/diagnostics.md lists them.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.diagnostics.diagnosis_depth import vanishing
from glassnet.diagnostics.findings import Facts as _Facts
from glassnet.diagnostics.findings import Finding
from glassnet.diagnostics.findings import fmt as _fmt


def _lr_lower(f: _Facts) -> str:
    if f.lr is None:
        return "lower the learning rate 10x or more (glassnet.lr_find suggests one)"
    if f.adaptive and f.lr > 1e-2:
        target = 1e-3  # the usual rate of the adaptive optimizers
    else:
        target = 0.1 if f.lr > 1 else f.lr / 10
    return (
        f"lower the learning rate: {f.opt_name} lr={_fmt(f.lr)} -> {_fmt(target)} "
        "(or let glassnet.lr_find(model, x, y) suggest one)"
    )


# -- the rules: each returns Findings (causes first, then unexplained symptoms) -------------
def direct(f: _Facts) -> list:
    out, w = [], f.w
    if w.accumulated_at is not None:
        step, where = w.accumulated_at
        ev = [f"the backward at {where} added to gradients that optimizer step {step - 1} "
              "had already used: zero_grad() was not called between steps"]  # fmt: skip
        if len(f.gn) > 1:
            ev.append(f"the gradient norm grew from {_fmt(f.gn[0])} (step 1) to "
                      f"{_fmt(f.gn[-1])} (step {len(f.gn)})")  # fmt: skip
        line = where.split(" (", 1)[0]
        out.append(Finding(
            "zero_grad_missing", "gradients accumulate across steps (no zero_grad)", ev,
            [f"add `optimizer.zero_grad()` before `loss.backward()` ({line})",
             "if you accumulate gradients on purpose, say so: glassnet.watch(..., "
             "accumulation=True)"],
            score=100, explains=("blowup", "nonfinite", "lr_high", "dead", "collapse",
                                 "oscillation", "rose", "no_learning", "update_high",
                                 "exploding", "plateau", "saturated", "vanishing",
                                 "update_low", "still_falling", "small_model")))  # fmt: skip
    producer, loss_op = w.score_producer, w.loss_op
    probs = w.loss_batches and w.probability_batches >= 0.9 * w.loss_batches
    wrong_input = {"cross_entropy": ("softmax", "sigmoid"), "nll_loss": ("softmax",),
                   "binary_cross_entropy_with_logits": ("sigmoid",)}  # fmt: skip
    in_graph = loss_op in wrong_input and producer in wrong_input[loss_op]
    if in_graph or (probs and loss_op == "cross_entropy"):
        producer = producer if in_graph else None
        seen = (
            f"the graph feeds {producer}'s output to {loss_op}"
            if producer
            else (
                f"the scores given to {loss_op} are >= 0 and sum to 1 in every batch: "
                "they are probabilities, not logits"
            )
        )
        ev = [seen]
        if loss_op == "cross_entropy" and f.C:
            floor = math.log(math.e + f.C - 1) - 1  # softmax of a one-hot probability vector
            ev.append(f"cross_entropy applies log_softmax itself, so the loss can never fall "
                      f"below {floor:.2f} (final loss {_fmt(f.final)}) and the gradients "
                      "are squeezed")  # fmt: skip
        fix = {"cross_entropy": f"remove the {producer or 'softmax'} at the end of the model: "
               "return raw scores (logits); cross_entropy applies log_softmax itself",
               "nll_loss": "use log_softmax instead of softmax before nll_loss (or return "
               "logits and use cross_entropy)",
               "binary_cross_entropy_with_logits": "remove the sigmoid at the end of the "
               "model: binary_cross_entropy_with_logits applies it itself"}[loss_op]  # fmt: skip
        out.append(Finding(
            "softmax_before_loss", f"{producer or 'softmax'} applied before {loss_op}, which "
            "expects raw scores (logits)", ev,
            [fix, "if you need probabilities, apply softmax when predicting, not in training"],
            score=95, explains=("plateau", "no_learning", "small_model", "still_falling",
                                "update_low", "lr_low", "collapse")))  # fmt: skip
    symmetric = w.symmetric_now() if w.symmetric_at_start else []
    if symmetric:
        ev = [f"every unit (row) of {', '.join(symmetric)} had the same weights at the start "
              "and still has: identical units get identical gradients, so they can never "
              "become different (the layer acts as one unit)"]  # fmt: skip
        if f.collapse:
            ev.append(f"the model predicts class {f.collapse[0]} for {f.collapse[1]:.0%} of "
                      "the training samples")  # fmt: skip
        out.append(Finding(
            "symmetric_init", "constant weight initialization: the units of a layer are "
            "identical", ev,
            ["initialize weights randomly: keep the layers' default init, or "
             "nn.init.kaiming_normal_ for ReLU layers (xavier_uniform_ for tanh/sigmoid)",
             "never set a hidden layer's weights to a constant (zeros included)"],
            score=90, layers=tuple(symmetric),
            explains=("dead", "vanishing", "update_low", "lr_low", "no_learning", "collapse",
                      "plateau", "small_model", "still_falling", "saturated")))  # fmt: skip
    if loss_op in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss") and w.target_integral:
        values = sorted(w.target_values)
        var = w.target_var or 0.0
        # R^2 = 1 - mse / var under 0.8 (mse); half the spread left (l1, huber)
        poor = f.final > (0.2 * var if loss_op == "mse_loss" else 0.45 * var**0.5)
        if 3 <= len(values) <= 50 and values[0] >= 0 and poor:
            out.append(Finding(
                "wrong_loss", f"class labels given to a regression loss ({loss_op})",
                [f"the targets take {len(values)} integer values "
                 f"{', '.join(_fmt(float(v)) for v in values[:4])}, ...: class labels",
                 f"{loss_op} treats them as numbers on a line (class 9 is 'closer' to 8 than to "
                 f"0), and the loss only fell from {_fmt(f.init)} to {_fmt(f.best)}"],
                ["use cross_entropy with one output per class and int64 class-index targets",
                 "if the targets really are quantities, standardize them"],
                score=85, explains=("plateau", "no_learning", "small_model", "still_falling",
                                    "lr_low")))  # fmt: skip
    return out


def inferred(f: _Facts) -> list:
    out = []
    dead = f.health_of("dead_relu")
    lr_signs = []
    if f.nonfinite_step is not None:
        lr_signs.append(f"the loss became non-finite at {f.unit} {f.nonfinite_step}")
    if f.blowup:
        lr_signs.append(
            f"the {'per-step ' * (f.unit == 'step')}loss blew up from {_fmt(f.init)} at "
            f"{f.unit} 1 to {_fmt(f.peak)} at {f.unit} {f.peak_step}"
            + (f" (chance is ln {f.C} = {f.logC:.2f})" if f.logC else "")
        )
    if f.rose:
        lr_signs.append(f"the epoch loss ended above where it started ({_fmt(f.loss[0])} -> "
                        f"{_fmt(f.final)})")  # fmt: skip
    big_updates = [u for u in f.update if u > 0.1 and math.isfinite(u)]
    if big_updates and not f.good:
        lr_signs.append(f"updates were {_fmt(max(big_updates))} of the weights per step "
                        "(healthy is about 1e-3)")  # fmt: skip
    ups = sum(1 for a, b in zip(f.loss, f.loss[1:]) if b > a)
    oscillating = f.n_epochs >= 4 and ups / (f.n_epochs - 1) > 0.4 and not f.good
    if oscillating:
        lr_signs.append(f"the epoch loss went up in {ups} of {f.n_epochs - 1} epochs")
    # A NaN after ordinary losses and gradients is an op's doing (log of 0, a corrupt input),
    # not the learning rate's: it counts only after a blow-up or a gradient spike.
    growing = f.blowup or f.rose or bool(big_updates) or f.grad_spike > 10
    strong = growing
    # ... and not when replaying the batch found an op that made it at a bad value (log of 0)
    domain_nan = getattr(getattr(f.w, "nan_origin", None), "domain", False)
    if f.nonfinite_step is not None and (not growing or domain_nan):
        lr_signs = [s for s in lr_signs if "non-finite" not in s]
    # the loss at init: overconfident outputs before any update
    hot_init = f.logC is not None and math.isfinite(f.init) and f.init > 3 * f.logC + 1
    if f.bad_inputs and (strong or hot_init or f.no_learning or f.health_of("saturated")):
        s = f.w.input_stats
        ev = [
            f"the inputs range from {_fmt(s['min'])} to {_fmt(s['max'])} (mean "
            f"{_fmt(s['mean'])}, std {_fmt(s['std'])}); networks expect about mean 0, std 1"
        ]
        if hot_init:
            ev.append(
                f"the loss at the first step was already {_fmt(f.init)} "
                f"(ln {f.C} = {f.logC:.2f} is chance): huge inputs make huge scores"
            )
        ev += lr_signs
        out.append(Finding(
            "input_scale", "inputs on the wrong scale", ev,
            ["standardize the inputs: (x - mean) / std per feature, fitted on the training "
             "set (glassnet.data.Standardize), or x / 255 for 0..255 pixels",
             _lr_lower(f) + " if it still blows up after that"],
            score=85, explains=("blowup", "nonfinite", "lr_high", "dead", "saturated",
                                "collapse", "oscillation", "rose", "hot_init", "no_learning",
                                "update_high", "exploding", "plateau", "vanishing",
                                "update_low", "still_falling", "small_model")))  # fmt: skip
    # a spike over the early median, or over the first step's norm (a recurrence that
    # explodes from the start makes the early median huge too: it held 4 steps before a NaN)
    growth = max(f.gn) / max(f.gn[0], 1e-12) if len(f.gn) > 1 else 1.0
    spiky = f.grad_spike > 50 or growth > 50 or bool(f.health_of("exploding"))
    if f.w.recurrent and spiky and (strong or oscillating):
        ev = [f"the gradient norm spiked to {max(f.grad_spike, growth):.0f}x its "
              f"{'early median' if f.grad_spike >= growth else 'first step'} "
              f"({_fmt(max(f.gn))} at its peak)"] + lr_signs  # fmt: skip
        out.append(Finding(
            "exploding_gradients", "exploding gradients through time (recurrent model)", ev,
            ["clip the gradient norm: model.compile(..., clip_grad_norm=1.0), or "
             "gn.clip_grad_norm(model.parameters(), 1.0) before optimizer.step()",
             _lr_lower(f), "use an LSTM or GRU instead of a plain RNN, or shorter sequences"],
            score=75, knobs=(("lr", -1),),
            explains=("blowup", "nonfinite", "lr_high", "rose", "oscillation", "exploding",
                      "update_high", "dead", "collapse", "saturated", "hot_init",
                      "still_falling", "no_learning")))  # fmt: skip
    if lr_signs and (strong or oscillating):
        ev = list(lr_signs)
        after = [d for d in dead if d.since > 1 or f.blowup]
        if after:
            ev.append("then " + "; ".join(f"layer {d.layer}: {d.worst:.0%} of ReLUs died (epoch "
                                          f"{d.since})" for d in after)
                      + ": a symptom of the huge updates, not a separate problem")  # fmt: skip
        if f.collapse:
            ev.append(f"the model ended predicting class {f.collapse[0]} for "
                      f"{f.collapse[1]:.0%} of samples")  # fmt: skip
        title = (
            f"the learning rate is far too high{f.lr_note}"
            if strong
            else (f"the learning rate is probably too high{f.lr_note}")
        )
        out.append(Finding(
            "lr_too_high", title, ev,
            [_lr_lower(f), "clip the gradient norm (compile(..., clip_grad_norm=1.0))",
             "add a warm-up or decaying learning-rate schedule"],
            score=70 if strong else 35, knobs=(("lr", -1),),
            explains=("blowup", "nonfinite", "lr_high", "rose", "oscillation", "dead",
                      "collapse", "update_high", "exploding", "saturated", "no_learning",
                      "plateau", "vanishing", "update_low", "still_falling",
                      "small_model")))  # fmt: skip
    elif f.nonfinite_step is not None:
        out.append(Finding(
            "nonfinite", "the loss became non-finite (not after a blow-up)",
            [f"step {f.nonfinite_step} gave a non-finite loss while earlier losses were "
             "ordinary: an op produced NaN/Inf (log or sqrt of a negative, division by 0)"],
            ["find the op: fit(..., detect_anomaly=1) or `with glassnet.detect_anomaly():` "
             "names the op, layer and source line", "check the inputs for NaN/Inf"],
            score=60, explains=("nonfinite",)))  # fmt: skip
    return out + _slow_causes(f, dead)


def _slow_causes(f: _Facts, dead: list) -> list:
    out = []
    # labels unrelated to inputs: validation at chance while training memorizes
    if f.chance is not None and f.best_val_acc is not None and f.acc is not None:
        at_chance = f.best_val_acc < f.chance + 0.05
        memorizes = f.acc > f.best_val_acc + 0.15 or (f.logC and f.final < 0.7 * f.logC)
        # or, too small or too short to memorize: training clearly above chance while
        # validation stays at it over the second half of the run (real labels carry what is
        # learned over to validation; an untrained model's first validation is noise)
        vacc = [e["val_accuracy"] for e in f.epochs if e.get("val_accuracy") is not None]
        late = max(vacc[len(vacc) // 2 :]) if vacc else 1.0
        calm = not (f.blowup or f.rose or f.nonfinite_step is not None)  # a blow-up's doing
        weak = (calm and f.n_epochs >= 3 and f.acc > f.chance + 0.05 and f.acc > late + 0.03
                and late < f.chance + 0.04)  # fmt: skip
        if (at_chance and memorizes) or weak:
            best = f.best_val_acc if at_chance and memorizes else late
            out.append(Finding(
                "labels_unrelated", "the labels do not match the inputs",
                [f"validation accuracy stayed at chance (best {best:.1%}"
                 + ("" if at_chance and memorizes else " over the second half of the run")
                 + f"; chance {1 / f.C:.1%}, majority class {f.majority:.1%})",
                 f"while training accuracy rose to {f.acc:.1%}: the model memorizes the "
                 "training pairs, and nothing carries over"],
                ["check that labels line up with inputs: shuffle or split x and y together "
                 "(one permutation for both), and check the label file's order",
                 "look at a few samples with their labels"],
                score=80, explains=("overfit", "no_learning", "plateau", "small_model",
                                    "still_falling", "lr_low", "collapse")))  # fmt: skip
    # weights initialized far below the default scale: the signal shrinks at every layer
    if f.init_small and not f.good:
        scales = ", ".join(f"{n} {f.init_scales[n]:.2g}" for n in f.init_small[:3])
        out.append(Finding(
            "init_too_small", "weights initialized far too small",
            [f"std(W) * sqrt(fan_in) at the start: {scales} (the default init gives about "
             "0.58, He 1.41): every layer shrinks the signal and its gradient",
             f"the loss went from {_fmt(f.init)} to {_fmt(f.final)}"],
            ["keep the layers' default init, or nn.init.kaiming_normal_ for ReLU layers "
             "(xavier_normal_ for tanh/sigmoid)", "normalization layers (BatchNorm/LayerNorm)"],
            score=72, layers=tuple(f.init_small),
            explains=("vanishing", "no_learning", "plateau", "update_high", "update_low",
                      "lr_low", "dead", "collapse", "small_model", "still_falling",
                      "saturated")))  # fmt: skip
    out += vanishing(f, dead)  # diagnosis_depth.py
    # dead from the start: no blow-up, no big update: the initialization did it
    first = [d for d in dead if d.since == 1 and d.worst >= 0.9]
    if first and not f.blowup:
        ev = [
            f"layer {d.layer}: {d.worst:.0%} of ReLUs dead from epoch 1, before any large update "
            "(the loss never rose above its start)"
            for d in first
        ]
        out.append(Finding(
            "dead_at_init", "ReLUs dead from the start (initialization)", ev,
            ["re-initialize the layer before them: zero (or small positive) bias and He "
             "(kaiming) weights, the default init; a large negative bias keeps every "
             "pre-activation below 0", "LeakyReLU instead of ReLU lets dead units recover"],
            score=68, layers=tuple(d.layer for d in first),
            explains=("dead", "no_learning", "plateau", "lr_low", "update_low", "collapse",
                      "small_model", "still_falling", "vanishing")))  # fmt: skip
    # the learning rate far too low: tiny updates and no progress
    if f.update and not f.blowup and (f.no_learning or f.improved < 0.3) and not f.good:
        median = float(np.median(f.update))
        if median < 3e-4:
            out.append(Finding(
                "lr_too_low", f"the learning rate is too low{f.lr_note}",
                [f"updates were {median:.1e} of the weights per step (healthy is about 1e-3)",
                 f"the loss moved only from {_fmt(f.init)} to {_fmt(f.final)} in "
                 f"{f.n_epochs} epochs"],
                [f"raise the learning rate 10x-100x ({f.opt_name} lr={_fmt(f.lr)} -> "
                 f"{_fmt((f.lr or 0) * 30)}), or let glassnet.lr_find(model, x, y) suggest one",
                 "train for more epochs"],
                score=60, knobs=(("lr", +1),),
                explains=("lr_low", "no_learning", "plateau", "update_low", "still_falling",
                          "small_model", "collapse")))  # fmt: skip
    return out


def symptoms(f: _Facts) -> list:
    out = []
    # validation far better than training: what training is measured on is harder
    # (over the last two epochs: in an early epoch the training accuracy is the mean of a
    # model still improving, so validation at the epoch's end is ahead of it by nature)
    pairs = [(e.get("accuracy"), e.get("val_accuracy")) for e in f.epochs[-2:]]
    inverted = f.n_epochs >= 3 and all(a is not None and v is not None and v > a + 0.15
                                       for a, v in pairs)  # fmt: skip
    if inverted:
        ev = [f"validation accuracy {f.val_acc:.1%} vs training {f.acc:.1%}: the model "
              "does better on data it never trained on"]  # fmt: skip
        if f.dropout >= 0.5:
            out.append(
                Finding(
                    "heavy_dropout",
                    f"dropout p={f.dropout:g} holds training back",
                    ev
                    + [
                        "training accuracy is measured with dropout on; it switches off for "
                        "validation"
                    ],
                    [f"lower the dropout (p={f.dropout:g} -> 0.2..0.5)", "train for more epochs"],
                    score=55,
                    knobs=(("regularize", -1),),
                    explains=("small_model", "still_falling", "no_learning", "plateau"),
                )
            )
        else:
            out.append(Finding(
                "noisy_labels", "the training labels look noisy (validation agrees with the "
                "model more than training does)", ev,
                ["check the training labels for errors (compare them with the validation "
                 "labels' source)", "if the noise is inherent, use label smoothing or a "
                 "robust loss"],
                score=55, explains=("small_model", "still_falling", "plateau")))  # fmt: skip
    # overfitting: a train/validation gap, or validation loss rising while training falls
    vl = f.val_loss
    best = int(np.argmin(vl)) if vl else 0
    rose = len(vl) >= 3 and best < len(vl) - 1 and vl[-1] > 1.05 * vl[best]
    rose = rose and len(f.loss) == len(vl) and f.final < f.loss[best]
    gap = None
    if f.val_acc is not None and f.acc is not None:
        gap = f.acc - f.val_acc
        if not f.best_val_acc > (f.chance or 0) + 0.1:
            gap = None  # at chance: that is the labels, not overfitting
    if (gap is not None and gap > 0.1) or rose:
        ev = []
        if gap is not None:
            ev.append(f"training accuracy {f.acc:.1%} vs validation {f.val_acc:.1%} "
                      f"({gap * 100:.1f} points apart)")  # fmt: skip
        stop = (f"early stopping on val_loss with restore_best_weights=True (best epoch "
                f"{best + 1})")  # fmt: skip
        regularize = "regularize: weight decay (AdamW, weight_decay=0.05) or dropout"
        more_data = "more training data or augmentation"
        if f.regularized:  # weight decay or dropout already on: more of it helps less
            regularize = "stronger regularization (more weight decay or dropout)"
        remedies = [more_data, regularize] if f.regularized else [regularize, more_data]
        if rose:
            ev.append(f"validation loss rose from {_fmt(vl[best])} (epoch {best + 1}) to "
                      f"{_fmt(vl[-1])} while training loss fell from {_fmt(f.loss[best])} to "
                      f"{_fmt(f.final)}")  # fmt: skip
            remedies = [stop, *remedies]
        out.append(Finding(
            "overfitting", "overfitting: the model memorizes the training set", ev,
            remedies, score=50, knobs=(("capacity", -1),),
            since_epoch=best + 2 if rose else None,
            explains=("overfit", "still_falling")))  # fmt: skip
    if f.n_epochs >= 4 and f.acc is not None and f.chance is not None and not f.good:
        tail = f.loss[-max(2, f.n_epochs // 3) :]
        flat = (tail[0] - tail[-1]) / max(abs(tail[0]), 1e-12) < 0.03
        learned = f.acc > f.chance + 0.15
        gap = f.acc - f.val_acc if f.val_acc is not None else 0.0
        healthy_updates = not f.update or float(np.median(f.update)) >= 3e-4
        well_below_chance = f.logC is None or f.final < 0.7 * f.logC  # learned, then stopped
        if (flat and learned and f.acc < 0.85 and abs(gap) < 0.05 and healthy_updates
                and well_below_chance):  # fmt: skip
            out.append(Finding(
                "model_too_small", "the model is too small for the task",
                [f"training accuracy levelled off at {f.acc:.1%} (the loss improved under 3% "
                 f"over the last {len(tail)} epochs) with healthy update sizes",
                 "validation accuracy is as good as training: it is not memorizing"],
                ["a larger model: more hidden units or another layer",
                 "train longer with a decaying learning-rate schedule"],
                score=40, knobs=(("capacity", +1),),
                explains=("small_model", "plateau", "still_falling", "saturated")))  # fmt: skip
    if f.n_epochs >= 2 and f.acc is not None and f.acc < 0.8:
        recent = (f.loss[-2] - f.loss[-1]) / max(abs(f.loss[-2]), 1e-12)
        if recent > 0.01:
            slow = bool(f.update) and float(np.median(f.update)) < 1e-3
            remedies = ["train for more epochs"]
            if slow:
                remedies.insert(0, f"raise the learning rate ({f.lr_text}: updates are "
                                f"{float(np.median(f.update)):.1e} of the weights per step; "
                                "about 1e-3 learns faster)")  # fmt: skip
            out.append(Finding(
                "still_falling", "training stopped while the loss was still falling",
                [f"the loss fell {recent:.1%} in the last epoch ({_fmt(f.loss[-2])} -> "
                 f"{_fmt(f.loss[-1])}), training accuracy {f.acc:.1%}"],
                remedies, score=30, knobs=(("lr", +1),) if slow else (),
                explains=("still_falling",)))  # fmt: skip
    if f.collapse:
        k, share = f.collapse
        out.append(Finding(
            "collapse", "the model predicts one class for almost everything",
            [f"class {k} for {share:.0%} of the training samples in the last epoch"
             + (f"; the majority class is {f.majority:.1%} of the labels" if f.majority else "")],
            ["check the class balance (class weights in cross_entropy)",
             "run model.doctor(x, y): can the model overfit one batch?"],
            score=25, explains=("collapse",)))  # fmt: skip
    if f.no_learning:
        out.append(Finding(
            "no_learning", "the model is not learning",
            [f"the loss went from {_fmt(f.init)} to {_fmt(f.final)}"
             + (f", accuracy {f.acc:.1%} (chance {f.chance:.1%})" if f.acc is not None else "")],
            ["check the learning rate with glassnet.lr_find(model, x, y)",
             "run model.doctor(x, y): can the model overfit one batch?"],
            score=20, explains=("no_learning", "plateau")))  # fmt: skip
    hot = f.logC is not None and math.isfinite(f.init) and f.init > 3 * f.logC + 1
    if hot:
        out.append(Finding(
            "hot_init", "overconfident outputs at initialization",
            [f"the loss at the first step was {_fmt(f.init)}; an untrained {f.C}-class model "
             f"should start near ln {f.C} = {f.logC:.2f}"],
            ["scale down the last layer's initial weights (or keep the default init)"],
            score=30, explains=("hot_init",)))  # fmt: skip
    return out + _health_findings(f)


_HEALTH_FIXES = {
    "dead_relu": ("dead", "dead ReLUs", ["LeakyReLU instead of ReLU", "He (kaiming) init"]),
    "saturated": ("saturated", "saturated activations",
                  ["standardize the inputs", "Xavier init for sigmoid/tanh layers",
                   "ReLU/GELU activations"]),
    "vanishing": ("vanishing", "gradients vanish with depth",
                  ["normalization layers", "residual connections", "He/Xavier init"]),
    "exploding": ("exploding", "gradients explode with depth",
                  ["clip the gradient norm (compile(..., clip_grad_norm=1.0))",
                   "normalization layers"]),
    "update_high": ("update_high", "very large updates", ["lower the learning rate"]),
    "update_low": ("update_low", "very small updates", ["raise the learning rate"]),
}  # fmt: skip


def _health_findings(f: _Facts) -> list:
    out = []
    for h in f.health:
        symptom, title, fixes = _HEALTH_FIXES[h.kind]
        if h.kind == "saturated" and not f.bad_inputs:
            fixes = fixes[1:]  # the inputs are already on a good scale
        knobs = {"update_high": (("lr", -1),), "update_low": (("lr", +1),)}.get(h.kind, ())
        out.append(Finding(
            f"health_{h.kind}", f"{title} in {h.layer}", [h.message], list(fixes), score=15,
            knobs=knobs, since_epoch=h.since, layers=(h.layer,),
            explains=(symptom,)))  # fmt: skip
    return out
