"""Direct 2-D convolution kernels (Numba; imported by :mod:`glassnet.ops._fused_conv`).

Stride 1, dilation 1, one group. A sample's zero-padded input x_pad (C, Hp, Wp) is laid out
flat, and the output is computed on the padded width: position u = i Wp + j (j < Wp, the
columns j >= Wo are computed and thrown away). Kernel tap t = (c, p, q) then reads x_pad at
the fixed offset off_t = c Hp Wp + p Wp + q from u, so

    y'[o, u] = sum_t W[o, t] x_flat[u + off_t],    y[n, o, i, j] = y'[o, i Wp + j] + b[o]

is a matrix product whose right operand is im2col read in place: each row t is the flat input
shifted by off_t, a unit-stride vector load. No im2col copy is made. Tiles of output channels
by 16-lane vectors of u keep their sums in registers (:mod:`glassnet.backend._jit_vec`), each a
sum over t in increasing order by fused multiply-adds.

- **grad input** is the same kernel: dL/dx = the convolution of dL/dy, zero-padded by k - 1 - p
  on each side, with the weight flipped in both spatial axes and its two channel axes swapped.
- **grad weight**: dL/dW[o, t] = sum_n sum_u g'[n, o, u] x_flat[n, u + off_t], g' = dL/dy on the
  padded width (zeros at j >= Wo). Lanes run over u; each vector accumulator sums a fixed
  chunk of :data:`CHUNK` samples, then its 16 lanes are added in order; the caller adds the
  chunks' partials in chunk order. A chunk is computed whole by one call, so the sums do not
  depend on how chunks are split among threads: bit-identical for any thread count.

Forward and grad input split over samples, grad weight over chunks of samples; every call
allocates its own scratch (one sample, or one chunk) and releases the GIL.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend._jit_kernels import _jit
from glassnet.backend._jit_vec import WIDTH, padded, vfma, vload, vsplat, vstore

#: Samples per partial sum of the weight gradient (fixed: the sums do not depend on threads).
CHUNK = 8


@_jit()
def _offsets(c, kh, kw, hp, wp):
    """off_t = c Hp Wp + p Wp + q for t = (c, p, q) in C order."""
    offs = np.empty(c * kh * kw, np.int64)
    t = 0
    for ci in range(c):
        for p in range(kh):
            for q in range(kw):
                offs[t] = ci * hp * wp + p * wp + q
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
def _geometry(o, u, rows4):
    """(rows per tile, u per tile, scratch rows, scratch columns) for o channels, u positions."""
    if rows4:
        return 4, 2 * WIDTH, padded(o, 4), padded(u, 2 * WIDTH)
    return 2, 4 * WIDTH, padded(o, 2), padded(u, 4 * WIDTH)


@_jit()
def conv_forward(x, w, b, has_bias, out, pt, pl, hp, wp, rows4, lo, hi):
    """out[n] = conv(x[n], w) + b for samples n in [lo, hi): x (N, C, H, W) C-contiguous,
    w (O, C kh kw) with kh, kw from ``out`` and ``hp``, ``wp`` (the padded size; the input
    sits at row ``pt``, column ``pl``), out (N, O, Ho, Wo). ``rows4``: tiles of 4 channels
    by 32 positions, else of 2 by 64."""
    c, o = x.shape[1], w.shape[0]
    ho, wo = out.shape[2], out.shape[3]
    kh, kw = hp - ho + 1, wp - wo + 1
    offs = _offsets(c, kh, kw, hp, wp)
    u = ho * wp
    rows, cols, orows, ucols = _geometry(o, u, rows4)
    xs = np.zeros(max(c * hp * wp, ucols + offs[-1]), x.dtype)
    y = np.empty((orows, ucols), x.dtype)
    last = o - 1
    for n in range(lo, hi):
        _load_padded(x, n, xs, pt, pl, hp, wp)
        for o0 in range(0, o, rows):
            for u0 in range(0, u, cols):
                if rows4:
                    _tile_4x2(w, xs, y, o0, last, u0, offs)
                else:
                    _tile_2x4(w, xs, y, o0, last, u0, offs)
        for oi in range(o):
            bo = b[oi] if has_bias else x.dtype.type(0)
            yo = y[oi]
            for i in range(ho):
                dst = out[n, oi, i]
                src = yo[i * wp :]
                for j in range(wo):
                    dst[j] = src[j] + bo


@_jit()
def _hsum(v, scratch):
    """The 16 lanes of v added in lane order."""
    vstore(scratch, 0, v)
    s = scratch[0]
    for i in range(1, WIDTH):
        s += scratch[i]
    return s


@_jit()
def _wgrad_tile(g, xs, dw, o0, t0, offs, per, count, uvec, scratch):
    """dw[o0 + r, t0 + s] = sum over the ``count`` samples (g rows of ``per`` elements apart,
    xs ``per`` apart) and the ``uvec`` vectors of u of g[o0 + r, u] xs[u + off_{t0 + s}],
    for r < 4 and s < 2 (rows past the weight's are dropped by the caller's padding)."""
    z = vsplat(g.dtype.type(0))
    a0 = a1 = b0 = b1 = c0 = c1 = d0 = d1 = z
    gs = uvec * WIDTH
    f0, f1 = offs[t0], offs[t0 + 1]
    for m in range(count):
        g0, g1, g2, g3 = g[o0], g[o0 + 1], g[o0 + 2], g[o0 + 3]
        base = m * gs
        xb = m * per
        for k in range(uvec):
            u = k * WIDTH
            x0, x1 = vload(xs, xb + u + f0), vload(xs, xb + u + f1)
            v = vload(g0, base + u)
            a0, a1 = vfma(v, x0, a0), vfma(v, x1, a1)
            v = vload(g1, base + u)
            b0, b1 = vfma(v, x0, b0), vfma(v, x1, b1)
            v = vload(g2, base + u)
            c0, c1 = vfma(v, x0, c0), vfma(v, x1, c1)
            v = vload(g3, base + u)
            d0, d1 = vfma(v, x0, d0), vfma(v, x1, d1)
    dw[o0, t0], dw[o0, t0 + 1] = _hsum(a0, scratch), _hsum(a1, scratch)
    dw[o0 + 1, t0], dw[o0 + 1, t0 + 1] = _hsum(b0, scratch), _hsum(b1, scratch)
    dw[o0 + 2, t0], dw[o0 + 2, t0 + 1] = _hsum(c0, scratch), _hsum(c1, scratch)
    dw[o0 + 3, t0], dw[o0 + 3, t0 + 1] = _hsum(d0, scratch), _hsum(d1, scratch)


@_jit()
def conv_wgrad(x, grad, parts, finite, pt, pl, hp, wp, chunk, lo, hi):
    """parts[k] = the weight gradient (O, C kh kw) of samples [k chunk, (k + 1) chunk) (cut
    at N) for the chunks that start in [lo, hi) (lo a multiple of ``chunk``): x (N, C, H, W)
    and grad = dL/dy (N, O, Ho, Wo), C-contiguous; the input sits at (``pt``, ``pl``) of the
    padded (``hp``, ``wp``). finite[k] = False where the chunk's x holds an inf or NaN: the
    thrown-away columns then multiply it by 0 (NaN), and the caller must not use parts[k]."""
    n_all, c = x.shape[0], x.shape[1]
    o, ho, wo = grad.shape[1], grad.shape[2], grad.shape[3]
    kh, kw = hp - ho + 1, wp - wo + 1
    offs0 = _offsets(c, kh, kw, hp, wp)
    k = offs0.size
    offs = np.empty(padded(k, 2), np.int64)  # an odd tap count repeats its last tap
    offs[:k] = offs0
    offs[k:] = offs0[k - 1]
    u = ho * wp
    uvec = padded(u, WIDTH) // WIDTH
    per = max(c * hp * wp, uvec * WIDTH + offs0[k - 1])  # one sample's flat input
    xs = np.zeros(chunk * per + WIDTH, x.dtype)
    gs = uvec * WIDTH
    g = np.zeros((padded(o, 4), chunk * gs), x.dtype)  # g' of the chunk, rows past O zero
    dw = np.empty((padded(o, 4), offs.size), x.dtype)
    scratch = np.empty(WIDTH, x.dtype)
    for start in range(lo, hi, chunk):
        count = min(chunk, n_all - start)
        check = x.dtype.type(0)
        for m in range(count):
            n = start + m
            check += _load_padded(x, n, xs[m * per :], pt, pl, hp, wp)
        finite[start // chunk] = check == 0
        for m in range(count):
            n = start + m
            for oi in range(o):
                for i in range(ho):
                    dst = g[oi, m * gs + i * wp :]
                    src = grad[n, oi, i]
                    for j in range(wo):
                        dst[j] = src[j]
        for o0 in range(0, o, 4):
            for t0 in range(0, offs.size, 2):
                _wgrad_tile(g, xs, dw, o0, t0, offs, per, count, uvec, scratch)
        part = parts[start // chunk]
        for oi in range(o):
            for t in range(k):
                part[oi, t] = dw[oi, t]
