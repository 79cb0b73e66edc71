"""Stochastic gradient descent, with momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from glassnet.ops import _fused
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD``, same formulas).

    The workhorse: with momentum 0.9 and a tuned learning-rate schedule it matches adaptive
    methods on many vision problems and often generalizes better.

    Update, for gradient :math:`g_t` at step :math:`t` (weight decay ``wd``, momentum
    :math:`\mu`, dampening :math:`\tau`)::

        g   = -g                                    if maximize
        g   = g + wd * w                            (L2 weight decay, coupled)
        b_1 = g;   b_t = mu * b_{t-1} + (1 - tau) * g       (when mu != 0)
        d   = g + mu * b_t  if nesterov  else  b_t          (when mu != 0; else d = g)
        w   = w - lr * d

    With ``weight_decay=wd`` this minimizes loss + (wd/2) * sum(w^2), i.e.
    ``nn.regularizers.L2(wd / 2)``.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        momentum: momentum factor mu in [0, 1); 0.9 is the usual choice.
        dampening: tau, scales the new gradient in the momentum buffer (not with nesterov).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 penalty coefficient wd >= 0.
        maximize: ascend the objective instead of descending.
        foreach, fused, differentiable: PyTorch's options (see :class:`Optimizer`).

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0, -2.0]))
        >>> opt = gn.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()          # grad = 2 w = [2, -4]
        >>> opt.step()
        >>> w.numpy()
        array([ 0.8, -1.6], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "differentiable", "fused")
    elementwise = True  # fused over flat buffers (optim/fused.py)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        maximize: bool = False,
        **torch_flags,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_hyper("SGD", "momentum", group["momentum"], 0.0)
        check_hyper("SGD", "dampening", group["dampening"], 0.0, 1.0, high_open=False)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}; "
                "set momentum=0.9 or nesterov=False"
            )

    def init_state(self, param, group: dict) -> dict:
        return {}

    def whole_range_kernel(self, group: dict, size: int) -> bool:
        """Momentum without dampening or Nesterov, from ``_fused.SGD_MIN_ELEMENTS``: one
        fused pass (``_fused.sgd_momentum``)."""
        plain = group["momentum"] != 0 and group["dampening"] == 0 and not group["nesterov"]
        return plain and size >= _fused.SGD_MIN_ELEMENTS

    def update(self, param, grad, state: dict, group: dict) -> None:
        """b = mu b + (1 - tau) g (b = g at first);  d = g + mu b (nesterov) or b;  w -= lr d."""
        w = param._data
        momentum, wd = group["momentum"], group["weight_decay"]
        if wd != 0:
            grad = l2_grad(grad, w, wd)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # PyTorch starts the buffer at the first gradient, not at zero.
                buf = state["momentum_buffer"] = grad.copy()
            elif self.whole_range_kernel(group, w.size) and _fused.sgd_momentum(
                w, grad, buf, momentum=momentum, lr=group["lr"]
            ):
                return  # one fused pass (backend.jit)
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        w -= group["lr"] * grad
