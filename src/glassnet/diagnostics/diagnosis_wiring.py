"""Diagnosis rules about how the loop and the optimizer are wired and configured, each a cause
seen directly (or nearly) by the watch (:class:`~glassnet.diagnostics.wiring.Wiring`):

- the optimizer steps found no gradient (``zero_grad()`` between ``backward()`` and
  ``step()``, ``step()`` before ``backward()``, or a loss cut off from the parameters);
- training steps taken in eval mode (``model.eval()`` with no ``model.train()`` after it)
  in a model with dropout or batch norm;
- parameters left out of the optimizer, or frozen (``requires_grad=False``), while the
  model does not learn;
- weight decay so strong that it erases the weights faster than the gradient builds them
  (the per-step shrink ``lr * weight_decay`` above 1e-2; the usual is 1e-5..1e-4);
- hidden layers initialized far too large (``std(W) * sqrt(fan_in)`` above 5; the default
  init gives 0.58, He 1.41);
- a classification loss summed over the batch (the loss op's ``reduction="sum"``): the
  first loss is about the batch size times ln C, and the gradient (so the step) is the
  batch size times larger (a warning with SGD, or after a blow-up; a note with Adam, which
  is scale-invariant, explaining the large loss values).
"""

from __future__ import annotations

import math

from glassnet.diagnostics.findings import Facts as _Facts
from glassnet.diagnostics.findings import Finding
from glassnet.diagnostics.findings import fmt as _fmt

_ALL = ("blowup", "nonfinite", "lr_high", "lr_low", "dead", "collapse", "oscillation", "rose",
        "no_learning", "update_high", "update_low", "exploding", "plateau", "saturated",
        "vanishing", "still_falling", "small_model", "hot_init", "overfit")  # fmt: skip
_SLOW = ("lr_low", "no_learning", "plateau", "update_low", "still_falling", "small_model",
         "collapse", "vanishing", "overfit", "dead")  # fmt: skip


def _names(names: list, k: int = 4) -> str:
    return ", ".join(names[:k]) + (f" (+{len(names) - k} more)" if len(names) > k else "")


def wiring(f: _Facts) -> list:
    w, out = getattr(f.w, "wiring", None), []
    if w is None:  # a history alone: nothing is known about the loop
        return out
    steps = max(f.w.steps, 1)
    gradless = w.gradless_steps + sum(1 for g in f.gn if g == 0)
    measured = w.gradless_steps + len(f.gn)
    if measured and gradless >= 0.9 * measured and not f.good:
        ev = [f"at {gradless} of {measured} measured steps no parameter held a gradient (or all "
              "were 0) when optimizer.step() ran, although loss.backward() had been called",
              f"the loss went from {_fmt(f.init)} to {_fmt(f.final)}"]  # fmt: skip
        fixes = ["call optimizer.zero_grad() before loss.backward() (at the top of the loop), "
                 "never between loss.backward() and optimizer.step()",
                 "check that the loss is computed from the model's output with tensor ops (no "
                 ".detach(), .item() or NumPy in between)"]  # fmt: skip
        if w.steps_before_backward >= 0.9 * steps:  # step() came before the loss's backward()
            ev[0] = (f"at {w.steps_before_backward} of {f.w.steps} steps optimizer.step() ran "
                     "before loss.backward() of that step's loss: the step came before its "
                     "gradients (and zero_grad() had cleared the last ones)")  # fmt: skip
            fixes.insert(
                0,
                "call loss.backward() before optimizer.step(): zero_grad(), "
                "forward, loss, loss.backward(), optimizer.step(), in that order",
            )
        out.append(Finding(
            "no_gradients_at_step", "optimizer.step() found no gradients: nothing was updated",
            ev, fixes, score=99, explains=_ALL))  # fmt: skip
    if w.eval_steps >= 0.5 * steps and w.mode_modules:
        out.append(Finding(
            "eval_mode_training", "training steps taken in eval mode (model.eval() without "
            "model.train() after it)",
            [f"{w.eval_steps} of {f.w.steps} optimizer steps ran with model.training False",
             f"{_names(w.mode_modules)} behave differently in eval mode: dropout is off and "
             "batch norm uses (and never updates) its running statistics"],
            ["call model.train() at the start of each training epoch (after validation's "
             "model.eval())", "keep model.eval() for validation and prediction only"],
            score=98, explains=_ALL))  # fmt: skip
    if w.unstepped and not f.good:
        out.append(Finding(
            "params_not_in_optimizer", "parameters left out of the optimizer never change",
            [f"{len(w.unstepped)} parameter tensors ({w.share(w.unstepped):.0%} of the "
             f"weights) get gradients but are in no param group: {_names(w.unstepped)}"],
            ["give the optimizer all the model's parameters: optim.X(model.parameters(), ...) "
             "(or one param group per part)",
             "if they are frozen on purpose, set requires_grad_(False) on them"],
            score=97, layers=tuple(w.unstepped), explains=_SLOW))  # fmt: skip
    if w.frozen and w.share(w.frozen) >= 0.5 and not f.good and (f.no_learning or f.improved < 0.3):
        out.append(Finding(
            "frozen_parameters", "most of the model is frozen (requires_grad=False)",
            [f"{len(w.frozen)} parameter tensors ({w.share(w.frozen):.0%} of the weights) have "
             f"requires_grad=False: {_names(w.frozen)}",
             f"the loss only went from {_fmt(f.init)} to {_fmt(f.final)}"],
            ["unfreeze them: p.requires_grad_(True) (and pass them to the optimizer)",
             "when fine-tuning on purpose, train more of the model or a larger head"],
            score=96, layers=tuple(w.frozen), explains=_SLOW))  # fmt: skip
    out += _config(f)
    return out


