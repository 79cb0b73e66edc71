"""More losses by PyTorch's names and formulas, composed from differentiable ops: margin
ranking, hinge embedding, soft margin, multilabel soft margin, cosine embedding, triplet
margin, Poisson and Gaussian negative log-likelihood."""

from __future__ import annotations

import math

from glassnet.autograd.function import value_result
from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._loss_checks import legacy_reduction
from glassnet.ops._util import floating
from glassnet.ops.activation import softplus
from glassnet.ops.distance import pairwise_distance
from glassnet.tensor import Tensor

__all__ = [
    "cosine_embedding_loss",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _red.mean(loss)
    if reduction == "sum":
        return _red.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.astype(like.dtype)
    return Tensor(value, dtype=like.dtype)


def _mask(data) -> Tensor:
    """A constant computed from the values in the wrapper: a compiled step runs eagerly."""
    return value_result(data, "a mask computed from the values in a loss's wrapper")


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l = max(0, -y (x1 - x2) + margin), y in {1, -1}: x1 should rank above x2 when y = 1.

    ``size_average``/``reduce`` (every loss here): PyTorch's deprecated pair, in its
    positional slots; given, they set ``reduction`` (``_loss_checks.legacy_reduction``)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input1)
    return _reduce("margin_ranking_loss", _sel.clip(-y * (input1 - input2) + margin, min=0.0),
                   reduction)  # fmt: skip


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l = x where y = 1, max(0, margin - x) where y = -1 (x: a distance)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input)
    hinge = _sel.where(y != 1, _sel.clip(margin - input, min=0.0), 0.0)  # recorded masks
    same = _sel.where(y != -1, input, 0.0)
    return _reduce("hinge_embedding_loss", hinge + same, reduction)


