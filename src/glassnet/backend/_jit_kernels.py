"""The fused CPU kernels behind :mod:`glassnet.backend.jit` (Numba; imported only on first use).

Every kernel works on a range ``[lo, hi)`` of rows (or of elements) of C-contiguous NumPy
arrays and releases the GIL, so :func:`glassnet.backend.kernel_threads.run_rows` can hand ranges to
threads. One row is always computed start to end by one call, in one fixed order, so the
result does not depend on how the rows were split: bit-identical for any thread count.

``fastmath`` only where measured, and only flags that keep results independent of the split:
the row sums of ``_dot`` may be reordered (below), and the GELU and softmax kernels may
contract ``a * b + c`` into one FMA (``contract``: GELU forward 2.0 -> 1.3 ms and backward
0.87 -> 0.68 ms per 1M float32, softmax 0.28 -> 0.22 ms per 2048 rows of 128). An element's
formula is then fixed by the code, not by the thread: rows run whole on one thread, and
element blocks start at multiples of 4096, so an element sits in the same vector lane (or
the same scalar tail) for any split. Loops index slices ``a[lo:hi]`` from
0: with ``range(lo, hi)`` Numba must allow negative indices, and LLVM then leaves the loop
scalar (14x slower, measured). Row sums accumulate in float64, in vector lanes (more
accurate than NumPy's float32 pairwise sum; the results agree to float32 rounding).

float32 GELU cannot use libm's scalar ``erf``/``exp`` (one call per element: slower than
NumPy's vectorized loops, as measured); it uses the same Numerical Recipes erfc fit as the
NumPy path (fractional error < 1.2e-7) over :func:`_expf`, a Cody-Waite exp that LLVM
vectorizes (relative error < 1e-7 over [-87, 88.7], checked on a dense grid in the tests).
float64 keeps libm's exact ``math.erf`` and ``math.exp``, as NumPy's float64 path does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_OPTS = dict(nogil=True, error_model="numpy")


def _jit(**options):
    """``numba.njit`` with the compiled code cached on disk (next to this file, else in the
    user's cache directory, or NUMBA_CACHE_DIR), or uncached where no cache is writable."""

    def decorate(fn):
        try:
            return njit(cache=True, **options, **_OPTS)(fn)
        except RuntimeError:  # pragma: no cover - no writable cache location
            return njit(**options, **_OPTS)(fn)

    return decorate


F = np.float32

_LOG2E, _LN2_HI, _LN2_LO = F(1.4426950408889634), F(0.693359375), F(-2.12194440e-4)
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
          1.6666665459e-1, 5.0000001201e-1)  # fmt: skip
_EXP_P0, _EXP_P1, _EXP_P2, _EXP_P3, _EXP_P4, _EXP_P5 = (F(c) for c in _EXP_P)
# erfc(z) = t exp(-z^2 - 1.26551223 + t (1.00002368 + ... + t 0.17087277)), t = 1/(1 + z/2)
_ERFC = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
         0.09678418, 0.37409196, 1.00002368)  # fmt: skip
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8 = (F(c) for c in _ERFC)
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


@_jit(inline="always")
def _expf(z):
    """e^z of a float32 (Cephes expf): z = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-7
    polynomial, 2^n as two powers of two built from exponent bits (n up to 128 stays in
    range). 0 below -87 (where e^z < 1.7e-38: subnormal arithmetic would cost a microcode
    assist per element, 20x slower on masked attention scores, measured), inf above
    ln(max float32), NaN stays NaN."""
    zc = min(max(z, F(-87.0)), F(88.72283))
    n = np.floor(zc * _LOG2E + F(0.5))
    r = zc - n * _LN2_HI
    r = r - n * _LN2_LO
    p = _EXP_P0
    p = p * r + _EXP_P1
    p = p * r + _EXP_P2
    p = p * r + _EXP_P3
    p = p * r + _EXP_P4
    p = p * r + _EXP_P5
    p = p * (r * r) + r + F(1.0)
    ni = np.int32(n)
    half = ni >> np.int32(1)
    s1 = np.int32((half + np.int32(127)) << np.int32(23)).view(np.float32)
    s2 = np.int32((ni - half + np.int32(127)) << np.int32(23)).view(np.float32)
    out = (p * s1) * s2
    if z < F(-87.0):
        out = F(0.0)
    if z > F(88.72284):
        out = F(np.inf)
    if z != z:
        out = z
    return out


