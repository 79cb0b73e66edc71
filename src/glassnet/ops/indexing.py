"""Indexing, scattering and rearranging by PyTorch's names, composed from indexing ops.

Everything here is a gather (``x[index]``, whose gradient scatter-adds back), a scatter-add
into zeros (``IndexAdd``, whose gradient gathers), ``where`` or a reshape, so first and second
derivatives come from those ops. Index arrays are computed without a gradient.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd.function import no_grad_result, not_replayable
from glassnet.backend import is_debug, xp_of
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._scatter import scatter_into as _scatter_into
from glassnet.ops._segment import scatter_add as _scatter_sum
from glassnet.ops._util import normalize_axis
from glassnet.ops.elementwise import clone
from glassnet.ops.fill_values import check_fill_value, int_scatter_reduce, zero_of
from glassnet.ops.getitem import getitem
from glassnet.ops.shape import broadcast_to, permute, reshape
from glassnet.ops.views import diagonal as _diagonal
from glassnet.tensor import Tensor

__all__ = [
    "diag", "diag_embed", "flip", "fliplr", "flipud", "index_add", "index_copy",
    "index_fill", "index_put", "index_select", "masked_fill", "masked_select", "roll", "rot90",
    "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim",
]  # fmt: skip


def _axis(op, x, dim) -> int:
    if isinstance(dim, Tensor):
        dim = int(dim)
    axes = normalize_axis(dim, max(x.ndim, 1), op)
    return axes[0] if axes else 0


def _index_array(op: str, index, x: Tensor, bool_ok: bool = False):
    """``index`` as an int64 (or bool) array; from a tensor, a compiled step runs eagerly."""
    if isinstance(index, Tensor):  # coordinates made here would be constants of a replay
        not_replayable(f"{op}'s coordinates from an index tensor")
    data = index._data if isinstance(index, Tensor) else xp_of(x._data).asarray(index)
    if bool_ok and data.dtype.kind == "b":
        return data
    if bool_ok and data.dtype == np.uint8:  # PyTorch's legacy mask dtype: refused in writes
        raise TypeError(
            f"{op}: a uint8 index is a mask in PyTorch, which refuses it here (it needs bool "
            "masks); convert it with mask.bool()"
        )
    if data.dtype.kind not in "iu":
        kinds = "integers or bools" if bool_ok else "integers"
        raise TypeError(f"{op}: index must hold {kinds}, got dtype {data.dtype}")
    return data.astype(np.int64, copy=False)


def _const(data) -> Tensor:
    return Tensor._make(data, False)


# -- flips, rolls and diagonals ----------------------------------------------------------------
def flip(input: Tensor, *args, dims=None) -> Tensor:  # noqa: A002
    """Reverse the elements along ``dims``: an int, a tuple, or ints (``x.flip(0, 2)``).

    A new tensor, as PyTorch (NumPy's ``flip`` is a view): writing into it leaves ``x`` alone.
    """
    if dims is None:
        dims = args
    elif args:
        raise TypeError("flip: give dims either positionally or as dims=, not both")
    else:
        dims = (dims,)
    if not dims:
        raise TypeError("flip: give the dims to reverse, e.g. x.flip(0) or flip(x, (0, 2))")
    axes = normalize_axis(dims[0] if len(dims) == 1 else dims, input.shape, "flip")
    if not axes:
        return clone(input)
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(input.ndim))
    return clone(getitem(input, index))


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (columns)."""
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (rows)."""
    return flip(input, 0)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` cyclically by ``shifts`` (the flattened tensor when
    ``dims`` is None): y[(i + s) mod n] = x[i]. A new tensor, also for a shift of 0."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            (shifts,) = shifts
        return reshape(roll(reshape(input, (-1,)), int(shifts), 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: got {len(shifts)} shifts for {len(dims)} dims; give one each")
    xp = xp_of(input._data)
    out = input
    for s, d in zip(shifts, dims):
        a = _axis("roll", input, d)
        n = input.shape[a]
        if n == 0 or int(s) % n == 0:
            continue
        index = [slice(None)] * input.ndim
        index[a] = xp.asarray((np.arange(n) - int(s)) % n)
        out = getitem(out, tuple(index))
    return clone(input) if out is input else out


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees k times in the plane of ``dims`` (from the first toward the second).

    A new tensor for every k, as PyTorch (k = 0 too)."""
    a, b = (_axis("rot90", input, d) for d in dims)
    k %= 4
    if k == 0:
        return clone(input)
    if k == 2:
        return flip(input, (a, b))
    perm = list(range(input.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return permute(flip(input, b), perm)
    return flip(permute(input, perm), b)


def _diag_positions(xp, n_rows, n_cols, offset):
    length = builtins.max(builtins.min(n_rows, n_cols - offset) if offset >= 0
                          else builtins.min(n_rows + offset, n_cols), 0)  # fmt: skip
    rows = xp.arange(length) + builtins.max(-offset, 0)
    return rows, rows + offset


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) with the last dim of ``x`` on
    their ``offset`` diagonal, zeros elsewhere."""
    n = input.shape[-1] if input.ndim else 1
    m = n + abs(offset)
    xp = xp_of(input._data)
    rows, cols = _diag_positions(xp, m, m, offset)
    out = _scatter_into(input, shape=input.shape[:-1] + (m, m), index=(Ellipsis, rows, cols))
    nd = out.ndim
    a, b = (normalize_axis(d, nd, "diag_embed")[0] for d in (dim1, dim2))
    if (a, b) == (nd - 2, nd - 1):
        return out
    rest = iter(range(nd - 2))
    perm = [nd - 2 if i == a else nd - 1 if i == b else next(rest) for i in range(nd)]
    return permute(out, perm)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D ``x`` gives the square matrix with x on its ``diagonal``; a 2-D ``x`` gives its
    ``diagonal`` as a 1-D tensor (PyTorch's two uses)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return clone(_diagonal(input, diagonal))  # a copy, as torch.diag (diagonal() is the view)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {input.shape}")


# -- selecting ------------------------------------------------------------------------------------
def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices at ``index`` (1-D int) along ``dim``: y has len(index) there."""
    a = _axis("index_select", input, dim)
    idx = _index_array("index_select", index, input).reshape(-1)
    if input.ndim == 0:  # PyTorch: one index of the one element, and a 0-d result
        if idx.size != 1:
            raise ValueError(
                f"index_select: a 0-d tensor takes exactly one index, got {idx.size} (PyTorch "
                "raises too)"
            )
        return reshape(getitem(reshape(input, (1,)), idx), ())
    return getitem(input, (slice(None),) * a + (idx,))


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``x`` where the bool ``mask`` (broadcast with x) is true, as 1-D."""
    mask = mask._data if isinstance(mask, Tensor) else xp_of(input._data).asarray(mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    xb = broadcast_to(input, shape) if input.shape != shape else input
    return getitem(xb, xp_of(mask).broadcast_to(mask, shape))


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``x`` with ``value`` where the bool ``mask`` (broadcast to x's shape) is true."""
    mask = mask if isinstance(mask, Tensor) else _const(xp_of(input._data).asarray(mask))
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
    value = check_fill_value("masked_fill", input, value)
    out = _sel.where(mask, value, input)
    if out.shape != input.shape:
        raise ValueError(
            f"masked_fill: mask of shape {mask.shape} must broadcast to shape {input.shape}"
        )
    return out if out.dtype == input.dtype else out.astype(input.dtype)


def take(input: Tensor, index) -> Tensor:
    """Elements of the flattened ``x`` at ``index`` (any shape)."""
    return getitem(reshape(input, (-1,)), _index_array("take", index, input))


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """Gather along ``dim`` at ``indices`` (broadcast with x); flattened when dim is None."""
    from glassnet.ops.getitem import take_along_axis

    idx = _index_array("take_along_dim", indices, input)
    if dim is None:
        return take_along_axis(reshape(input, (-1,)), idx.reshape(-1), 0)
    a = _axis("take_along_dim", input, dim)
    shape = list(np.broadcast_shapes(input.shape[:a] + (1,) + input.shape[a + 1 :],
                                     idx.shape[:a] + (1,) + idx.shape[a + 1 :]))  # fmt: skip
    xb = broadcast_to(input, tuple(shape[:a] + [input.shape[a]] + shape[a + 1 :]))
    ib = xp_of(idx).broadcast_to(idx, tuple(shape[:a] + [idx.shape[a]] + shape[a + 1 :]))
    return take_along_axis(xb, ib, a)


# -- scattering -----------------------------------------------------------------------------------
def _scatter_coords(op: str, x: Tensor, dim: int, index):
    """The full coordinates (one int array per dim) that ``index`` along ``dim`` addresses."""
    idx = _index_array(op, index, x)
    a = _axis(op, x, dim)
    if idx.ndim != x.ndim:
        raise ValueError(
            f"{op}: index has {idx.ndim} dims but the input of shape {x.shape} has {x.ndim}"
        )
    for d, (i, n) in enumerate(zip(idx.shape, x.shape)):
        if d != a and i > n:
            raise ValueError(
                f"{op}: index of shape {idx.shape} is larger than the input of shape {x.shape} "
                f"in dim {d}; it may only be larger along dim {a}"
            )
    n = x.shape[a]
    if idx.size and is_debug(idx) and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{op}: index out of range for dim {a} of size {n}")
    xp = xp_of(idx)
    grid = list(np.ix_(*[np.arange(s) for s in idx.shape]))
    coords = [xp.broadcast_to(xp.asarray(g), idx.shape) for g in grid]
    coords[a] = idx % builtins.max(n, 1)
    return tuple(coords), a


def _src_part(op: str, src, shape, x: Tensor) -> Tensor:
    if not isinstance(src, Tensor):
        return _const(xp_of(x._data).full(shape, src, dtype=x.dtype))
    if src.ndim != len(shape) or any(s < i for s, i in zip(src.shape, shape)):
        raise ValueError(
            f"{op}: src of shape {src.shape} must be at least as large as the index {shape}"
        )
    if src.shape == tuple(shape):
        return src
    return getitem(src, tuple(slice(0, i) for i in shape))


def _hit(x: Tensor, coords) -> Tensor:
    hit = xp_of(x._data).zeros(x.shape, dtype=bool)
    hit[coords] = True
    return _const(hit)


def _last_writes(x: Tensor, coords):
    """Flat positions into ``coords`` of the last write to each target (duplicates: the last
    one wins, as NumPy's assignment; PyTorch leaves it unspecified)."""
    xp = xp_of(coords[0])
    flat = xp.ravel_multi_index(tuple(c.reshape(-1) for c in coords), x.shape)
    rev = flat[::-1]
    _, first_in_rev = xp.unique(rev, return_index=True)  # on the array's device
    return flat.size - 1 - first_in_rev


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """y = x, then y[..., index[i, j], ...] += src[i, j] along ``dim`` (repeats add up)."""
    coords, _ = _scatter_coords("scatter_add", input, dim, index)
    part = _src_part("scatter_add", src, coords[0].shape, input)
    return input + _scatter_into(part, shape=input.shape, index=coords)


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """y = x, then y[..., index[i, j], ...] = src[i, j] (or ``value``) along ``dim``.

    ``reduce="add"``/``"multiply"`` accumulate instead (PyTorch's older spelling of
    scatter_reduce). A target written twice takes the last write.
    """
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    src = value if src is None else src
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        coords, _ = _scatter_coords("scatter", input, dim, index)
        return scatter_reduce(input, dim, index, _src_part("scatter", src, coords[0].shape, input),
                              modes[reduce])  # fmt: skip
    coords, _ = _scatter_coords("scatter", input, dim, index)
    hit = _hit(input, coords)
    if not isinstance(src, Tensor):
        return (
            _sel.where(hit, float(src), input)
            if input.dtype.kind == "f"
            else _sel.where(hit, src, input)
        )
    keep = _last_writes(input, coords)
    part = reshape(_src_part("scatter", src, coords[0].shape, input), (-1,))
    chosen = tuple(c.reshape(-1)[keep] for c in coords)
    written = _scatter_into(getitem(part, keep), shape=input.shape, index=chosen)
    return _sel.where(hit, written, input)


def _straight_through(value, surrogate: Tensor) -> Tensor:
    """``value`` exactly, with the gradient of ``surrogate`` (value + s - detach(s))."""
    return _const(value) + (surrogate - surrogate.detach())


def scatter_reduce(
    input: Tensor, dim: int, index, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """Reduce the ``src`` values scattered to each target along ``dim`` with ``reduce`` in
    "sum", "prod", "mean", "amax", "amin" (with x's own value when ``include_self``).

    Gradients as PyTorch: sum/mean spread evenly; amax/amin go to the elements equal to the
    result, split evenly among ties; prod: the product of the other factors (to any order).
    """
    modes = ("sum", "prod", "mean", "amax", "amin")
    if reduce not in modes:
        raise ValueError(f"scatter_reduce: reduce must be one of {modes}, got {reduce!r}")
    coords, _ = _scatter_coords("scatter_reduce", input, dim, index)
    part = _src_part("scatter_reduce", src, coords[0].shape, input)
    xp = xp_of(input._data)
    hit = _hit(input, coords)
    base = input if include_self else _sel.where(hit, zero_of(input), input)
    if reduce in ("sum", "mean"):
        total = base + _scatter_into(part, shape=input.shape, index=coords)
        if reduce == "sum":
            return total
        ones = xp.ones(coords[0].shape, dtype=input.dtype)
        count = _scatter_sum(xp, ones, input.shape, coords) + (1 if include_self else 0)
        count = _const(xp.maximum(count, 1))
        # an integer mean rounds down, as PyTorch (true division would make it float)
        mean = total / count if input.dtype.kind in "fc" else total // count
        return _sel.where(hit, mean, input)
    pd = part._data
    if input.dtype.kind not in "fc":  # no gradient to route: the reduction in x's own dtype
        return no_grad_result(int_scatter_reduce, input, part, coords=coords, reduce=reduce,
                              include_self=include_self, hit=hit._data)  # fmt: skip
    if reduce == "prod":
        return _scatter_prod(input, coords, part, hit, include_self)
    pick = xp.maximum if reduce == "amax" else xp.minimum
    fill = -np.inf if reduce == "amax" else np.inf
    result = (
        input._data.copy()
        if include_self
        else xp.where(hit._data, fill, input._data).astype(input.dtype)
    )
    pick.at(result, coords, pd)
    # PyTorch's split: among the sources equal to the result and x's own entry when it equals
    # the result, counted even when include_self=False (then x's share is dropped)
    ties_src = (pd == result[coords]).astype(input.dtype)
    ties_x = ((input._data == result) & hit._data).astype(input.dtype)
    count = ties_x + _scatter_sum(xp, ties_src, input.shape, coords)
    w_src = ties_src / count[coords]
    w_x = ties_x / xp.maximum(count, 1) if include_self else 0 * ties_x
    sur = _scatter_into(part * _const(w_src), shape=input.shape, index=coords) + input * _const(w_x)
    return _sel.where(hit, _straight_through(result, sur), input)


def _scatter_prod(x: Tensor, coords, part: Tensor, hit: Tensor, include_self: bool) -> Tensor:
    """The scatter product as ``prod`` over a padded table: row t holds the factors of target t
    (x's own value last when ``include_self``), padded with ones.

    y_t = prod_k F[t, k], so dy_t/dF[t, k] = prod_{j != k} F[t, j] (the product of the other
    factors: result / factor where that factor is nonzero; with exactly one zero, the product
    of the rest for the zero and 0 for the others; with two or more zeros, 0), as PyTorch.
    Built from gathers, scatter-adds and ``prod``, it is differentiable to any order.
    """
    xp = xp_of(x._data)
    m = coords[0].size
    if m == 0:
        return clone(x)
    target = xp.ravel_multi_index(tuple(c.reshape(-1) for c in coords), x.shape)
    order = xp.argsort(target, kind="stable")
    sorted_t = target[order]
    targets, start, counts = xp.unique(sorted_t, return_index=True, return_counts=True)
    rank = xp.empty(m, dtype=np.int64)
    row = xp.searchsorted(targets, target)
    rank[order] = xp.arange(m, dtype=np.int64) - start[row[order]]
    n_rows = targets.shape[0]
    width = int(counts.max()) + (1 if include_self else 0)  # one sync: the table's width
    factors = reshape(part, (-1,)) - 1.0  # scatter (f - 1) into zeros, then + 1: pads are 1
    table = _scatter_into(factors, shape=(n_rows, width), index=(row, rank))
    if include_self:
        own = getitem(reshape(x, (-1,)), targets) - 1.0
        last = xp.full(n_rows, width - 1, dtype=np.int64)
        table = table + _scatter_into(own, shape=(n_rows, width), index=(xp.arange(n_rows), last))
    products = _red.prod(table + 1.0, 1)
    flat = _scatter_into(products, shape=(x._data.size,), index=(targets,))
    return _sel.where(hit, reshape(flat, x.shape), x)


def _along(op: str, x: Tensor, dim: int, index):
    a = _axis(op, x, dim)
    idx = _index_array(op, index, x).reshape(-1)
    n = x.shape[a] if x.ndim else 1
    if idx.size and is_debug(idx) and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{op}: index out of range for dim {a} of size {n}")
    return a, idx % builtins.max(n, 1)


def _source_shape(op, x, a, idx, source):
    want = x.shape[:a] + (idx.size,) + x.shape[a + 1 :]
    if source.shape != want:
        raise ValueError(
            f"{op}: source of shape {source.shape} must have shape {want} (the input's, with "
            f"dim {a} the length of index)"
        )


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha: float = 1) -> Tensor:
    """y = x, then y[..., index[i], ...] += alpha source[..., i, ...] along ``dim``."""
    a, idx = _along("index_add", input, dim, index)
    _source_shape("index_add", input, a, idx, source)
    scaled = source if alpha == 1 else source * alpha
    return input + _scatter_into(scaled, shape=input.shape, index=(slice(None),) * a + (idx,))


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """y = x, then y[..., index[i], ...] = source[..., i, ...] along ``dim`` (last write wins)."""
    a, idx = _along("index_copy", input, dim, index)
    _source_shape("index_copy", input, a, idx, source)
    xp = xp_of(idx)
    _, first_in_rev = xp.unique(idx[::-1], return_index=True)  # on the array's device
    keep = xp.sort(idx.size - 1 - first_in_rev)
    lead = (slice(None),) * a
    chosen = getitem(source, lead + (keep,))
    written = _scatter_into(chosen, shape=input.shape, index=lead + (idx[keep],))
    hit = xp_of(input._data).zeros(input.shape, dtype=bool)
    hit[lead + (idx,)] = True
    return _sel.where(_const(hit), written, input)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """y = x with ``value`` in the slices at ``index`` along ``dim``."""
    a, idx = _along("index_fill", input, dim, index)
    value = check_fill_value("index_fill", input, value)
    hit = xp_of(input._data).zeros(input.shape, dtype=bool)
    hit[(slice(None),) * a + (idx,)] = True
    out = _sel.where(_const(hit), value, input)
    return out if out.dtype == input.dtype else out.astype(input.dtype)


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """y = x with ``values`` (broadcast to the shape of ``x[indices]``) put at ``indices``, a
    tuple of integer or bool index tensors, one per leading dim (PyTorch's index_put).

    ``accumulate=True`` adds them, repeated targets summing (deterministically on devices,
    see glassnet.use_deterministic_algorithms); False writes them, a target written twice
    taking the last write (NumPy's assignment; PyTorch leaves it unspecified).
    """
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put: indices must be a tuple of index tensors (one per leading dim), got "
            f"{type(indices).__name__}; wrap a single one: (index,)"
        )
    xp = xp_of(input._data)
    idx = tuple(_index_array("index_put", i, input, bool_ok=True) for i in indices)
    flat = xp.arange(input._data.size).reshape(input.shape)[idx]  # the flat target of each value
    part = values if isinstance(values, Tensor) else _const(xp.asarray(values, dtype=input.dtype))
    part = broadcast_to(part, flat.shape) if part.shape != flat.shape else part
    if accumulate:
        return input + _scatter_into(part, shape=input.shape, index=idx)
    flat = flat.reshape(-1)
    _, first_in_rev = xp.unique(flat[::-1], return_index=True)  # on the array's device
    keep = flat.size - 1 - first_in_rev
    chosen = getitem(reshape(part, (-1,)), keep)
    written = reshape(
        _scatter_into(chosen, shape=(input._data.size,), index=(flat[keep],)), input.shape
    )
    hit = xp.zeros(input.shape, dtype=bool)
    hit[idx] = True
    return _sel.where(_const(hit), written, input)
