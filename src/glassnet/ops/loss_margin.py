"""Multi-class margin losses by PyTorch's names and formulas, composed from differentiable ops:
``multi_margin_loss`` (the multi-class hinge), ``multilabel_margin_loss`` and
``triplet_margin_with_distance_loss`` (a triplet loss with any distance)."""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
from glassnet.backend.device import to_numpy
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._loss_checks import legacy_reduction
from glassnet.ops.distance import pairwise_distance
from glassnet.ops.getitem import gather
from glassnet.ops.loss_extra import _mask, _reduce
from glassnet.ops.shape import reshape, unsqueeze
from glassnet.tensor import Tensor

__all__ = ["multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"]


def _class_batch(op: str, input: Tensor, target) -> tuple[Tensor, np.ndarray, bool]:  # noqa: A002
    """(input as (N, C), target indices as host int64 (N,), whether input was 1-D)."""
    if input.ndim not in (1, 2) or input.dtype.kind != "f":
        raise ValueError(
            f"{op}: expected a float input of shape (N, C) or (C,), got {input.dtype} "
            f"{tuple(input.shape)}"
        )
    data = to_numpy(target)
    single = input.ndim == 1
    x = unsqueeze(input, 0) if single else input
    labels = np.asarray(data, dtype=np.int64).reshape(-1)
    if data.dtype.kind not in "iu" or labels.size != x.shape[0]:
        raise ValueError(
            f"{op}: target must hold one class index per sample ({x.shape[0]}), got "
            f"{data.dtype} {tuple(np.shape(data))}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= x.shape[1]):
        raise IndexError(f"{op}: target {labels.tolist()} out of range for {x.shape[1]} classes")
    return x, labels, single


def multi_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss of scores x (N, C) and class indices y (N,)::

        loss_i = sum_{j != y_i} w[y_i] max(0, margin - x[i, y_i] + x[i, j])^p / C

    with p 1 or 2 and ``weight`` w (C,) (1 when None), as PyTorch's ``F.multi_margin_loss``.
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    x, labels, single = _class_batch("multi_margin_loss", input, target)
    n, c = x.shape
    xp = xp_of(x._data)
    index = _mask(xp.asarray(labels.reshape(n, 1)))  # from the values: compile runs eagerly
    gap = _sel.clip(margin - gather(x, 1, index) + x, min=0.0)
    if p == 2:
        gap = gap * gap
    if weight is not None:
        gap = gap * reshape(weight[index.reshape(-1)], (n, 1))
    others = np.ones((n, c), dtype=x.dtype)
    others[np.arange(n), labels] = 0  # the true class is not a margin violation
    loss = _red.sum(gap * _mask(xp.asarray(others)), 1) / c
    return _reduce("multi_margin_loss", loss[0] if single else loss, reduction)


def multilabel_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-label hinge loss: ``target`` (N, C) holds each sample's class indices, ended
    by the first -1; with T_i those classes (a repeated index counts again, as PyTorch)::

        loss_i = sum_{j in T_i} sum_{k not in T_i} max(0, 1 - (x[i, j] - x[i, k])) / C
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if input.ndim not in (1, 2) or input.dtype.kind != "f":
        raise ValueError(
            "multilabel_margin_loss: expected a float input of shape (N, C) or (C,), got "
            f"{input.dtype} {tuple(input.shape)}"
        )
    single = input.ndim == 1
    x = unsqueeze(input, 0) if single else input
    data = to_numpy(target)
    if data.dtype.kind not in "iu" or data.reshape(x.shape).shape != tuple(x.shape):
        raise ValueError(
            f"multilabel_margin_loss: target must be integer class indices of the input's "
            f"shape {tuple(input.shape)} (padded with -1), got {data.dtype} {data.shape}"
        )
    counts = _mask(_target_counts(data.reshape(x.shape).astype(np.int64)))
    # pair (j, k): hinge of target class j over non-target class k
    hinge = _sel.clip(1.0 - unsqueeze(x, 2) + unsqueeze(x, 1), min=0.0)  # (N, C_j, C_k)
    xp = xp_of(x._data)
    c = counts._data
    pairs = c[:, :, None] * (c[:, None, :] == 0)
    loss = _red.sum(hinge * Tensor._make(xp.asarray(pairs, dtype=x.dtype), False), (1, 2))
    loss = loss / x.shape[1]
    return _reduce("multilabel_margin_loss", loss[0] if single else loss, reduction)


def _target_counts(target: np.ndarray) -> np.ndarray:
    """How often each class occurs in each row's list before its first -1 (N, C)."""
    n, c = target.shape
    counts = np.zeros((n, c), dtype=np.int64)
    for i, row in enumerate(target):
        ends = np.flatnonzero(row < 0)
        row = row[: ends[0]] if ends.size else row
        if row.size and row.max() >= c:
            raise IndexError(
                f"multilabel_margin_loss: target {row.tolist()} out of range for {c} classes"
            )
        np.add.at(counts[i], row, 1)
    return counts


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """l = max(d(a, p) - d(a, n) + margin, 0) with any distance ``d`` (a callable on two
    batches; ``F.pairwise_distance`` when None); ``swap`` uses min(d(a, n), d(p, n))."""
    if margin <= 0:
        raise ValueError(
            f"triplet_margin_with_distance_loss: expected margin to be greater than 0, got {margin}"
        )
    distance = pairwise_distance if distance_function is None else distance_function
    d_ap, d_an = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_an = _sel.minimum(d_an, distance(positive, negative))
    loss = _sel.clip(d_ap - d_an + margin, min=0.0)
    return _reduce("triplet_margin_with_distance_loss", loss, reduction)
