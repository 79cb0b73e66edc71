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

    def __str__(self) -> str:
        return (
            f"learning-rate range test over {len(self.lrs)} steps "
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
    loss: str = "cross_entropy",
    optimizer: str = "adam",
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    num_steps: int = 100,
    batch_size: int = 64,
) -> LRFindResult:
    """Run the range test on ``model`` with data ``x``, ``y``; the model is restored after.

    Args:
        loss: "cross_entropy" or "mse".
        optimizer: "adam" or "sgd" (momentum 0.9), the one you will train with.
        start_lr, end_lr, num_steps: the exponential sweep.
    """
    import glassnet.functional as F
    from glassnet.optim import SGD, Adam

    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"lr_find: optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    loss_fn = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}.get(loss)
    if loss_fn is None:
        raise ValueError(f"lr_find: loss must be 'cross_entropy' or 'mse', got {loss!r}")
    x = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
    y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rng_state = get_rng_state()
    rng = np.random.default_rng(0)
    params = list(model.parameters())
    opt = (
        Adam(params, lr=start_lr) if optimizer == "adam" else SGD(params, lr=start_lr, momentum=0.9)
    )
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
    return LRFindResult(lrs, smoothed, float(min(steepest, at_min / 10)))
