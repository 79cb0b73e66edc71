"""Pre-flight doctor: cheap checks that catch most "my model does not learn" bugs before a
long run. Each check passes, warns or fails, and says what is wrong and what to do.

1. data: NaN/Inf in inputs or targets; labels within the model's output classes.
2. input scale: features far from mean 0 / std 1 slow or stall training.
3. label balance and the data-free baseline (majority-class accuracy, prior entropy loss):
   the numbers any model must beat.
4. loss at initialization against ln(num_classes): a freshly initialized classifier should be
   unsure of everything, so its cross-entropy starts near ln C (2.30 for 10 classes).
5. activation scale through depth under the chosen initialization: std shrinking or growing
   100x across layers means vanishing or exploding signals.
6. learning rate: the first step of the model's own optimizer (the one it was compiled with,
   at its learning rate) should change the weights by about 1e-3 of their size, not 10%.
7. overfit one batch with that optimizer: a model that cannot drive the loss of 32 samples
   near zero has a bug. The run is watched (:mod:`glassnet.diagnostics.watch`), so a failure
   names its own cause and fix (a softmax before the loss, identical units, dead ReLUs, a
   learning rate too high or too low, an output that ignores the input), not one remedy for all.

The model (weights, train/eval mode), the compiled optimizer's state and glassnet's RNG are
restored afterwards: the checks train a copy of the optimizer.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import get_rng_state, set_rng_state
from glassnet.diagnostics.diagnosis_data import _nan_fixes
from glassnet.diagnostics.nan_origin import first_nonfinite_op
from glassnet.optim.clip import clip_grad_norm
from glassnet.tensor import Tensor


@dataclasses.dataclass
class Check:
    name: str
    status: str  # "pass", "warn" or "fail"
    message: str
    fix: str = ""

    def __str__(self) -> str:
        mark = {"pass": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]"}[self.status]
        text = f"{mark} {self.name}: {self.message}"
        return text + (f"\n       fix: {self.fix}" if self.fix else "")


@dataclasses.dataclass
class DoctorReport:
    checks: list

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self.checks)


def _np(a) -> np.ndarray:
    a = a.numpy() if isinstance(a, Tensor) else a
    return np.asarray(a)


def doctor(
    model,
    x,
    y,
    loss=None,
    batch_size: int = 32,
    overfit_steps: int = 150,
    lr: float | None = None,
    optimizer=None,
) -> DoctorReport:
    """Run the pre-flight checks on ``model`` with data ``x`` (inputs) and ``y`` (targets).

    Args:
        loss: "cross_entropy" (integer class labels), "mse" (regression targets) or a
            callable ``(output, target)``; None: the loss ``model.compile`` chose
            (cross-entropy for a model that is not compiled).
        batch_size: samples in the overfit-one-batch test.
        overfit_steps: optimizer steps allowed to memorize that batch.
        lr: learning rate for the checks; None: the compiled optimizer's.
        optimizer: a name or optimizer object; None: a fresh copy of the compiled one
            (Adam at lr 1e-2 for a model that is not compiled).

    Returns:
        A :class:`DoctorReport`; ``print(report)`` lists each check.
    """
    from glassnet.diagnostics._setup import training_setup

    loss_fn, loss_name, opt_spec = training_setup(model, loss, optimizer, "doctor")
    if opt_spec == "adam" and lr is None and "_compiled" not in model.__dict__:
        lr = 1e-2  # an uncompiled model: a rate that memorizes a batch in a few dozen steps
    x, y = _np(x), _np(y)
    if len(x) != len(y):
        raise ValueError(f"doctor: x has {len(x)} samples but y has {len(y)}")
    checks: list[Check] = []
    classify = loss_name in ("cross_entropy", "nll_loss") or (
        loss_name is None and y.dtype.kind in "iu"
    )

    # 1. data sanity
    bad_x = int((~np.isfinite(x)).sum()) if x.dtype.kind == "f" else 0
    bad_y = int((~np.isfinite(y)).sum()) if y.dtype.kind == "f" else 0
    if bad_x or bad_y:
        checks.append(
            Check(
                "data",
                "fail",
                f"{bad_x} non-finite inputs and {bad_y} non-finite targets",
                "remove or impute NaN/Inf values before training",
            )
        )
        return DoctorReport(checks)
    checks.append(Check("data", "pass", f"{len(x)} samples, inputs {x.shape[1:]}, all finite"))

    # 2. input scale
    mean, std = float(x.mean()), float(x.std())
    scale_off = std < 1e-2 or std > 10 or abs(mean) > 3 * max(std, 1e-12)
    if scale_off:
        checks.append(
            Check(
                "input scale",
                "warn",
                f"inputs have mean {mean:.3g} and std "
                f"{std:.3g}; networks train best on inputs near mean 0, std 1",
                "standardize with glassnet.data.Standardize().fit(x_train)",
            )
        )
    else:
        checks.append(Check("input scale", "pass", f"mean {mean:.3g}, std {std:.3g}"))

    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rng_state = get_rng_state()
    was_training = model.training
    try:
        batch = slice(0, min(batch_size, len(x)))
        device = next((p.device for p in model.parameters()), None)  # batches go there
        xb = Tensor(x[batch].astype(np.float32) if x.dtype.kind == "f" else x[batch], device=device)
        yb = Tensor(y[batch], device=device)
        model.eval()
        with no_grad():
            out = model(xb)
        num_out = out.shape[-1]

        # 3. labels and baseline
        labels = y
        probabilities = classify and y.dtype.kind == "f" and y.ndim == 2 and y.shape[1] == num_out
        if probabilities and (y >= 0).all() and np.allclose(y.sum(axis=1), 1.0, atol=1e-3):
            labels = y.argmax(axis=1)  # class probabilities: PyTorch's other target form
        if classify:
            if labels.dtype.kind not in "iu":
                checks.append(
                    Check(
                        "labels",
                        "fail",
                        f"targets have dtype {y.dtype}; cross-entropy needs integer class indices",
                        "convert with y.astype('int64')",
                    )
                )
                return DoctorReport(checks)
            if labels.min() < 0 or labels.max() >= num_out:
                lo, hi = labels.min(), labels.max()
                checks.append(
                    Check(
                        "labels",
                        "fail",
                        f"labels span {lo}..{hi} but the model outputs {num_out} classes",
                        f"give the last layer {int(hi) + 1} outputs",
                    )
                )
                return DoctorReport(checks)
            counts = np.bincount(labels.astype(np.int64), minlength=num_out)
            present = counts[counts > 0]
            ratio = present.max() / present.min()
            priors = present / present.sum()
            entropy = float(-(priors * np.log(priors)).sum())
            majority = float(counts.max() / counts.sum())
            status = "warn" if ratio > 5 or (counts == 0).any() else "pass"
            msg = (
                f"{len(present)} of {num_out} classes present, largest/smallest = {ratio:.1f}; "
                f"baseline without data: accuracy {majority:.1%} (majority class), loss "
                f"{entropy:.3f} (class priors)"
            )
            fix = (
                "rebalance (class weights in CrossEntropyLoss, resampling)"
                if status == "warn"
                else ""
            )
            checks.append(Check("labels and baseline", status, msg, fix))
        else:
            var = float(y.astype(np.float64).var())
            checks.append(
                Check(
                    "labels and baseline",
                    "pass",
                    f"predicting the mean gives MSE {var:.4g}: the baseline to beat",
                )
            )

        # 4. loss at initialization
        with no_grad():
            init_loss = float(loss_fn(out, yb).item())
        if classify:
            expected = math.log(num_out)
            if not 0.5 * expected <= init_loss <= 1.5 * expected:
                checks.append(
                    Check(
                        "loss at init",
                        "warn",
                        f"{init_loss:.3f}, but an untrained {num_out}-class model should start "
                        f"near ln({num_out}) = {expected:.3f}: its initial outputs are "
                        "overconfident" + (" (the inputs' scale makes huge scores)" * scale_off),
                        "standardize the inputs first (see input scale)"
                        if scale_off
                        else "scale down the last layer's initial weights (or use default init)",
                    )
                )
            else:
                checks.append(
                    Check(
                        "loss at init", "pass", f"{init_loss:.3f} vs ln({num_out}) = {expected:.3f}"
                    )
                )
        else:
            checks.append(Check("loss at init", "pass", f"{init_loss:.4g}"))

        # 5. activation scale through depth
        stds: list = []
        handles = [
            m.register_forward_hook(
                lambda mod, i, o, s=stds, n=name: s.append(
                    (n, float(o._data.std())) if isinstance(o, Tensor) else None
                )
            )
            for name, m in model.named_modules()
            if name and not list(m.children())
        ]
        with no_grad():
            model(xb)
        for h in handles:
            h.remove()
        stds = [s for s in stds if s is not None and s[1] > 0]
        if len(stds) >= 2:
            first, last = stds[0][1], stds[-1][1]
            growth = last / first
            if growth < 1e-2 or growth > 1e2:
                word = "shrinks" if growth < 1 else "grows"
                checks.append(
                    Check(
                        "activation scale",
                        "warn",
                        f"activation std {word} from {first:.3g} ({stds[0][0]}) to {last:.3g} "
                        f"({stds[-1][0]}): signals {'vanish' if growth < 1 else 'explode'} "
                        "with depth",
                        "use He (kaiming) init for ReLU or Xavier for tanh, or add normalization",
                    )
                )
            else:
                checks.append(
                    Check(
                        "activation scale",
                        "pass",
                        f"std {first:.3g} -> {last:.3g} across {len(stds)} layers",
                    )
                )

        # 6. and 7. the compiled optimizer's first step, then overfit one batch with it
        model.train()
        checks += _train_checks(model, xb, yb, loss_fn, opt_spec, lr, overfit_steps, out)
    finally:
        model.load_state_dict(state)
        model.train(was_training)
        set_rng_state(rng_state)
    return DoctorReport(checks)


def _train_checks(model, xb, yb, loss_fn, opt_spec, lr, steps, out) -> list:
    from glassnet.diagnostics._setup import fresh_optimizer
    from glassnet.diagnostics.watch import Watch

    opt = fresh_optimizer(opt_spec, list(model.parameters()), lr=lr)
    compiled = model.__dict__.get("_compiled")
    clip = getattr(compiled, "clip_grad_norm", None)  # the compiled clipping, as fit does
    first_norm = None
    name = f"{type(opt).__name__} lr={opt.param_groups[0]['lr']:g}"
    checks = []
    weights = [p for p in model.parameters() if p.ndim >= 2]
    before = [p._data.copy() for p in weights]
    watch = Watch(model, opt, health=True, verbose=False)
    start = final = origin = None
    try:
        with np.errstate(all="ignore"):
            for step in range(steps):
                opt.zero_grad()
                value = loss_fn(model(xb), yb)
                current = float(value.item())
                if origin is None and not math.isfinite(current):
                    # the weights that made the NaN are still here: find the op that made it
                    origin = first_nonfinite_op(model, loss_fn, (xb, yb))
                value.backward()
                if clip is not None:
                    norm = float(clip_grad_norm(model.parameters(), clip))
                    first_norm = norm if first_norm is None else first_norm
                opt.step()
                final = current
                start = final if start is None else start
                if step == 0:  # layers that start at 0 have no size to compare with
                    ratios = [
                        float(((p._data - b) ** 2).sum()) ** 0.5 / float((b * b).sum()) ** 0.5
                        for p, b in zip(weights, before)
                        if float((b * b).sum()) > 0
                    ]
                if not math.isfinite(final) or final < 0.02 * max(start, 1e-12):
                    break
    finally:
        watch.stop()
    ratio = float(np.median(ratios)) if ratios else 1e-3
    lr_now = opt.param_groups[0]["lr"]
    adaptive = type(opt).__name__ in ("Adam", "AdamW", "RMSprop", "Adagrad")
    suggestion = 1e-3 if adaptive and lr_now > 1e-2 else lr_now / 100
    if not ratios:
        checks.append(Check("learning rate", "pass", f"{name}: every weight matrix starts at "
                            "0, so update sizes cannot be judged"))  # fmt: skip
    elif ratio > 0.3:  # Adam's first steps move every weight by about lr: 0.14 at lr 1e-2
        checks.append(
            Check(
                "learning rate",
                "fail" if ratio > 1 else "warn",
                f"the first {name} step changed the weights by {ratio:.1e} of their size (healthy "
                "is about 1e-3): the learning rate is " + "far " * (ratio > 1) + "too high",
                f"lower the learning rate (try {suggestion:g}, or glassnet.lr_find(model, x, y))",
            )
        )
    elif ratio < 1e-6 and first_norm is not None and first_norm > 100 * clip:
        checks.append(
            Check(
                "learning rate",
                "warn",
                f"the first {name} step changed the weights by only {ratio:.1e} of their size: "
                f"clip_grad_norm={clip:g} scaled the gradient (norm {first_norm:.3g}) down "
                f"{first_norm / clip:.0f}x (the learning rate is not the cause)",
                f"raise the clipping threshold (clip_grad_norm={clip:g} -> about 1.0): "
                "clipping should cut rare spikes, not every step",
            )
        )
    elif ratio < 1e-6:
        checks.append(
            Check(
                "learning rate",
                "warn",
                f"the first {name} step changed the weights by only {ratio:.1e} of their size "
                "(healthy is about 1e-3): the learning rate is too low",
                "raise the learning rate 10-100x (or glassnet.lr_find(model, x, y))",
            )
        )
    else:
        checks.append(Check("learning rate", "pass", f"{name}: first update {ratio:.1e} of "
                            "the weights"))  # fmt: skip
    memorized = final is not None and math.isfinite(final) and final < 0.1 * start
    if memorized:
        text = f"{name}: loss on {xb.shape[0]} samples fell from {start:.3g} to {final:.3g}"
        checks.append(Check("overfit one batch", "pass", text))
        return checks
    if math.isfinite(final) and final < 0.5 * start and falling(watch.step_loss):
        text = (
            f"{name}: loss on {xb.shape[0]} samples fell from {start:.3g} to {final:.3g} "
            f"in {steps} steps and is still falling: memorizing is slow at this rate"
        )
        fix = "none needed if training is long enough; a higher learning rate trains faster"
        checks.append(Check("overfit one batch", "warn", text, fix))
        return checks
    outputs = out.numpy().reshape(out.shape[0], -1)
    warnings = watch.diagnosis().warnings
    first = warnings[0] if warnings else None
    direct = ("symmetric_init", "softmax_before_loss", "dead_at_init", "wrong_loss")
    if origin is not None and origin.domain:  # a log of 0, a division by 0: not the rate
        what = {"div": "a division by 0"}.get(
            origin.op, f"{origin.op} of {'0' if origin.zeros else 'a negative value'}"
        )
        cause = (f"{what} made the loss non-finite (op '{origin.op}' at {origin.source})",
                 _nan_fixes(origin)[0])  # fmt: skip
    elif first_norm is not None and first_norm > 100 * clip:  # measured before clipping
        cause = (
            f"clip_grad_norm={clip:g} scaled every step down {first_norm / clip:.0f}x (the "
            f"gradient norm was {first_norm:.3g})",
            f"raise the clipping threshold (clip_grad_norm={clip:g} -> about 1.0)",
        )
    elif first is not None and first.problem in direct:
        cause = (f"{first.title}: {first.evidence[0]}", first.remedies[0])
    elif xb.shape[0] > 1 and np.all(np.abs(outputs - outputs[:1]) < 1e-6):
        cause = (
            "the model gives the same output for every sample: its output does not "
            "depend on its input",
            "check forward(): does the input reach the output "
            "(a layer applied to a constant, a multiplication by 0, a detached path)?",
        )
    elif first is not None and first.problem not in ("no_learning", "still_falling"):
        cause = (f"{first.title}: {first.evidence[0]}", first.remedies[0])
    else:
        cause = (
            "the model cannot memorize a handful of samples",
            "check the model wiring, the loss and the labels (do targets match "
            "inputs?); glassnet.lr_find(model, x, y) for the learning rate",
        )
    result = (
        "became non-finite"
        if not math.isfinite(final or math.nan)
        else (f"only fell from {start:.3g} to {final:.3g}")
    )
    checks.append(Check(
        "overfit one batch", "fail",
        f"{name}: loss on {xb.shape[0]} samples {result} in {steps} steps; {cause[0]}",
        cause[1]))  # fmt: skip
    return checks


def falling(losses: list, window: int = 20) -> bool:
    """Whether the loss fell more than 5% over the last ``window`` steps."""
    tail = [v for v in losses[-window:] if math.isfinite(v)]
    return len(tail) >= 2 and tail[-1] < 0.95 * tail[0]
