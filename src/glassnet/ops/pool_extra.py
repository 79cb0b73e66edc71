"""Pooling by PyTorch's full signatures: max/avg pooling in 1, 2 and 3 dims with dilation,
ceil_mode, return_indices, count_include_pad and divisor_override; adaptive max pooling;
adaptive_avg_pool1d; max_unpool1d/2d; unbatched input. Composed from differentiable ops.

Windows are gathered with index arrays from the input padded with -inf (max) or 0 (avg);
a max picks its element with ``take_along_axis`` at the window's argmax (the first maximum),
so the gradient goes to that one element, as PyTorch routes it.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import LinearMap, not_replayable
from glassnet.backend import is_debug, xp_of
from glassnet.ops import pool as _pool
from glassnet.ops import reduction as _red
from glassnet.ops._segment import scatter_add
from glassnet.ops.conv_extra import _tuple, on_empty_batch
from glassnet.ops.conv_extra import _unbatched as _batched
from glassnet.ops.getitem import getitem, take_along_axis
from glassnet.ops.shape import pad as _pad_widths
from glassnet.ops.shape import permute, reshape
from glassnet.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
]


def _out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:  # the last window must start inside the input
        out -= 1
    return out


def _params(op, x, nd, kernel_size, stride, padding, dilation):
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = _tuple(stride if stride not in (None, ()) else k, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    d = _tuple(dilation, nd, "dilation", op)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    return k, s, p, d


def _gather_windows(x, k, s, p, d, outs, fill):
    """(N, C, *S) -> (N, C, *outs, K) windows (K = prod k) of x padded with ``fill``, and
    each window entry's flat position in the unpadded input (-1 in the padding)."""
    nd = len(k)
    extra = [max((o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi), 0)
             for o, si, di, ki, n, pi in zip(outs, s, d, k, x.shape[2:], p)]  # fmt: skip
    spatial = x.shape[2:]
    if any(p) or any(extra):
        x = _pad_widths(x, ((0, 0), (0, 0)) + tuple((pi, pi + e) for pi, e in zip(p, extra)),
                        fill)  # fmt: skip
    xp = xp_of(x._data)
    pos = None
    for dim, (o, si, di, ki) in enumerate(zip(outs, s, d, k)):
        idx = np.arange(o)[:, None] * si + np.arange(ki)[None, :] * di  # (o, k)
        axis = 2 + 2 * dim
        x = getitem(x, (slice(None),) * axis + (xp.asarray(idx),))
        src = idx - p[dim]
        ok = (src >= 0) & (src < spatial[dim])
        flat = np.where(ok, src, -(10**12))
        shape = [1] * (2 * nd)
        shape[2 * dim], shape[2 * dim + 1] = o, ki
        term = flat.reshape(shape) * math.prod(spatial[dim + 1 :])
        pos = term if pos is None else pos + term
    # (N, C, o1, k1, o2, k2, ...) -> (N, C, o1, o2, ..., k1 k2 ...)
    perm = [0, 1] + [2 + 2 * i for i in range(nd)] + [3 + 2 * i for i in range(nd)]
    win = reshape(permute(x, perm), x.shape[:2] + tuple(outs) + (-1,))
    pos = np.transpose(pos, [2 * i for i in range(nd)] + [2 * i + 1 for i in range(nd)])
    return win, pos.reshape(tuple(outs) + (-1,))


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    empty = on_empty_batch(lambda v: _max_pool(op, nd, v, kernel_size, stride, padding, dilation,
                                               ceil_mode, return_indices), x, nd)  # fmt: skip
    if empty is not None:
        return empty
    x, unbatched = _batched(op, x, nd)
    k, s, p, d = _params(op, x, nd, kernel_size, stride, padding, dilation)
    outs = tuple(_out_size(n, ki, si, pi, di, ceil_mode)
                 for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))  # fmt: skip
    if any(o < 1 for o in outs):
        raise ValueError(f"{op}: the kernel does not fit the input of shape {x.shape}")
    win, pos = _gather_windows(x, k, s, p, d, outs, -np.inf)
    return _window_max(win, pos, unbatched, return_indices)


