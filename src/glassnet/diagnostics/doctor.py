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
6. overfit one batch: a model that cannot drive the loss of 32 samples near zero has a bug
   (wrong loss, labels, wiring, or a learning-rate problem).

The model, its optimizer-free state and glassnet's RNG are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import get_rng_state, set_rng_state
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
    loss: str = "cross_entropy",
    batch_size: int = 32,
    overfit_steps: int = 150,
    lr: float = 1e-2,
) -> DoctorReport:
    """Run the pre-flight checks on ``model`` with data ``x`` (inputs) and ``y`` (targets).

    Args:
        loss: "cross_entropy" (integer class labels) or "mse" (regression targets).
        batch_size: samples in the overfit-one-batch test.
        overfit_steps: Adam steps allowed to memorize that batch.

    Returns:
        A :class:`DoctorReport`; ``print(report)`` lists each check.
    """
    import glassnet.functional as F
    from glassnet.optim import Adam

    if loss not in ("cross_entropy", "mse"):
        raise ValueError(f"doctor: loss must be 'cross_entropy' or 'mse', got {loss!r}")
    x, y = _np(x), _np(y)
    if len(x) != len(y):
        raise ValueError(f"doctor: x has {len(x)} samples but y has {len(y)}")
    checks: list[Check] = []
    classify = loss == "cross_entropy"
    loss_fn = F.cross_entropy if classify else F.mse_loss

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
    if std < 1e-2 or std > 10 or abs(mean) > 3 * max(std, 1e-12):
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
        if classify:
            if y.dtype.kind not in "iu":
                checks.append(
                    Check(
                        "labels",
                        "fail",
                        f"targets have dtype {y.dtype}; cross-entropy needs integer class indices",
                        "convert with y.astype('int64')",
                    )
                )
                return DoctorReport(checks)
            if y.min() < 0 or y.max() >= num_out:
                checks.append(
                    Check(
                        "labels",
                        "fail",
                        f"labels span {y.min()}..{y.max()} but the model outputs {num_out} classes",
                        f"give the last layer {int(y.max()) + 1} outputs",
                    )
                )
                return DoctorReport(checks)
            counts = np.bincount(y.astype(np.int64), minlength=num_out)
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
                        "overconfident",
                        "scale down the last layer's initial weights (or use default init)",
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

        # 6. overfit one batch
        model.train()
        opt = Adam(list(model.parameters()), lr=lr)
        start = final = None
        for _ in range(overfit_steps):
            opt.zero_grad()
            value = loss_fn(model(xb), yb)
            value.backward()
            opt.step()
            final = float(value.item())
            start = final if start is None else start
            if final < 0.02 * max(start, 1e-12):
                break
        if not math.isfinite(final):
            checks.append(
                Check(
                    "overfit one batch",
                    "fail",
                    "the loss became non-finite",
                    "lower the learning rate; check the loss inputs",
                )
            )
        elif final < 0.1 * start:
            checks.append(
                Check(
                    "overfit one batch",
                    "pass",
                    f"loss on {xb.shape[0]} samples fell from {start:.3g} to {final:.3g}",
                )
            )
        else:
            checks.append(
                Check(
                    "overfit one batch",
                    "fail",
                    f"loss on {xb.shape[0]} samples only fell from {start:.3g} to {final:.3g} in "
                    f"{overfit_steps} steps: the model cannot memorize a handful of samples",
                    "check the model wiring, the loss and labels (do targets match inputs?), and "
                    "the learning rate",
                )
            )
    finally:
        model.load_state_dict(state)
        model.train(was_training)
        set_rng_state(rng_state)
    return DoctorReport(checks)
