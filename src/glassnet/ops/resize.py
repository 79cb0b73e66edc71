"""Padding, resizing and patch ops by PyTorch's names: F.pad (constant, reflect, replicate,
circular), interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear),
pixel_shuffle/pixel_unshuffle, F.unfold/F.fold.

All gather with index arrays (the gradient scatter-adds back) or scatter-add into zeros
(the gradient gathers), mixed with constant weights: derivatives of any order come free.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import xp_of
from glassnet.ops._scatter import scatter_into as _scatter_into
from glassnet.ops.elementwise import clone
from glassnet.ops.getitem import getitem
from glassnet.ops.pool_extra import adaptive_avg_pool1d, adaptive_avg_pool3d, along
from glassnet.ops.shape import pad as _pad_widths
from glassnet.ops.shape import permute, reshape
from glassnet.tensor import Tensor

__all__ = [
    "fold",
    "interpolate",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "upsample",
]


def _const(data) -> Tensor:
    return Tensor._make(data, False)


def _gather(x: Tensor, axis: int, idx) -> Tensor:
    return getitem(x, (slice(None),) * axis + (xp_of(x._data).asarray(idx),))


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:  # noqa: A002
    """Pad the last len(pad) / 2 dims; ``pad`` = (left, right) of the last dim first, then
    of the one before, ... (PyTorch). Negative widths crop (constant mode).

    Modes: "constant" (``value``, default 0), "reflect" (mirror without repeating the edge),
    "replicate" (repeat the edge), "circular" (wrap around).
    """
    x = input
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: got {len(pad)} widths for a tensor of shape {x.shape}; give an even number, "
            f"(left, right) for up to {x.ndim} trailing dims, the last dim first"
        )
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]  # last dim first
    if mode == "constant":
        widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
        return _pad_widths(x, widths, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value not in (None, 0):
        raise ValueError(f"pad: value is only for mode 'constant', got {value!r} with {mode!r}")
    for k, (lo, hi) in enumerate(pairs):
        axis = x.ndim - 1 - k
        n = x.shape[axis]
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative widths, got {(lo, hi)}")
        if (lo or hi) and n == 0:
            raise ValueError(f"pad: cannot {mode}-pad dim {axis}, which is empty")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(
                f"pad: reflect widths {(lo, hi)} must be smaller than dim {axis}'s size {n}"
            )
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(
                f"pad: circular widths {(lo, hi)} must not exceed dim {axis}'s size {n}"
            )
        i = np.arange(-lo, n + hi)
        if mode == "reflect":
            i = np.abs(i)
            i = np.where(i >= n, 2 * (n - 1) - i, i)
        elif mode == "replicate":
            i = np.clip(i, 0, n - 1)
        else:
            i = i % n
        if lo or hi:
            x = _gather(x, axis, i)
    return clone(x) if x is input else x  # zero widths: still a new tensor, as PyTorch


# -- interpolate ----------------------------------------------------------------------------------
def _out_sizes(op, x, size, scale_factor):
    nd = x.ndim - 2
    if nd < 1:
        raise ValueError(f"{op}: input must be (N, C, d1, ...) with spatial dims, got {x.shape}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        scales = [None] * nd
    else:
        scales = ((scale_factor,) * nd if isinstance(scale_factor, (int, float))
                  else tuple(scale_factor))  # fmt: skip
        sizes = tuple(int(math.floor(n * s)) for n, s in zip(x.shape[2:], scales))
    if len(sizes) != nd or len(scales) != nd:
        raise ValueError(f"{op}: size/scale_factor must give {nd} values for input {x.shape}")
    return [int(s) for s in sizes], scales


def _scale(n_in, n_out, scale, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None else n_in / n_out


def _linear_axis(x, axis, n_out, scale, align_corners):
    n_in = x.shape[axis]
    s = _scale(n_in, n_out, scale, align_corners)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * s if align_corners else np.maximum((dst + 0.5) * s - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    t = (src - lo).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = n_out
    xp = xp_of(x._data)
    w = _const(xp.asarray(t.reshape(shape)))
    return _gather(x, axis, lo) * (1.0 - w) + _gather(x, axis, hi) * w


def _cubic_weights(t, a=-0.75):
    # Keys' cubic convolution kernel with a = -0.75 (PyTorch's bicubic), taps at -1, 0, 1, 2
    def near(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_axis(x, axis, n_out, scale, align_corners):
    n_in = x.shape[axis]
    s = _scale(n_in, n_out, scale, align_corners)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * s if align_corners else (dst + 0.5) * s - 0.5  # no clamp, as PyTorch
    base = np.floor(src).astype(np.int64)
    t = src - base
    shape = [1] * x.ndim
    shape[axis] = n_out
    xp = xp_of(x._data)
    out = None
    for k, w in zip(range(-1, 3), _cubic_weights(t)):
        term = _gather(x, axis, np.clip(base + k, 0, n_in - 1))
        term = term * _const(xp.asarray(w.astype(x.dtype).reshape(shape)))
        out = term if out is None else out + term
    return out


def _aa_filter(x, cubic):
    # PyTorch's antialias filters: the triangle (bilinear), Keys' cubic with a = -0.5 (bicubic,
    # PIL's choice; bicubic without antialias uses a = -0.75)
    x = np.abs(x)
    if not cubic:
        return np.maximum(1.0 - x, 0.0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _aa_matrix(n_in, n_out, scale, align_corners, cubic):
    """The (n_out, n_in) weights of PyTorch's antialiased resampling along one dim: output i
    averages the inputs within ``support`` of center = s (i + 0.5), weighted by the filter
    stretched by s when downsampling (s > 1), normalized to sum 1."""
    s = _scale(n_in, n_out, scale, align_corners)
    support = (2.0 if cubic else 1.0) * (s if s >= 1.0 else 1.0)
    inv = 1.0 / s if s >= 1.0 else 1.0
    taps = int(math.ceil(support)) * 2 + 1
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = s * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)  # C++ truncation, as PyTorch
        size = min(max(min(int(center + support + 0.5), n_in) - lo, 0), taps)
        w = _aa_filter((np.arange(lo, lo + size) - center + 0.5) * inv, cubic)
        total = w.sum()
        m[i, lo : lo + size] = w / total if total != 0 else w
    return m


def interpolate(
    input: Tensor,  # noqa: A002
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, d1, ...) to ``size`` or by ``scale_factor``.

    nearest: y[i] = x[floor(i s)]; nearest-exact: x[floor((i + 0.5) s)]; linear/bilinear/
    trilinear: (1 - t) x[lo] + t x[lo + 1] at src = (i + 0.5) s - 0.5 (clamped at 0), or
    src = i (n_in - 1) / (n_out - 1) with ``align_corners``; bicubic: Keys' kernel (a = -0.75).
    s = 1 / scale_factor when given (unless ``recompute_scale_factor``), else n_in / n_out.
    area: adaptive average pooling to ``size`` (1, 2 or 3 spatial dims).

    ``antialias=True`` (bilinear, bicubic; PyTorch's separable filter, as PIL): output i is
    sum_j w_ij x_j / sum_j w_ij over the inputs j within ``support`` of center = s (i + 0.5),
    w_ij = f((j + 0.5 - center) / max(s, 1)), f the triangle (bilinear) or Keys' cubic with
    a = -0.5 (bicubic), support = (1 or 2) max(s, 1): when downsampling the filter widens with
    the scale, so every input pixel contributes (no aliasing). Width first, then height; the
    gradient applies the transposed weights.
    """
    x = input
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
    if mode not in modes:
        raise ValueError(f"interpolate: mode must be one of {modes}, got {mode!r}")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(
            f"interpolate: antialias=True is for modes 'bilinear' and 'bicubic' (as PyTorch), "
            f"got mode {mode!r}"
        )
    linear = mode in ("linear", "bilinear", "bicubic", "trilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"interpolate: align_corners only applies to linear modes, not {mode!r}")
    wanted = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode)
    if wanted is not None and x.ndim - 2 != wanted:
        raise ValueError(
            f"interpolate: mode {mode!r} needs {wanted} spatial dims, got input shape {x.shape}"
        )
    sizes, scales = _out_sizes("interpolate", x, size, scale_factor)
    if recompute_scale_factor:
        scales = [None] * len(sizes)
    if mode == "area":
        if len(sizes) == 2:
            from glassnet.ops.pool import adaptive_avg_pool2d

            return adaptive_avg_pool2d(x, tuple(sizes))
        if len(sizes) == 1:
            return adaptive_avg_pool1d(x, sizes[0])
        if len(sizes) == 3:
            return adaptive_avg_pool3d(x, tuple(sizes))
        raise ValueError(f"interpolate: mode 'area' takes 1 to 3 spatial dims, got {x.shape}")
    if antialias:
        for k in reversed(range(len(sizes))):  # the last dim first, as PyTorch
            n_in = x.shape[2 + k]
            if sizes[k] != n_in:
                weights = _aa_matrix(n_in, sizes[k], scales[k], bool(align_corners),
                                     mode == "bicubic")  # fmt: skip
                x = along(x, 2 + k, weights)
        return clone(x) if x is input else x
    for k, (n_out, sc) in enumerate(zip(sizes, scales)):
        axis = 2 + k
        n_in = x.shape[axis]
        if n_out == n_in and sc in (None, 1, 1.0) and not align_corners:
            continue
        if mode in ("nearest", "nearest-exact"):
            s = _scale(n_in, n_out, sc, False)
            dst = np.arange(n_out, dtype=np.float64)
            src = np.floor((dst + (0.5 if mode == "nearest-exact" else 0.0)) * s)
            x = _gather(x, axis, np.minimum(src.astype(np.int64), n_in - 1))
        elif mode == "bicubic":
            x = _cubic_axis(x, axis, n_out, sc, bool(align_corners))
        else:
            x = _linear_axis(x, axis, n_out, sc, bool(align_corners))
    return clone(x) if x is input else x  # the same size: a copy, as PyTorch


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """Deprecated PyTorch alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- pixel shuffle --------------------------------------------------------------------------------
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel blocks become r x r pixel blocks."""
    r = int(upscale_factor)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: input must be (*, C*r^2, H, W) with r={r}, got shape {input.shape}"
        )
    *lead, c, h, w = input.shape
    y = reshape(input, (*lead, c // (r * r), r, r, h, w))
    n = len(lead)
    y = permute(y, list(range(n)) + [n, n + 3, n + 1, n + 4, n + 2])
    return reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.ndim < 3 or input.shape[-1] % r or input.shape[-2] % r:
        raise ValueError(
            f"pixel_unshuffle: H and W of input {input.shape} must be multiples of r={r}"
        )
    *lead, c, hr, wr = input.shape
    y = reshape(input, (*lead, c, hr // r, r, wr // r, r))
    n = len(lead)
    y = permute(y, list(range(n)) + [n, n + 2, n + 4, n + 1, n + 3])
    return reshape(y, (*lead, c * r * r, hr // r, wr // r))


# -- unfold / fold (im2col / col2im) --------------------------------------------------------------
def _pair(value, what, op):
    v = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(v) != 2:
        raise ValueError(f"{op}: {what} must be an int or a pair, got {value!r}")
    return tuple(int(i) for i in v)


def _windows(n, k, d, p, s):
    count = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if count < 1:
        raise ValueError(f"unfold: kernel {k} (dilation {d}) does not fit size {n} + 2*{p}")
    return np.arange(k)[:, None] * d + np.arange(count)[None, :] * s, count


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:  # noqa: A002
    """im2col: (N, C, H, W) -> (N, C kh kw, L), each column one flattened sliding block
    (L blocks, row-major). The adjoint of :func:`fold`."""
    x = input
    if x.ndim != 4:
        raise ValueError(f"unfold: input must be (N, C, H, W), got shape {x.shape}")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (
        _pair(v, w, "unfold") for v, w in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                           (padding, "padding"), (stride, "stride"))
    )  # fmt: skip
    if ph or pw:
        x = _pad_widths(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows, oh = _windows(input.shape[2], kh, dh, ph, sh)
    cols, ow = _windows(input.shape[3], kw, dw, pw, sw)
    xp = xp_of(x._data)
    r = xp.asarray(rows[:, None, :, None])
    c = xp.asarray(cols[None, :, None, :])
    y = getitem(x, (slice(None), slice(None), r, c))  # (N, C, kh, kw, oh, ow)
    n, ch = x.shape[:2]
    return reshape(y, (n, ch * kh * kw, oh * ow))


def fold(
    input: Tensor,  # noqa: A002
    output_size,
    kernel_size,
    dilation=1,
    padding=0,
    stride=1,
) -> Tensor:
    """col2im: (N, C kh kw, L) -> (N, C, H, W), summing overlapping blocks (unfold's adjoint)."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (
        _pair(v, m, "fold") for v, m in ((output_size, "output_size"),
                                         (kernel_size, "kernel_size"), (dilation, "dilation"),
                                         (padding, "padding"), (stride, "stride"))
    )  # fmt: skip
    if input.ndim != 3 or input.shape[1] % (kh * kw):
        raise ValueError(
            f"fold: input must be (N, C*kh*kw, L) with kh*kw={kh * kw}, got shape {input.shape}"
        )
    rows, oh = _windows(h, kh, dh, ph, sh)
    cols, ow = _windows(w, kw, dw, pw, sw)
    n, ckk, blocks = input.shape
    if blocks != oh * ow:
        raise ValueError(
            f"fold: input has {blocks} blocks but output_size {(h, w)} with this kernel, "
            f"stride, padding and dilation gives {oh} x {ow} = {oh * ow}"
        )
    c = ckk // (kh * kw)
    xp = xp_of(input._data)
    g = reshape(input, (n, c, kh, kw, oh, ow))
    index = (slice(None), slice(None), xp.asarray(rows[:, None, :, None]),
             xp.asarray(cols[None, :, None, :]))  # fmt: skip
    out = _scatter_into(g, shape=(n, c, h + 2 * ph, w + 2 * pw), index=index)
    if ph or pw:
        out = getitem(out, (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w)))
    return out
