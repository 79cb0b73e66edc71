"""Array-level entry points of the optional fused kernels (:mod:`glassnet.backend.jit`).

Each function returns its result, or None when the kernel does not apply (kernels off, Numba
absent, not a host NumPy float32/float64 array, mixed dtypes): the op then runs its NumPy
path. The ops call them with a one-line ``if``; the math is documented on the ops.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend.jit import usable
from glassnet.backend.kernel_threads import run_rows

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


def relu(x):
    """(y, bool mask) of ReLU on a flat contiguous host array, or None."""
    k = usable(x)
    if k is None:
        return None
    y, mask = np.empty_like(x), np.empty(x.shape, bool)
    run_rows(k.relu_forward, x.size, x, y, mask)  # elementwise, no FMA: any split
    return y, mask


def relu_backward(grad, mask):
    """grad * mask on flat contiguous host arrays, or None."""
    k = usable(grad)
    if k is None:
        return None
    dx = np.empty_like(grad)
    run_rows(k.relu_backward, grad.size, grad, mask, dx)
    return dx


#: The fewest elements for which ``a + b`` of two same-shape arrays (a residual connection)
#: takes the kernel, split over the CPU threads: NumPy's add runs on one.
ADD_MIN_ELEMENTS = 1 << 17


def add(a, b):
    """``a + b`` of two C-contiguous host float arrays of one shape and dtype, split over
    the CPU threads (the same bits: one IEEE addition per element); or None."""
    if type(a) is not np.ndarray or a.size < ADD_MIN_ELEMENTS or not can_fuse(a, b):
        return None
    out = np.empty_like(a)
    run_rows(usable(a).add_range, a.size, a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out


#: The fewest elements for which a Linear layer's bias add and bias gradient take the kernels
#: (a Transformer's (2048, 128) outputs take them; an MLP's (128, 256) do not): below it
#: NumPy's single pass costs about as much, and Numba is not worth importing for it.
BIAS_MIN_ELEMENTS = 1 << 17


def add_row_vector(y, b) -> bool:
    """``y += b`` (y 2-d C-contiguous, b of shape (y.shape[1],)) by rows on the CPU threads:
    True when done, False for the caller's NumPy path (the same bits either way)."""
    if y.size < BIAS_MIN_ELEMENTS or y.ndim != 2 or b.shape != y.shape[1:]:
        return False
    k = usable(y, b)
    if k is None or not (y.flags.c_contiguous and b.flags.c_contiguous):
        return False
    run_rows(k.add_row_vector, y.shape[0], y, b, work=y.size)
    return True


def column_sums(g):
    """``g.sum(0)`` of a 2-d C-contiguous host array, the same bits (rows added in order),
    split by columns over the CPU threads; or None."""
    if g.ndim != 2 or g.size < BIAS_MIN_ELEMENTS or not can_fuse(g):
        return None
    out = np.empty(g.shape[1], g.dtype)
    run_rows(usable(g).column_sums, g.shape[1], g, out, work=g.size)
    return out


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
    """Whether the kernels apply to these arrays: host float arrays of one dtype (``usable``),
    not empty, of one shape, C-contiguous."""
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


#: The fewest elements for SGD's fused pass. Below it NumPy's three passes cost little more
#: (W1's 270K parameters: 1.34-1.42 against 1.33-1.62 ms per step at 2 threads, within the
#: noise), and Numba is not worth importing for it (about 100 MiB, 0.5 s).
SGD_MIN_ELEMENTS = 1 << 20


def sgd_momentum(w, g, buf, *, momentum, lr) -> bool:
    """buf = momentum buf + g; w -= lr buf, in place (see optim.sgd; the same bits as its
    NumPy path); False if not applicable."""
    if w.size < SGD_MIN_ELEMENTS or not can_fuse(w, g, buf):
        return False
    k = usable(w)
    t = w.dtype.type
    args = (w.reshape(-1), g.reshape(-1), buf.reshape(-1))
    run_rows(k.sgd_momentum_range, w.size, *args, t(momentum), t(lr))
    return True


#: Logits below this many elements keep the NumPy path: the kernel saves about 20 us on a
#: (64, 10) batch, but in a process that uses no other kernel (a small MLP with SGD) its first
#: call would import Numba and LLVM (0.3 s from the cache, about 100 MiB of memory).
CROSS_ENTROPY_MIN_ELEMENTS = 1 << 14


def cross_entropy(x, target, ignore_index: int):
    """Per-row softmax cross-entropy of logits x (N, C) with class indices: (loss rows, row
    maxima, row sums of e^{x - max}, rows ignored), or None. Raises IndexError for a target
    outside [0, C) that is not ``ignore_index`` (the NumPy path's indexing would)."""
    if x.ndim != 2 or x.size < CROSS_ENTROPY_MIN_ELEMENTS or target.ndim != 1:
        return None  # checked first: usable() imports Numba
    k = usable(x)
    if k is None:
        return None
    if target.dtype.kind not in "iu" or not x.flags.c_contiguous:
        return None
    n = x.shape[0]
    t = target.astype(np.int64, copy=False)
    loss, mx, sm = np.empty(n, x.dtype), np.empty(n, x.dtype), np.empty(n, x.dtype)
    ignored, bad = run_rows(
        k.cross_entropy_rows, n, x, t, ignore_index, loss, mx, sm, work=x.size * 4, reduce=True
    )
    if bad:
        raise IndexError(
            f"cross_entropy: a target class index is outside [0, {x.shape[1]}) (and is not "
            f"ignore_index={ignore_index}); targets must be class indices of the logits' C axis"
        )
    return loss, mx, sm, ignored