def _config(f: _Facts) -> list:
    out = []
    opt = f.w.optimizer if f.w.optimizer is not None else getattr(f.w, "fit_optimizer", None)
    group = opt.param_groups[0] if getattr(opt, "param_groups", None) else {}
    wd, lr = float(group.get("weight_decay") or 0.0), f.lr or 0.0
    # Adam/RMSprop/Adagrad add wd * w to the gradient before normalizing it: at wd >= 0.1 the
    # decay term dominates every gradient of a weight below 10x its own size
    coupled = f.opt_name in ("Adam", "RMSprop", "Adagrad")
    shrink = lr * wd
    if wd and not f.good and (shrink > 1e-2 or (coupled and wd >= 0.1)):
        ev = [f"{f.opt_name} weight_decay={_fmt(wd)} at lr={_fmt(lr)}"
              + (f" shrinks every weight by {shrink:.1%} per step" if not coupled else
                 " makes the decay term dominate the gradient")
              + " (usual: weight_decay 1e-4..0.05, a shrink of 1e-5..1e-4 per step)",
              f"the loss went from {_fmt(f.init)} to {_fmt(f.final)}"
              + (f", training accuracy {f.acc:.1%}" if f.acc is not None else "")]  # fmt: skip
        out.append(Finding(
            "weight_decay_too_high", "weight decay far too strong: it erases what is learned",
            ev, [f"lower the weight decay: weight_decay={_fmt(wd)} -> "
                 f"{_fmt(0.01 if f.opt_name == 'AdamW' else 5e-4)}",
                 "then regularize against overfitting only if validation shows it"],
            score=78, knobs=(("regularize", -1),),
            explains=("update_high", "lr_high", "oscillation", "no_learning", "plateau",
                      "collapse", "small_model", "still_falling", "overfit", "lr_low",
                      "update_low", "dead")))  # fmt: skip
    scales = f.init_scales
    hidden = list(scales.items())[:-1]
    large = [n for n, v in hidden if v > 5]
    hot = f.logC is not None and math.isfinite(f.init) and f.init > 3 * f.logC + 1
    if large and not f.good and (hot or f.blowup or f.health_of("saturated") or f.health_of(
            "dead_relu")):  # fmt: skip
        out.append(Finding(
            "init_too_large", "weights initialized far too large",
            ["std(W) * sqrt(fan_in) at the start: "
             + ", ".join(f"{n} {scales[n]:.3g}" for n in large[:3])
             + " (the default init gives about 0.58, He 1.41): every layer multiplies the "
             "signal", f"the loss at the first step was {_fmt(f.init)}"
             + (f" (chance ln {f.C} = {f.logC:.2f})" if f.logC else "")],
            ["keep the layers' default init, or nn.init.kaiming_normal_ for ReLU layers "
             "(xavier_normal_ for tanh/sigmoid)", "normalization layers (BatchNorm/LayerNorm)"],
            score=72, layers=tuple(large),
            explains=("hot_init", "still_falling", "saturated", "dead", "update_high",
                      "plateau", "small_model", "no_learning", "collapse")))  # fmt: skip
    b = f.w.wiring.batch
    if f.w.wiring.summed and b and b >= 8 and f.logC and math.isfinite(f.init):
        out.append(Finding(
            "loss_summed", "the loss is summed over the batch, not averaged",
            [f"{f.w.loss_op} has reduction='sum': the first loss was {_fmt(f.init)}, about "
             f"the batch size ({b}) times chance (ln {f.C} = {f.logC:.2f}), and the gradient, "
             f"so each step, is {b}x larger than with the mean"],
            ["use the mean: reduction='mean' (the default)",
             f"or divide the learning rate by the batch size ({f.opt_name} lr={_fmt(lr)} -> "
             f"{_fmt(lr / b)})"],
            score=86, severity="warning" if not f.adaptive or f.blowup else "note",
            explains=("hot_init", "blowup", "nonfinite", "lr_high", "rose", "oscillation",
                      "update_high", "dead", "collapse", "exploding", "no_learning", "plateau",
                      "still_falling")))  # fmt: skip
    return out