@_jit(inline="always")
def _erff(u):
    """erf of a float32: sign(u) (1 - erfc(|u|)) with the Numerical Recipes fit of erfc."""
    z = abs(u)
    t = F(1.0) / (F(1.0) + z * F(0.5))
    p = t * _E0
    p = (p + _E1) * t
    p = (p + _E2) * t
    p = (p + _E3) * t
    p = (p + _E4) * t
    p = (p + _E5) * t
    p = (p + _E6) * t
    p = (p + _E7) * t
    p = (p + _E8) * t
    r = F(1.0) - _expf(-(z * z) - F(1.26551223) + p) * t
    return np.float32(math.copysign(r, u))


def _erf(u):  # pragma: no cover - replaced by the overload below inside kernels
    raise NotImplementedError


def _exp(u):  # pragma: no cover - replaced by the overload below inside kernels
    raise NotImplementedError


@overload(_erf, jit_options=dict(_OPTS))
def _erf_impl(u):
    if u == types.float32:
        return lambda u: _erff(u)
    return lambda u: math.erf(u)


@overload(_exp, jit_options=dict(_OPTS))
def _exp_impl(u):
    if u == types.float32:
        return lambda u: _expf(u)
    return lambda u: math.exp(u)


@_jit()
def exp_range(x, out, lo, hi):
    """out = e^x on elements [lo, hi) (for the accuracy test of the float32 exp)."""
    x, out = x[lo:hi], out[lo:hi]
    for i in range(x.size):
        out[i] = _exp(x[i])


@_jit(fastmath={"contract"})
def gelu_forward(x, y, cdf, lo, hi):
    """cdf = Phi(x) = (1 + erf(x / sqrt 2)) / 2 and y = x Phi(x), elements [lo, hi)."""
    one, half, sqrt2 = x.dtype.type(1), x.dtype.type(0.5), x.dtype.type(_SQRT2)
    x, y, cdf = x[lo:hi], y[lo:hi], cdf[lo:hi]  # slices: indices from 0 (see the module doc)
    for i in range(x.size):
        v = x[i]
        c = (_erf(v / sqrt2) + one) * half
        cdf[i] = c
        y[i] = v * c


@_jit(fastmath={"contract"})
def gelu_backward(x, cdf, g, dx, lo, hi):
    """dx = g (Phi(x) + x phi(x)), phi(x) = e^{-x^2/2} / sqrt(2 pi), elements [lo, hi)."""
    c = x.dtype.type(_INV_SQRT_2PI)
    mhalf = x.dtype.type(-0.5)
    x, cdf, g, dx = x[lo:hi], cdf[lo:hi], g[lo:hi], dx[lo:hi]
    for i in range(x.size):
        v = x[i]
        d = _exp((v * v) * mhalf) * c * v
        dx[i] = (d + cdf[i]) * g[i]


# Row sums (float64) may be reordered: ``_dot`` alone is compiled with fastmath's
# ``reassoc`` flag, so LLVM sums in vector lanes (8 interleaved scalar accumulators ran
# 4.5x slower: 0.081 against 0.018 ms for 2048 rows of 128, measured). The order is fixed
# by the row's length and this code, never by the thread that runs the row, so results stay
# bit-identical for any thread count. The flag stays out of every other kernel (the
# elementwise formulas, the Cody-Waite exp), and ``_dot`` is not inlined at Numba's level,
# where the caller's flags would replace its own.


