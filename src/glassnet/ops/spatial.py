"""``F.affine_grid`` and ``F.grid_sample`` (spatial transformers), PyTorch's semantics for 4-D
input, as compositions of differentiable ops: the gradient reaches the input (through the
gathers) and the grid (through the interpolation weights).

Grid coordinates are normalized to [-1, 1] per axis (x across the width, y down the height).
``align_corners=True`` maps -1 and 1 to the centres of the corner pixels,
x_pix = (g + 1) / 2 (W - 1); ``False`` maps them to the outer edges, x_pix = ((g + 1) W - 1) / 2.
Bilinear: v = sum over the 4 neighbours of (1 - |x - x_i|)(1 - |y - y_j|) in[y_j, x_i];
``padding_mode`` "zeros" takes neighbours outside as 0, "border" clamps the coordinates to the
image, "reflection" reflects them at the borders. Nearest rounds half to even.
"""

from __future__ import annotations

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


def _base(n: int, align: bool, xp, dtype):
    if align:
        return xp.linspace(-1.0, 1.0, n, dtype=dtype) if n > 1 else xp.zeros(1, dtype=dtype)
    return ((xp.arange(n, dtype=dtype) * 2 + 1) / n - 1).astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool = False) -> Tensor:
    """The sampling grid of a batch of affine maps: grid[n, h, w] = theta[n] @ (x_w, y_h, 1),
    with (x_w, y_h) the normalized pixel centres of an output of ``size`` (N, C, H, W)."""
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(
            f"affine_grid: only 4-D sizes (N, C, H, W) are supported, got {size}"
        )
    n, _, h, w = size
    if theta.ndim != 3 or theta.shape != (n, 2, 3):
        raise ValueError(f"affine_grid: theta must have shape ({n}, 2, 3), got {theta.shape}")
    if theta.dtype.kind != "f":
        raise TypeError(f"affine_grid: theta must be a float tensor, got {theta.dtype}")
    xp = xp_of(theta._data)
    xs, ys = _base(w, align_corners, xp, theta.dtype), _base(h, align_corners, xp, theta.dtype)
    base = xp.stack(
        [
            xp.broadcast_to(xs, (h, w)),
            xp.broadcast_to(ys[:, None], (h, w)),
            xp.ones((h, w), theta.dtype),
        ],
        -1,
    ).reshape(1, h * w, 3)
    grid = matmul(Tensor._make(base, False), theta.swapaxes(1, 2))  # (N, H*W, 2)
    return reshape(grid, (n, h, w, 2))


def _pixels(g, size: int, align: bool, mode: str):
    """Normalized coordinates -> pixel coordinates, with border/reflection applied."""
    x = (g + 1) * ((size - 1) / 2) if align else ((g + 1) * size - 1) / 2
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


def _index(iy, ix, *, h, w):
    xp = xp_of(ix)
    return (xp.clip(iy, 0, h - 1) * w + xp.clip(ix, 0, w - 1)).astype(np.int64)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners: bool | None = None) -> Tensor:  # fmt: skip
    """Sample ``input`` (N, C, H, W) at the normalized points ``grid`` (N, Ho, Wo, 2) (x, y):
    the result is (N, C, Ho, Wo). ``mode`` "bilinear" or "nearest"; ``padding_mode`` "zeros",
    "border" or "reflection"; ``align_corners`` None means False (PyTorch's default)."""
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(
            f"grid_sample: mode {mode!r} is not supported (bilinear, nearest)"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"grid_sample: padding_mode must be zeros, border or reflection, got {padding_mode!r}"
        )
    if input.ndim != 4:
        raise NotImplementedError(
            f"grid_sample: only 4-D input (N, C, H, W) is supported, got {input.shape}"
        )
    n, c, h, w = input.shape
    if grid.ndim != 4 or grid.shape[0] != n or grid.shape[-1] != 2:
        raise ValueError(f"grid_sample: grid must be ({n}, H_out, W_out, 2), got {grid.shape}")
    if input.dtype != grid.dtype:
        raise TypeError(
            f"grid_sample: input ({input.dtype}) and grid ({grid.dtype}) must have one dtype"
        )
    align = bool(align_corners)
    ho, wo = grid.shape[1:3]
    x = _pixels(grid[..., 0], w, align, padding_mode)  # (N, Ho, Wo)
    y = _pixels(grid[..., 1], h, align, padding_mode)
    flat = reshape(input, (n, c, h * w))

    def take(iy, ix):
        idx = no_grad_result(_index, iy, ix, h=h, w=w)
        idx = broadcast_to(reshape(idx, (n, 1, ho * wo)), (n, c, ho * wo))
        vals = reshape(gather(flat, 2, idx), (n, c, ho, wo))
        if padding_mode != "zeros":
            return vals
        ok = no_grad_result(_inside, iy, size=h) & no_grad_result(_inside, ix, size=w)
        return vals * reshape(ok, (n, 1, ho, wo)).to(input.dtype)

    if mode == "nearest":
        return take(no_grad_result(_round, y), no_grad_result(_round, x))
    x0, y0 = no_grad_result(_floor, x), no_grad_result(_floor, y)
    wx1, wy1 = x - x0, y - y0  # the weights carry the gradient to the grid
    wx0, wy0 = 1 - wx1, 1 - wy1
    out = None
    for iy, wy in ((y0, wy0), (y0 + 1, wy1)):
        for ix, wx in ((x0, wx0), (x0 + 1, wx1)):
            term = take(iy, ix) * reshape(wy * wx, (n, 1, ho, wo))
            out = term if out is None else out + term
    return out
