"""Pointwise losses: MSE, L1, Huber, smooth L1, binary cross-entropy (on probabilities and
on logits) and KL divergence. Each compares input and target element by element, then reduces
("mean", "sum" or "none"); shared checks live in :mod:`glassnet.ops._loss_checks`, reductions in
:mod:`glassnet.ops.loss`.
"""

from __future__ import annotations

from glassnet.autograd.function import Function, value_check
from glassnet.autograd.namespace import array_namespace
from glassnet.backend import is_debug, xp_of
from glassnet.ops._loss_checks import (
    _REDUCTIONS,
    _check_input,
    _check_reduction,
    _const,
    _same_shape,
    _target,
    legacy_reduction,
)
from glassnet.ops._util import as_tensor
from glassnet.ops.composite import xlogy
from glassnet.ops.elementwise import abs as abs_
from glassnet.ops.elementwise import exp
from glassnet.ops.loss import _clamped_log, _maybe_const, _reduce, _reduced_grad
from glassnet.ops.selection import where
from glassnet.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
]


class MseLoss(Function):
    """l = (x - t)^2;  dl/dx = 2 (x - t) = -dl/dt"""

    def forward(self, x, t, reduction):
        xp = xp_of(x)
        self.d = x - t
        self.reduction, self.size = reduction, self.d.size
        return _reduce(xp, self.d * self.d, reduction)

    def backward(self, ns, grad, x, t):
        d = self.d if ns.eager else x - t
        g = _reduced_grad(grad, self.reduction, self.size) * 2 * d
        return g, (-g if self.needs_input_grad[1] else None)


class L1Loss(Function):
    """l = |x - t|;  dl/dx = sign(x - t) = -dl/dt  (0 at x = t, as PyTorch)"""

    def forward(self, x, t, reduction):
        xp = xp_of(x)
        d = x - t
        self.sign = xp.sign(d)  # piecewise constant: its own derivative is 0
        self.reduction, self.size = reduction, d.size
        return _reduce(xp, xp.abs(d), reduction)

    def backward(self, ns, grad, x, t):
        g = _reduced_grad(grad, self.reduction, self.size) * ns.const(self.sign)
        return g, (-g if self.needs_input_grad[1] else None)


# -- classification losses ---------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """l = -w [t log p + (1 - t) log(1 - p)], each log clamped at >= -100 (PyTorch)
    dl/dp = w (p - t) / max(p (1 - p), 1e-12);  dl/dt = w [log(1 - p) - log p]
    """

    def forward(self, p, t, weight, reduction):
        ns = array_namespace(p)
        self.logp, self.log1mp = _clamped_log(ns, p), _clamped_log(ns, 1 - p)
        self.w, self.reduction = weight, reduction
        loss = -(t * self.logp + (1 - t) * self.log1mp)
        loss = loss if weight is None else loss * weight
        self.size = loss.size
        return _reduce(ns.xp, loss, reduction)

    def backward(self, ns, grad, p, t):
        g = _reduced_grad(grad, self.reduction, self.size)
        g = g if self.w is None else g * ns.const(self.w)
        gp = g * (p - t) / ns.maximum(p * (1 - p), 1e-12)
        gt = None
        if self.needs_input_grad[1]:
            if ns.eager:
                logp, log1mp = self.logp, self.log1mp
            else:
                logp, log1mp = _clamped_log(ns, p), _clamped_log(ns, 1 - p)
            gt = g * (log1mp - logp)
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """l = w [pw t softplus(-x) + (1 - t) softplus(x)] = -w [pw t log s(x) + (1-t) log(1-s(x))]
    softplus(x) = max(x, 0) + log(1 + e^{-|x|}) (never overflows); pw = pos_weight (or 1),
    so without pos_weight l = w [max(x, 0) - x t + log(1 + e^{-|x|})]
    dl/dx = w [(pw t + 1 - t) sigmoid(x) - pw t];  dl/dt = w [pw softplus(-x) - softplus(x)]
    """

    def forward(self, x, t, weight, pos_weight, reduction):
        ns = array_namespace(x)
        sp = ns.softplus(x)  # softplus(-x) = sp - x
        pw = 1 if pos_weight is None else pos_weight
        loss = (1 - t) * sp + pw * t * (sp - x)
        loss = loss if weight is None else loss * weight
        self.sp, self.pw, self.w = sp, pw, weight
        self.reduction, self.size = reduction, loss.size
        return _reduce(ns.xp, loss, reduction)

    def backward(self, ns, grad, x, t):
        g = _reduced_grad(grad, self.reduction, self.size)
        g = g if self.w is None else g * ns.const(self.w)
        pw = _maybe_const(ns, self.pw)
        gx = g * ((pw * t + 1 - t) * ns.sigmoid(x) - pw * t)
        gt = None
        if self.needs_input_grad[1]:
            sp = self.sp if ns.eager else ns.softplus(x)
            gt = g * (pw * (sp - x) - sp)
        return gx, gt


def _reduce_loss(loss: Tensor, reduction: str, batch: int = 1) -> Tensor:
    """A per-element loss tensor reduced as PyTorch does ("batchmean": sum / batch)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        # an empty batch: 0 / 0 = nan, as PyTorch (a mean over no samples)
        return loss.sum() / batch if batch else loss.sum() * float("nan")
    return loss.mean()


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


