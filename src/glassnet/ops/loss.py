"""Loss functions: how far a prediction is from its target, as one number to minimize.

Each loss is one fused op, so its gradient is exact and cheap (cross-entropy's is
``softmax - target``) and its forward never overflows (log-softmax with the max subtracted,
softplus in ``|x|`` form). Reductions follow PyTorch: ``"mean"`` (the default), ``"sum"`` or
``"none"`` (per element); weighted means divide by the sum of the weights used.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import parallel, xp_of
from glassnet.ops import _fused
from glassnet.ops._loss_checks import (
    _check_input,
    _check_reduction,
    _class_index_target,
    _const,
    _target,
    legacy_reduction,
)
from glassnet.ops._parallel import map_rows
from glassnet.ops._util import max_kept
from glassnet.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss"]


# -- shared helpers --------------------------------------------------------------------------
def _reduce(xp, loss, reduction: str, batch: int = 1):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total)
    count = batch if reduction == "batchmean" else loss.size
    return xp.asarray(total / max(count, 1) if count else total * xp.nan)


def _reduced_grad(grad, reduction: str, size: int, batch: int = 1):
    """dL/d(per-element loss) for the upstream ``grad`` of the reduced output."""
    if reduction == "mean":
        return grad / max(size, 1)
    if reduction == "batchmean":
        return grad / max(batch, 1)
    return grad


def _clamped_log(ns, a):
    # PyTorch clamps log(p) at -100 so p = 0 gives a finite loss (100) instead of inf; the
    # inner where keeps NumPy from warning about log(0). Written against ``ns``: forward
    # runs it on arrays, create_graph on tensors.
    pos = a > 0
    return ns.maximum(ns.where(pos, ns.log(ns.where(pos, a, 1.0)), -100.0), -100.0)


def _maybe_const(ns, v):
    """An optional constant (class weights, pos_weight: an array, a number or None) for ns."""
    return v if v is None or isinstance(v, (int, float)) else ns.const(v)


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))  # never exponentiates a positive number
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _log_softmax(xp, x, axis: int):
    # log-softmax = x - m - log(sum e^{x - m}) with m = max x: the exponent is <= 0, so even
    # logits of 1e4 give e^0 = 1 at most instead of inf.
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


# -- regression losses: one pointwise formula of d = input - target ------------------------
def _class_index_terms(xp, x, target, weight, ignore_index):
    """Validity, the safe index (0 where ignored) and class weight w_{t_n} (0 where ignored)."""
    # valid in x's dtype: a bool array times a Python float would be float64 in NumPy
    ok = target != ignore_index
    valid = ok.astype(x.dtype)
    safe = xp.where(ok, target, 0)
    w_t = valid if weight is None else weight[safe] * valid
    return valid, safe, w_t


def _subtract_at_targets(xp, gx, safe, values):
    """gx[n, t_n, d...] -= values[n, d...] through flat indices of the C-contiguous gx: one
    scatter of N*d entries instead of an (N, C, ...) one-hot mask (each index appears once)."""
    gx = xp.ascontiguousarray(gx)
    n, c = gx.shape[:2]
    d = safe.size // max(n, 1)
    flat = (xp.arange(n).reshape(n, 1) * c + safe.reshape(n, d)) * d + xp.arange(d)
    gx.reshape(-1)[flat.reshape(-1)] -= values.reshape(-1)
    return gx


def _pick(xp, x, index):
    """x[n, index[n, d...], d...]: the entry of each sample's target class."""
    if x.ndim == 2:  # plain fancy indexing: a third of take_along_axis's Python overhead
        return x[xp.arange(x.shape[0]), index]
    return xp.take_along_axis(x, index[:, None], 1)[:, 0]


def _weighted_mean(xp, total, denom):
    # mean divides by the total weight of the non-ignored targets (PyTorch); a zero total
    # (all ignored) is 0/0: nan forward (as PyTorch, without a NumPy warning), zero gradient
    # backward. Only zero is special: class weights may be negative, so a negative total is a
    # valid denominator (PyTorch divides by it).
    if xp is np and denom != 0:  # the usual case on CPU: one division instead of four ops
        return xp.asarray(total / denom, dtype=total.dtype)
    ok = denom != 0
    return xp.asarray(xp.where(ok, total / xp.where(ok, denom, 1), xp.nan), dtype=total.dtype)


def _inverse(xp, denom):
    """1 / denom, or 0 where denom = 0 (every target ignored: zero gradient), as an array.
    Any nonzero weight sum divides, also a negative one (PyTorch)."""
    ok = denom != 0
    return xp.where(ok, 1 / xp.where(ok, denom, 1), 0).astype(denom.dtype)


