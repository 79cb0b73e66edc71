"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from glassnet.backend import xp_of
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), PyTorch's ``torch.optim.RMSprop`` formulas.

    Useful for recurrent networks and non-stationary objectives; Adam is RMSprop plus a
    first-moment estimate and bias correction.

    Update (smoothing alpha, weight decay ``wd``, momentum mu)::

        g   = g + wd * w
        s   = alpha * s + (1 - alpha) * g^2              (mean square)
        a   = alpha * a + (1 - alpha) * g                (mean gradient; centered only)
        d   = sqrt(s - a^2) + eps  if centered  else  sqrt(s) + eps
        b   = mu * b + g / d;   w = w - lr * b           (when mu > 0)
        w   = w - lr * g / d                             (when mu = 0)

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        alpha: smoothing constant of the mean square, in [0, 1).
        eps: added to the denominator for stability.
        weight_decay: L2 penalty coefficient added to the gradient.
        momentum: momentum factor mu >= 0.
        centered: normalize by the estimated variance instead of the raw mean square.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.RMSprop([w], lr=0.01)
        >>> w.grad = gn.tensor([2.0])
        >>> opt.step()                      # 1 - 0.01 * 2 / sqrt(0.01 * 4) = 0.9
        >>> w.numpy().round(6)
        array([0.9], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")
    elementwise = True  # fused over flat buffers (optim/fused.py)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        **torch_flags,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_hyper("RMSprop", "alpha", group["alpha"], 0.0, 1.0, hint="; the default is 0.99")
        check_hyper("RMSprop", "eps", group["eps"], 0.0)
        check_hyper("RMSprop", "momentum", group["momentum"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        state = {"square_avg": xp.zeros_like(param._data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param._data)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param._data)
        return state

    def update(self, param, grad, state: dict, group: dict) -> None:
        """s = alpha s + (1-alpha) g^2;  w -= lr g / (sqrt(s [- a^2]) + eps)  (see class)."""
        xp = xp_of(grad)
        w = param._data
        alpha, wd, mu = group["alpha"], group["weight_decay"], group["momentum"]
        if wd != 0:
            grad = l2_grad(grad, w, wd)
        s = state["square_avg"]
        tmp = xp.multiply(grad, grad)
        tmp *= 1 - alpha
        s *= alpha
        s += tmp
        if group["centered"]:
            a = state.get("grad_avg")
            if a is None:
                a = state["grad_avg"] = xp.zeros_like(w)
            xp.multiply(grad, 1 - alpha, out=tmp)
            a *= alpha
            a += tmp
            xp.multiply(a, a, out=tmp)
            xp.subtract(s, tmp, out=tmp)
            denom = xp.sqrt(tmp, out=tmp)
        else:
            denom = xp.sqrt(s, out=tmp)
        denom += group["eps"]
        xp.divide(grad, denom, out=denom)  # denom now holds g / d
        if mu > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.zeros_like(w)
            buf *= mu
            buf += denom
            denom = buf
        w -= group["lr"] * denom
