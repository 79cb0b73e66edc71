"""Pointwise losses: MSE, L1, Huber, smooth L1, binary cross-entropy (on probabilities and
on logits) and KL divergence. Each compares input and target element by element, then reduces
("mean", "sum" or "none"); shared checks and reductions live in :mod:`glassnet.ops.loss`.
"""

from __future__ import annotations

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.backend.checks import value_checks
from glassnet.ops.loss import (
    _REDUCTIONS,
    _check_input,
    _check_reduction,
    _clamped_log,
    _const,
    _reduce,
    _reduced_grad,
    _same_shape,
    _sigmoid,
    _target,
)
from glassnet.tensor import Tensor


class _PointwiseLoss(Function):
    """Base of losses that are a function of d = input - target: dL/dinput = -dL/dtarget."""

    register = False

    def forward(self, x, t, reduction, param=None):
        xp = xp_of(x)
        loss, self.deriv = self.pointwise(xp, x - t, param)
        self.reduction, self.size = reduction, loss.size
        return _reduce(xp, loss, reduction)

    def backward(self, grad):
        g = _reduced_grad(grad, self.reduction, self.size) * self.deriv
        return g, (-g if self.inputs[1].requires_grad else None)


class MseLoss(_PointwiseLoss):
    """l = (x - t)^2;  dl/dx = 2 (x - t) = -dl/dt"""

    @staticmethod
    def pointwise(xp, d, param):
        return d * d, 2 * d


class L1Loss(_PointwiseLoss):
    """l = |x - t|;  dl/dx = sign(x - t) = -dl/dt  (0 at x = t, as PyTorch)"""

    @staticmethod
    def pointwise(xp, d, param):
        return xp.abs(d), xp.sign(d)


class HuberLoss(_PointwiseLoss):
    """l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2),  d = x - t
    dl/dx = clip(d, -delta, delta) = -dl/dt   (quadratic near 0, linear in the tails)
    """

    @staticmethod
    def pointwise(xp, d, delta):
        a = xp.abs(d)
        loss = xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        return loss, xp.clip(d, -delta, delta)


class SmoothL1Loss(_PointwiseLoss):
    """l = d^2 / (2 beta) if |d| < beta else |d| - beta / 2,  d = x - t  (= Huber / beta)
    dl/dx = clip(d / beta, -1, 1) = -dl/dt   (beta = 0 gives L1)
    """

    @staticmethod
    def pointwise(xp, d, beta):
        a = xp.abs(d)
        if beta == 0:
            return a, xp.sign(d)
        return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta), xp.clip(d / beta, -1, 1)


