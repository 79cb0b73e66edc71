"""Rprop and ASGD: PyTorch's ``torch.optim.Rprop`` and ``torch.optim.ASGD`` update rules,
defaults and state names (``prev``, ``step_size``; ``eta``, ``mu``, ``ax``)."""

from __future__ import annotations

from glassnet.backend import xp_of
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["ASGD", "Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), ``torch.optim.Rprop``.

    Each weight has its own step size, grown while its gradient keeps its sign and shrunk when
    the sign flips; only the sign of the gradient is used (full-batch training).

    Update at step t (``etas`` = (eta-, eta+), ``step_sizes`` = (min, max))::

        s      = sign(g * g_prev)
        step   = clip(step * (eta+ if s > 0, eta- if s < 0, 1 if s = 0), min, max)
        g      = 0 where s < 0          (no move, and no flip counted at the next step)
        w      = w - sign(g) * step
        g_prev = g

    Args:
        params: parameters or parameter groups.
        lr: the initial step size of every weight (default 1e-2).
        etas: (eta-, eta+), 0 < eta- < 1 < eta+ (default (0.5, 1.2)).
        step_sizes: (min, max) step size (default (1e-6, 50)).
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.Rprop([w], lr=0.1)
        >>> w.grad = gn.tensor([3.0])
        >>> opt.step()                      # first step: lr * sign(g)
        >>> w.numpy().round(4)
        array([0.9], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 maximize=False, **torch_flags):  # fmt: skip
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        minus, plus = group["etas"]
        if not 0.0 < minus < 1.0 < plus:
            raise ValueError(f"Rprop: etas must satisfy 0 < eta- < 1 < eta+, got {group['etas']}")
        lo, hi = group["step_sizes"]
        if not 0.0 <= lo <= hi:
            raise ValueError(f"Rprop: step_sizes must be (min, max) with 0 <= min <= max, got "
                             f"{group['step_sizes']}")  # fmt: skip

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {"prev": xp.zeros_like(param._data),
                "step_size": xp.full_like(param._data, group["lr"])}  # fmt: skip

    def update(self, param, grad, state: dict, group: dict) -> None:
        """step = clip(step * eta(sign(g g_prev))); g = 0 where the sign flipped;
        w -= sign(g) step; g_prev = g."""
        xp = xp_of(grad)
        minus, plus = group["etas"]
        lo, hi = group["step_sizes"]
        s = xp.sign(grad * state["prev"])
        factor = xp.where(s > 0, plus, xp.where(s < 0, minus, 1.0)).astype(grad.dtype)
        step = state["step_size"]
        step[...] = xp.clip(step * factor, lo, hi)
        grad = xp.where(s < 0, 0, grad).astype(grad.dtype)
        param._data -= xp.sign(grad) * step
        state["prev"][...] = grad


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), ``torch.optim.ASGD``.

    SGD with a decaying step eta_t and a running average ``ax`` of the weights, started after
    ``t0`` steps (the averaged weights are the usual result to evaluate).

    Update at step t::

        g   = g + wd * w
        w   = w * (1 - lambd * eta) - eta * g
        ax  = ax + mu * (w - ax)            (ax = w while mu = 1)
        eta = lr / (1 + lambd * lr * t)^alpha
        mu  = 1 / max(1, t - t0)

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the eta decay (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty coefficient added to the gradient.
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.ASGD([w], lr=0.1, lambd=0.0)
        >>> w.grad = gn.tensor([2.0])
        >>> opt.step()
        >>> w.numpy().round(4)
        array([0.8], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                 maximize=False, **torch_flags):  # fmt: skip
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)  # fmt: skip
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_hyper("ASGD", "lambd", group["lambd"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        return {
            "eta": float(group["lr"]),
            "mu": 1.0,
            "ax": xp_of(param._data).zeros_like(param._data),
        }

    def update(self, param, grad, state: dict, group: dict) -> None:
        """w = w (1 - lambd eta) - eta g; ax += mu (w - ax); then eta and mu of step t."""
        w = param._data
        if group["weight_decay"] != 0:
            grad = l2_grad(grad, w, group["weight_decay"])
        eta, lambd, t = state["eta"], group["lambd"], state["step"]
        w *= 1 - lambd * eta
        w -= eta * grad
        ax = state["ax"]
        if state["mu"] != 1:
            ax += state["mu"] * (w - ax)
        else:
            ax[...] = w
        state["eta"] = group["lr"] / (1 + lambd * group["lr"] * t) ** group["alpha"]
        state["mu"] = 1.0 / max(1.0, t - group["t0"])
