"""``F.affine_grid`` and ``F.grid_sample`` (spatial transformers), PyTorch's semantics for 4-D
(N, C, H, W) and 5-D (N, C, D, H, W) input, as compositions of differentiable ops: the gradient
reaches the input (through the gathers) and the grid (through the interpolation weights).

Grid coordinates are normalized to [-1, 1] per axis (x across the width, y down the height, z
through the depth). ``align_corners=True`` maps -1 and 1 to the centres of the corner pixels,
x_pix = (g + 1) / 2 (W - 1); ``False`` maps them to the outer edges, x_pix = ((g + 1) W - 1) / 2.
Bilinear (trilinear on 5-D): v = sum over the 2^k neighbours of prod_axes (1 - |x - x_i|)
in[..., x_i]; ``padding_mode`` "zeros" takes neighbours outside as 0, "border" clamps the
coordinates to the image, "reflection" reflects them at the borders. Nearest rounds half to
even. Bicubic (4-D only, as PyTorch): the 4 x 4 neighbours weighted by the cubic convolution
kernel with a = -0.75 (Keys), the padding mode applied to each neighbour's coordinate.
"""

from __future__ import annotations

import itertools

import numpy as np

from glassnet.autograd.function import no_grad_result
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import selection as _sel
from glassnet.ops.getitem import gather
from glassnet.ops.linalg import matmul
from glassnet.ops.shape import broadcast_to, reshape
from glassnet.tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

#: The cubic convolution kernel's parameter in PyTorch's (and OpenCV's) bicubic.
CUBIC_A = -0.75


def _base(n: int, align: bool, xp, dtype):
    if align:
        return xp.linspace(-1.0, 1.0, n, dtype=dtype) if n > 1 else xp.zeros(1, dtype=dtype)
    return ((xp.arange(n, dtype=dtype) * 2 + 1) / n - 1).astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool = False) -> Tensor:
    """The sampling grid of a batch of affine maps: grid[n, h, w] = theta[n] @ (x_w, y_h, 1)
    for an output of ``size`` (N, C, H, W), theta (N, 2, 3); on 5-D sizes (N, C, D, H, W),
    grid[n, d, h, w] = theta[n] @ (x_w, y_h, z_d, 1) with theta (N, 3, 4). (x, y, z) are the
    normalized pixel centres."""
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"affine_grid: only 4-D (N, C, H, W) and 5-D (N, C, D, H, W) sizes are supported, "
            f"got {size}"
        )
    n, spatial = size[0], size[2:][::-1]  # (W, H) or (W, H, D): x first
    k = len(spatial)
    if theta.ndim != 3 or theta.shape != (n, k, k + 1):
        raise ValueError(
            f"affine_grid: theta must have shape ({n}, {k}, {k + 1}) for a size of {len(size)} "
            f"dims, got {theta.shape}"
        )
    if theta.dtype.kind != "f":
        raise TypeError(f"affine_grid: theta must be a float tensor, got {theta.dtype}")
    xp = xp_of(theta._data)
    out = size[2:]  # (H, W) or (D, H, W)
    axes = [_base(m, align_corners, xp, theta.dtype) for m in spatial]
    columns = []
    for i, a in enumerate(axes):  # x varies along the last output axis, y the one before ...
        shape = [1] * k
        shape[k - 1 - i] = a.size
        columns.append(xp.broadcast_to(a.reshape(shape), out))
    columns.append(xp.ones(out, theta.dtype))
    base = xp.stack(columns, -1).reshape(1, -1, k + 1)
    grid = matmul(Tensor._make(base, False), theta.swapaxes(1, 2))  # (N, prod(out), k)
    return reshape(grid, (n,) + out + (k,))


def _unnormalize(g, size: int, align: bool):
    return (g + 1) * ((size - 1) / 2) if align else ((g + 1) * size - 1) / 2


def _pad(x, size: int, align: bool, mode: str):
    """Pixel coordinates with the padding mode applied: clamped ("border") or reflected at
    the borders ("reflection"), then clamped; unchanged for "zeros"."""
    if mode == "border":
        return _sel.clip(x, 0, size - 1)
    if mode == "reflection":
        lo, span = (0.0, size - 1.0) if align else (-0.5, float(size))
        if span <= 0:
            return x * 0
        # reflect into [lo, lo + span]: distance from lo folded with period 2 span
        d = _el.abs(x - lo)
        flips = no_grad_result(_floor_div, d, period=span)
        rem = d - flips * span
        odd = no_grad_result(_is_odd, flips)
        x = _sel.where(odd, span - rem, rem) + lo
        return _sel.clip(x, 0, size - 1)
    return x


def _pixels(g, size: int, align: bool, mode: str):
    """Normalized coordinates -> pixel coordinates, with border/reflection applied."""
    return _pad(_unnormalize(g, size, align), size, align, mode)


def _cubic_weights(t):
    """The 4 weights of the taps at floor(x) - 1 .. floor(x) + 2 for t = x - floor(x)."""
    a = CUBIC_A

    def near(u):  # |u| <= 1
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def far(u):  # 1 < |u| < 2
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _floor_div(d, *, period):
    return xp_of(d).floor(d / period)


def _is_odd(f):
    return (f % 2) == 1


def _floor(x):
    return xp_of(x).floor(x)


