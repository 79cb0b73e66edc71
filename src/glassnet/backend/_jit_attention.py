"""Fused scaled dot-product attention kernels (Numba; imported by :mod:`glassnet.ops._fused`).

One (batch, head) pair is computed start to end by one call, in a fixed order, so results do
not depend on how :func:`glassnet.backend.kernel_threads.run_rows` splits the pairs among
threads. Per pair, with rows i < L, keys j < S and row limit n_i (min(i + 1, S) with a
causal mask, else S):

    forward:   s_ij = (q_i . k_j) scale + bias_ij,  m_i = max_j s_ij,  e_ij = e^(s_ij - m_i)
               out_i = sum_j e_ij v_j / l_i,  l_i = sum_j e_ij       (j < n_i only)
    saved:     m_i and 1 / l_i: two numbers per row, never the (L, S) probabilities
    backward:  P_ij = e^(s_ij - m_i) / l_i recomputed;
               dP = G v^T,  delta_i = sum_j P_ij dP_ij,  dS = P (dP - delta)
               dq = dS k scale,  dk = dS^T q scale,  dv = P^T G

A row with no allowed key (every bias -inf) has m = 0 and 1 / l = 0: zeros out, zero
gradients, never NaN. With a causal mask, the products skip every tile of 4 x 16 that holds
only j > i (:func:`glassnet.backend._jit_vec.matmul`), and the exponentials and sums run over
j <= i only.

**Layouts.** Every product is :func:`~glassnet.backend._jit_vec.matmul` (register-blocked,
tiles of 4 rows by 16 columns), whose B and C rows must have unit stride and whole tiles.
The inputs may have any strides between rows (MultiheadAttention's head-split views are read
in place; the wrapper makes rows of unit stride). With whole tiles (L and S multiples of 4,
D and Dv of 16, as in W3) k, q, v and the upstream gradient serve as B and out, dq, dk, dv
as C directly; otherwise they go through padded per-call scratch. The scores' B operand is
always a transposed copy (q^T in the forward, k^T and v^T in the backward). The forward works
on s^T (keys by queries), so the row max and the row sum of each query become running maxima
and sums down the rows of s^T, vectorized over queries, and out = P v reads P^T in place; the
backward works on P (queries by keys): dv = P^T G, dk = dS^T q, dq = dS k, dS scaled first.
Scratch is O(L S) per call, freed at its end.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend._jit_kernels import _dot, _exp, _jit
from glassnet.backend._jit_vec import (
    A_LOWER,
    A_UPPER,
    C_LOWER,
    C_UPPER,
    PLAIN,
    ROWS,
    WIDTH,
    flush_subnormals,
    matmul,
    padded,
    restore_subnormals,
    scaled_copy,
)

_FM = {"contract"}


@_jit()
def _transpose(a, at):
    """at[:m, :n] = a^T (a of shape (n, m))."""
    for i in range(a.shape[0]):
        ai = a[i]
        for j in range(a.shape[1]):
            at[j, i] = ai[j]


@_jit()
def _zero(a, start, stop):
    a = a[start:stop]  # indexed from 0: with range(start, stop) LLVM keeps a scalar loop
    for j in range(a.size):
        a[j] = 0


@_jit()
def _copy_padded(a, ap):
    """ap[:, :m] = a (a of shape (n, m), rows of unit stride); ap's other columns are left as
    they are (zeros)."""
    one = a.dtype.type(1)
    for i in range(a.shape[0]):
        scaled_copy(a[i], ap[i], a.shape[1], one)


@_jit(fastmath=_FM)
def attention_forward(q, k, v, bias_t, has_bias, causal, scale, out, rowmax, rowinv, lo, hi):
    """Attention of pairs [lo, hi) (pair p = batch p // H, head p % H): q (B, H, L, D),
    k (B, H, S, D), v (B, H, S, Dv), any strides -> out (B, H, L, Dv), rowmax and rowinv
    (B H, L): m_i and 1 / l_i (see the module doc). ``bias_t`` (S, L), the
    mask's transpose, is added to the scores where ``has_bias`` (else any 2-d array, unread);
    ``causal``: keys j > i are skipped (the caller checked that they are forbidden)."""
    heads, length, d, source, dv = q.shape[1], q.shape[2], q.shape[3], k.shape[2], v.shape[3]
    t = q.dtype.type
    wide = padded(length, WIDTH)
    qt = np.zeros((d, wide), q.dtype)  # q^T, its columns past L stay 0
    st = np.empty((padded(source, ROWS), wide), q.dtype)
    vpad = np.zeros((source, padded(dv, WIDTH)), q.dtype)
    outp = np.empty((padded(length, ROWS), vpad.shape[1]), q.dtype)
    m, inv = np.empty(length, q.dtype), np.empty(length, q.dtype)
    total = np.empty(length)
    aligned = length % ROWS == 0 and dv % WIDTH == 0  # whole tiles: v is B and out is C
    mxcsr = flush_subnormals()
    for p in range(lo, hi):
        b, h = p // heads, p % heads
        _transpose(q[b, h], qt)
        if not aligned:
            _copy_padded(v[b, h], vpad)
        matmul(k[b, h], qt, st, source, wide, d, C_UPPER if causal else PLAIN)  # s^T = k q^T
        m[:] = -np.inf
        for j in range(source):
            start = min(j, length) if causal else 0  # query i sees key j if i >= j
            x, mm = st[j, start:length], m[start:]
            if has_bias:
                brow = bias_t[j, start:]
                for i in range(length - start):
                    x[i] = x[i] * scale + brow[i]
            else:
                for i in range(length - start):
                    x[i] = x[i] * scale
            for i in range(length - start):
                mm[i] = x[i] if x[i] > mm[i] else mm[i]
        for i in range(length):  # a query with no allowed key: e^(-inf - 0) = 0 below
            m[i] = m[i] if np.isfinite(m[i]) else t(0)
        total[:] = 0
        for j in range(source):
            start = min(j, length) if causal else 0
            x, mm, tt = st[j, start:length], m[start:], total[start:]
            for i in range(length - start):
                x[i] = _exp(x[i] - mm[i])
            for i in range(length - start):  # a loop of its own: both vectorize (1.6x)
                tt[i] += x[i]
            _zero(st[j], 0, start)  # P^T[j, i] = 0 for i < j: matmul(A_LOWER) reads them
        mb, ib = rowmax[p], rowinv[p]
        for i in range(length):
            inv[i] = t(1.0 / total[i]) if total[i] > 0 else t(0)
            mb[i], ib[i] = m[i], inv[i]
        # out = P v: P is the transpose of s^T, read in place
        pt, skip = st[:source, :length].T, A_LOWER if causal else PLAIN
        if aligned:  # P normalized first, then the product goes straight into out
            for j in range(source):
                start = min(j, length) if causal else 0
                x, iv = st[j, start:length], inv[start:]
                for i in range(length - start):
                    x[i] = x[i] * iv[i]
            matmul(pt, v[b, h], out[b, h], length, dv, source, skip)
            continue
        matmul(pt, vpad, outp, length, vpad.shape[1], source, skip)
        ob = out[b, h]
        for i in range(length):
            scaled_copy(outp[i], ob[i], dv, inv[i])
    restore_subnormals(mxcsr)


@_jit(fastmath=_FM)
def attention_backward(
    q, k, v, g, rowmax, rowinv, bias, has_bias, causal, scale, dq, dk, dv, lo, hi
):
    """dq, dk, dv (shapes of q, k, v) of pairs [lo, hi) for the upstream gradient g (B, H, L, Dv),
    from the forward's rowmax and rowinv (see the module doc); ``bias`` (L, S)."""
    heads, length, d, source, dvs = q.shape[1], q.shape[2], q.shape[3], k.shape[2], v.shape[3]
    t = q.dtype.type
    wide, rows = padded(source, WIDTH), padded(length, ROWS)
    dp, dvp = padded(d, WIDTH), padded(dvs, WIDTH)
    # B operands (padding columns stay 0): k^T and v^T for the scores and dP; k, q, g
    kt, vt = np.zeros((d, wide), q.dtype), np.zeros((dvs, wide), q.dtype)
    kpad, qpad = np.zeros((source, dp), q.dtype), np.zeros((length, dp), q.dtype)
    gpad = np.zeros((length, dvp), q.dtype)
    prob, dscore = np.empty((rows, wide), q.dtype), np.empty((rows, wide), q.dtype)
    dqs = np.empty((rows, dp), q.dtype)
    dks = np.empty((padded(source, ROWS), dp), q.dtype)
    dvp_s = np.empty((padded(source, ROWS), dvp), q.dtype)
    skip_c = C_LOWER if causal else PLAIN
    # whole 4 x 16 tiles (W3: L = S = 128, D = 32): k, q, g serve as B and dq, dk, dv as C
    aligned = length % ROWS == 0 and source % ROWS == 0 and d % WIDTH == 0
    aligned = aligned and dvs % WIDTH == 0
    mxcsr = flush_subnormals()
    for p in range(lo, hi):
        b, h = p // heads, p % heads
        qb, kb, gb = q[b, h], k[b, h], g[b, h]
        _transpose(kb, kt)
        _transpose(v[b, h], vt)
        if not aligned:
            _copy_padded(kb, kpad)
            _copy_padded(qb, qpad)
            _copy_padded(gb, gpad)
        matmul(qb, kt, prob, length, wide, d, skip_c)  # scores
        matmul(gb, vt, dscore, length, wide, dvs, skip_c)  # dP = G v^T
        for i in range(length):
            lim = min(i + 1, source) if causal else source
            x, dx = prob[i], dscore[i]
            xs, dxs = x[:lim], dx[:lim]
            mi, inv = rowmax[p, i], rowinv[p, i]
            if has_bias:
                brow = bias[i, :lim]
                for j in range(lim):
                    xs[j] = _exp((xs[j] * scale + brow[j]) - mi) * inv
            else:
                for j in range(lim):
                    xs[j] = _exp(xs[j] * scale - mi) * inv
            delta = t(_dot(xs, dxs, t(0), t(0)))
            for j in range(lim):
                dxs[j] = ((dxs[j] - delta) * xs[j]) * scale  # dS scale: dq, dk need no more
            # matmul(A_LOWER / A_UPPER) reads up to 3 columns past the diagonal: zeros there
            stop = min(i + ROWS, source) if causal else lim
            _zero(x, lim, stop)
            _zero(dx, lim, stop)
        ps, dss = prob[:length, :source], dscore[:length, :source]
        lower, upper = A_LOWER if causal else PLAIN, A_UPPER if causal else PLAIN
        dqb, dkb, dvb = dq[b, h], dk[b, h], dv[b, h]
        if aligned:  # whole tiles: read k, q, g and write dq, dk, dv in place
            matmul(dss, kb, dqb, length, d, source, lower)  # dq = dS k
            matmul(dss.T, qb, dkb, source, d, length, upper)  # dk = dS^T q
            matmul(ps.T, gb, dvb, source, dvs, length, upper)  # dv = P^T G
            continue
        matmul(dss, kpad, dqs, length, dp, source, lower)
        matmul(dss.T, qpad, dks, source, dp, length, upper)
        matmul(ps.T, gpad, dvp_s, source, dvp, length, upper)
        one = t(1)
        for i in range(length):
            scaled_copy(dqs[i], dqb[i], d, one)
        for j in range(source):
            scaled_copy(dks[j], dkb[j], d, one)
            scaled_copy(dvp_s[j], dvb[j], dvs, one)
    restore_subnormals(mxcsr)


@_jit()
def mask_pattern(bias):
    """(every entry above the diagonal is -inf, every other entry is 0, every entry above the
    diagonal is 0) of a 2-d additive mask: a causal mask, a mask that adds nothing."""
    upper_forbidden = upper_zero = lower_zero = True
    for i in range(bias.shape[0]):
        row = bias[i]
        for j in range(bias.shape[1]):
            x = row[j]
            if j > i:
                upper_forbidden = upper_forbidden and x == -np.inf
                upper_zero = upper_zero and x == 0
            else:
                lower_zero = lower_zero and x == 0
    return upper_forbidden, lower_zero, upper_zero
