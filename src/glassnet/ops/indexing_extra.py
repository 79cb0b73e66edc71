"""More of PyTorch's placement and lookup ops: masked_scatter, put, searchsorted, bucketize,
tril_indices/triu_indices, rsub.

``masked_scatter`` and ``put`` write into a copy (their in-place ``_`` forms live in
``glassnet._tensor_extra``) and are composed of differentiable scatters, so gradients flow to
both the input (where it is kept) and the source (where it is read). The lookups return
integer positions: no gradient.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import no_grad_result, not_replayable
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import selection as _sel
from glassnet.ops._scatter import scatter_into as _scatter_into
from glassnet.ops.fill_values import zero_of
from glassnet.ops.getitem import getitem
from glassnet.ops.indexing import index_put
from glassnet.ops.shape import broadcast_to, reshape
from glassnet.tensor import Tensor

__all__ = ["bucketize", "masked_scatter", "put", "rsub", "searchsorted", "tril", "tril_indices",
           "triu", "triu_indices"]  # fmt: skip


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """``x`` with the elements of ``source`` (read in row-major order) written where the bool
    ``mask`` (broadcast with ``x``) is true: the k-th true position gets source.flatten()[k].

    dL/dx flows where the mask is false; dL/dsource to the first mask.sum() elements read.
    """
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter: source must be a tensor, got {type(source).__name__}")
    m = mask._data if isinstance(mask, Tensor) else xp_of(input._data).asarray(mask)
    if m.dtype.kind != "b":
        raise TypeError(
            f"masked_scatter: mask must be a bool tensor, got dtype {m.dtype}; use mask.bool()"
        )
    if isinstance(mask, Tensor):  # the positions depend on the mask's values
        not_replayable("masked_scatter's positions from a mask tensor")
    shape = np.broadcast_shapes(input.shape, m.shape)
    xp = xp_of(m)
    m = xp.broadcast_to(m, shape)
    coords = xp.nonzero(m) if shape else None
    n = int(coords[0].shape[0]) if shape else int(bool(m))
    if source.numel() < n:
        raise ValueError(
            f"masked_scatter: the mask has {n} true elements but source has only "
            f"{source.numel()}; source needs at least one element per true mask entry"
        )
    xb = broadcast_to(input, shape) if input.shape != shape else input
    if not shape:  # a 0-d mask: one position, or none
        part = reshape(getitem(reshape(source, (-1,)), slice(0, 1)), ())
        return _sel.where(Tensor._make(m, False), part, xb) if n else _el.clone(xb)
    part = getitem(reshape(source, (-1,)), slice(0, n))
    written = _scatter_into(part, shape=shape, index=coords)
    out = _sel.where(Tensor._make(m, False), written, xb)
    return out if out.dtype == input.dtype else out.astype(input.dtype)


def put(input: Tensor, index, source: Tensor, accumulate: bool = False) -> Tensor:
    """``x`` with ``source`` written at the flat positions ``index`` (x seen as 1-D; negative
    positions count from the end), or added to them with ``accumulate=True``."""
    idx = index._data if isinstance(index, Tensor) else xp_of(input._data).asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"put: index must hold integers, got dtype {idx.dtype}")
    src = source if isinstance(source, Tensor) else Tensor._make(
        xp_of(input._data).asarray(source, dtype=input.dtype), False)  # fmt: skip
    if src.numel() != idx.size:
        raise ValueError(
            f"put: source has {src.numel()} elements but index has {idx.size}; give one value "
            "per index"
        )
    flat = index_put(reshape(input, (-1,)), (idx.reshape(-1),), reshape(src, (-1,)), accumulate)
    return reshape(flat, input.shape)


def rsub(input, other, *, alpha=1) -> Tensor:
    """``torch.rsub``: other - alpha * x (subtraction with the operands reversed)."""
    return _el.sub(other, input, alpha=alpha)


def _search(seq, values, side, sorter, dtype):
    xp = xp_of(seq)
    if sorter is not None:  # positions in the sorted order, as NumPy's and PyTorch's sorter=
        seq = xp.take_along_axis(seq, sorter, axis=-1)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=side)
    else:  # one sorted row per leading index (NumPy's searchsorted is 1-D)
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(rows.shape[0], -1)
        out = xp.stack([xp.searchsorted(r, v, side=side) for r, v in zip(rows, vals)])
        out = out.reshape(values.shape)
    return xp.asarray(out).astype(dtype)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter=None) -> Tensor:  # fmt: skip
    """Where ``values`` would go in the sorted last dim of ``sorted_sequence`` to keep it
    sorted: the first i with seq[i] >= v (``right``/``side="right"``: seq[i] > v).

    A 1-D sequence serves all values; an N-D one holds one sorted row per leading index, and
    ``values`` has the same leading dims. ``sorter``: the indices that sort an unsorted
    sequence (as from argsort). int64 positions (int32 with ``out_int32``), no gradient.
    """
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' and right=True contradict each other")
    side = side or ("right" if right else "left")
    seq = sorted_sequence
    xp = xp_of(seq._data)
    vals = input if isinstance(input, Tensor) else Tensor._make(xp.asarray(input), False)
    if seq.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least 1 dim, got a 0-d one")
    if seq.ndim > 1 and vals.shape[:-1] != seq.shape[:-1]:
        raise ValueError(
            f"searchsorted: values of shape {vals.shape} must have the leading dims of "
            f"sorted_sequence {seq.shape} (all but the last), or use a 1-D sequence"
        )
    order = None
    if sorter is not None:
        order = sorter._data if isinstance(sorter, Tensor) else xp.asarray(sorter)
        if order.shape != seq.shape or order.dtype.kind not in "iu":
            raise ValueError(
                f"searchsorted: sorter must be integer indices of the sequence's shape "
                f"{seq.shape}, got {order.dtype} {order.shape}"
            )
    dtype = np.int32 if out_int32 else np.int64
    return no_grad_result(_search, seq, vals, side=side, sorter=order, dtype=dtype)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False):  # noqa: A002
    """The bucket of each element of ``input`` among the sorted 1-D ``boundaries``:
    i with boundaries[i-1] < x <= boundaries[i] (``right=True``: boundaries[i-1] <= x <
    boundaries[i]). ``searchsorted(boundaries, input, right=right)``; no gradient."""
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D, got shape {boundaries.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _triangle_indices(op, row, col, offset, dtype, device, lower):
    for name, v in (("row", row), ("col", col)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{op}: {name} must be a non-negative int, got {v!r}")
    make = np.tril_indices if lower else np.triu_indices
    rows, cols = make(int(row), k=int(offset), m=int(col))
    data = np.stack([rows, cols]).astype(np.int64).reshape(2, -1)
    return Tensor(data, dtype=dtype, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype="int64", device=None, layout=None):
    """The (2, N) coordinates of the lower triangle (j - i <= offset) of a row x col matrix,
    row by row, as PyTorch: ``x[tuple(gn.tril_indices(3, 3))]`` reads it."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype="int64", device=None, layout=None):
    """The (2, N) coordinates of the upper triangle (j - i >= offset) of a row x col matrix,
    row by row, as PyTorch."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, False)


# -- triangles ------------------------------------------------------------------------------------
def _triangle_mask(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    if x.ndim < 2:
        op = "tril" if lower else "triu"
        raise ValueError(f"{op}: needs at least 2 dims (a matrix), got shape {x.shape}")
    xp = xp_of(x._data)
    r = xp.arange(x.shape[-2])[:, None]
    c = xp.arange(x.shape[-1])[None, :]
    return Tensor._make(c - r <= diagonal if lower else c - r >= diagonal, False)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (j - i <= diagonal), zeros above."""
    return _sel.where(_triangle_mask(input, diagonal, True), input, zero_of(input))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (j - i >= diagonal), zeros below."""
    return _sel.where(_triangle_mask(input, diagonal, False), input, zero_of(input))