def _shifted_exp(x):
    """x - max, its exponential and the sum of that over the class axis (1)."""
    shifted = x - max_kept(x, 1)
    e = xp_of(x).exp(shifted)
    return shifted, e, e.sum(axis=1, keepdims=True)


def _scaled_softmax(e, s, a):
    p = e / s
    p *= a[:, None]
    return p


def _small_batch(x, target, ignore_index) -> bool:
    """Whether CrossEntropy takes its short path: (N, C) logits too small to split over
    threads (4 passes per element, see forward), class-index targets, none ignored."""
    return (
        type(x) is np.ndarray
        and x.ndim == 2
        and 0 < x.size * 4 < parallel.MIN_BLOCK_ELEMENTS
        and x.dtype in (np.float32, np.float64)
        and target.ndim == 1
        and target.dtype.kind in "iu"
        and not (target == ignore_index).any()
    )


class CrossEntropy(Function):
    """Softmax cross-entropy with class-index targets t_n (PyTorch's formula):

        logp = log_softmax(x) over the class axis (max subtracted: no overflow)
        l_n = (1 - eps) w_{t_n} (-logp_{n,t_n}) + (eps / C) sum_c w_c (-logp_{n,c})
        (l_n = 0 where t_n = ignore_index; eps = label_smoothing, w = class weights or 1)
        mean: sum_n l_n / sum_n w_{t_n} over non-ignored n

    dl_n/dx_n = a_n softmax(x_n) - q_n,  a_n = (1 - eps) w_{t_n} + (eps / C) sum_c w_c,
    q_n = (1 - eps) w_{t_n} onehot(t_n) + (eps / C) w   (softmax minus the target distribution)
    """

    def forward(self, x, target, weight, ignore_index, reduction, label_smoothing):
        xp = xp_of(x)
        eps, n_classes = label_smoothing, x.shape[1]
        self.fused = self.small = False
        if weight is None and not eps and reduction != "none":  # optional kernel (backend.jit)
            fused = _fused.cross_entropy(x, target, ignore_index)
            if fused is not None:
                return self._fused_forward(x, target, ignore_index, reduction, *fused)
            if reduction == "mean" and _small_batch(x, target, ignore_index):
                return self._small_forward(x, target, ignore_index)
        # log-softmax = x - m - log(sum e^{x - m}), m = max: every exponent is <= 0; samples
        # (rows of axis 0) in parallel on the CPU, reductions along the class axis only
        size = x[0].size if x.shape[0] else 0
        shifted, self.e, self.s = map_rows(_shifted_exp, (x,), item_size=size, cost=4)
        lse = xp.log(self.s)[:, 0]
        valid, safe, w_t = _class_index_terms(xp, x, target, weight, ignore_index)
        picked = _pick(xp, shifted, safe) - lse
        loss = -(1 - eps) * w_t * picked
        self.wshape = (1, n_classes) + (1,) * (x.ndim - 2)
        if eps:  # sum_c w_c logp_c = sum_c w_c shifted_c - (sum_c w_c) lse
            if weight is None:
                wl = shifted.sum(axis=1) - n_classes * lse
            else:
                wl = (shifted * weight.reshape(self.wshape)).sum(axis=1) - weight.sum() * lse
            loss = loss - (eps / n_classes) * valid * wl
        self.valid, self.safe, self.w_t = valid, safe, w_t
        self.weight, self.eps, self.reduction = weight, eps, reduction
        if reduction != "mean":
            return _reduce(xp, loss, reduction)
        denom = w_t.sum()
        self.inv = _inverse(xp, denom)
        return _weighted_mean(xp, loss.sum(), denom)

    def _small_forward(self, x, target, ignore_index):
        """The arithmetic below for a small batch with every target counted (w_t = 1, the
        weight sum N), without the per-sample weights: the same bits in a third of the NumPy
        calls (forward + backward on (64, 10): 66 -> 31 us, benchmarks/RESULTS.md)."""
        n = x.shape[0]
        shifted = x - max_kept(x, 1)
        self.e = np.exp(shifted)
        self.s = self.e.sum(axis=1, keepdims=True)
        picked = shifted[np.arange(n), target] - np.log(self.s)[:, 0]
        self.small, self.target, self.ignore_index = True, target, ignore_index
        self.weight, self.eps, self.reduction = None, 0.0, "mean"
        one, count = x.dtype.type(1), x.dtype.type(n)
        self.inv = np.asarray(one / count)
        return np.asarray(-picked.sum() / count)

    def _fused_forward(self, x, target, ignore_index, reduction, loss, mx, sm, ignored):
        """The kernel's rows: the loss is their float64 sum (over the non-ignored count)."""
        self.fused, self.target, self.ignore_index = True, target, ignore_index
        self.mx, self.sm, self.weight, self.eps, self.reduction = mx, sm, None, 0.0, reduction
        total, count = _fused.sum64(loss), x.shape[0] - ignored
        self.inv = np.asarray(1.0 / count if count else 0.0, dtype=x.dtype)
        if reduction == "sum":
            return np.asarray(total, dtype=x.dtype)
        return np.asarray(total / count if count else np.nan, dtype=x.dtype)

    def backward(self, ns, grad, x):
        if self.fused and ns.eager:  # scale (softmax - onehot(target)) per row, by the kernel
            scale = float(grad) * (float(self.inv) if self.reduction == "mean" else 1.0)
            gx = _fused.cross_entropy_backward(
                x, self.target, self.ignore_index, self.mx, self.sm, scale
            )
            if gx is not None:
                return gx
            self.e, self.s = np.exp(x - self.mx[:, None]), self.sm[:, None]  # kernels off
        if self.small and ns.eager:  # the path below with a = 1 and safe = target
            gx = self.e / self.s
            gx[np.arange(gx.shape[0]), self.target] -= 1
            return ns.mul_(gx, grad * self.inv)
        if self.fused or self.small:
            data = x if ns.eager else x._data
            terms = _class_index_terms(np, data, self.target, None, self.ignore_index)
            self.valid, self.safe, self.w_t = terms  # the NumPy path's inputs, made now
        xp = xp_of(self.w_t)
        eps, n_classes = self.eps, x.shape[1]
        a = (1 - eps) * self.w_t
        if ns.eager and not eps:  # softmax times a_n, samples in parallel on the CPU
            gx = map_rows(
                _scaled_softmax,
                (self.e, self.s, a),
                item_size=x[0].size if x.shape[0] else 1,
                cost=2,
            )
        elif eps:
            p = self.e / self.s if ns.eager else ns.softmax(x, 1)  # a fresh array eagerly
            w = 1 if self.weight is None else self.weight.reshape(self.wshape)
            total_w = n_classes if self.weight is None else self.weight.sum()
            v = self.valid[:, None] * (eps / n_classes)
            gx = p * ns.const(a[:, None] + v * total_w) - ns.const(v * w)
        else:
            gx = ns.softmax(x, 1) * ns.const(a[:, None])
        # minus (1 - eps) w_t at each target class: a constant, subtracted in place eagerly
        if ns.eager:
            gx = _subtract_at_targets(xp, gx, self.safe, a)
        else:
            gx = gx - ns.const(_subtract_at_targets(xp, xp.zeros(x.shape, a.dtype), self.safe, -a))
        if self.reduction == "none":
            return ns.mul_(gx, ns.reshape(grad, (grad.shape[0], 1, *grad.shape[1:])))
        if self.reduction == "mean":
            grad = grad * ns.const(self.inv)
        return ns.mul_(gx, grad)