def _round(x):
    return xp_of(x).round(x)  # half to even, as PyTorch's nearbyint


def _inside(i, *, size):
    return (i >= 0) & (i <= size - 1)


def _index(*coords, sizes):
    """Flat index of integer pixel coordinates (x, y[, z]) clamped into an image of
    ``sizes`` (W, H[, D])."""
    xp = xp_of(coords[0])
    flat, stride = 0, 1
    for c, m in zip(coords, sizes):
        flat = flat + xp.clip(c, 0, m - 1) * stride
        stride *= m
    return flat.astype(np.int64)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners: bool | None = None) -> Tensor:  # fmt: skip
    """Sample ``input`` (N, C, H, W) at the normalized points ``grid`` (N, Ho, Wo, 2) (x, y):
    the result is (N, C, Ho, Wo); on 5-D input (N, C, D, H, W) the grid is (N, Do, Ho, Wo, 3)
    (x, y, z) and the result (N, C, Do, Ho, Wo). ``mode`` "bilinear" (trilinear on 5-D),
    "nearest" or "bicubic" (4-D only); ``padding_mode`` "zeros", "border" or "reflection";
    ``align_corners`` None means False (PyTorch's default)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"grid_sample: mode must be bilinear, nearest or bicubic, got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"grid_sample: padding_mode must be zeros, border or reflection, got {padding_mode!r}"
        )
    if input.ndim not in (4, 5):
        raise ValueError(
            f"grid_sample: input must be 4-D (N, C, H, W) or 5-D (N, C, D, H, W), got shape "
            f"{input.shape}"
        )
    if mode == "bicubic" and input.ndim == 5:
        raise RuntimeError(  # PyTorch's error
            "grid_sampler(): bicubic interpolation only supports 4D input; use mode='bilinear' "
            "(trilinear) or 'nearest' on 5-D input"
        )
    n, c = input.shape[:2]
    k = input.ndim - 2
    sizes = input.shape[2:][::-1]  # (W, H[, D]): the grid's x, y, z order
    if grid.ndim != input.ndim or grid.shape[0] != n or grid.shape[-1] != k:
        want = f"({n}, " + ", ".join(["*_out"] * k) + f", {k})"
        raise ValueError(f"grid_sample: grid must be {want}, got {grid.shape}")
    if input.dtype != grid.dtype:
        raise TypeError(
            f"grid_sample: input ({input.dtype}) and grid ({grid.dtype}) must have one dtype"
        )
    align = bool(align_corners)
    out = tuple(grid.shape[1:-1])
    points = int(np.prod(out))
    flat = reshape(input, (n, c, -1))
    lone = (n, 1) + out  # one weight per output point, broadcast over the channels

    def take(*coords):  # integer pixel coordinates (x, y[, z]), each (N, *out)
        idx = no_grad_result(_index, *coords, sizes=sizes)
        idx = broadcast_to(reshape(idx, (n, 1, points)), (n, c, points))
        vals = reshape(gather(flat, 2, idx), (n, c) + out)
        if padding_mode != "zeros":
            return vals
        ok = None
        for i, m in zip(coords, sizes):
            inside = no_grad_result(_inside, i, size=m)
            ok = inside if ok is None else ok & inside
        return vals * reshape(ok, lone).to(input.dtype)

    if mode == "bicubic":
        return _bicubic(grid, sizes, align, padding_mode, take, lone)
    coords = [_pixels(grid[..., i], m, align, padding_mode) for i, m in enumerate(sizes)]
    if mode == "nearest":
        return take(*(no_grad_result(_round, x) for x in coords))
    lows = [no_grad_result(_floor, x) for x in coords]
    pairs = []  # per axis: ((low, its weight), (low + 1, its weight))
    for x, x0 in zip(coords, lows):
        w1 = x - x0  # the weights carry the gradient to the grid
        pairs.append(((x0, 1 - w1), (x0 + 1, w1)))
    result = None
    for corner in itertools.product(*pairs):
        weight = corner[0][1]
        for _, w in corner[1:]:
            weight = weight * w
        term = take(*(i for i, _ in corner)) * reshape(weight, lone)
        result = term if result is None else result + term
    return result


def _bicubic(grid, sizes, align: bool, padding_mode: str, take, lone):
    """PyTorch's bicubic grid sample: unnormalized (not padded) coordinates, 4 x 4 taps at
    floor - 1 .. floor + 2 weighted by the cubic kernel, each tap's coordinate padded."""
    (w, h) = sizes
    x, y = _unnormalize(grid[..., 0], w, align), _unnormalize(grid[..., 1], h, align)
    x0, y0 = no_grad_result(_floor, x), no_grad_result(_floor, y)
    wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
    result = None
    for j in range(4):
        iy = _tap(y0 + (j - 1), h, align, padding_mode)
        for i in range(4):
            ix = _tap(x0 + (i - 1), w, align, padding_mode)
            term = take(ix, iy) * reshape(wy[j] * wx[i], lone)
            result = term if result is None else result + term
    return result


def _tap(i, size: int, align: bool, padding_mode: str):
    """A bicubic tap's integer coordinate with the padding mode applied (no gradient: the
    weights carry it), rounded back to an integer after a reflection."""
    if padding_mode == "zeros":
        return i
    return no_grad_result(_round, _pad(i.detach(), size, align, padding_mode))