def cross_entropy_backward(x, target, ignore_index: int, mx, sm, scale):
    """scale (softmax(x) - onehot(target)) per row (zeros where ignored), or None."""
    k = usable(x)
    if k is None:
        return None
    t = target.astype(np.int64, copy=False)
    gx = np.empty_like(x)
    run_rows(
        k.cross_entropy_backward_rows, x.shape[0], x, t, ignore_index, mx, sm,
        x.dtype.type(scale), gx, work=x.size * 4,
    )  # fmt: skip
    return gx


def sum64(a):
    """The sum of a 1-d float array in float64 (a fixed order: the kernel's)."""
    return usable(a).sum64(a)


# -- attention (backend._jit_attention) ----------------------------------------------------
def _attention_kernels(*arrays):
    if usable(*arrays) is None:
        return None
    from glassnet.backend import _jit_attention

    return _jit_attention


def _as_2d(m, shape):
    """m broadcast to the (L, S) ``shape`` when it varies over no batch axis, else None."""
    if any(n != 1 for n in m.shape[:-2]):
        return None
    try:
        return np.broadcast_to(m.reshape(m.shape[-2:] if m.ndim >= 2 else m.shape), shape)
    except ValueError:
        return None


def _attention_bias(kern, mask, bias, shape, dtype):
    """(bias (L, S) or None, causal) for the kernels, from the op's bool ``mask`` or float
    ``bias`` (at most one is given), or None when a mask varies over the batch axes."""
    if mask is None and bias is None:
        return None, False
    given = mask if bias is None else bias
    m = _as_2d(given, shape)
    if m is None:
        return None
    if given is mask:
        m = np.where(m, dtype.type(0), dtype.type(-np.inf))
    m = np.ascontiguousarray(m, dtype=dtype)
    upper_forbidden, lower_zero, upper_zero = kern.mask_pattern(m)
    if lower_zero and (upper_forbidden or upper_zero):  # causal or no mask: nothing to add
        return None, upper_forbidden
    return m, upper_forbidden


def attention(q, k, v, bias, mask, scale):
    """(out, state) of scaled dot-product attention out = softmax(q k^T scale + mask) v over
    the last two axes (see ops.attention), or None; ``state`` is what
    :func:`attention_backward` needs (two numbers per query row, never the probabilities).

    Applies when q, k, v (and a float ``bias``) are host float32/float64 arrays of one dtype
    with the same batch axes, and the mask (bool ``mask`` or float ``bias``) is (L, S),
    shared by every batch entry."""
    kern = _attention_kernels(q, k, v, *(() if bias is None else (bias,)))
    if kern is None or q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        return None
    batch, (length, d), (source, dv) = q.shape[:-2], q.shape[-2:], v.shape[-2:]
    if k.shape[:-2] != batch or v.shape[:-2] != batch or min(length, d, source, dv) == 0:
        return None
    plan = _attention_bias(kern, mask, bias, (length, source), q.dtype)
    if plan is None:
        return None
    b, causal = plan
    q4, k4, v4 = _as_4d(q), _as_4d(k), _as_4d(v)
    pairs = q4.shape[0] * q4.shape[1]
    # out in q's memory order (as PyTorch): for q = a head-split view of a (N, L, E) product,
    # out's (N, L, heads, Ev) reshape that follows is free
    out = np.empty_like(q4, shape=(*q4.shape[:3], dv))
    if out.strides[-1] != out.itemsize:  # q's rows have one element (D = 1): no order to keep
        out = np.empty(out.shape, q.dtype)
    rowmax, rowinv = np.empty((pairs, length), q.dtype), np.empty((pairs, length), q.dtype)
    has_bias, b = b is not None, (np.zeros((1, 1), q.dtype) if b is None else b)
    t = q.dtype.type
    args = (q4, k4, v4, np.ascontiguousarray(b.T), has_bias, causal, t(scale), out, rowmax, rowinv)
    work = _attention_work(pairs, length, source, d + dv)
    run_rows(kern.attention_forward, pairs, *args, work=work)
    state = (rowmax, rowinv, b, has_bias, causal)
    return out.reshape(*batch, length, dv), state


def _as_4d(a):
    """a as (B, H, rows, features) without a copy where possible: the kernels take any strides
    but need rows of unit stride (a head-split view of a projection is read in place)."""
    if a.strides[-1] != a.itemsize and a.shape[-1] > 1:
        a = np.ascontiguousarray(a)
    if a.ndim <= 4:
        return a.reshape((1,) * (4 - a.ndim) + a.shape)
    return a.reshape(-1, *a.shape[-3:])


def _attention_work(pairs, length, source, features):
    # one pair costs about L S (D + Dv) / 16 elementwise-op elements (measured order)
    return pairs * (length * source * features // 16 + 1)


def attention_backward(q, k, v, grad, state, scale):
    """(dq, dk, dv) of :func:`attention` for the upstream gradient ``grad`` (the kernels
    ran the forward, so they run the backward even if turned off in between)."""
    from glassnet.backend import _jit_attention as kern

    rowmax, rowinv, b, has_bias, causal = state
    q4, k4, v4 = _as_4d(q), _as_4d(k), _as_4d(v)
    g4 = _as_4d(np.asarray(grad, dtype=q.dtype))
    dq, dk, dv = np.empty_like(q4), np.empty_like(k4), np.empty_like(v4)  # the inputs' order
    t = q.dtype.type
    args = (q4, k4, v4, g4, rowmax, rowinv, b, has_bias, causal, t(scale), dq, dk, dv)
    pairs, (length, d), (source, dvs) = rowmax.shape[0], q.shape[-2:], v.shape[-2:]
    work = 2 * _attention_work(pairs, length, source, d + dvs)
    run_rows(kern.attention_backward, pairs, *args, work=work)
    return dq.reshape(q.shape), dk.reshape(k.shape), dv.reshape(v.shape)