class CrossEntropyProbs(Function):
    """Softmax cross-entropy with a target distribution y (same shape as x):

        y' = (1 - eps) y + eps / C;  l_n = -sum_c w_c y'_{n,c} logp_{n,c}
        mean: sum_n l_n / (number of samples n), not the weight sum (PyTorch)

    dl_n/dx_n = (sum_c w_c y'_{n,c}) softmax(x_n) - w y'_n;  dl_n/dy_n = -(1 - eps) w logp_n
    """

    def forward(self, x, y, weight, reduction, label_smoothing):
        xp = xp_of(x)
        eps, n_classes = label_smoothing, x.shape[1]
        self.logp = _log_softmax(xp, x, 1)
        wshape = (1, n_classes) + (1,) * (x.ndim - 2)
        self.w = 1 if weight is None else weight.reshape(wshape)
        self.wy = self.w * ((1 - eps) * y + eps / n_classes if eps else y)
        loss = -(self.wy * self.logp).sum(axis=1)
        self.eps, self.reduction, self.size = eps, reduction, loss.size
        return _reduce(xp, loss, reduction)

    def backward(self, ns, grad, x, y):
        eps, w = self.eps, _maybe_const(ns, self.w)
        if ns.eager:
            logp, wy = self.logp, self.wy
        else:
            logp = ns.log_softmax(x, 1)
            wy = w * ((1 - eps) * y + eps / x.shape[1] if eps else y)
        g = _reduced_grad(grad, self.reduction, self.size)
        if self.reduction == "none":
            g = ns.reshape(g, (g.shape[0], 1, *g.shape[1:]))
        gx = g * (ns.sum(wy, 1, True) * ns.exp(logp) - wy)
        gy = -g * (1 - eps) * w * logp if self.needs_input_grad[1] else None
        return gx, gy


