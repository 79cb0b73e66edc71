"""Native-thread runners of the fused kernels (Numba ``parallel=True``; used by ``run_rows``).

Each runner here has the name of a kernel of :mod:`glassnet.backend._jit_kernels`,
``_jit_attention`` or ``_jit_conv`` and that kernel's arguments, with ``(rows, step)`` in
place of ``(lo, hi)``: it calls the kernel on ``[0, step)``, ``[step, 2 step)``, ... up to
``rows``, the ranges spread over Numba's threads by ``prange``. The ranges are the ones
:func:`glassnet.backend.kernel_threads.run_rows` would hand to glassnet's pool, so the
results are the same bits (each kernel computes a row the same way for any split).

Why not the pool: handing a range to a Python pool thread costs 15-60 us (a futex wake-up,
then the GIL for the block's Python), more than a LayerNorm of (2048, 128) takes on one core.
Here the ranges run in native code from start to end: no GIL, and OpenMP's threads spin a
little after a region, so the next one starts in microseconds (docs/performance.md,
"Threads"). Used only with Numba's ``omp`` threading layer, which MKL's threads can share
(:mod:`glassnet.backend.mkl`); with ``workqueue`` (not thread-safe) ``run_rows`` keeps the pool.

One runner per kernel, written out: a runner that took the kernel as an argument would be
compiled anew in every process (Numba cannot cache it), about a second per kernel and dtype.
"""

from __future__ import annotations

from numba import njit, prange

from glassnet.backend import _jit_attention as A
from glassnet.backend import _jit_conv as C
from glassnet.backend import _jit_kernels as K


def _pjit(fn):
    try:
        return njit(parallel=True, nogil=True, cache=True)(fn)
    except RuntimeError:  # pragma: no cover - no writable cache location
        return njit(parallel=True, nogil=True)(fn)


@njit(inline="always")
def _count(rows, step):
    return (rows + step - 1) // step


@_pjit
def probe(out):
    """Writes 1 into each element of ``out`` from a parallel loop (resolves the layer)."""
    for i in prange(out.size):
        out[i] = 1


@_pjit
def gelu_forward(x, y, cdf, rows, step):
    for k in prange(_count(rows, step)):
        K.gelu_forward(x, y, cdf, k * step, min(rows, k * step + step))


@_pjit
def gelu_backward(x, cdf, g, dx, rows, step):
    for k in prange(_count(rows, step)):
        K.gelu_backward(x, cdf, g, dx, k * step, min(rows, k * step + step))


@_pjit
def relu_forward(x, y, mask, rows, step):
    for k in prange(_count(rows, step)):
        K.relu_forward(x, y, mask, k * step, min(rows, k * step + step))


@_pjit
def relu_backward(g, mask, dx, rows, step):
    for k in prange(_count(rows, step)):
        K.relu_backward(g, mask, dx, k * step, min(rows, k * step + step))


@_pjit
def softmax_rows(x, y, safe, rows, step):
    for k in prange(_count(rows, step)):
        K.softmax_rows(x, y, safe, k * step, min(rows, k * step + step))


@_pjit
def softmax_rows_inplace(x, safe, rows, step):
    for k in prange(_count(rows, step)):
        K.softmax_rows_inplace(x, safe, k * step, min(rows, k * step + step))


@_pjit
def softmax_backward_rows(y, g, dx, rows, step):
    for k in prange(_count(rows, step)):
        K.softmax_backward_rows(y, g, dx, k * step, min(rows, k * step + step))


@_pjit
def softmax_backward_rows_inplace(y, g, rows, step):
    for k in prange(_count(rows, step)):
        K.softmax_backward_rows_inplace(y, g, k * step, min(rows, k * step + step))


@_pjit
def layer_norm_rows(x, w, b, y, xhat, rstd, eps, rows, step):
    for k in prange(_count(rows, step)):
        K.layer_norm_rows(x, w, b, y, xhat, rstd, eps, k * step, min(rows, k * step + step))


