"""Fused scaled dot-product attention kernels (Numba; imported by :mod:`glassnet.backend.jit`).

One (batch, head) pair is computed start to end by one call, in a fixed order, so results do
not depend on how :func:`glassnet.backend.jit.run_rows` splits the pairs among threads. Per
pair, with rows i < L, keys j < S and row limit n_i (min(i + 1, S) with a causal mask, else S):

    forward:   s_ij = (q_i . k_j) scale + bias_ij,  m_i = max_j s_ij,  e_ij = e^(s_ij - m_i)
               out_i = sum_j e_ij v_j / l_i,  l_i = sum_j e_ij       (j < n_i only)
    saved:     m_i and 1 / l_i: two numbers per row, never the (L, S) probabilities
    backward:  P_ij = e^(s_ij - m_i) / l_i recomputed (the forward's own bits);
               dP = G v^T,  delta_i = sum_j P_ij dP_ij,  dS = P (dP - delta)
               dq = dS k scale,  dk = dS^T q scale,  dv = P^T G

A row with no allowed key (every bias -inf) has m = 0 and 1 / l = 0: zeros out, zero
gradients, never NaN. With a causal mask, no product, exponential or sum touches j > i.

**The products.** Numba's LLVM vectorizes innermost loops only (its SLP vectorizer is off), so
every product is written as rows of C updated from rows of B, the innermost loop running over
contiguous columns: ``c[r, :n] += a[r, k] * b[k, :n]``, two rows of C and four k at a time
(:func:`_mm2`), so each loaded vector of B feeds eight multiply-adds and each C vector is
loaded and stored once per four k. K and V are transposed once per pair into (D, S) so the
scores' inner loop runs over keys. Measured on the 2-core Xeon: about 40 GFLOP/s per core
(float32), against about 25 for one row and one k at a time and 10 for scalar tiles
(docs/performance.md). ``fastmath={"contract"}`` only (multiply-adds become FMAs): sums keep
their order, and the bits still do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend._jit_kernels import _dot, _exp, _jit

_FM = {"contract"}


@_jit(fastmath=_FM)
def _mm2(a0, a1, b, c0, c1, lo, n, kk, tri):
    """c0[lo:n] += a0[:kk] @ b[:kk, lo:n] and c1[lo:n] += a1[:kk] @ b[:kk, lo:n] (a0, a1, c0,
    c1 are rows; b is 2-d, C-contiguous). ``tri`` skips known zeros of b: 1, row k is zero
    beyond column k (causal P or dS), so rows k..k+3 update columns < min(k + 4, n) only; 2,
    row k is zero before column k (causal P^T), so they update columns >= max(k, lo) only."""
    k4 = kk - kk % 4
    for k in range(0, k4, 4):
        m = min(k + 4, n) if tri == 1 else n
        start = max(k, lo) if tri == 2 else lo
        b0, b1, b2, b3 = b[k, start:m], b[k + 1, start:m], b[k + 2, start:m], b[k + 3, start:m]
        x0, x1, x2, x3 = a0[k], a0[k + 1], a0[k + 2], a0[k + 3]
        y0, y1, y2, y3 = a1[k], a1[k + 1], a1[k + 2], a1[k + 3]
        d0, d1 = c0[start:m], c1[start:m]
        for j in range(m - start):
            d0[j] = d0[j] + x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j]
            d1[j] = d1[j] + y0 * b0[j] + y1 * b1[j] + y2 * b2[j] + y3 * b3[j]
    for k in range(k4, kk):
        m = min(k + 1, n) if tri == 1 else n
        start = max(k, lo) if tri == 2 else lo
        bk = b[k, start:m]
        x0, y0 = a0[k], a1[k]
        d0, d1 = c0[start:m], c1[start:m]
        for j in range(m - start):
            d0[j] += x0 * bk[j]
            d1[j] += y0 * bk[j]


@_jit()
def _transpose(a, at):
    """at = a^T (a 2-d, at its transpose's shape)."""
    for i in range(a.shape[0]):
        ai = a[i]
        for j in range(a.shape[1]):
            at[j, i] = ai[j]


@_jit()
def _zero(a, start, stop):
    for j in range(start, stop):
        a[j] = 0


@_jit(fastmath=_FM)
def attention_forward(q, k, v, bias_t, has_bias, causal, scale, out, rowmax, rowinv, lo, hi):
    """Attention of pairs [lo, hi): q (P, L, D), k (P, S, D), v (P, S, Dv) -> out (P, L, Dv),
    rowmax and rowinv (P, L): m_i and 1 / l_i (see the module doc). ``bias_t`` (S, L), the
    mask's transpose, is added to the scores where ``has_bias`` (else any 2-d array, unread);
    ``causal``: keys j > i are skipped (the caller checked that they are forbidden).

    Works on the transposed scores s^T (S, L), so that every loop runs over queries, the
    long axis: s^T = k q^T, the row max and sum become running maxima and sums over the rows
    of s^T (a fixed order), and out^T = v^T P^T."""
    q, k, v, out = q[lo:hi], k[lo:hi], v[lo:hi], out[lo:hi]
    rowmax, rowinv = rowmax[lo:hi], rowinv[lo:hi]
    length, d, source, dv = q.shape[1], q.shape[2], k.shape[1], v.shape[2]
    t = q.dtype.type
    qt, vt = np.empty((d, length), q.dtype), np.empty((dv, source), q.dtype)
    st = np.empty((source + source % 2, length), q.dtype)
    outt = np.empty((dv + dv % 2, length), q.dtype)
    m = np.empty(length, q.dtype)
    total = np.empty(length)
    for p in range(q.shape[0]):
        kb = k[p]
        _transpose(q[p], qt)
        _transpose(v[p], vt)
        for j in range(0, source, 2):
            j1 = min(j + 1, source - 1)  # an odd last key row is computed twice, kept once
            start = min(j, length) if causal else 0
            _zero(st[j], start, length)
            _zero(st[j + 1], start, length)
            _mm2(kb[j], kb[j1], qt, st[j], st[j + 1], start, length, d, 0)
        m[:] = -np.inf
        for j in range(source):
            start = min(j, length) if causal else 0
            x, mm = st[j, start:], m[start:]
            if has_bias:
                b = bias_t[j, start:]
                for i in range(length - start):
                    x[i] = x[i] * scale + b[i]
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
            x, mm, tt = st[j, start:], m[start:], total[start:]
            for i in range(length - start):
                e = _exp(x[i] - mm[i])
                x[i] = e
                tt[i] += e
            _zero(st[j], max(start - 3, 0), start)  # _mm2(tri=2) reads rows in blocks of 4
        outt[:] = 0
        for c in range(0, dv, 2):
            c1 = min(c + 1, dv - 1)
            _mm2(vt[c], vt[c1], st, outt[c], outt[c + 1], 0, length, source, 2 if causal else 0)
        ob, mb, ib = out[p], rowmax[p], rowinv[p]
        for i in range(length):
            inv = t(1.0 / total[i]) if total[i] > 0 else t(0)
            mb[i], ib[i] = m[i], inv
            oi = ob[i]
            for c in range(dv):
                oi[c] = outt[c, i] * inv


@_jit(fastmath=_FM)
def attention_backward(
    q, k, v, g, rowmax, rowinv, bias, has_bias, causal, scale, dq, dk, dv, lo, hi
):
    """dq, dk, dv (shapes of q, k, v) of pairs [lo, hi) for the upstream gradient g (P, L, Dv),
    from the forward's rowmax and rowinv (see the module doc)."""
    q, k, v, g = q[lo:hi], k[lo:hi], v[lo:hi], g[lo:hi]
    rowmax, rowinv, dq, dk, dv = rowmax[lo:hi], rowinv[lo:hi], dq[lo:hi], dk[lo:hi], dv[lo:hi]
    length, d, source, dvs = q.shape[1], q.shape[2], k.shape[1], v.shape[2]
    t = q.dtype.type
    even = length + length % 2  # scratch rows: an odd last row pairs with a spare one
    kt, vt = np.empty((d, source), q.dtype), np.empty((dvs, source), q.dtype)
    qt, gt = np.empty((d, length), q.dtype), np.empty((dvs, length), q.dtype)
    prob, dscore = np.empty((even, source), q.dtype), np.empty((even, source), q.dtype)
    dkt = np.empty((d + d % 2, source), q.dtype)
    dvt = np.empty((dvs + dvs % 2, source), q.dtype)
    dqs = np.empty((2, d), q.dtype)
    for p in range(q.shape[0]):
        qb, kb, gb = q[p], k[p], g[p]
        _transpose(kb, kt)
        _transpose(v[p], vt)
        _transpose(qb, qt)
        _transpose(gb, gt)
        for i in range(0, length, 2):
            rows = (i, min(i + 1, length - 1))
            n = min(rows[1] + 1, source) if causal else source
            for r in range(2):
                _zero(prob[i + r], 0, n)
                _zero(dscore[i + r], 0, n)
            _mm2(qb[rows[0]], qb[rows[1]], kt, prob[i], prob[i + 1], 0, n, d, 0)
            _mm2(gb[rows[0]], gb[rows[1]], vt, dscore[i], dscore[i + 1], 0, n, dvs, 0)
            for r in range(2):
                src = rows[r]
                lim = min(src + 1, source) if causal else source
                # zero up to column i + r + 3 too: _mm2(tri=1) reads rows in blocks of 4
                stop = max(n, min(i + r + 4, source)) if causal else n
                x, dx = prob[i + r], dscore[i + r]
                xs, dxs = x[:lim], dx[:lim]
                m, inv = rowmax[p, src], rowinv[p, src]
                if has_bias:
                    b = bias[src, :lim]
                    for j in range(lim):
                        xs[j] = _exp((xs[j] * scale + b[j]) - m) * inv
                else:
                    for j in range(lim):
                        xs[j] = _exp(xs[j] * scale - m) * inv
                delta = t(_dot(xs, dxs, t(0), t(0)))
                for j in range(lim):
                    dxs[j] = (dxs[j] - delta) * xs[j]
                _zero(x, lim, stop)
                _zero(dx, lim, stop)
            _zero(dqs[0], 0, d)
            _zero(dqs[1], 0, d)
            _mm2(dscore[i], dscore[i + 1], kb, dqs[0], dqs[1], 0, d, n, 0)
            for r in range(2 if rows[1] > i else 1):
                dqrow = dq[p, rows[r]]
                for j in range(d):
                    dqrow[j] = dqs[r, j] * scale
        dvt[:] = 0
        dkt[:] = 0
        for c in range(0, dvs, 2):
            c1 = min(c + 1, dvs - 1)
            _mm2(gt[c], gt[c1], prob, dvt[c], dvt[c + 1], 0, source, length, 1 if causal else 0)
        for c in range(0, d, 2):
            c1 = min(c + 1, d - 1)
            _mm2(qt[c], qt[c1], dscore, dkt[c], dkt[c + 1], 0, source, length, 1 if causal else 0)
        dkb, dvb = dk[p], dv[p]
        for j in range(source):
            for c in range(d):
                dkb[j, c] = dkt[c, j] * scale
            for c in range(dvs):
                dvb[j, c] = dvt[c, j]


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
