"""Learning-rate range test (Smith 2017): sweep the learning rate exponentially over a few
hundred steps, watch the loss, and suggest a value.

Too small a rate and the loss barely moves; too large and it blows up. In between the loss
falls fastest. We smooth the loss (exponential moving average, bias-corrected), stop once it
exceeds 4x its best, and suggest the rate where the smoothed loss falls most steeply,
capped at a tenth of the rate with the lowest loss (a common, conservative rule).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glassnet.backend import get_rng_state, set_rng_state
from glassnet.tensor import Tensor


@dataclasses.dataclass
class LRFindResult:
    lrs: list
    losses: list  # smoothed
    suggestion: float
    optimizer: str = ""  # what was swept, e.g. "SGD(momentum=0.9)"

    def __str__(self) -> str:
        swept = f" of {self.optimizer}" if self.optimizer else ""
        return (
            f"learning-rate range test{swept} over {len(self.lrs)} steps "
            f"({self.lrs[0]:.1e} .. {self.lrs[-1]:.1e}): suggested lr = {self.suggestion:.2e}"
        )

    def plot(self, path: str) -> str | None:
        """Save loss against learning rate (log scale) as a PNG; None without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses)
        ax.axvline(self.suggestion, color="red", linestyle="--", label=f"{self.suggestion:.1e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        ax.set_title("Learning-rate range test")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path


def lr_find(
    model,
    x,
    y,
    loss=None,
    optimizer=None,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    num_steps: int = 100,
    batch_size: int = 64,
) -> LRFindResult:
    """Run the range test on ``model`` with data ``x``, ``y``; the model is restored after.

    Args:
        loss: "cross_entropy", "mse" or a callable ``(output, target)``; None: the loss the
            model was compiled with (cross-entropy when it is not compiled).
        optimizer: the optimizer you will train with: a name ("adam", "adamw", "sgd",
            "rmsprop", "adagrad") or an optimizer object (a fresh copy with its
            hyperparameters is swept; the object is untouched); None: the compiled one
            (Adam when the model is not compiled).
        start_lr, end_lr, num_steps: the exponential sweep.

    >>> import glassnet as gn
    >>> from glassnet.data.datasets import load_digits
    >>> (x, y), _ = load_digits()
    >>> _ = gn.manual_seed(0)
    >>> model = gn.nn.Sequential(gn.nn.Linear(64, 32), gn.nn.ReLU(), gn.nn.Linear(32, 10))
    >>> model.compile(optimizer="adamw", loss="cross_entropy")
    >>> 1e-5 < gn.lr_find(model, x, y, num_steps=40).suggestion < 1.0
    True
    """
    from glassnet.diagnostics._setup import fresh_optimizer, training_setup

    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    loss_fn, _, spec = training_setup(model, loss, optimizer, "lr_find")
    x = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
    y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rng_state = get_rng_state()
    rng = np.random.default_rng(0)
    opt = fresh_optimizer(spec, list(model.parameters()), lr=start_lr)
    factor = (end_lr / start_lr) ** (1 / max(num_steps - 1, 1))
    lrs, smoothed = [], []
    avg, best = 0.0, float("inf")
    was_training = model.training
    device = next((p.device for p in model.parameters()), None)  # batches go there
    model.train()
    try:
        for step in range(num_steps):
            lr = start_lr * factor**step
            for group in opt.param_groups:
                group["lr"] = lr
            idx = rng.integers(0, len(x), size=min(batch_size, len(x)))
            xb = x[idx].astype(np.float32) if x.dtype.kind == "f" else x[idx]
            opt.zero_grad()
            value = loss_fn(model(Tensor(xb, device=device)), Tensor(y[idx], device=device))
            value.backward()
            opt.step()
            raw = float(value.item())
            if not np.isfinite(raw):
                break
            avg = 0.9 * avg + 0.1 * raw
            s = avg / (1 - 0.9 ** (step + 1))
            lrs.append(lr)
            smoothed.append(s)
            best = min(best, s)
            if s > 4 * best and step > 5:
                break
    finally:
        model.load_state_dict(state)
        model.train(was_training)
        set_rng_state(rng_state)
    if len(lrs) < 3:
        raise RuntimeError("lr_find: the loss diverged immediately; lower start_lr")
    logs = np.log10(lrs)
    slopes = np.gradient(np.asarray(smoothed), logs)
    steepest = lrs[int(np.argmin(slopes[: max(2, len(slopes) - 2)]))]
    at_min = lrs[int(np.argmin(smoothed))]
    group = opt.param_groups[0]
    options = ", ".join(
        f"{k}={group[k]}" for k in ("momentum", "weight_decay") if group.get(k) not in (None, 0)
    )
    return LRFindResult(
        lrs, smoothed, float(min(steepest, at_min / 10)), f"{type(opt).__name__}({options})"
    )