def _pointwise(cls, op, input, target, reduction, weight=None):
    target = _float_pair(op, "input", input, target, reduction)
    if weight is None:
        return cls.apply(input, target, reduction=reduction)
    return _weighted(op, cls.apply(input, target, reduction="none"), weight, reduction)


def _weighted(op: str, loss: Tensor, weight, reduction: str) -> Tensor:
    """PyTorch 2.13's ``weight=`` of mse/l1/huber: w * l, "mean" is sum(w l) / sum(w)."""
    w = weight if isinstance(weight, Tensor) else as_tensor(weight, loss)
    if tuple(w.shape) != tuple(loss.shape):
        raise ValueError(
            f"{op}: weight of shape {tuple(w.shape)} must have the input's shape "
            f"{tuple(loss.shape)} (PyTorch: 'Weights and input must have the same size')"
        )
    loss = loss * w
    return loss.sum() / w.sum() if reduction == "mean" else _reduce_loss(loss, reduction)


def mse_loss(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean squared error (x - t)^2, the regression default (PyTorch's ``F.mse_loss``).

    ``size_average``/``reduce``: PyTorch's deprecated pair (they set ``reduction``).
    ``weight`` (input's shape): l = w (x - t)^2, and "mean" is sum(w l) / sum(w) (PyTorch).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.mse_loss(gn.tensor([1.0, 2.0]), gn.tensor([0.0, 4.0])).item()   # (1 + 4) / 2
    2.5
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    return _pointwise(MseLoss, "mse_loss", input, target, reduction, weight)


def l1_loss(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean absolute error |x - t|: robust to outliers, constant-size gradient.
    ``size_average``/``reduce`` and ``weight`` as in :func:`mse_loss`.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.l1_loss(gn.tensor([1.0, 2.0]), gn.tensor([0.0, 4.0])).item()
    1.5
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    return _pointwise(L1Loss, "l1_loss", input, target, reduction, weight)


def huber_loss(
    input: Tensor, target, reduction: str = "mean", delta: float = 1.0, weight=None
) -> Tensor:
    """Huber loss: squared error for |x - t| < delta, linear (slope delta) beyond.
    ``weight`` as in :func:`mse_loss`.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.huber_loss(gn.tensor([0.5, 3.0]), gn.tensor([0.0, 0.0]), reduction="none").numpy()
    array([0.125, 2.5  ], dtype=float32)
    """
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    t = _float_pair("huber_loss", "input", input, target, reduction)
    if weight is not None:
        return _weighted("huber_loss", _huber(input - t, float(delta)), weight, reduction)
    return _reduce_loss(_huber(input - t, float(delta)), reduction)


def _huber(d: Tensor, delta: float) -> Tensor:
    """d^2 / 2 where |d| < delta, else delta (|d| - delta / 2): a composition of where, abs
    and arithmetic, so its derivatives (clip(d, -delta, delta), then [|d| < delta]) come from
    those ops; no hand-written backward."""
    a = abs_(d)
    return where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def smooth_l1_loss(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1: quadratic for |x - t| < beta, |x - t| - beta/2 beyond (= Huber / beta).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.smooth_l1_loss(gn.tensor([0.5, 3.0]), gn.tensor([0.0, 0.0]), reduction="sum").item()
    2.625
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    t = _float_pair("smooth_l1_loss", "input", input, target, reduction)
    d = input - t
    loss = abs_(d) if beta == 0 else _huber(d, float(beta)) / float(beta)  # Huber / beta
    return _reduce_loss(loss, reduction)


def _check_probabilities(op: str, probs) -> None:
    """A value check: debug mode only (on for CPU arrays; see glassnet.backend.debug)."""
    if is_debug(probs._data) and bool(((probs._data < 0) | (probs._data > 1)).any()):
        raise ValueError(
            f"{op}: probs must lie in [0, 1] (got min {float(probs._data.min())}, "
            f"max {float(probs._data.max())}); apply sigmoid first, or pass raw "
            "scores to binary_cross_entropy_with_logits"
        )


def binary_cross_entropy(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] (after a sigmoid).

    l = -w [t log p + (1 - t) log(1 - p)], logs clamped at -100 (p = 0 or 1 stay finite).
    Prefer :func:`binary_cross_entropy_with_logits`, which is exact for saturated sigmoids.

    >>> import glassnet as gn, glassnet.functional as F
    >>> round(F.binary_cross_entropy(gn.tensor([0.8, 0.4]), gn.tensor([1.0, 0.0])).item(), 4)
    0.367
    """
    op = "binary_cross_entropy"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    t = _float_pair(op, "probs", input, target, reduction, exact=True)
    value_check(_check_probabilities, op, input)  # again on each replay of a compiled step
    w = _const(op, "weight", weight, input)
    return BinaryCrossEntropy.apply(input, t, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight=None,
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
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    t = _float_pair(op, "logits", input, target, reduction, exact=True)
    w = _const(op, "weight", weight, input)
    pw = _const(op, "pos_weight", pos_weight, input)
    return BinaryCrossEntropyWithLogits.apply(
        input, t, weight=w, pos_weight=pw, reduction=reduction
    )


def kl_div(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence KL(target || exp(input)); ``input`` holds log-probabilities.

    l = t (log t - input) elementwise (0 where t = 0, nan where t < 0), or e^t (t - input) with
    log_target.
    "batchmean" (sum / N) gives the true KL per sample; "mean" averages over every element,
    as PyTorch's default does.

    >>> import glassnet as gn, glassnet.functional as F
    >>> logq = gn.tensor([[0.5, 0.5]]).log()
    >>> round(F.kl_div(logq, gn.tensor([[1.0, 0.0]]), reduction="batchmean").item(), 4)  # ln 2
    0.6931
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    t = _float_pair(op, "input", input, target, reduction, _REDUCTIONS + ("batchmean",))
    # a composition: its derivatives come from exp, log, where and arithmetic
    if log_target:
        loss = exp(t) * (t - input)
    else:
        # PyTorch's xlogy(t, t) - t * input: 0 where t = 0 (the limit of t log t), and nan
        # where t < 0 (not a probability) with the input's gradient -t still, as PyTorch's
        loss = xlogy(t, t) - t * input
    return _reduce_loss(loss, reduction, input.shape[0] if input.ndim else 1)
