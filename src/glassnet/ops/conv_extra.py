"""Convolutions beyond conv1d/conv2d: conv3d (any N-d), conv_transpose1d/2d/3d, and conv on
unbatched input, composed from differentiable ops.

The N-d convolution gathers every window with index arrays (im2col: the gradient scatter-adds
back) and multiplies by the weight matrix; the transposed convolution is the adjoint of a
convolution: spread the input ``stride`` apart (a scatter into zeros), pad by
dilation (k - 1) - padding, and convolve with the flipped, in/out-swapped kernel.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import xp_of
from glassnet.ops import conv as _conv
from glassnet.ops._scatter import scatter_into
from glassnet.ops.getitem import getitem
from glassnet.ops.linalg import matmul
from glassnet.ops.shape import concat, permute, reshape, unsqueeze
from glassnet.ops.shape import pad as _pad_widths
from glassnet.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]  # fmt: skip


def _tuple(value, nd: int, what: str, op: str) -> tuple:
    v = (value,) * nd if isinstance(value, (int, np.integer)) else tuple(value)
    if len(v) != nd or any(not isinstance(i, (int, np.integer)) for i in v):
        raise ValueError(f"{op}: {what} must be an int or {nd} ints, got {value!r}")
    return tuple(int(i) for i in v)


def _unbatched(op: str, x: Tensor, nd: int):
    if x.ndim == nd + 1:
        return unsqueeze(x, 0), True
    if x.ndim != nd + 2:
        raise ValueError(
            f"{op}: input must be (N, C, {nd} spatial dims) or unbatched (C, {nd} dims), got "
            f"shape {x.shape}"
        )
    return x, False


def _windows(x: Tensor, k, stride, dilation) -> tuple[Tensor, tuple]:
    """x (N, C, *S) -> (N, C, k1, o1, k2, o2, ...): every window, gathered dim by dim."""
    xp = xp_of(x._data)
    outs = []
    for d, (n, kd, s, dl) in enumerate(zip(x.shape[2:], k, stride, dilation)):
        o = (n - dl * (kd - 1) - 1) // s + 1
        if o < 1:
            raise ValueError(f"conv: kernel {kd} (dilation {dl}) does not fit input size {n}")
        idx = np.arange(kd)[:, None] * dl + np.arange(o)[None, :] * s
        axis = 2 + 2 * d
        x = getitem(x, (slice(None),) * axis + (xp.asarray(idx),))
        outs.append(o)
    return x, tuple(outs)


def _conv_nd(x, weight, bias, stride, padding, dilation, groups):
    nd = x.ndim - 2
    if any(padding):
        x = _pad_widths(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
    k = weight.shape[2:]
    win, outs = _windows(x, k, stride, dilation)
    n, c = x.shape[:2]
    kk, oo = math.prod(k), math.prod(outs)
    # (N, C, k1, o1, ..., kn, on) -> (N, o1..on, C, k1..kn)
    perm = [0] + [3 + 2 * d for d in range(nd)] + [1] + [2 + 2 * d for d in range(nd)]
    cols = reshape(permute(win, perm), (n * oo, c * kk))
    cout = weight.shape[0]
    cg, og = c // groups, cout // groups
    parts = []
    for g in range(groups):
        cg_cols = (
            cols
            if groups == 1
            else getitem(cols, (slice(None), slice(g * cg * kk, (g + 1) * cg * kk)))
        )
        wg = weight if groups == 1 else getitem(weight, slice(g * og, (g + 1) * og))
        parts.append(matmul(cg_cols, reshape(wg, (og, cg * kk)).T))
    y = parts[0] if groups == 1 else concat(parts, 1)  # (N * O, Cout)
    if bias is not None:
        y = y + bias
    y = reshape(y, (n, *outs, cout))
    return permute(y, [0, nd + 1] + list(range(1, nd + 1)))


def _check(op, nd, x, weight, bias, stride, padding, dilation, groups):
    x, unbatched = _unbatched(op, x, nd)
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be (C_out, C_in / groups, {nd} kernel dims), got "
                         f"{weight.shape}")  # fmt: skip
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but weight {weight.shape} with groups="
            f"{groups} expects {weight.shape[1] * groups} (and C_out divisible by groups)"
        )
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1")
            total = [dl * (kd - 1) for dl, kd in zip(dilation, weight.shape[2:])]
            if any(t % 2 for t in total):
                x = _pad_widths(x, ((0, 0), (0, 0)) + tuple((t // 2, t - t // 2) for t in total))
                padding = 0
            else:
                padding = tuple(t // 2 for t in total)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid'")
    padding = _tuple(padding, nd, "padding", op)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{op}: bias must be ({weight.shape[0]},), got {bias.shape}")
    return x, unbatched, stride, padding, dilation


def on_empty_batch(fn, x: Tensor, nd: int, *args):
    """``fn(x, *args)`` for a batch of 0 samples (N = 0 in (N, C, *spatial)): run on one zero
    sample and keep none of the result, so its shape is PyTorch's (0, ...) and the weights get
    zero gradients; the window kernels cannot reshape an empty batch. None for other input."""
    if x.ndim != nd + 2 or x.shape[0] != 0:
        return None
    one = Tensor._make(xp_of(x._data).zeros((1, *x.shape[1:]), dtype=x.dtype), False)
    y = fn(concat([x, one]), *args)
    return tuple(t[:0] for t in y) if isinstance(y, tuple) else y[:0]


def conv3d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) of (N, C, D, H, W) or unbatched (C, D, H, W):

    y[n, o, d, h, w] = b[o] + sum_{c, i, j, k} W[o, c, i, j, k] x_pad[n, c, d s + i dl, ...]
    dL/dx scatters dL/dy back through the same windows; dL/dW = cols^T dL/dy.
    """
    empty = on_empty_batch(conv3d, input, 3, weight, bias, stride, padding, dilation, groups)
    if empty is not None:
        return empty
    input, unbatched, stride, padding, dilation = _check(
        "conv3d", 3, input, weight, bias, stride, padding, dilation, groups
    )
    y = _conv_nd(input, weight, bias, stride, padding, dilation, groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv1d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv1d that also takes unbatched (C, L) input (PyTorch); see ``ops.conv.conv1d``."""
    empty = on_empty_batch(conv1d, input, 1, weight, bias, stride, padding, dilation, groups)
    if empty is not None:
        return empty
    if input.ndim == 2:
        return reshape(_conv.conv1d(unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                                    groups), (weight.shape[0], -1))  # fmt: skip
    return _conv.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d that also takes unbatched (C, H, W) input (PyTorch); see ``ops.conv.conv2d``."""
    empty = on_empty_batch(conv2d, input, 2, weight, bias, stride, padding, dilation, groups)
    if empty is not None:
        return empty
    if input.ndim == 3:
        y = _conv.conv2d(unsqueeze(input, 0), weight, bias, stride, padding, dilation, groups)
        return reshape(y, y.shape[1:])
    return _conv.conv2d(input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, x, weight, bias, stride, padding, output_padding, groups,
                    dilation):  # fmt: skip
    x, unbatched = _unbatched(op, x, nd)
    if weight.ndim != nd + 2 or x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(
            f"{op}: weight must be (C_in, C_out / groups, {nd} kernel dims) with C_in = the "
            f"input's {x.shape[1]} channels, got {weight.shape}"
        )
    stride = _tuple(stride, nd, "stride", op)
    padding = _tuple(padding, nd, "padding", op)
    out_pad = _tuple(output_padding, nd, "output_padding", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    for op_, s, dl in zip(out_pad, stride, dilation):
        if op_ >= max(s, dl):
            raise ValueError(f"{op}: output_padding {out_pad} must be smaller than stride or "
                             "dilation")  # fmt: skip
    n, cin = x.shape[:2]
    spatial = x.shape[2:]
    # spread the input stride apart: zeros between the samples
    spread = tuple((l - 1) * s + 1 for l, s in zip(spatial, stride))
    if any(s > 1 for s in stride):
        index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
        x = scatter_into(x, (n, cin) + spread, index)
    k = weight.shape[2:]
    widths = ((0, 0), (0, 0)) + tuple(
        (dl * (kd - 1) - p, dl * (kd - 1) - p + o)
        for kd, p, o, dl in zip(k, padding, out_pad, dilation)
    )
    x = _pad_widths(x, widths)
    # per group: (C_in/g, C_out/g, k) -> (C_out/g, C_in/g, k), flipped in every spatial dim
    cg = cin // groups
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
    parts = []
    for g in range(groups):
        wg = getitem(weight, slice(g * cg, (g + 1) * cg)) if groups > 1 else weight
        parts.append(permute(getitem(wg, flip), [1, 0] + list(range(2, nd + 2))))
    w = parts[0] if groups == 1 else concat(parts, 0)
    if nd == 1:
        y = _conv.conv1d(x, w, bias, 1, 0, dilation, groups)
    elif nd == 2:
        y = _conv.conv2d(x, w, bias, 1, 0, dilation, groups)
    else:
        y = _conv_nd(x, w, bias, (1,) * nd, (0,) * nd, dilation, groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):  # fmt: skip
    """Transposed 1-D convolution ("deconvolution"), the adjoint of conv1d in x:
    L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    weight: (C_in, C_out / groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)  # fmt: skip


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):  # fmt: skip
    """Transposed 2-D convolution, the adjoint of conv2d in x (upsampling in decoders):
    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1 (W likewise).
    weight: (C_in, C_out / groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)  # fmt: skip


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):  # fmt: skip
    """Transposed 3-D convolution; weight: (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)  # fmt: skip
