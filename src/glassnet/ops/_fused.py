"""Array-level entry points of the optional fused kernels (:mod:`glassnet.backend.jit`).

Each function returns its result, or None when the kernel does not apply (kernels off, Numba
absent, not a host NumPy float32/float64 array, mixed dtypes): the op then runs its NumPy
path. The ops call them with a one-line ``if``; the math is documented on the ops.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend.jit import run_rows, usable

# Rows per partial sum of LayerNorm's weight and bias gradients: fixed, so the sums do not
# depend on the thread count.
_NORM_BLOCK = 64


# Element blocks start at multiples of this (the kernels are compiled with FMA contraction:
# an element must sit in the same vector lane, or the same scalar tail, for any split).
_CHUNK = 4096


def gelu(x):
    """(y, Phi(x)) of exact GELU, or None."""
    k = usable(x)
    if k is None or x.size == 0:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    y, cdf = np.empty_like(flat), np.empty_like(flat)
    run_rows(k.gelu_forward, flat.size, flat, y, cdf, grain=_CHUNK)
    return y.reshape(x.shape), cdf.reshape(x.shape)


def gelu_backward(x, cdf, grad):
    """grad (Phi(x) + x phi(x)), or None."""
    k = usable(x, cdf, grad)
    if k is None or x.size == 0 or grad.shape != x.shape:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    g = np.ascontiguousarray(grad).reshape(-1)
    c = np.ascontiguousarray(cdf).reshape(-1)
    dx = np.empty_like(flat)
    run_rows(k.gelu_backward, flat.size, flat, c, g, dx, grain=_CHUNK)
    return dx.reshape(x.shape)


def _rows(x):
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


def softmax_last(x, out=None, safe=False):
    """Softmax over the last axis (into ``out``: None, a fresh array or x itself), or None;
    ``safe``: attention's softmax (see the kernel)."""
    k = usable(x)
    if k is None or x.ndim == 0 or x.size == 0 or not x.flags.c_contiguous:
        return None
    rows = x.size // x.shape[-1]
    if out is x:
        run_rows(k.softmax_rows_inplace, rows, x.reshape(rows, -1), safe, work=x.size)
        return x
    y = np.empty_like(x) if out is None else out
    run_rows(k.softmax_rows, rows, x.reshape(rows, -1), y.reshape(rows, -1), safe, work=x.size)
    return y


def softmax_backward_last(y, grad, out=None):
    """(grad - rowsum(grad y)) y over the last axis (into ``out``: None, a fresh array or grad
    itself), or None."""
    k = usable(y, grad)
    if k is None or y.ndim == 0 or y.size == 0 or grad.shape != y.shape:
        return None
    if not (y.flags.c_contiguous and grad.flags.c_contiguous):
        return None
    rows = y.size // y.shape[-1]
    shape = (rows, y.shape[-1])
    if out is grad:
        run_rows(
            k.softmax_backward_rows_inplace, rows, y.reshape(shape), grad.reshape(shape),
            work=y.size,
        )  # fmt: skip
        return grad
    dx = np.empty_like(grad) if out is None else out
    run_rows(
        k.softmax_backward_rows, rows, y.reshape(shape), grad.reshape(shape), dx.reshape(shape),
        work=y.size,
    )  # fmt: skip
    return dx


def layer_norm(x, weight, bias, naxes: int, eps: float):
    """(y, xhat, rstd) of LayerNorm over the last ``naxes`` axes (rstd of shape
    (..., 1, ..., 1)), or None."""
    params = [p for p in (weight, bias) if p is not None]
    k = usable(x, *params)
    if k is None or x.ndim == 0 or x.size == 0:
        return None
    n = int(np.prod(x.shape[x.ndim - naxes :]))
    rows = x.size // n
    x2 = np.ascontiguousarray(x).reshape(rows, n)
    w = np.ones(n, x.dtype) if weight is None else np.ascontiguousarray(weight).reshape(n)
    b = np.zeros(n, x.dtype) if bias is None else np.ascontiguousarray(bias).reshape(n)
    y, xhat = np.empty_like(x2), np.empty_like(x2)
    rstd = np.empty(rows, x.dtype)
    args = (x2, w, b, y, xhat, rstd, x.dtype.type(eps))
    run_rows(k.layer_norm_rows, rows, *args, work=x.size)
    stat_shape = x.shape[: x.ndim - naxes] + (1,) * naxes
    return y.reshape(x.shape), xhat.reshape(x.shape), rstd.reshape(stat_shape)


def layer_norm_backward(grad, weight, xhat, rstd, naxes: int):
    """(dx, dw, db) of LayerNorm (dw, db of the weight's shape; None without a weight), or
    None."""
    arrays = [grad, xhat, rstd] + ([] if weight is None else [weight])
    k = usable(*arrays)
    if k is None or grad.ndim == 0 or grad.size == 0 or grad.shape != xhat.shape:
        return None
    n = int(np.prod(grad.shape[grad.ndim - naxes :]))
    rows = grad.size // n
    w = np.ones(n, grad.dtype) if weight is None else np.ascontiguousarray(weight).reshape(n)
    blocks = -(-rows // _NORM_BLOCK)
    dw, db = np.zeros((blocks, n)), np.zeros((blocks, n))
    dx = np.empty((rows, n), grad.dtype)
    args = (_rows2(grad, rows, n), w, _rows2(xhat, rows, n), rstd.reshape(rows))
    run_rows(
        k.layer_norm_backward_rows, rows, *args, dx, dw, db, _NORM_BLOCK,
        work=grad.size, grain=_NORM_BLOCK,
    )  # fmt: skip
    shape = grad.shape[grad.ndim - naxes :]
    dw = dw.sum(axis=0).astype(grad.dtype).reshape(shape)
    db = db.sum(axis=0).astype(grad.dtype).reshape(shape)
    return dx.reshape(grad.shape), dw, db


def _rows2(a, rows, n):
    return np.ascontiguousarray(a).reshape(rows, n)


def can_fuse(*arrays) -> bool:
    """Whether the elementwise kernels (Adam) apply to these arrays: same shape, contiguous."""
    if usable(*arrays) is None or arrays[0].size == 0:
        return False
    shape = arrays[0].shape
    return all(a.shape == shape and a.flags.c_contiguous for a in arrays)


def adam(w, g, m, v, *, beta1, beta2, eps, bc2_sqrt, step, decay) -> bool:
    """The Adam/AdamW update in place on w, m, v (see optim.adam); False if not applicable."""
    if not can_fuse(w, g, m, v):
        return False
    k = usable(w)
    t = w.dtype.type
    args = (w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1))
    scalars = (t(beta1), t(1 - beta1), t(beta2), t(1 - beta2), t(bc2_sqrt), t(eps), t(step))
    run_rows(k.adam_range, w.size, *args, *scalars, t(decay))
    return True