@_jit(inline="always")
def _max8(a):
    """The largest element of a (1-d), ignoring NaN; -inf when there is none."""
    n = a.size
    n8 = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = a.dtype.type(-np.inf)
    for j in range(0, n8, 8):
        v0, v1, v2, v3 = a[j], a[j + 1], a[j + 2], a[j + 3]
        v4, v5, v6, v7 = a[j + 4], a[j + 5], a[j + 6], a[j + 7]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        m4 = v4 if v4 > m4 else m4
        m5 = v5 if v5 > m5 else m5
        m6 = v6 if v6 > m6 else m6
        m7 = v7 if v7 > m7 else m7
    for j in range(n8, n):
        m0 = a[j] if a[j] > m0 else m0
    m0 = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    return m0


@_jit(fastmath={"reassoc"})
def _dot(a, b, sa, sb):
    """sum_j (a_j - sa)(b_j - sb) in float64 (b = None: sum_j a_j); the differences and
    products in a's dtype."""
    s = 0.0
    if b is None:
        for j in range(a.size):
            s += a[j]
    else:
        for j in range(a.size):
            s += (a[j] - sa) * (b[j] - sb)
    return s


@_jit(inline="always")
def _softmax_row(xr, yr, safe):
    zero = xr.dtype.type(0)
    m = _max8(xr)
    if safe and not np.isfinite(m):
        m = zero
    for j in range(xr.size):
        yr[j] = _exp(xr[j] - m)
    s = _dot(yr, None, zero, zero)
    if safe and s != s:  # a NaN in the row: NumPy's max was NaN, so it subtracted 0
        for j in range(xr.size):
            yr[j] = _exp(xr[j])
    d = xr.dtype.type(s)
    if safe and not s > 0:
        d = xr.dtype.type(1)
    for j in range(xr.size):
        yr[j] = yr[j] / d


@_jit(fastmath={"contract"})
def softmax_rows(x, y, safe, lo, hi):
    """y = softmax of each row of x (2-d) in [lo, hi), the NumPy path's results:
    y = e^{x - m} / sum e^{x - m}, m the row max. ``safe`` (attention): a row max that is not
    finite is taken as 0 and a sum that is not > 0 as 1 (a row of -inf gives zeros); otherwise
    (``softmax``) such rows come out NaN, as e^{x - max} / sum does in NumPy."""
    x, y = x[lo:hi], y[lo:hi]
    for r in range(x.shape[0]):
        _softmax_row(x[r], y[r], safe)


@_jit(fastmath={"contract"})
def softmax_rows_inplace(x, safe, lo, hi):
    """:func:`softmax_rows` with y = x. A kernel of its own: given two arguments that alias,
    LLVM's runtime overlap check sends every row to the scalar loop (4.6x slower, measured)."""
    x = x[lo:hi]
    for r in range(x.shape[0]):
        _softmax_row(x[r], x[r], safe)


@_jit(inline="always")
def _softmax_backward_row(yr, gr, dr):
    st = yr.dtype.type(_dot(gr, yr, yr.dtype.type(0), yr.dtype.type(0)))
    for j in range(yr.size):
        dr[j] = (gr[j] - st) * yr[j]


@_jit()
def softmax_backward_rows(y, g, dx, lo, hi):
    """dx = (g - sum_j g_j y_j) y for each row in [lo, hi)."""
    y, g, dx = y[lo:hi], g[lo:hi], dx[lo:hi]
    for r in range(y.shape[0]):
        _softmax_backward_row(y[r], g[r], dx[r])


@_jit()
def softmax_backward_rows_inplace(y, g, lo, hi):
    """:func:`softmax_backward_rows` into g itself."""
    y, g = y[lo:hi], g[lo:hi]
    for r in range(y.shape[0]):
        _softmax_backward_row(y[r], g[r], g[r])