def _window_max(win, pos, unbatched: bool, return_indices: bool):
    """The first maximum over the last axis of ``win`` (N, C, *out, window) and, with
    ``return_indices``, its flat input position from ``pos`` (*out, window)."""
    not_replayable("max pooling's window positions")  # computed here from the values
    xp = xp_of(win._data)
    data = win._data
    # the first maximum (nan propagates: a nan window picks its first nan, as PyTorch)
    isnan = data != data
    arg = xp.where(isnan.any(-1), isnan.argmax(-1), data.argmax(-1))[..., None]
    y = take_along_axis(win, arg, win.ndim - 1)
    y = reshape(y, y.shape[:-1])
    if unbatched:
        y = reshape(y, y.shape[1:])
    if not return_indices:
        return y
    flat = xp.broadcast_to(xp.asarray(pos)[(None, None, Ellipsis)], data.shape)
    idx = xp.take_along_axis(flat, arg, -1)[..., 0].astype(np.int64)
    return y, Tensor._make(idx[0] if unbatched else idx, False)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """y[n, c, i] = max_t x_pad[n, c, i s + t d] (padding -inf); dL/dx to each window's argmax."""
    return _max_pool("max_pool1d", 1, x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)  # fmt: skip


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """2-D max pooling with PyTorch's full signature; the plain case runs ``ops.pool``'s
    direct kernel. ``return_indices`` gives flat indices into each H x W plane."""
    plain = dilation in (1, (1, 1)) and not ceil_mode and not return_indices and x.ndim == 4
    if plain:
        return _pool.max_pool2d(x, kernel_size, stride, padding)
    return _max_pool("max_pool2d", 2, x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)  # fmt: skip


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """3-D max pooling of (N, C, D, H, W) or unbatched input."""
    return _max_pool("max_pool3d", 3, x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)  # fmt: skip


def _avg_pool(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
    def pool(v):
        return _avg_pool(op, nd, v, kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor)  # fmt: skip

    empty = on_empty_batch(pool, x, nd)
    if empty is not None:
        return empty
    x, unbatched = _batched(op, x, nd)
    k, s, p, d = _params(op, x, nd, kernel_size, stride, padding, 1)
    outs = tuple(_out_size(n, ki, si, pi, 1, ceil_mode)
                 for n, ki, si, pi in zip(x.shape[2:], k, s, p))  # fmt: skip
    win, pos = _gather_windows(x, k, s, p, d, outs, 0.0)
    total = _red.sum(win, -1)
    if divisor:
        y = total / float(divisor)
    else:
        # PyTorch's count: the window clipped to the padded input (count_include_pad), or
        # to the input itself; ceil_mode's overhang past the padding never counts
        counts = np.ones(outs)
        for dim, (o, si, ki, n, pi) in enumerate(zip(outs, s, k, x.shape[2:], p)):
            start = np.arange(o) * si - pi
            end = np.minimum(start + ki, n + pi)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            shape = [1] * nd
            shape[dim] = o
            counts = counts * (end - start).reshape(shape)
        xp = xp_of(x._data)
        y = total / Tensor._make(xp.asarray(counts.astype(x.dtype)), False)
    return reshape(y, y.shape[1:]) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """y[n, c, i] = mean of the window x_pad[n, c, i s : i s + k]."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)  # fmt: skip


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):  # fmt: skip
    """2-D average pooling with PyTorch's full signature (``divisor_override`` replaces the
    window size as divisor); the plain case runs ``ops.pool``'s direct kernel."""
    if not ceil_mode and divisor_override is None and input.ndim == 4:
        return _pool.avg_pool2d(input, kernel_size, stride, padding, count_include_pad)
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)  # fmt: skip


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):  # fmt: skip
    """3-D average pooling of (N, C, D, H, W) or unbatched input."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)  # fmt: skip


def _adaptive_max(op, nd, x, output_size, return_indices):
    x, unbatched = _batched(op, x, nd)
    outs = _tuple(output_size, nd, "output_size", op)
    outs = tuple(n if o is None else o for o, n in zip(outs, x.shape[2:]))
    xp = xp_of(x._data)
    win = x
    pos = None
    for dim, (o, n) in enumerate(zip(outs, x.shape[2:])):
        start = (np.arange(o) * n) // o
        end = -((-(np.arange(o) + 1) * n) // o)
        kmax = int((end - start).max())
        idx = start[:, None] + np.arange(kmax)[None, :]
        valid = idx < end[:, None]
        idx = np.where(valid, idx, end[:, None] - 1)  # repeat the last element: max unchanged
        win = getitem(win, (slice(None),) * (2 + 2 * dim) + (xp.asarray(idx),))
        shape = [1] * (2 * nd)
        shape[2 * dim], shape[2 * dim + 1] = o, kmax
        term = idx.reshape(shape) * math.prod(x.shape[2 + dim + 1 :])
        pos = term if pos is None else pos + term
    perm = [0, 1] + [2 + 2 * i for i in range(nd)] + [3 + 2 * i for i in range(nd)]
    win = reshape(permute(win, perm), x.shape[:2] + outs + (-1,))
    pos = np.transpose(pos, [2 * i for i in range(nd)] + [2 * i + 1 for i in range(nd)])
    pos = pos.reshape(outs + (-1,))
    return _window_max(win, pos, unbatched, return_indices)


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """Max over bins [floor(i L / out), ceil((i + 1) L / out)) of a fixed count ``output_size``."""
    return _adaptive_max("adaptive_max_pool1d", 1, x, output_size, return_indices)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max over (rows, cols) bins of a fixed output size (Ho, Wo); None keeps an input size."""
    return _adaptive_max("adaptive_max_pool2d", 2, x, output_size, return_indices)


