"""Adadelta, Adamax, NAdam and RAdam: PyTorch's ``torch.optim`` update rules and defaults.

Each class implements only ``init_state`` and ``update`` (the :class:`Optimizer` base owns the
loop, groups, step counter and ``state_dict``); state names are PyTorch's (``square_avg``,
``acc_delta``, ``exp_avg``, ``exp_inf``, ``exp_avg_sq``, ``mu_product``), so a state_dict
reads the same. Numbers were checked against PyTorch 2.13 (tests/optim/test_optim_more.py).
"""

from __future__ import annotations

import math

from glassnet.backend import xp_of
from glassnet.optim.optimizer import Optimizer, check_hyper, l2_grad

__all__ = ["Adadelta", "Adamax", "NAdam", "RAdam"]


def _signed_grad(grad, w, group: dict):
    """g + wd * w (L2 decay in the gradient) unless it is decoupled.

    ``g`` is already ``-g`` when maximizing (see ``Optimizer.apply_update``)."""
    wd = group["weight_decay"]
    if wd != 0 and not group.get("decoupled_weight_decay"):
        grad = l2_grad(grad, w, wd)
    return grad


def _check_betas(name: str, group: dict) -> None:
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (b1, b2), got {betas!r}")
    for i, b in enumerate(betas):
        check_hyper(name, f"betas[{i}]", b, 0.0, 1.0, hint="; the defaults are (0.9, 0.999)")
    check_hyper(name, "eps", group["eps"], 0.0)


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's ``torch.optim.Adadelta``.

    Step sizes from the ratio of two running RMS values (of past updates and of gradients),
    so the units of the update match the weights' and ``lr=1.0`` is the usual choice.

    Update at step t (decay ``rho``, weight decay ``wd``)::

        g     = g + wd * w
        s     = rho * s + (1 - rho) * g^2                   (square_avg)
        delta = sqrt(u + eps) / sqrt(s + eps) * g
        u     = rho * u + (1 - rho) * delta^2               (acc_delta)
        w     = w - lr * delta

    Args:
        params: parameters or parameter groups.
        lr: scale of the update (PyTorch's default 1.0).
        rho: decay of both running averages, in [0, 1].
        eps: added inside both square roots.
        weight_decay: L2 penalty coefficient added to the gradient.
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.Adadelta([w], lr=1.0, rho=0.0, eps=1e-6)
        >>> w.grad = gn.tensor([2.0])
        >>> opt.step()                      # delta = sqrt(1e-6) / sqrt(4 + 1e-6) * 2
        >>> round(float(w.numpy()[0]), 6)
        0.999
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(
        self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False, **torch_flags
    ):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_hyper("Adadelta", "rho", group["rho"], 0.0, 1.0, high_open=False)
        check_hyper("Adadelta", "eps", group["eps"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {"square_avg": xp.zeros_like(param._data), "acc_delta": xp.zeros_like(param._data)}

    def update(self, param, grad, state: dict, group: dict) -> None:
        """s = rho s + (1-rho) g^2;  delta = sqrt(u+eps)/sqrt(s+eps) g;
        u = rho u + (1-rho) delta^2;  w -= lr delta."""
        xp = xp_of(grad)
        w = param._data
        rho, eps = group["rho"], group["eps"]
        grad = _signed_grad(grad, w, group)
        s, u = state["square_avg"], state["acc_delta"]
        s *= rho
        s += (1 - rho) * grad * grad
        delta = xp.sqrt(u + eps) / xp.sqrt(s + eps) * grad
        u *= rho
        u += (1 - rho) * delta * delta
        w -= group["lr"] * delta


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1), PyTorch's ``torch.optim.Adamax``.

    Adam with the second moment replaced by an exponentially weighted infinity norm: robust to
    rare huge gradients (the denominator never explodes through a square).

    Update at step t::

        g = g + wd * w
        m = b1 * m + (1 - b1) * g                           (exp_avg)
        u = max(b2 * u, |g| + eps)                          (exp_inf)
        w = w - lr / (1 - b1^t) * m / u

    Args:
        params: parameters or parameter groups.
        lr: learning rate (PyTorch's default 2e-3).
        betas: (b1, b2), each in [0, 1).
        eps: added to |g| (keeps u > 0).
        weight_decay: L2 penalty coefficient added to the gradient.
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.Adamax([w], lr=0.1)
        >>> w.grad = gn.tensor([3.0])
        >>> opt.step()                      # first step: lr * sign(g)
        >>> w.numpy().round(4)
        array([0.9], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        maximize=False,
        **torch_flags,
    ):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)  # fmt: skip
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        _check_betas("Adamax", group)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {"exp_avg": xp.zeros_like(param._data), "exp_inf": xp.zeros_like(param._data)}

    def update(self, param, grad, state: dict, group: dict) -> None:
        """m = b1 m + (1-b1) g;  u = max(b2 u, |g| + eps);  w -= lr/(1-b1^t) m/u."""
        xp = xp_of(grad)
        w = param._data
        b1, b2 = group["betas"]
        grad = _signed_grad(grad, w, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m *= b1
        m += (1 - b1) * grad
        u *= b2
        xp.maximum(u, xp.abs(grad) + group["eps"], out=u)
        w -= (group["lr"] / (1 - b1 ** state["step"])) * (m / u)


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam with Nesterov momentum, PyTorch's ``torch.optim.NAdam``.

    The momentum term looks one step ahead (with a momentum schedule mu_t that warms up),
    which often converges a little faster than Adam at the same learning rate.

    Update at step t (``psi`` = momentum_decay)::

        g      = g + wd * w            (or w = w * (1 - lr * wd) if decoupled_weight_decay)
        mu_t   = b1 * (1 - 0.5 * 0.96^(t * psi));   mu_{t+1} likewise with t + 1
        P_t    = P_{t-1} * mu_t                             (mu_product, P_0 = 1)
        m      = b1 * m + (1 - b1) * g
        v      = b2 * v + (1 - b2) * g^2
        d      = sqrt(v / (1 - b2^t)) + eps
        w      = w - lr (1 - mu_t) / (1 - P_t) * g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / d

    Args:
        params: parameters or parameter groups.
        lr: learning rate (PyTorch's default 2e-3).
        betas: (b1, b2), each in [0, 1).
        eps: added to the denominator.
        weight_decay: decay coefficient (L2 in the gradient, or decoupled as AdamW's).
        momentum_decay: psi of the momentum schedule (default 4e-3).
        decoupled_weight_decay: shrink the weights directly (NAdamW) instead of adding to g.
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.NAdam([w], lr=0.1)
        >>> w.grad = gn.tensor([3.0])
        >>> opt.step()
        >>> 0.8 < float(w.numpy()[0]) < 0.9
        True
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        maximize=False,
        **torch_flags,
    ):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)  # fmt: skip
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        _check_betas("NAdam", group)
        check_hyper("NAdam", "momentum_decay", group["momentum_decay"], 0.0)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {
            "mu_product": 1.0,
            "exp_avg": xp.zeros_like(param._data),
            "exp_avg_sq": xp.zeros_like(param._data),
        }

    def update(self, param, grad, state: dict, group: dict) -> None:
        """Nesterov-Adam step with the mu_t schedule (see the class docstring)."""
        xp = xp_of(grad)
        w = param._data
        lr, eps, psi = group["lr"], group["eps"], group["momentum_decay"]
        b1, b2 = group["betas"]
        t = state["step"]
        if group["decoupled_weight_decay"] and group["weight_decay"] != 0:
            w *= 1 - lr * group["weight_decay"]
        grad = _signed_grad(grad, w, group)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = mu_product = float(state["mu_product"]) * mu
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        denom = xp.sqrt(v / (1 - b2**t)) + eps
        w -= (lr * (1 - mu) / (1 - mu_product)) * (grad / denom)
        w -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020): Adam with its early, high-variance steps rectified,
    PyTorch's ``torch.optim.RAdam``.

    While too few gradients have been seen for a reliable second moment (rho_t <= 5) it takes
    plain bias-corrected momentum steps; afterwards Adam steps scaled by the rectification r_t.
    A built-in warm-up: it needs no learning-rate warm-up schedule.

    Update at step t::

        g     = g + wd * w         (or w = w * (1 - lr * wd) if decoupled_weight_decay)
        m     = b1 * m + (1 - b1) * g;     v = b2 * v + (1 - b2) * g^2
        m^    = m / (1 - b1^t)
        rho_inf = 2 / (1 - b2) - 1;        rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            w   = w - lr * m^ * r_t * sqrt(1 - b2^t) / (sqrt(v) + eps)
        else:
            w   = w - lr * m^

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        betas: (b1, b2), each in [0, 1).
        eps: added to the denominator.
        weight_decay: decay coefficient (L2 in the gradient, or decoupled as AdamW's).
        decoupled_weight_decay: shrink the weights directly instead of adding to g.
        maximize: ascend instead of descend.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([1.0]))
        >>> opt = gn.optim.RAdam([w], lr=0.1)
        >>> w.grad = gn.tensor([3.0])
        >>> opt.step()                      # rho_1 <= 5: w - lr * g (m^ = g)
        >>> w.numpy().round(4)
        array([0.7], dtype=float32)
    """

    torch_flags = ("foreach", "maximize", "capturable", "differentiable")

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        decoupled_weight_decay=False,
        *,
        maximize=False,
        **torch_flags,
    ):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)  # fmt: skip
        super().__init__(params, defaults, **torch_flags)

    def validate(self, group: dict) -> None:
        super().validate(group)
        _check_betas("RAdam", group)

    def init_state(self, param, group: dict) -> dict:
        xp = xp_of(param._data)
        return {"exp_avg": xp.zeros_like(param._data), "exp_avg_sq": xp.zeros_like(param._data)}

    def update(self, param, grad, state: dict, group: dict) -> None:
        """Rectified Adam step (see the class docstring)."""
        xp = xp_of(grad)
        w = param._data
        lr, eps = group["lr"], group["eps"]
        b1, b2 = group["betas"]
        t = state["step"]
        if group["decoupled_weight_decay"] and group["weight_decay"] != 0:
            w *= 1 - lr * group["weight_decay"]
        grad = _signed_grad(grad, w, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        m_hat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2**t) / bc2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            w -= m_hat * (lr * rect) * (math.sqrt(bc2) / (xp.sqrt(v) + eps))
        else:
            w -= m_hat * lr