def soft_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l = ln(1 + e^{-y x}) (computed as softplus(-y x): no overflow), y in {1, -1}."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input)
    return _reduce("soft_margin_loss", softplus(-y * input), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l_n = -(1/C) sum_c w_c [y_c ln sigmoid(x_c) + (1 - y_c) ln sigmoid(-x_c)] for (N, C)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input)
    # ln sigmoid(x) = -softplus(-x), ln sigmoid(-x) = -softplus(x): stable for large |x|
    per = y * softplus(-input) + (1.0 - y) * softplus(input)
    if weight is not None:
        per = per * _tensor(weight, input)
    loss = _red.mean(per, -1)
    return _reduce("multilabel_soft_margin_loss", loss, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l = 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1;
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) over the last dim (PyTorch's eps)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input1)
    eps = 1e-12
    dot = _red.sum(input1 * input2, -1)
    m1 = _red.sum(input1 * input1, -1) + eps
    m2 = _red.sum(input2 * input2, -1) + eps
    cos = dot / _el.sqrt(m1 * m2)
    pos = _sel.where(y == 1, 1.0 - cos, 0.0)  # recorded masks
    neg = _sel.where(y == -1, _sel.clip(cos - margin, min=0.0), 0.0)
    return _reduce("cosine_embedding_loss", pos + neg, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """l = max(d(a, p) - d(a, n) + margin, 0), d the pairwise p-distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = _sel.minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce("triplet_margin_loss", _sel.clip(d_ap - d_an + margin, min=0.0), reduction)


def poisson_nll_loss(
    input: Tensor,  # noqa: A002
    target,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood of counts y with rate lambda:
    log_input: l = e^x - y x (x = ln lambda); else l = x - y ln(x + eps).
    ``full`` adds Stirling's y ln y - y + ln(2 pi y) / 2 where y > 1."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    y = _tensor(target, input)
    loss = _el.exp(input) - y * input if log_input else input - y * _el.log(input + eps)
    if full:
        big = y > 1  # a recorded mask
        ys = _sel.where(big, y, 2.0)
        stirling = ys * _el.log(ys) - ys + 0.5 * _el.log(2 * math.pi * ys)
        loss = loss + _sel.where(big, stirling, 0.0)
    return _reduce("poisson_nll_loss", loss, reduction)


def gaussian_nll_loss(
    input: Tensor,  # noqa: A002
    target,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood: l = (ln max(var, eps) + (x - y)^2 / max(var, eps)) / 2
    (+ ln(2 pi) / 2 when ``full``). The clamp does not stop the gradient (PyTorch clamps
    without recording it). ``var`` may lack the last dim or have size 1 there."""
    y = _tensor(target, input)
    v = floating(_tensor(var, input))
    if v.shape != input.shape and v.ndim == input.ndim - 1 and input.shape[:-1] == v.shape:
        from glassnet.ops.shape import unsqueeze

        v = unsqueeze(v, -1)
    if v._data.min() < 0 if v.numel() else False:
        raise ValueError("gaussian_nll_loss: var has negative entries")
    vd = v._data
    lift = _mask(vd < eps)
    # max(var, eps) in value, identity in gradient: var + (clamped - var) held constant
    v = v + _mask((vd < eps) * (eps - vd)) if lift._data.any() else v
    loss = 0.5 * (_el.log(v) + (input - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", loss, reduction)


def ctc_loss(
    log_probs: Tensor,
    targets,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification: -ln p(target | input), summed over every
    alignment of the target (with blanks between and around labels) to the T input steps.

    The forward (alpha) recursion in log space over the extended target l' (blank, l_1,
    blank, ..., l_S, blank): alpha_t(s) = ln(e^{alpha_{t-1}(s)} + e^{alpha_{t-1}(s-1)}
    [+ e^{alpha_{t-1}(s-2)} if l'_s != blank and l'_s != l'_{s-2}]) + log_probs[t, l'_s];
    loss = -ln(e^{alpha_{T-1}(2S)} + e^{alpha_{T-1}(2S-1)}). Built from logaddexp and
    gathers, so its gradient (and second derivative) is theirs. log_probs: (T, N, C) (or
    unbatched (T, C)); targets: (N, S_max) padded or 1-D concatenated. "mean" divides each
    loss by its target length, then averages (PyTorch).
    """
    import numpy as np

    from glassnet.backend import xp_of
    from glassnet.ops.composite import logaddexp
    from glassnet.ops.getitem import getitem, take_along_axis
    from glassnet.ops.selection import where
    from glassnet.ops.shape import concat, reshape, unsqueeze

    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = unsqueeze(log_probs, 1)
    if log_probs.ndim != 3:
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C), got {log_probs.shape}")
    t_max, n, _ = log_probs.shape

    def host(v):
        return np.atleast_1d(v.numpy() if isinstance(v, Tensor) else np.asarray(v)).astype(np.int64)

    tgt, in_len, tg_len = host(targets), host(input_lengths), host(target_lengths)
    if in_len.size != n or tg_len.size != n:
        raise ValueError(f"ctc_loss: need {n} input and target lengths, got {in_len.size}, "
                         f"{tg_len.size}")  # fmt: skip
    if tgt.ndim == 1 and n > 1 or (unbatched and tgt.ndim == 1):
        offsets = np.concatenate([[0], np.cumsum(tg_len)])
        rows = [tgt[offsets[i] : offsets[i + 1]] for i in range(n)]
    else:
        rows = [tgt.reshape(n, -1)[i, : tg_len[i]] for i in range(n)]
    s_max = 2 * int(tg_len.max(initial=0)) + 1
    ext = np.full((n, s_max), blank, dtype=np.int64)
    for i, r in enumerate(rows):
        ext[i, 1 : 2 * len(r) : 2] = r
    skip = np.zeros((n, s_max), dtype=bool)  # may come from s - 2
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    xp = xp_of(log_probs._data)

    def const(a):  # host-built masks and constants from the targets, on the input's device
        return value_result(xp.asarray(a), "ctc_loss's paths from the targets")

    neg_inf = -np.inf
    index = xp.asarray(ext[None].repeat(t_max, 0))  # (T, N, S)
    emit = take_along_axis(log_probs, index, 2)  # (T, N, S): log p of each state's label
    init = np.full((n, s_max), neg_inf)
    init[:, 0] = 0.0
    init[:, 1] = np.where(tg_len > 0, 0.0, neg_inf)
    alpha = const(init.astype(log_probs.dtype)) + getitem(emit, 0)
    pad1 = const(np.full((n, 1), neg_inf, dtype=log_probs.dtype))
    pad2 = const(np.full((n, 2), neg_inf, dtype=log_probs.dtype))
    skip_t = const(skip)
    for t in range(1, t_max):
        prev1 = concat([pad1, getitem(alpha, (slice(None), slice(0, s_max - 1)))], 1)
        prev2 = concat([pad2, getitem(alpha, (slice(None), slice(0, max(s_max - 2, 0))))], 1)
        total = logaddexp(alpha, prev1)
        total = where(skip_t, logaddexp(total, prev2), total)
        step = total + getitem(emit, t)
        alpha = where(const((t < in_len)[:, None]), step, alpha)
    last = np.stack([2 * tg_len, np.maximum(2 * tg_len - 1, 0)], 1)  # (N, 2)
    ends = take_along_axis(alpha, xp.asarray(last), 1)
    both = logaddexp(getitem(ends, (slice(None), 0)), getitem(ends, (slice(None), 1)))
    single = getitem(ends, (slice(None), 0))
    loss = -where(const(tg_len > 0), both, single)
    if zero_infinity:  # impossible alignments (input too short) give inf: zero them
        loss = where(const(xp.isinf(loss._data)), 0.0, loss)
    if reduction == "mean":
        scaled = loss / const(np.maximum(tg_len, 1).astype(log_probs.dtype))
        return _red.mean(scaled)
    out = _reduce("ctc_loss", loss, reduction)
    return reshape(out, ()) if unbatched and reduction == "none" else out