def along(x: Tensor, axis: int, matrix) -> Tensor:
    """Apply the constant (n_out, n_in) ``matrix`` along ``axis`` of x: y = x ×_axis matrix.
    One matmul (a differentiable op), with ``axis`` moved last and back."""
    last = x.ndim - 1
    perm = list(range(x.ndim))
    perm[axis], perm[last] = last, axis
    moved = permute(x, perm) if axis != last else x
    y = moved @ Tensor._make(xp_of(x._data).asarray(matrix.T.astype(x.dtype)), False)
    return permute(y, perm) if axis != last else y


def _bins(size: int, out: int) -> np.ndarray:
    m = np.zeros((out, size))
    for i in range(out):
        lo, hi = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _adaptive_avg(op, nd, x, output_size):
    x, unbatched = _batched(op, x, nd)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    single = output_size is None or isinstance(output_size, (int, np.integer))
    outs = (output_size,) * nd if single else tuple(output_size)
    if len(outs) != nd:
        raise ValueError(f"{op}: output_size must be an int or {nd} ints, got {output_size!r}")
    outs = tuple(n if o is None else int(o) for o, n in zip(outs, x.shape[2:]))
    if min(outs) < 1:
        raise ValueError(f"{op}: output_size must be positive (or None), got {output_size!r}")
    for dim, (o, n) in enumerate(zip(outs, x.shape[2:])):
        if o != n:
            x = along(x, 2 + dim, _bins(n, o))
    return reshape(x, x.shape[1:]) if unbatched else x


def adaptive_avg_pool1d(input, output_size):
    """Mean over bins [floor(i L / out), ceil((i + 1) L / out)) of (N, C, L) or (C, L)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """y[n, c, i, j, k] = mean of x over the bins of D, H and W, each
    [floor(i D / Do), ceil((i + 1) D / Do)): separable, so three averaging-matrix products
    (dL/dx applies their transposes). (N, C, D, H, W) or unbatched; None keeps a size."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _max_unpool(op, nd, x, indices, kernel_size, stride, padding, output_size):
    x, unbatched = _batched(op, x, nd)
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if unbatched:
        idx = idx[None]
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = _tuple(stride if stride is not None else k, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    if output_size is None:
        sizes = tuple((n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(x.shape[2:], s, p, k))
    else:
        sizes = tuple(output_size)[-nd:]
    n, c = x.shape[:2]
    plane = math.prod(sizes)
    # the range check reads the indices: on a device only in debug mode (a host sync)
    in_range = not (idx.size and is_debug(idx)) or (idx.min() >= 0 and idx.max() < plane)
    if idx.shape != x.shape or not in_range:
        raise ValueError(f"{op}: indices must match the input's shape and lie in 0..{plane - 1}")
    xp = xp_of(x._data)
    not_replayable(f"{op}'s write positions")  # read from the indices' values
    index = xp.asarray(idx).reshape(n * c, -1)
    rows = xp.broadcast_to(xp.arange(n * c)[:, None], index.shape)
    keep = _last_writer(xp, rows * plane + index).astype(x.dtype)
    # y[r, index[r, i]] = x[r, i] written once per position: the linear map x -> keep * x
    # scattered (no repeats left among the kept) and its adjoint gather * keep
    out = LinearMap.apply(
        reshape(x, (n * c, -1)),
        f=lambda v: scatter_add(xp, v * keep, (n * c, plane), (rows, index)),
        f_adjoint=lambda g: g[rows, index] * keep,
    )
    out = reshape(out, (n, c) + sizes)
    return reshape(out, out.shape[1:]) if unbatched else out


def _last_writer(xp, keys):
    """1 where ``keys`` (2-D) holds the last occurrence of its value, else 0.

    Overlapping pooling windows give one input position to several outputs; PyTorch's unpool
    writes that position once (the values agree), where a scatter-add would sum them. The
    gradient then goes to the one kept entry: the derivative of the written value (PyTorch's
    backward gathers the output gradient into every duplicate)."""
    flat = keys.reshape(-1)
    _, first_of_reversed = xp.unique(flat[::-1], return_index=True)
    keep = xp.zeros(flat.shape, dtype=bool)
    keep[flat.size - 1 - first_of_reversed] = True
    return keep.reshape(keys.shape)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: each value back at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d(return_indices=True): values back at their flat
    H x W indices, zeros elsewhere; the gradient gathers at the same indices."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)