class NllLoss(Function):
    """Negative log-likelihood of log-probabilities x with class-index targets t_n:

        l_n = -w_{t_n} x_{n,t_n}  (0 where t_n = ignore_index);  mean: sum l_n / sum w_{t_n}
    dl_n/dx_{n,c} = -w_{t_n} [c = t_n]
    """

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = xp_of(x)
        _, self.safe, self.w_t = _class_index_terms(xp, x, target, weight, ignore_index)
        loss = -self.w_t * _pick(xp, x, self.safe)
        self.reduction = reduction
        if reduction != "mean":
            return _reduce(xp, loss, reduction)
        denom = self.w_t.sum()
        self.inv = _inverse(xp, denom)
        return _weighted_mean(xp, loss.sum(), denom)

    def backward(self, ns, grad, x):
        xp, safe, shape = xp_of(self.w_t), self.safe, x.shape
        if self.reduction == "mean":
            grad = grad * ns.const(self.inv)
        values = ns.const(self.w_t) * grad  # grad is (N, d...) for "none", else a scalar
        # dL/dx = -(values scattered to each sample's target class): linear in the values
        return ns.linear(
            lambda v: _subtract_at_targets(xp, xp.zeros(shape, v.dtype), safe, v),
            lambda gx: -_pick(xp, gx, safe),
            values,
        )


def cross_entropy(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy between raw scores and class targets (PyTorch's formula).

    Use it for classification: pass logits (no softmax first). ``target`` is either class
    indices, shape (N,) or (N, d1, ...) for logits (N, C) or (N, C, d1, ...), or class
    probabilities of the logits' shape. Computed in one fused op: log-softmax with the max
    subtracted (logits of 1e4 do not overflow), gradient softmax - target distribution.

        l_n = (1 - eps) w_{t_n} (-log softmax(x_n)_{t_n}) + (eps / C) sum_c w_c (-log p_{n,c})
        "mean" divides by sum_n w_{t_n} over targets != ignore_index (probability targets: by N)

    Args:
        logits: (N, C), (N, C, d1, ...) or (C,) unnormalized scores.
        target: int (N, d1, ...) class indices or float probabilities shaped like ``logits``.
        weight: optional (C,) class weights.  ignore_index: index whose samples count for 0.
        reduction: "mean" | "sum" | "none".  label_smoothing: eps in [0, 1].
        size_average, reduce: PyTorch's deprecated pair, in its positional slots; when
            either is given they set ``reduction`` (see ``legacy_reduction``).

    Returns:
        a scalar, or the per-sample losses (N, d1, ...) with ``reduction="none"``.

    >>> import glassnet as gn, glassnet.functional as F
    >>> round(F.cross_entropy(gn.tensor([[2.0, 0.0]]), gn.tensor([0])).item(), 4)
    0.1269
    """
    op = "cross_entropy"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_input(op, "logits", input)
    _check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if input.ndim == 0:
        raise ValueError(f"{op}: logits must have a class axis, (N, C) or (C,); got a scalar")
    t = _target(op, target, input, float_target=False)
    unbatched = input.ndim == 1
    if unbatched:  # (C,) logits with a () index or (C,) probability target
        input, t = input.reshape(1, -1), t.reshape(1, *t.shape)
    w = _const(op, "weight", weight, input, shape=(input.shape[1],))
    if t.dtype.kind == "f" and t.shape == input.shape:
        if ignore_index >= 0:
            raise ValueError(
                f"{op}: ignore_index={ignore_index} is not supported with "
                "probability targets; zero the sample's weight instead"
            )
        t = _target(op, t, input, float_target=True)
        out = CrossEntropyProbs.apply(
            input, t, weight=w, reduction=reduction, label_smoothing=float(label_smoothing)
        )
    else:
        _class_index_target(op, input, t, ignore_index)
        out = CrossEntropy.apply(
            input,
            target=t._data,
            weight=w,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=float(label_smoothing),
        )
    return out.reshape(()) if unbatched and reduction == "none" else out


def nll_loss(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (use after ``log_softmax``).

    l_n = -w_{t_n} input_{n, t_n}; "mean" divides by sum_n w_{t_n} over non-ignored targets.
    Shapes as :func:`cross_entropy` with class indices.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.nll_loss(gn.tensor([[-0.5, -2.0], [-1.0, -0.25]]), gn.tensor([0, 1])).item()
    0.375
    """
    op = "nll_loss"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_input(op, "input", input)
    _check_reduction(op, reduction)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, (N, C) or (C,); got a scalar")
    t = _target(op, target, input, float_target=False)
    unbatched = input.ndim == 1
    if unbatched:
        input, t = input.reshape(1, -1), t.reshape(1)
    w = _const(op, "weight", weight, input, shape=(input.shape[1],))
    _class_index_target(op, input, t, ignore_index)
    out = NllLoss.apply(
        input, target=t._data, weight=w, ignore_index=ignore_index, reduction=reduction
    )
    return out.reshape(()) if unbatched and reduction == "none" else out
