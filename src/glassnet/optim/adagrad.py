"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""

from __future__ import annotations

from glassnet.backend import xp_of
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's ``torch.optim.Adagrad`` formulas.

    Good for sparse features (rare coordinates keep large steps); its effective learning rate
    only decreases, so it can stall on long non-convex runs (RMSprop/Adam fix that).

    Update at step t (weight decay ``wd``, learning-rate decay ``lr_decay``)::

        g   = g + wd * w
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s   = s + g^2                                    (s starts at initial_accumulator_value)
        w   = w - lr_t * g / (sqrt(s) + eps)

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        lr_decay: learning-rate decay per step, >= 0.
        weight_decay: L2 penalty coefficient added to the gradient.
        initial_accumulator_value: starting value of the sum of squares, >= 0.
        eps: added to the denominator for stability.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.Adagrad([w], lr=0.5)
        >>> w.grad = gn.tensor([3.0])
        >>> opt.step()                      # 1 - 0.5 * 3 / sqrt(9)
        >>> w.numpy()
        array([0.5], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "differentiable", "fused")
    elementwise = True  # fused over flat buffers (optim/fused.py)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        **torch_flags,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_hyper("Adagrad", "lr_decay", group["lr_decay"], 0.0)
        check_hyper("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"], 0)
        check_hyper("Adagrad", "eps", group["eps"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {"sum": xp.full_like(param._data, group["initial_accumulator_value"])}

    def update(self, param, grad, state: dict, group: dict) -> None:
        """s += g^2;  w -= lr / (1 + (t-1) lr_decay) * g / (sqrt(s) + eps)."""
        xp = xp_of(grad)
        w = param._data
        wd = group["weight_decay"]
        if wd != 0:
            grad = l2_grad(grad, w, wd)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        tmp = xp.multiply(grad, grad)
        s += tmp
        denom = xp.sqrt(s, out=tmp)
        denom += group["eps"]
        xp.divide(grad, denom, out=denom)
        denom *= clr
        w -= denom