# -- classification losses ---------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """l = -w [t log p + (1 - t) log(1 - p)], each log clamped at >= -100 (PyTorch)
    dl/dp = w (p - t) / max(p (1 - p), 1e-12);  dl/dt = w [log(1 - p) - log p]
    """

    def forward(self, p, t, weight, reduction):
        xp = xp_of(p)
        self.logp, self.log1mp = _clamped_log(xp, p), _clamped_log(xp, 1 - p)
        self.p, self.t, self.w, self.reduction = p, t, weight, reduction
        loss = -(t * self.logp + (1 - t) * self.log1mp)
        loss = loss if weight is None else loss * weight
        self.size = loss.size
        return _reduce(xp, loss, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        g = _reduced_grad(grad, self.reduction, self.size)
        g = g if self.w is None else g * self.w
        p = self.p
        gp = g * (p - self.t) / xp.maximum(p * (1 - p), 1e-12)
        gt = g * (self.log1mp - self.logp) if self.inputs[1].requires_grad else None
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """l = w [pw t softplus(-x) + (1 - t) softplus(x)] = -w [pw t log s(x) + (1-t) log(1-s(x))]
    softplus(x) = max(x, 0) + log(1 + e^{-|x|}) (never overflows); pw = pos_weight (or 1),
    so without pos_weight l = w [max(x, 0) - x t + log(1 + e^{-|x|})]
    dl/dx = w [(pw t + 1 - t) sigmoid(x) - pw t];  dl/dt = w [pw softplus(-x) - softplus(x)]
    """

    def forward(self, x, t, weight, pos_weight, reduction):
        xp = xp_of(x)
        sp = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(x); sp(-x) = sp - x
        pw = 1 if pos_weight is None else pos_weight
        loss = (1 - t) * sp + pw * t * (sp - x)
        loss = loss if weight is None else loss * weight
        self.x, self.t, self.sp, self.pw, self.w = x, t, sp, pw, weight
        self.reduction, self.size = reduction, loss.size
        return _reduce(xp, loss, reduction)

    def backward(self, grad):
        xp = xp_of(grad)
        g = _reduced_grad(grad, self.reduction, self.size)
        g = g if self.w is None else g * self.w
        pw, t = self.pw, self.t
        gx = g * ((pw * t + 1 - t) * _sigmoid(xp, self.x) - pw * t)
        gt = g * (pw * (self.sp - self.x) - self.sp) if self.inputs[1].requires_grad else None
        return gx, gt


class KlDiv(Function):
    """KL divergence with log-probability input x and target t (probabilities):

        l = t (log t - x)  (0 where t = 0);  log_target: l = e^t (t - x)
    dl/dx = -t (or -e^t);  dl/dt = log t + 1 - x (0 where t = 0)  (or e^t (t - x + 1))
    """

    def forward(self, x, t, reduction, log_target):
        xp = xp_of(x)
        if log_target:
            self.et = xp.exp(t)
            loss = self.et * (t - x)
        else:
            pos = t > 0
            self.pos, self.logt = pos, xp.log(xp.where(pos, t, 1))
            loss = xp.where(pos, t * self.logt, 0) - t * x
        self.x, self.t, self.log_target = x, t, log_target
        self.reduction, self.size, self.batch = reduction, loss.size, x.shape[0] if x.ndim else 1
        return _reduce(xp, loss, reduction, self.batch)

    def backward(self, grad):
        xp = xp_of(grad)
        g = _reduced_grad(grad, self.reduction, self.size, self.batch)
        x, t = self.x, self.t
        gx = -g * (self.et if self.log_target else t)
        gt = None
        if self.inputs[1].requires_grad:
            if self.log_target:
                gt = g * self.et * (t - x + 1)
            else:
                gt = g * xp.where(self.pos, self.logt + 1 - x, 0)
        return gx, gt


# -- wrappers: validate at the boundary, then apply one op ----------------------------------
def _float_pair(op, name, x, target, reduction, allowed=_REDUCTIONS, exact=False) -> Tensor:
    """Check a float input ``x`` (called ``name`` in errors) and ``reduction``; return the
    target as a tensor of ``x``'s dtype and device, of ``x``'s shape (``exact``) or one that
    broadcasts to it."""
    _check_input(op, name, x)
    _check_reduction(op, reduction, allowed)
    t = _target(op, target, x, float_target=True)
    _same_shape(op, x, t, exact=exact)
    return t


def _pointwise(cls, op, input, target, reduction, param=None):
    target = _float_pair(op, "input", input, target, reduction)
    return cls.apply(input, target, reduction=reduction, param=param)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - t)^2, the regression default (PyTorch's ``F.mse_loss``).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.mse_loss(gn.tensor([1.0, 2.0]), gn.tensor([0.0, 4.0])).item()   # (1 + 4) / 2
    2.5
    """
    return _pointwise(MseLoss, "mse_loss", input, target, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x - t|: robust to outliers, constant-size gradient.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.l1_loss(gn.tensor([1.0, 2.0]), gn.tensor([0.0, 4.0])).item()
    1.5
    """
    return _pointwise(L1Loss, "l1_loss", input, target, reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: squared error for |x - t| < delta, linear (slope delta) beyond.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.huber_loss(gn.tensor([0.5, 3.0]), gn.tensor([0.0, 0.0]), reduction="none").numpy()
    array([0.125, 2.5  ], dtype=float32)
    """
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    return _pointwise(HuberLoss, "huber_loss", input, target, reduction, float(delta))


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: quadratic for |x - t| < beta, |x - t| - beta/2 beyond (= Huber / beta).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.smooth_l1_loss(gn.tensor([0.5, 3.0]), gn.tensor([0.0, 0.0]), reduction="sum").item()
    2.625
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    return _pointwise(SmoothL1Loss, "smooth_l1_loss", input, target, reduction, float(beta))


def binary_cross_entropy(probs: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] (after a sigmoid).

    l = -w [t log p + (1 - t) log(1 - p)], logs clamped at -100 (p = 0 or 1 stay finite).
    Prefer :func:`binary_cross_entropy_with_logits`, which is exact for saturated sigmoids.

    >>> import glassnet as gn, glassnet.functional as F
    >>> round(F.binary_cross_entropy(gn.tensor([0.8, 0.4]), gn.tensor([1.0, 0.0])).item(), 4)
    0.367
    """
    op = "binary_cross_entropy"
    t = _float_pair(op, "probs", probs, target, reduction, exact=True)
    if value_checks(probs) and bool(((probs.data < 0) | (probs.data > 1)).any()):
        raise ValueError(
            f"{op}: probs must lie in [0, 1] (got min {float(probs.data.min())}, "
            f"max {float(probs.data.max())}); apply sigmoid first, or pass raw "
            "scores to binary_cross_entropy_with_logits"
        )
    w = _const(op, "weight", weight, probs)
    return BinaryCrossEntropy.apply(probs, t, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    logits: Tensor, target, weight=None, pos_weight=None, reduction: str = "mean"
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable op (multi-label or binary classification).

    l = w [pw t softplus(-x) + (1 - t) softplus(x)]; pos_weight pw (broadcast along the last,
    class, axis) trades recall for precision. Never overflows, even for |x| = 1e4.

    >>> import glassnet as gn, glassnet.functional as F
    >>> x, t = gn.tensor([0.0, 1e4]), gn.tensor([1.0, 1.0])
    >>> round(F.binary_cross_entropy_with_logits(x, t, reduction="sum").item(), 4)   # ln 2
    0.6931
    """
    op = "binary_cross_entropy_with_logits"
    t = _float_pair(op, "logits", logits, target, reduction, exact=True)
    w = _const(op, "weight", weight, logits)
    pw = _const(op, "pos_weight", pos_weight, logits)
    return BinaryCrossEntropyWithLogits.apply(
        logits, t, weight=w, pos_weight=pw, reduction=reduction
    )


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || exp(input)); ``input`` holds log-probabilities.

    l = t (log t - input) elementwise (0 where t = 0), or e^t (t - input) with log_target.
    "batchmean" (sum / N) gives the true KL per sample; "mean" averages over every element,
    as PyTorch's default does.

    >>> import glassnet as gn, glassnet.functional as F
    >>> logq = gn.tensor([[0.5, 0.5]]).log()
    >>> round(F.kl_div(logq, gn.tensor([[1.0, 0.0]]), reduction="batchmean").item(), 4)  # ln 2
    0.6931
    """
    op = "kl_div"
    t = _float_pair(op, "input", input, target, reduction, _REDUCTIONS + ("batchmean",))
    return KlDiv.apply(input, t, reduction=reduction, log_target=bool(log_target))
