"""More losses by PyTorch's names and formulas, composed from differentiable ops: margin
ranking, hinge embedding, soft margin, multilabel soft margin, cosine embedding, triplet
margin, Poisson and Gaussian negative log-likelihood."""

from __future__ import annotations

import math

from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._util import floating
from glassnet.ops.activation import softplus
from glassnet.ops.distance import pairwise_distance
from glassnet.tensor import Tensor

__all__ = [
    "cosine_embedding_loss",
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
    return Tensor._make(data, False)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """l = max(0, -y (x1 - x2) + margin), y in {1, -1}: x1 should rank above x2 when y = 1."""
    y = _tensor(target, input1)
    return _reduce("margin_ranking_loss", _sel.clip(-y * (input1 - input2) + margin, min=0.0),
                   reduction)  # fmt: skip


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target,
    margin: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """l = x where y = 1, max(0, margin - x) where y = -1 (x: a distance)."""
    y = _tensor(target, input)
    yd = y.data
    hinge = _sel.where(_mask(yd != 1), _sel.clip(margin - input, min=0.0), 0.0)
    same = _sel.where(_mask(yd != -1), input, 0.0)
    return _reduce("hinge_embedding_loss", hinge + same, reduction)


def soft_margin_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """l = ln(1 + e^{-y x}) (computed as softplus(-y x): no overflow), y in {1, -1}."""
    y = _tensor(target, input)
    return _reduce("soft_margin_loss", softplus(-y * input), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    reduction: str = "mean",
) -> Tensor:
    """l_n = -(1/C) sum_c w_c [y_c ln sigmoid(x_c) + (1 - y_c) ln sigmoid(-x_c)] for (N, C)."""
    y = _tensor(target, input)
    # ln sigmoid(x) = -softplus(-x), ln sigmoid(-x) = -softplus(x): stable for large |x|
    per = y * softplus(-input) + (1.0 - y) * softplus(input)
    if weight is not None:
        per = per * _tensor(weight, input)
    loss = _red.mean(per, -1)
    return _reduce("multilabel_soft_margin_loss", loss, reduction)


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """l = 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1;
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) over the last dim (PyTorch's eps)."""
    y = _tensor(target, input1)
    eps = 1e-12
    dot = _red.sum(input1 * input2, -1)
    m1 = _red.sum(input1 * input1, -1) + eps
    m2 = _red.sum(input2 * input2, -1) + eps
    cos = dot / _el.sqrt(m1 * m2)
    yd = y.data
    pos = _sel.where(_mask(yd == 1), 1.0 - cos, 0.0)
    neg = _sel.where(_mask(yd == -1), _sel.clip(cos - margin, min=0.0), 0.0)
    return _reduce("cosine_embedding_loss", pos + neg, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """l = max(d(a, p) - d(a, n) + margin, 0), d the pairwise p-distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
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
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood of counts y with rate lambda:
    log_input: l = e^x - y x (x = ln lambda); else l = x - y ln(x + eps).
    ``full`` adds Stirling's y ln y - y + ln(2 pi y) / 2 where y > 1."""
    y = _tensor(target, input)
    loss = _el.exp(input) - y * input if log_input else input - y * _el.log(input + eps)
    if full:
        yd = y.data
        big = _mask(yd > 1)
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
    if v.data.min() < 0 if v.size else False:
        raise ValueError("gaussian_nll_loss: var has negative entries")
    vd = v.data
    lift = _mask(vd < eps)
    # max(var, eps) in value, identity in gradient: var + (clamped - var) held constant
    v = v + _mask((vd < eps) * (eps - vd)) if lift.data.any() else v
    loss = 0.5 * (_el.log(v) + (input - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", loss, reduction)
