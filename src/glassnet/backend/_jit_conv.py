"""Direct 2-D convolution kernels (Numba; imported by :mod:`glassnet.ops._fused_conv`).

Stride 1, dilation 1, one group, any zero padding. A sample's zero-padded input x_pad
(C, Hp, Wp) is laid out flat, and the output is computed on the padded width: position
u = i Wp + j (j < Wp; the columns j >= Wo are computed and thrown away). Kernel tap
t = (c, p, q) then reads x_pad at the fixed offset off_t = c Hp Wp + p Wp + q from u, so

    y'[o, u] = sum_t W[o, t] x_flat[u + off_t],    y[n, o, i, j] = y'[o, i Wp + j] + b[o]

is a matrix product whose right operand is im2col read in place: each row t is the flat input
shifted by off_t, a unit-stride vector load. No im2col copy is made. Tiles of output channels
by 16-lane vectors of u keep their sums in registers (:mod:`glassnet.backend._jit_vec`), each
a sum over t in increasing order by fused multiply-adds.

- **grad input** (:func:`conv_grad_input`) is the same product with the weight flipped in
  both kernel axes and its channel axes swapped, over dL/dy laid out on rows of Wp (zeros at
  j >= Wo) after (kh - 1) Wp + kw - 1 zeros: a tap that reaches left of column 0 wraps into
  the previous row's zero columns, so it yields dL/dx_pad on all Hp Wp positions.
- **grad weight and bias** (:func:`conv_wgrad`): dL/dW[o, t] = sum_n sum_u g'[n, o, u]
  x_flat[n, u + off_t] (g' = dL/dy on the padded width, zeros at j >= Wo). With 12 or more
  output channels the lanes hold channels (no lane sums); else they hold positions u, and each
  sum's 16 lanes are added in lane order at the end of a chunk. Partial sums cover fixed
  chunks of samples (their size set by the shapes alone); the caller adds them in chunk order.
  A chunk is computed whole by one call, so the sums do not depend on how the chunks are split
  among threads: bit-identical for any thread count.

Forward and grad input split over samples, grad weight over chunks; every call allocates its
own scratch (one sample, or one chunk) and releases the GIL.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend._jit_kernels import _jit
from glassnet.backend._jit_vec import WIDTH, padded, vfma, vload, vsplat, vstore


@_jit()
def _offsets(c, kh, kw, block, wp):
    """off_t = c block + p Wp + q for t = (c, p, q) in C order."""
    offs = np.empty(c * kh * kw, np.int64)
    t = 0
    for ci in range(c):
        for p in range(kh):
            for q in range(kw):
                offs[t] = ci * block + p * wp + q
                t += 1
    return offs


@_jit()
def _load_padded(x, n, xs, pt, pl, hp, wp):
    """xs[c Hp Wp + (i + pt) Wp + j + pl] = x[n, c, i, j]; the padding in xs stays as it is
    (zeros). Returns 0 * (the sum of the values): NaN if any value is not finite."""
    check = xs.dtype.type(0)
    for c in range(x.shape[1]):
        for i in range(x.shape[2]):
            row = xs[c * hp * wp + (i + pt) * wp + pl :]
            src = x[n, c, i]
            for j in range(x.shape[3]):
                row[j] = src[j]
                check += src[j]
    return check * 0


@_jit()
def _tile_4x2(w, xs, y, o0, last, u0, offs):
    """y[o0 + r, u0:u0 + 32] = sum_t w[min(o0 + r, last), t] xs[u0 + off_t:...] for r < 4."""
    z = vsplat(w.dtype.type(0))
    a0 = a1 = b0 = b1 = c0 = c1 = d0 = d1 = z
    w0, w1 = w[min(o0, last)], w[min(o0 + 1, last)]
    w2, w3 = w[min(o0 + 2, last)], w[min(o0 + 3, last)]
    for t in range(offs.size):
        s = u0 + offs[t]
        x0, x1 = vload(xs, s), vload(xs, s + WIDTH)
        v = vsplat(w0[t])
        a0, a1 = vfma(v, x0, a0), vfma(v, x1, a1)
        v = vsplat(w1[t])
        b0, b1 = vfma(v, x0, b0), vfma(v, x1, b1)
        v = vsplat(w2[t])
        c0, c1 = vfma(v, x0, c0), vfma(v, x1, c1)
        v = vsplat(w3[t])
        d0, d1 = vfma(v, x0, d0), vfma(v, x1, d1)
    vstore(y[o0], u0, a0)
    vstore(y[o0], u0 + WIDTH, a1)
    vstore(y[o0 + 1], u0, b0)
    vstore(y[o0 + 1], u0 + WIDTH, b1)
    vstore(y[o0 + 2], u0, c0)
    vstore(y[o0 + 2], u0 + WIDTH, c1)
    vstore(y[o0 + 3], u0, d0)
    vstore(y[o0 + 3], u0 + WIDTH, d1)


@_jit()
def _tile_2x4(w, xs, y, o0, last, u0, offs):
    """y[o0 + r, u0:u0 + 64] = sum_t w[min(o0 + r, last), t] xs[u0 + off_t:...] for r < 2."""
    z = vsplat(w.dtype.type(0))
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = z
    w0, w1 = w[min(o0, last)], w[min(o0 + 1, last)]
    for t in range(offs.size):
        s = u0 + offs[t]
        x0, x1 = vload(xs, s), vload(xs, s + WIDTH)
        x2, x3 = vload(xs, s + 2 * WIDTH), vload(xs, s + 3 * WIDTH)
        v = vsplat(w0[t])
        a0, a1, a2, a3 = vfma(v, x0, a0), vfma(v, x1, a1), vfma(v, x2, a2), vfma(v, x3, a3)
        v = vsplat(w1[t])
        b0, b1, b2, b3 = vfma(v, x0, b0), vfma(v, x1, b1), vfma(v, x2, b2), vfma(v, x3, b3)
    ya, yb = y[o0], y[o0 + 1]
    vstore(ya, u0, a0)
    vstore(ya, u0 + WIDTH, a1)
    vstore(ya, u0 + 2 * WIDTH, a2)
    vstore(ya, u0 + 3 * WIDTH, a3)
    vstore(yb, u0, b0)
    vstore(yb, u0 + WIDTH, b1)
    vstore(yb, u0 + 2 * WIDTH, b2)
    vstore(yb, u0 + 3 * WIDTH, b3)


@_jit()
def _tile_1(w, xs, y, o0, last, u0, offs, rows):
    """y[o0 + r, u0:u0 + 16] as :func:`_tile_4x2`, for r < ``rows`` (2 or 4): the last
    positions, after the wide tiles."""
    z = vsplat(w.dtype.type(0))
    a0 = a1 = a2 = a3 = z
    w0, w1 = w[min(o0, last)], w[min(o0 + 1, last)]
    w2, w3 = w[min(o0 + 2, last)], w[min(o0 + 3, last)]
    for t in range(offs.size):
        x0 = vload(xs, u0 + offs[t])
        a0, a1 = vfma(vsplat(w0[t]), x0, a0), vfma(vsplat(w1[t]), x0, a1)
        if rows == 4:
            a2, a3 = vfma(vsplat(w2[t]), x0, a2), vfma(vsplat(w3[t]), x0, a3)
    vstore(y[o0], u0, a0)
    vstore(y[o0 + 1], u0, a1)
    if rows == 4:
        vstore(y[o0 + 2], u0, a2)
        vstore(y[o0 + 3], u0, a3)


@_jit()
def _geometry(o, u, rows4):
    """(rows per tile, u per wide tile, scratch rows, scratch columns) for o channels and u
    positions (the positions past the last wide tile go in tiles of 16)."""
    if rows4:
        return 4, 2 * WIDTH, padded(o, 4), padded(u, WIDTH)
    return 2, 4 * WIDTH, padded(o, 2), padded(u, WIDTH)


@_jit()
def _direct(w, xs, y, offs, u, rows4):
    """y[o, :u] = sum_t w[o, t] xs[off_t:off_t + u] for every row o of w (y's rows and
    columns rounded up to whole tiles, see :func:`_geometry`)."""
    o = w.shape[0]
    rows, cols, _, _ = _geometry(o, u, rows4)
    wide = u - u % cols
    for o0 in range(0, o, rows):
        for u0 in range(0, wide, cols):
            if rows4:
                _tile_4x2(w, xs, y, o0, o - 1, u0, offs)
            else:
                _tile_2x4(w, xs, y, o0, o - 1, u0, offs)
        for u0 in range(wide, u, WIDTH):
            _tile_1(w, xs, y, o0, o - 1, u0, offs, rows)


@_jit()
def conv_forward(x, w, b, has_bias, out, pt, pl, hp, wp, rows4, lo, hi):
    """out[n] = conv(x[n], w) + b for samples n in [lo, hi): x (N, C, H, W) C-contiguous,
    w (O, C kh kw) with kh, kw from ``out`` and ``hp``, ``wp`` (the padded size; the input
    sits at row ``pt``, column ``pl``), out (N, O, Ho, Wo). ``rows4``: tiles of 4 channels
    by 32 positions, else of 2 by 64."""
    c, o = x.shape[1], w.shape[0]
    ho, wo = out.shape[2], out.shape[3]
    kh, kw = hp - ho + 1, wp - wo + 1
    offs = _offsets(c, kh, kw, hp * wp, wp)
    u = ho * wp
    _, _, orows, ucols = _geometry(o, u, rows4)
    xs = np.zeros(max(c * hp * wp, ucols + offs[-1]), x.dtype)
    y = np.empty((orows, ucols), x.dtype)
    for n in range(lo, hi):
        _load_padded(x, n, xs, pt, pl, hp, wp)
        _direct(w, xs, y, offs, u, rows4)
        for oi in range(o):
            bo = b[oi] if has_bias else x.dtype.type(0)
            yo = y[oi]
            for i in range(ho):
                dst = out[n, oi, i]
                src = yo[i * wp :]
                for j in range(wo):
                    dst[j] = src[j] + bo


@_jit()
def conv_grad_input(grad, wf, dx, pt, pl, hp, wp, rows4, lo, hi):
    """dx[n] = dL/dx of samples [lo, hi) from grad = dL/dy (N, O, Ho, Wo) and wf (C, O kh kw),
    the weight with its channel axes swapped and both kernel axes flipped; dx (N, C, H, W).

    On the padded width: g' = dL/dy on rows of ``wp`` (zeros at j >= Wo) after B = (kh - 1) Wp
    + kw - 1 zeros, one block of Hp Wp per channel o. Then dx_pad[c, v] = sum_{o,p',q'}
    wf[c, (o, p', q')] g'[o, v - (kh-1-p') Wp - (kw-1-q')] is the forward kernel with offsets
    o Hp Wp + p' Wp + q': a tap that reaches left of column 0 wraps into the previous row's
    zero columns (j >= Wo), so no output position is thrown away but x's padding."""
    o, ho, wo = grad.shape[1], grad.shape[2], grad.shape[3]
    c = wf.shape[0]
    kh, kw = hp - ho + 1, wp - wo + 1
    block = hp * wp
    offs = _offsets(o, kh, kw, block, wp)
    _, _, crows, ucols = _geometry(c, block, rows4)
    skip = (kh - 1) * wp + kw - 1
    gs = np.zeros(o * block + ucols + skip, grad.dtype)
    y = np.empty((crows, ucols), grad.dtype)
    h, w = dx.shape[2], dx.shape[3]
    for n in range(lo, hi):
        for oi in range(o):
            for i in range(ho):
                dst = gs[oi * block + skip + i * wp :]
                src = grad[n, oi, i]
                for j in range(wo):
                    dst[j] = src[j]
        _direct(wf, gs, y, offs, block, rows4)
        for ci in range(c):
            yc = y[ci]
            for i in range(h):
                dst = dx[n, ci, i]
                src = yc[(i + pt) * wp + pl :]
                for j in range(w):
                    dst[j] = src[j]


@_jit()
def _hsum(v, scratch):
    """The 16 lanes of v added in lane order."""
    vstore(scratch, 0, v)
    s = scratch[0]
    for i in range(1, WIDTH):
        s += scratch[i]
    return s


@_jit()
def _wgrad_lanes_u(g, xs, dw, o0, t0, offs, per, gs, count, scratch):
    """dw[o0 + r, t0 + s] = sum over the ``count`` samples m and positions u (16 per lane
    vector) of g[o0 + r, m gs + u] xs[m per + u + off_{t0 + s}], for r < 2 and s < 4."""
    z = vsplat(g.dtype.type(0))
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = z
    f0, f1, f2, f3 = offs[t0], offs[t0 + 1], offs[t0 + 2], offs[t0 + 3]
    ga, gb = g[o0], g[o0 + 1]
    for m in range(count):
        base, xb = m * gs, m * per
        for u in range(0, gs, WIDTH):
            s = xb + u
            x0, x1, x2, x3 = (
                vload(xs, s + f0),
                vload(xs, s + f1),
                vload(xs, s + f2),
                vload(xs, s + f3),
            )
            v = vload(ga, base + u)
            a0, a1, a2, a3 = vfma(v, x0, a0), vfma(v, x1, a1), vfma(v, x2, a2), vfma(v, x3, a3)
            v = vload(gb, base + u)
            b0, b1, b2, b3 = vfma(v, x0, b0), vfma(v, x1, b1), vfma(v, x2, b2), vfma(v, x3, b3)
    da, db = dw[o0], dw[o0 + 1]
    da[t0], da[t0 + 1], da[t0 + 2], da[t0 + 3] = (
        _hsum(a0, scratch),
        _hsum(a1, scratch),
        _hsum(a2, scratch),
        _hsum(a3, scratch),
    )
    db[t0], db[t0 + 1], db[t0 + 2], db[t0 + 3] = (
        _hsum(b0, scratch),
        _hsum(b1, scratch),
        _hsum(b2, scratch),
        _hsum(b3, scratch),
    )


@_jit()
def _wgrad_lanes_o(gt, xs, acc, v0, t0, offs, per, count, ho, wo, wp):
    """acc[t0 + s, v0:v0 + 16] = sum over the ``count`` samples m and positions (i, j) of
    gt[m, i wo + j, v0:v0 + 16] xs[m per + i wp + j + off_{t0 + s}], for s < 8 (output
    channels in the lanes: no lane sums)."""
    z = vsplat(gt.dtype.type(0))
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = z
    f0, f1, f2, f3 = offs[t0], offs[t0 + 1], offs[t0 + 2], offs[t0 + 3]
    f4, f5, f6, f7 = offs[t0 + 4], offs[t0 + 5], offs[t0 + 6], offs[t0 + 7]
    for m in range(count):
        gm = gt[m]
        xm = xs[m * per :]
        for i in range(ho):
            for j in range(wo):
                v = vload(gm[i * wo + j], v0)
                xr = xm[i * wp + j :]
                a0, a1 = vfma(vsplat(xr[f0]), v, a0), vfma(vsplat(xr[f1]), v, a1)
                a2, a3 = vfma(vsplat(xr[f2]), v, a2), vfma(vsplat(xr[f3]), v, a3)
                a4, a5 = vfma(vsplat(xr[f4]), v, a4), vfma(vsplat(xr[f5]), v, a5)
                a6, a7 = vfma(vsplat(xr[f6]), v, a6), vfma(vsplat(xr[f7]), v, a7)
    vstore(acc[t0], v0, a0)
    vstore(acc[t0 + 1], v0, a1)
    vstore(acc[t0 + 2], v0, a2)
    vstore(acc[t0 + 3], v0, a3)
    vstore(acc[t0 + 4], v0, a4)
    vstore(acc[t0 + 5], v0, a5)
    vstore(acc[t0 + 6], v0, a6)
    vstore(acc[t0 + 7], v0, a7)


@_jit()
def conv_wgrad(x, grad, parts, bparts, finite, pt, pl, hp, wp, chunk, lanes_o, lo, hi):
    """parts[k] = the weight gradient (O, C kh kw) and bparts[k] the bias gradient (O,) of
    samples [k chunk, (k + 1) chunk) (cut at N), for the chunks that start in [lo, hi) (lo a
    multiple of ``chunk``): x (N, C, H, W) and grad = dL/dy (N, O, Ho, Wo), C-contiguous;
    the input sits at (``pt``, ``pl``) of the padded (``hp``, ``wp``). ``lanes_o``: output
    channels in the vector lanes (for O >= 12: no lane sums), else positions u = i Wp + j
    (each sum's 16 lanes added at the end of the chunk). finite[k] = False where the chunk's
    x holds an inf or NaN: positions j >= Wo then multiply it by 0 (NaN), and the caller must
    not use parts[k]."""
    n_all, c = x.shape[0], x.shape[1]
    o, ho, wo = grad.shape[1], grad.shape[2], grad.shape[3]
    kh, kw = hp - ho + 1, wp - wo + 1
    offs0 = _offsets(c, kh, kw, hp * wp, wp)
    k = offs0.size
    group = 8 if lanes_o else 4
    offs = np.empty(padded(k, group), np.int64)  # a partial group repeats the last tap
    offs[:k] = offs0
    offs[k:] = offs0[k - 1]
    gs = padded(ho * wp, WIDTH)
    per = max(c * hp * wp, gs + offs0[k - 1])  # one sample's flat input
    xs = np.zeros(chunk * per + WIDTH, x.dtype)
    scratch = np.empty(WIDTH, x.dtype)
    if lanes_o:
        opad = padded(o, WIDTH)
        gt = np.zeros((chunk, ho * wo, opad), x.dtype)  # dL/dy of the chunk, channels last
        acc = np.empty((offs.size, opad), x.dtype)
        g = np.zeros((1, 1), x.dtype)
    else:
        g = np.zeros((padded(o, 2), chunk * gs), x.dtype)  # g' of the chunk, rows past O zero
        dw = np.empty((padded(o, 2), offs.size), x.dtype)
        gt = np.zeros((1, 1, 1), x.dtype)
    for start in range(lo, hi, chunk):
        count = min(chunk, n_all - start)
        check = x.dtype.type(0)
        for m in range(count):
            check += _load_padded(x, start + m, xs[m * per :], pt, pl, hp, wp)
        finite[start // chunk] = check == 0
        part, bpart = parts[start // chunk], bparts[start // chunk]
        one = vsplat(x.dtype.type(1))
        for oi in range(o):
            bsum = vsplat(x.dtype.type(0))
            for m in range(count):
                gm = grad[start + m, oi].reshape(-1)
                for u in range(0, ho * wo - WIDTH + 1, WIDTH):
                    bsum = vfma(one, vload(gm, u), bsum)
            total = _hsum(bsum, scratch)
            for m in range(count):
                gm = grad[start + m, oi].reshape(-1)
                for u in range(ho * wo - ho * wo % WIDTH, ho * wo):
                    total += gm[u]
            bpart[oi] = total
        if lanes_o:
            for m in range(count):
                gm = gt[m]
                for oi in range(o):
                    src = grad[start + m, oi].reshape(-1)
                    for q in range(ho * wo):
                        gm[q, oi] = src[q]
            for v0 in range(0, opad, WIDTH):
                for t0 in range(0, offs.size, group):
                    _wgrad_lanes_o(gt, xs, acc, v0, t0, offs, per, count, ho, wo, wp)
            for oi in range(o):
                for t in range(k):
                    part[oi, t] = acc[t, oi]
        else:
            for m in range(count):
                for oi in range(o):
                    for i in range(ho):
                        dst = g[oi, m * gs + i * wp :]
                        src = grad[start + m, oi, i]
                        for j in range(wo):
                            dst[j] = src[j]
            for o0 in range(0, o, 2):
                for t0 in range(0, offs.size, group):
                    _wgrad_lanes_u(g, xs, dw, o0, t0, offs, per, gs, count, scratch)
            for oi in range(o):
                for t in range(k):
                    part[oi, t] = dw[oi, t]


@_jit()
def max_pool_2x2_backward(x, y, grad, dx, lo, hi):
    """dx = dL/dx of 2x2 max pooling with stride 2 for planes [lo, hi) of x (P, H, W), y and
    grad (P, Ho, Wo): each window's first position p in row-major order with not x_p < y
    takes grad, the others 0 (PyTorch's first maximum; a NaN y goes to the first position).
    Rows and columns in no window (odd H or W) are left as they are."""
    ho, wo = y.shape[1], y.shape[2]
    zero = dx.dtype.type(0)
    for p in range(lo, hi):
        for i in range(ho):
            x0, x1 = x[p, 2 * i], x[p, 2 * i + 1]
            d0, d1 = dx[p, 2 * i], dx[p, 2 * i + 1]
            yr, gr = y[p, i], grad[p, i]
            for j in range(wo):
                m, g = yr[j], gr[j]
                fa, fb, fc = not x0[2 * j] < m, not x0[2 * j + 1] < m, not x1[2 * j] < m
                a = fa
                b = fb & (not fa)
                c = fc & (not (fa | fb))
                d = not (fa | fb | fc)
                d0[2 * j] = g if a else zero
                d0[2 * j + 1] = g if b else zero
                d1[2 * j] = g if c else zero
                d1[2 * j + 1] = g if d else zero


@_jit(inline="always")
def _max_nan(a, b):
    """np.maximum(a, b): the larger, or a NaN where either is NaN."""
    return a if (a >= b) | (a != a) else b


@_jit()
def max_pool_2x2(x, y, lo, hi):
    """y = 2x2 max pooling with stride 2 of planes [lo, hi) of x (P, H, W): y (P, Ho, Wo),
    max(max(x00, x01), max(x10, x11)) per window, NaN where the window holds one."""
    ho, wo = y.shape[1], y.shape[2]
    for p in range(lo, hi):
        for i in range(ho):
            x0, x1, yr = x[p, 2 * i], x[p, 2 * i + 1], y[p, i]
            for j in range(wo):
                top = _max_nan(x0[2 * j], x0[2 * j + 1])
                yr[j] = _max_nan(top, _max_nan(x1[2 * j], x1[2 * j + 1]))