@_jit()
def layer_norm_rows(x, w, b, y, xhat, rstd, eps, lo, hi):
    """Per row of x (2-d): xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps) (biased var),
    y = xhat w + b; w, b of shape (n,) (ones and zeros stand in for absent ones)."""
    x, y, xhat, rstd = x[lo:hi], y[lo:hi], xhat[lo:hi], rstd[lo:hi]
    n = x.shape[1]
    zero = x.dtype.type(0)
    for r in range(x.shape[0]):
        xr, yr, hr = x[r], y[r], xhat[r]
        mean = x.dtype.type(_dot(xr, None, zero, zero) / n)
        var = x.dtype.type(_dot(xr, xr, mean, mean) / n)
        rs = x.dtype.type(1.0 / math.sqrt(var + eps))
        rstd[r] = rs
        for j in range(n):
            h = (xr[j] - mean) * rs
            hr[j] = h
            yr[j] = h * w[j] + b[j]


@_jit()
def layer_norm_backward_rows(gy, w, xhat, rstd, dx, dw, db, block, lo, hi):
    """dx = rstd ((g - mean(g)) - xhat mean(g xhat)), g = gy w, per row in [lo, hi); and the
    partial sums of gy xhat and gy over each block of ``block`` rows into dw[k], db[k]
    (float64; [lo, hi) covers whole blocks, so the partials do not depend on the split)."""
    gy, xhat, rstd, dx = gy[lo:hi], xhat[lo:hi], rstd[lo:hi], dx[lo:hi]
    dw, db = dw[lo // block :], db[lo // block :]
    n = gy.shape[1]
    zero = gy.dtype.type(0)
    for r in range(gy.shape[0]):
        gr, hr, dr = gy[r], xhat[r], dx[r]
        for j in range(n):
            dr[j] = gr[j] * w[j]
        m1 = gy.dtype.type(_dot(dr, None, zero, zero) / n)
        m2 = gy.dtype.type(_dot(dr, hr, zero, zero) / n)
        rs = rstd[r]
        for j in range(n):
            dr[j] = ((dr[j] - m1) - hr[j] * m2) * rs
        dwk, dbk = dw[r // block], db[r // block]
        for j in range(n):
            dwk[j] += gr[j] * hr[j]
            dbk[j] += gr[j]


@_jit()
def adam_range(w, g, m, v, b1, one_b1, b2, one_b2, bc2_sqrt, eps, step, decay, lo, hi):
    """Adam/AdamW on elements [lo, hi), the same float operations in the same order as the
    NumPy path (so the same bits): w *= decay (AdamW; 1 for Adam); m = b1 m + (1-b1) g;
    v = b2 v + (1-b2) g^2; w -= (m / (sqrt(v) / bc2_sqrt + eps)) step."""
    w, g, m, v = w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
    for i in range(w.size):
        gi = g[i]
        mi = m[i] * b1 + gi * one_b1
        vi = v[i] * b2 + (gi * gi) * one_b2
        m[i] = mi
        v[i] = vi
        wi = w[i] * decay
        w[i] = wi - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step


@_jit(fastmath={"contract"})
def cross_entropy_rows(x, target, ignore, loss, mx, sm, lo, hi):
    """Softmax cross-entropy of each row r in [lo, hi) of x (N, C) with class index t_r:
    m_r = max_c x_rc, s_r = sum_c e^{x_rc - m_r} (float64 sum, stored in x's dtype, as the
    NumPy path's), loss_r = m_r + log s_r - x_{r t_r}; 0 where t_r = ``ignore``, NaN where t_r
    is outside [0, C). Returns (rows ignored, rows out of range)."""
    x, target, loss, mx, sm = x[lo:hi], target[lo:hi], loss[lo:hi], mx[lo:hi], sm[lo:hi]
    c = x.shape[1]
    ignored = 0
    bad = 0
    e = np.empty(c, x.dtype)  # a row's exponentials, summed by _dot (in vector lanes)
    zero = x.dtype.type(0)
    for r in range(x.shape[0]):
        xr = x[r]
        m = _max8(xr)
        for j in range(c):
            e[j] = _exp(xr[j] - m)
        s32 = x.dtype.type(_dot(e, None, zero, zero))
        mx[r] = m
        sm[r] = s32
        t = target[r]
        if t == ignore:
            ignored += 1
            loss[r] = 0.0
        elif t < 0 or t >= c:
            bad += 1
            loss[r] = np.nan
        else:
            loss[r] = (m - xr[t]) + math.log(s32)
    return ignored, bad


@_jit(fastmath={"contract"})
def cross_entropy_backward_rows(x, target, ignore, mx, sm, scale, gx, lo, hi):
    """dL/dx_r = scale (softmax(x_r) - onehot(t_r)), softmax = e^{x - m} / s as the forward
    stored them; a zero row where t_r = ``ignore`` or is out of range."""
    x, target, mx, sm, gx = x[lo:hi], target[lo:hi], mx[lo:hi], sm[lo:hi], gx[lo:hi]
    c = x.shape[1]
    for r in range(x.shape[0]):
        xr, gr, t = x[r], gx[r], target[r]
        if t == ignore or t < 0 or t >= c:
            for j in range(c):
                gr[j] = 0.0
            continue
        m, s = mx[r], sm[r]
        for j in range(c):
            gr[j] = (_exp(xr[j] - m) / s) * scale
        gr[t] -= scale


@_jit(fastmath={"reassoc"})
def sum64(a):
    """sum of a 1-d array in float64 (vector lanes, a fixed order)."""
    s = 0.0
    for j in range(a.size):
        s += a[j]
    return s


@_jit()
def relu_forward(x, y, mask, lo, hi):
    """y = max(x, 0) as np.maximum (NaN stays NaN, -0.0 gives 0.0), mask = x > 0, on
    elements [lo, hi): one pass instead of NumPy's two."""
    xs, ys, ms = x[lo:hi], y[lo:hi], mask[lo:hi]
    zero = x.dtype.type(0)
    for i in range(xs.size):
        v = xs[i]
        ms[i] = v > zero
        ys[i] = v if (v > zero) | (v != v) else zero


@_jit()
def relu_backward(g, mask, dx, lo, hi):
    """dx = g * mask on elements [lo, hi) (as NumPy's float * bool: g * 0.0 where masked)."""
    gs, ms, ds = g[lo:hi], mask[lo:hi], dx[lo:hi]
    one, zero = g.dtype.type(1), g.dtype.type(0)
    for i in range(gs.size):
        ds[i] = gs[i] * (one if ms[i] else zero)


@_jit()
def add_row_vector(y, b, lo, hi):
    """y[r] += b for the rows r in [lo, hi) of y (2-d), as NumPy's ``y += b``."""
    y = y[lo:hi]
    for r in range(y.shape[0]):
        yr = y[r]
        for j in range(yr.size):
            yr[j] += b[j]


@_jit()
def column_sums(g, out, lo, hi):
    """out[j] = sum over the rows of g (2-d) of g[:, j], for the columns j in [lo, hi): the
    rows added in order, in g's dtype, as NumPy's ``g.sum(0)`` (the same bits)."""
    out = out[lo:hi]
    n = out.size
    first = g[0][lo:hi]  # rows of the C-contiguous g, sliced: unit stride, vector loops
    for j in range(n):
        out[j] = first[j]
    for r in range(1, g.shape[0]):
        gr = g[r][lo:hi]
        for j in range(n):
            out[j] += gr[j]


@_jit()
def sgd_momentum_range(w, g, buf, mu, lr, lo, hi):
    """SGD with momentum (no dampening, not Nesterov) on elements [lo, hi), the NumPy path's
    float operations in its order (the same bits): buf = buf mu + g; w -= lr buf."""
    w, g, buf = w[lo:hi], g[lo:hi], buf[lo:hi]
    for i in range(w.size):
        b = buf[i] * mu + g[i]
        buf[i] = b
        w[i] = w[i] - lr * b


@_jit()
def add_range(a, b, out, lo, hi):
    """out = a + b on elements [lo, hi) (1-d arrays), as NumPy's ``a + b``."""
    a, b, out = a[lo:hi], b[lo:hi], out[lo:hi]
    for i in range(a.size):
        out[i] = a[i] + b[i]
