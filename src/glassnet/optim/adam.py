"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

import math

from glassnet.backend import xp_of
from glassnet.ops import _fused
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's ``torch.optim.Adam`` formulas.

    The default first choice: per-parameter step sizes from running moments of the gradient
    make it work with little tuning (lr=1e-3) on most architectures.

    Update at step t (weight decay ``wd``, betas (b1, b2))::

        g   = g + wd * w                                 (L2 weight decay, in the gradient)
        m   = b1 * m + (1 - b1) * g                      (first moment)
        v   = b2 * v + (1 - b2) * g^2                    (second moment)
        v^  = max(v^, v)  if amsgrad  else  v            (AMSGrad keeps the largest v)
        w   = w - lr / (1 - b1^t) * m / (sqrt(v^) / sqrt(1 - b2^t) + eps)

    On the CPU with ``glassnet[jit]`` installed (and without ``amsgrad``), the update runs as
    one fused kernel per element, bit-identical to the NumPy formulas (docs/performance.md).

    Note that Adam's weight decay is an L2 penalty whose effect is divided by sqrt(v) like
    any gradient; for decay independent of the gradient scale use :class:`AdamW`.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate.
        betas: decay rates (b1, b2) of the two moments, each in [0, 1).
        eps: added to the denominator for stability (> 0 avoids division by zero).
        weight_decay: L2 penalty coefficient added to the gradient.
        amsgrad: use the AMSGrad variant (running maximum of v).
        maximize, foreach, capturable, differentiable, fused: PyTorch's keyword options
            (see :class:`Optimizer`); ``maximize=True`` uses ``-g`` for ``g``.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0, -2.0]))
        >>> opt = gn.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                      # first step moves each weight by about lr
        >>> w.numpy().round(4)
        array([ 0.9, -1.9], dtype=float32)
    """

    decoupled = False
    elementwise = True  # fused over flat buffers (optim/fused.py)
    torch_flags = ("foreach", "maximize", "capturable", "differentiable", "fused")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        **torch_flags,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, (list, tuple)) else betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
        )
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        name = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (b1, b2), got {betas!r}")
        for i, b in enumerate(betas):
            check_hyper(name, f"betas[{i}]", b, 0.0, 1.0, hint="; the defaults are (0.9, 0.999)")
        check_hyper(name, "eps", group["eps"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        state = {"exp_avg": xp.zeros_like(param._data), "exp_avg_sq": xp.zeros_like(param._data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param._data)
        return state

    def update(self, param, grad, state: dict, group: dict) -> None:
        """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
        w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
        xp = xp_of(grad)
        w = param._data
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        t = state["step"]
        if self.whole_range_kernel(group, w.size) and self._kernel_update(w, grad, state, group, t):
            return
        if wd != 0:
            if self.decoupled:
                w *= 1 - lr * wd  # AdamW: shrink the weights directly, outside the moments
            else:
                grad = l2_grad(grad, w, wd)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # One scratch array serves (1-b1) g, (1-b2) g^2 and the denominator.
        tmp = xp.multiply(grad, 1 - beta1)
        m *= beta1
        m += tmp
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1 - beta2
        v *= beta2
        v += tmp
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        bias_correction1 = 1 - beta1**t
        bias_correction2_sqrt = math.sqrt(1 - beta2**t)
        denom = xp.sqrt(v, out=tmp)
        denom /= bias_correction2_sqrt
        denom += eps
        xp.divide(m, denom, out=denom)
        denom *= lr / bias_correction1
        w -= denom

    def whole_range_kernel(self, group: dict, size: int) -> bool:
        """Adam and AdamW without AMSGrad: one fused pass (``_kernel_update``)."""
        return not group["amsgrad"]

    def _kernel_update(self, w, grad, state, group, t) -> bool:
        """The same update in one fused pass (backend.jit), when the kernels apply."""
        lr, wd = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decoupled = self.decoupled and wd != 0
        if not _fused.can_fuse(w, grad, state["exp_avg"], state["exp_avg_sq"]):
            return False
        if wd != 0 and not decoupled:
            grad = l2_grad(grad, w, wd)
        return _fused.adam(
            w, grad, state["exp_avg"], state["exp_avg_sq"], beta1=beta1, beta2=beta2,
            eps=group["eps"], bc2_sqrt=math.sqrt(1 - beta2**t), step=lr / (1 - beta1**t),
            decay=1 - lr * wd if decoupled else 1.0,
        )  # fmt: skip


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    Prefer it to Adam + weight_decay: the decay shrinks every weight by the same fraction
    ``lr * wd`` per step, independent of its gradient history, which regularizes as intended
    (it is the standard for Transformers).

    Update at step t::

        w   = w * (1 - lr * wd)                          (decoupled decay, first)
        m   = b1 * m + (1 - b1) * g
        v   = b2 * v + (1 - b2) * g^2
        v^  = max(v^, v)  if amsgrad  else  v
        w   = w - lr / (1 - b1^t) * m / (sqrt(v^) / sqrt(1 - b2^t) + eps)

    Args: as :class:`Adam`, with ``weight_decay`` defaulting to 1e-2.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0, -2.0]))
        >>> opt = gn.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = gn.zeros(2)            # no gradient signal: only the decay acts
        >>> opt.step()
        >>> w.numpy()                       # w * (1 - 0.1 * 0.5)
        array([ 0.95, -1.9 ], dtype=float32)
    """

    decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        **torch_flags,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **torch_flags)