@_pjit
def layer_norm_backward_rows(gy, w, xhat, rstd, dx, dw, db, block, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        K.layer_norm_backward_rows(gy, w, xhat, rstd, dx, dw, db, block, lo, hi)


@_pjit
def adam_range(w, g, m, v, b1, one_b1, b2, one_b2, bc2_sqrt, eps, lr, decay, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        K.adam_range(w, g, m, v, b1, one_b1, b2, one_b2, bc2_sqrt, eps, lr, decay, lo, hi)


@_pjit
def cross_entropy_rows(x, target, ignore, loss, mx, sm, rows, step):
    """Returns (rows ignored, rows out of range), summed over the ranges."""
    ignored = 0
    bad = 0
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        i, b = K.cross_entropy_rows(x, target, ignore, loss, mx, sm, lo, hi)
        ignored += i
        bad += b
    return ignored, bad


@_pjit
def cross_entropy_backward_rows(x, target, ignore, mx, sm, scale, gx, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        K.cross_entropy_backward_rows(x, target, ignore, mx, sm, scale, gx, lo, hi)


@_pjit
def attention_forward(q, k, v, bias_t, has_bias, causal, scale, out, rowmax, rowinv, rows, step):
    for b in prange(_count(rows, step)):
        lo, hi = b * step, min(rows, b * step + step)
        A.attention_forward(q, k, v, bias_t, has_bias, causal, scale, out, rowmax, rowinv, lo, hi)


@_pjit
def attention_backward(
    q, k, v, g, rowmax, rowinv, bias, has_bias, causal, scale, dq, dk, dv, rows, step
):
    for b in prange(_count(rows, step)):
        lo, hi = b * step, min(rows, b * step + step)
        A.attention_backward(
            q, k, v, g, rowmax, rowinv, bias, has_bias, causal, scale, dq, dk, dv, lo, hi
        )


@_pjit
def conv_forward(x, w, b, has_bias, out, pt, pl, hp, wp, rows4, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        C.conv_forward(x, w, b, has_bias, out, pt, pl, hp, wp, rows4, lo, hi)


@_pjit
def conv_grad_input(grad, wf, dx, pt, pl, hp, wp, rows4, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        C.conv_grad_input(grad, wf, dx, pt, pl, hp, wp, rows4, lo, hi)


@_pjit
def conv_wgrad(x, grad, parts, bparts, finite, pt, pl, hp, wp, chunk, lanes_o, rows, step):
    for k in prange(_count(rows, step)):
        lo, hi = k * step, min(rows, k * step + step)
        C.conv_wgrad(x, grad, parts, bparts, finite, pt, pl, hp, wp, chunk, lanes_o, lo, hi)


@_pjit
def max_pool_2x2(x, y, rows, step):
    for k in prange(_count(rows, step)):
        C.max_pool_2x2(x, y, k * step, min(rows, k * step + step))


@_pjit
def max_pool_2x2_backward(x, y, grad, dx, rows, step):
    for k in prange(_count(rows, step)):
        C.max_pool_2x2_backward(x, y, grad, dx, k * step, min(rows, k * step + step))


@_pjit
def add_row_vector(y, b, rows, step):
    for k in prange(_count(rows, step)):
        K.add_row_vector(y, b, k * step, min(rows, k * step + step))


@_pjit
def column_sums(g, out, rows, step):
    for k in prange(_count(rows, step)):
        K.column_sums(g, out, k * step, min(rows, k * step + step))


@_pjit
def sgd_momentum_range(w, g, buf, mu, lr, rows, step):
    for k in prange(_count(rows, step)):
        K.sgd_momentum_range(w, g, buf, mu, lr, k * step, min(rows, k * step + step))


@_pjit
def add_range(a, b, out, rows, step):
    for k in prange(_count(rows, step)):
        K.add_range(a, b, out, k * step, min(rows, k * step + step))
