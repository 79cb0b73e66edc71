"""Quantiles, covariance and correlation (PyTorch's ``quantile``, ``nanquantile``, ``cov``,
``corrcoef``), as compositions of differentiable ops: sort, gather, products and sums.

Quantile q of n sorted values sits at rank r = q (n - 1) (computed in the input's dtype, as
PyTorch does); ``interpolation`` picks the value there: ``linear`` interpolates between
floor(r) and ceil(r), ``lower``/``higher`` take one of them, ``nearest`` rounds r (half to
even), ``midpoint`` averages them. The gradient flows to the one or two sorted entries used.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import no_grad_result, value_check
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._util import normalize_axis
from glassnet.ops.getitem import gather
from glassnet.ops.indexing import diag
from glassnet.ops.linalg import matmul
from glassnet.ops.scan import sort
from glassnet.ops.shape import reshape, swapaxes
from glassnet.ops.shape_extra import movedim
from glassnet.tensor import Tensor

__all__ = ["corrcoef", "cov", "nanquantile", "quantile"]

_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _ranks(x, q, *, ignore_nan, mode):
    """Indices (below, above) into each sorted last-axis slice, and the linear weight, with a
    leading axis per quantile: shapes (k, *batch)."""
    xp = xp_of(x)
    n = x.shape[-1]
    nans = xp.isnan(x)
    count = (n - nans.sum(-1)) if ignore_nan else xp.full(x.shape[:-1], n)
    last = (count - 1).astype(x.dtype)
    q = xp.asarray(q, dtype=x.dtype)  # the quantiles, on x's device
    rank = q.reshape((-1,) + (1,) * (x.ndim - 1)) * last  # in the input's dtype, as PyTorch
    # a nan in a slice (quantile) or an all-nan slice (nanquantile) gives nan: its last entry
    bad = (count == 0) if ignore_nan else nans.any(-1)
    rank = xp.where(bad, x.dtype.type(n - 1), rank)
    if mode == "nearest":
        rank = xp.round(rank)  # half to even, as torch.round
    below, above = xp.floor(rank), xp.ceil(rank)
    if mode in ("lower", "nearest"):
        above = below
    elif mode == "higher":
        below = above
    weight = (rank - below) if mode == "linear" else xp.full_like(rank, 0.5)
    return below.astype(np.int64), above.astype(np.int64), weight


def _below(x, q, *, ignore_nan, mode):
    return _ranks(x, q, ignore_nan=ignore_nan, mode=mode)[0]


def _above(x, q, *, ignore_nan, mode):
    return _ranks(x, q, ignore_nan=ignore_nan, mode=mode)[1]


def _weight(x, q, *, ignore_nan, mode):
    return _ranks(x, q, ignore_nan=ignore_nan, mode=mode)[2]


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan) -> Tensor:
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a float tensor")
    if interpolation not in _MODES:
        raise ValueError(f"{op}: interpolation must be one of {_MODES}, got {interpolation!r}")
    if isinstance(q, Tensor):
        if q.dtype != input.dtype:
            raise TypeError(f"{op}: q ({q.dtype}) must have the input's dtype ({input.dtype})")
        if q.ndim > 1:
            raise ValueError(f"{op}: q must be a scalar or a 1-D tensor, got {tuple(q.shape)}")
        qs, scalar = np.asarray(q.numpy(), dtype=input.dtype).reshape(-1), q.ndim == 0
    else:
        qs, scalar = np.asarray([q], dtype=input.dtype), True
    if qs.size == 0 or np.isnan(qs).any() or (qs < 0).any() or (qs > 1).any():
        raise ValueError(f"{op}: q values must be in [0, 1], got {qs.tolist()}")
    if dim is None:
        x, axis = reshape(input, (-1,)), 0
    else:
        axis = normalize_axis(dim, input.shape, op)[0]
        x = input
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: cannot take a quantile over an empty dimension")
    s = movedim(sort(x, axis).values, axis, -1)  # nan sorts last
    params = dict(q=qs, ignore_nan=ignore_nan, mode=interpolation)
    k = qs.size

    def pick(fn):
        idx = no_grad_result(fn, s, **params)  # (k, *batch)
        return movedim(gather(s, -1, movedim(idx, 0, -1)), -1, 0)  # (k, *batch)

    lo = pick(_below)
    if interpolation in ("lower", "higher", "nearest"):
        out = lo
    else:
        hi = pick(_above)
        w = no_grad_result(_weight, s, **params)
        # PyTorch's lerp: from the nearer end, so that w = 1 gives hi exactly
        out = _sel.where(w < 0.5, lo + w * (hi - lo), hi - (hi - lo) * (1 - w))
    if keepdim:
        kept = [1] * input.ndim if dim is None else list(input.shape)
        if dim is not None:
            kept[axis] = 1
        out = reshape(out, (k, *kept))
    return out[0] if scalar else out


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):  # noqa: A002 - PyTorch's names
    """The q-th quantiles of ``input`` (all elements, or along ``dim``); a 1-D ``q`` adds a
    leading dim of its length. A nan in a slice makes its quantiles nan."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):  # noqa: A002
    """``quantile`` ignoring nan (nan only where a slice is all nan)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def _check_weights(v, name: str) -> None:
    v = v._data if isinstance(v, Tensor) else v
    if bool((v < 0).any()):
        raise ValueError(f"cov: {name} must be non-negative")


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:  # noqa: A002
    """Covariance of the variables in the rows of ``input`` (observations in the columns; a 1-D
    input is one variable): C = (X - mu) W (X - mu)^T / (sum w - correction * sum(w a) / sum w),
    w = fweights * aweights (each 1 when absent), as in PyTorch."""
    if input.ndim > 2:
        raise ValueError(f"cov expects a 1-D or 2-D tensor, got shape {tuple(input.shape)}")
    x = reshape(input, (1, -1)) if input.ndim < 2 else input
    if x.dtype.kind != "f":
        x = x.float()
    n = x.shape[1]
    w = None
    for name, v in (("fweights", fweights), ("aweights", aweights)):
        if v is None:
            continue
        if not isinstance(v, Tensor) or v.ndim != 1 or v.shape[0] != n:
            raise ValueError(f"cov: {name} must be a 1-D tensor of length {n}")
        if name == "fweights" and v.dtype.kind not in "iu":
            raise TypeError("cov: fweights must be an integer tensor")
        value_check(_check_weights, v, name)  # again on each replay of a compiled step
        v = v.to(x.dtype)
        w = v if w is None else w * v
    if w is None:
        mean = _red.mean(x, 1, keepdim=True)
        norm = n - correction
    else:
        wsum = _red.sum(w)
        mean = _red.sum(x * w, 1, keepdim=True) / wsum
        if aweights is None or correction == 0:
            norm = wsum - correction
        else:
            norm = wsum - correction * _red.sum(w * aweights.to(x.dtype)) / wsum
    xm = x - mean
    c = matmul(xm, swapaxes(xm * w if w is not None else xm, 0, 1))
    if isinstance(norm, Tensor):
        norm = _sel.clip(norm, min=0.0)
    else:
        norm = max(norm, 0)
    c = c / norm
    return reshape(c, ()) if input.ndim < 2 else c


def corrcoef(input: Tensor) -> Tensor:  # noqa: A002
    """Pearson correlation of the rows: cov / (std_i std_j), clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = _el.sqrt(diag(c))
    c = c / reshape(std, (-1, 1)) / reshape(std, (1, -1))
    return _sel.clip(c, -1.0, 1.0)
