"""Scaled dot-product attention: each query takes a softmax-weighted average of the values.

    scores = q k^T * scale (+ additive mask);  P = softmax(scores) over the keys;  out = P v

One fused op (forward and backward are four matmuls and a softmax), plus
:func:`attention_weights`, the differentiable P alone, for ``need_weights``-style callers.

Masks follow PyTorch: a boolean mask is True where a query may attend to a key; a float mask
is added to the scores (use -inf to forbid). A query row whose keys are all forbidden has no
distribution to take: glassnet returns zeros for that row (weights, output and gradients),
as PyTorch's safe softmax does, never NaN.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import Function, NoGrad
from glassnet.backend import get_rng, xp_of
from glassnet.ops import _fused
from glassnet.ops._parallel import map_rows
from glassnet.tensor import Tensor

__all__ = ["attention_weights", "scaled_dot_product_attention"]


def _t(a):
    return a.swapaxes(-1, -2)


def _safe_softmax(xp, s):
    """softmax over the last axis, computed in place in ``s`` (a fresh scores array)."""
    # Subtract the row max for stability; a fully masked row has max -inf, and -inf - -inf
    # would be NaN, so such rows use 0 instead and come out as exact zeros. In-place ops
    # (one buffer for scores, exponentials and probabilities) are the same arithmetic as
    # the out-of-place formula, with 3 fewer (L, S) allocations per head.
    if _fused.softmax_last(s, out=s, safe=True) is not None:  # optional kernel (backend.jit)
        return s
    m = s.max(axis=-1, keepdims=True)
    s -= xp.where(xp.isfinite(m), m, 0)
    xp.exp(s, out=s)
    denom = s.sum(axis=-1, keepdims=True)
    s /= xp.where(denom > 0, denom, 1)
    return s


def _attend(xp, q, k, v, bias, mask, keep, scale):
    """Forward of one block of queries against its keys: (P, dropout(P), out)."""
    s = q @ _t(k)
    s *= scale
    if bias is not None:
        s += bias  # the wrapper made bias q's dtype, broadcastable to s
    if mask is not None:
        s = xp.where(mask, s, -xp.inf)
    p = _safe_softmax(xp, s).astype(q.dtype, copy=False)
    pd = p if keep is None else p * keep
    return p, pd, pd @ v


def _attend_backward(ns, grad, q, k, v, p, pd, keep, scale, need):
    """Backward of :func:`_attend`: (dL/dq, dL/dk, dL/dv, dL/dS); None where not needed.

    Written against ``ns``: arrays eagerly, tensors under create_graph (then ``p`` is the
    recomputed, differentiable softmax).
    """
    gv = ns.swapaxes(pd, -1, -2) @ grad if need[2] else None
    gp = grad @ ns.swapaxes(v, -1, -2)
    if keep is not None:
        gp = gp * ns.const(keep)
    # ns.mul_/sub_ write into the fresh gp and matmul results on arrays (no new (L, S)
    # buffers), and are the ordinary ops on tensors
    fused = _fused.softmax_backward_last(p, gp, out=gp) if ns.eager else None
    gs = fused if fused is not None else ns.mul_(ns.sub_(gp, ns.sum(gp * p, -1, True)), p)
    gq = ns.mul_(gs @ k, scale) if need[0] else None
    gk = ns.mul_(ns.swapaxes(gs, -1, -2) @ q, scale) if need[1] else None
    return gq, gk, gv, gs


# Below this many queries the two-block causal path saves less than its extra calls cost.
_MIN_SPLIT = 64


def _causal_half(xp, q, k, bias, mask, keep):
    """h when queries [0, h) may attend to no key in [h, S) (a causal mask), else None.

    Then the first half of the queries is computed against the first half of the keys only:
    the skipped quarter of the scores would have softmax weight exactly 0.
    """
    length, source = q.shape[-2], k.shape[-2]
    if length != source or length < _MIN_SPLIT or keep is not None or xp is not np:
        return None  # on a device, deciding would cost a host sync: compute it all
    h = length // 2
    for m, forbids in ((mask, lambda b: not b.any()), (bias, lambda b: xp.isneginf(b).all())):
        if m is not None and m.shape[-2:] == (length, source) and bool(forbids(m[..., :h, h:])):
            return h
    return None


def _rows_cols(a, rows, cols):
    return None if a is None else a[..., rows, cols]


class ScaledDotProductAttention(Function):
    """out = D(P) v,  P = softmax(q k^T scale + bias, masked), D = dropout (keep / (1 - p))
    dL/dv = D(P)^T G;  dL/dP = D(G v^T);  dL/dS = P (dL/dP - rowsum(dL/dP P))
    dL/dq = dL/dS k scale;  dL/dk = dL/dS^T q scale;  dL/dbias = dL/dS   (G = dL/dout)

    With a causal mask (the first half of the queries may attend to no key of the second
    half) the scores are computed in two row blocks, skipping that quarter: queries [0, h)
    against keys [0, h), queries [h, L) against all keys. Same formulas; the sums then run
    over fewer exact zeros, so results agree with the one-block path to float rounding.
    """

    def forward(self, q, k, v, *bias, mask, keep, scale, bias_grad=False):
        xp = xp_of(q)
        b = bias[0] if bias else None
        self.keep, self.scale, self.mask = keep, scale, mask
        self.fused = None
        if keep is None and not bias_grad:  # the optional fused kernel (backend.jit)
            res = _fused.attention(q, k, v, b, mask, scale)
            if res is not None:
                out, self.fused = res
                return out
        self.h = _causal_half(xp, q, k, b, mask, keep)
        # batch entries (and their heads) in parallel, each product on one BLAS thread
        res = _by_batch(self._forward_rows, (q, k, v, b, mask, keep), q, 2)
        if self.h is not None:
            self.p, out = res[:2], res[2]
        elif keep is None:
            (self.p, out), self.pd = res, res[0]
        else:
            self.p, self.pd, out = res
        return out

    def _forward_rows(self, q, k, v, b, mask, keep):
        """The forward on some batch entries: (P, out), (P, D(P), out) with dropout, or
        (P_top, P_low, out) on the causal path."""
        xp, h, scale = xp_of(q), self.h, self.scale
        if h is None:
            p, pd, out = _attend(xp, q, k, v, b, mask, keep, scale)
            return (p, out) if keep is None else (p, pd, out)
        top, low, every = slice(None, h), slice(h, None), slice(None)
        p_top, _, out_top = _attend(
            xp, q[..., top, :], k[..., top, :], v[..., top, :],
            _rows_cols(b, top, top), _rows_cols(mask, top, top), None, scale,
        )  # fmt: skip
        p_low, _, out_low = _attend(
            xp, q[..., low, :], k, v, _rows_cols(b, low, every), _rows_cols(mask, low, every),
            None, scale,
        )  # fmt: skip
        return p_top, p_low, xp.concatenate([out_top, out_low], axis=-2)

    def backward(self, ns, grad, q, k, v, *bias):
        need = self.needs_input_grad
        keep, scale = self.keep, self.scale
        if not ns.eager:  # P again, from differentiable ops: its derivative is in the graph
            p = _probs_graph(q, k, bias[0] if bias else None, self.mask, scale)
            pd = p if keep is None else p * ns.const(keep)
            gq, gk, gv, gs = _attend_backward(ns, grad, q, k, v, p, pd, keep, scale, need)
            return (gq, gk, gv, gs) if bias else (gq, gk, gv)
        if self.fused is not None:
            grads = _fused.attention_backward(q, k, v, grad, self.fused, scale)
            return tuple(g if n else None for g, n in zip((*grads, None), need))
        need = tuple(need) + (False,) * (4 - len(need))
        need = need[:3] + (need[3] and bool(bias),)
        if self.h is None:
            state = (self.p, self.pd, keep)
        else:
            state = (*self.p, None)

        def rows(grad, q, k, v, p_a, p_b, keep):
            grads = self._backward_rows(ns, grad, q, k, v, p_a, p_b, keep, need)
            return tuple(g for g in grads if g is not None)

        res = _by_batch(rows, (grad, q, k, v, *state), q, 3)
        res = iter(res if isinstance(res, tuple) else (res,))
        grads = tuple(next(res) if n else None for n in need)
        return grads if bias else grads[:3]

    def _backward_rows(self, ns, grad, q, k, v, p_a, p_b, keep, need):
        """dL/dq, dL/dk, dL/dv, dL/dS of some batch entries (None where not needed)."""
        scale, h = self.scale, self.h
        if h is None:
            gq, gk, gv, gs = _attend_backward(ns, grad, q, k, v, p_a, p_b, keep, scale, need)
            return gq, gk, gv, (gs if need[3] else None)
        xp = xp_of(grad)
        p_top, p_low, top, low = p_a, p_b, slice(None, h), slice(h, None)
        gq_t, gk_t, gv_t, gs_t = _attend_backward(
            ns, grad[..., top, :], q[..., top, :], k[..., top, :], v[..., top, :],
            p_top, p_top, None, scale, need,
        )  # fmt: skip
        gq, gk, gv, gs_low = _attend_backward(
            ns, grad[..., low, :], q[..., low, :], k, v, p_low, p_low, None, scale, need
        )
        if need[0]:
            gq = xp.concatenate([gq_t, gq], axis=-2)
        if need[1]:
            gk[..., top, :] += gk_t
        if need[2]:
            gv[..., top, :] += gv_t
        gs = None
        if need[3]:  # dL/dbias = dL/dS: zero in the skipped quarter
            gs = xp.zeros((*gs_low.shape[:-2], q.shape[-2], k.shape[-2]), dtype=gs_low.dtype)
            gs[..., top, top] = gs_t
            gs[..., low, :] = gs_low
        return gq, gk, gv, gs


def _by_batch(fn, arrays, q, cost):
    """fn(*arrays) over blocks of the first (batch) axis, in parallel on the CPU threads.

    Arrays with q's batch length on axis 0 and q's number of axes are split; the others
    (None, broadcast masks) go whole to every block. Each block computes its batch entries'
    products and softmax exactly as one call would (NumPy's batched matmul multiplies slice by
    slice): the same bits for any thread count.
    """
    n = q.shape[0] if q.ndim >= 3 else 0
    split = [
        a is not None and a.ndim == q.ndim and n > 1 and a.shape[0] == n for a in arrays
    ]  # fmt: skip
    if n <= 1 or not split[0] or xp_of(q) is not np:
        return fn(*arrays)
    rows = [a for a, s in zip(arrays, split) if s]

    def block(*blocks):
        it = iter(blocks)
        return fn(*(next(it) if s else a for a, s in zip(arrays, split)))

    work = q[0].size * max(1, q.shape[-2] // 8)  # ~ L * S per head: the scores dominate
    return map_rows(block, rows, item_size=work, cost=cost, single_blas=True)


def _probs_graph(q, k, bias, mask, scale):
    """P = softmax(q k^T scale + bias, masked) from differentiable ops; fully masked rows are
    zeros, as in the fused forward."""
    from glassnet.ops.activation import softmax
    from glassnet.ops.selection import where
    from glassnet.ops.shape import swapaxes

    xp = xp_of(q._data)
    s = (q @ swapaxes(k, -1, -2)) * scale
    if bias is not None:
        s = s + bias
        finite = xp.isfinite(bias._data)  # -inf entries forbid, exactly as a False entry
        mask = finite if mask is None else mask & finite
    if mask is None:
        return softmax(s, axis=-1)
    # forbidden scores become the most negative finite number (not -inf, whose row max would
    # make -inf - -inf = NaN); rows with nothing allowed are then zeroed explicitly
    lowest = float(xp.finfo(s.dtype).min)
    # the mask as an argument of recorded no-grad results: a compiled step's replay reads
    # that call's mask (a mask tensor's array, or one computed by recorded ops)
    allowed = NoGrad.apply(fn=_broadcast, mask=mask, shape=s.shape)
    p = softmax(where(allowed, s, lowest), axis=-1)
    rows = NoGrad.apply(fn=_any_allowed, mask=mask, shape=s.shape, dtype=s.dtype.str)
    return p * rows


def _dropout_keep(shape, p, dtype, device):
    """Attention dropout's scale per score: 0 (dropped) or 1 / (1 - p), drawn on the
    device from its generator (seeded by manual_seed): no host copy."""
    kept = get_rng(None if device.type == "cpu" else device).random(shape) >= p
    return (kept * (0.0 if p == 1 else 1.0 / (1.0 - p))).astype(dtype)


def _broadcast(mask, shape):
    return xp_of(mask).broadcast_to(mask, shape)


def _any_allowed(mask, shape, dtype):
    """1 for the rows of scores with a key they may attend to, else 0 (kept last axis)."""
    return _broadcast(mask, shape).any(axis=-1, keepdims=True).astype(dtype)


# -- wrappers ---------------------------------------------------------------------------------
def _prepare(op, q, k, attn_mask, is_causal, scale):
    """Validate q, k and the masks; return (bias tensor or None, bool mask or None, scale)."""
    for name, t in (("q", q), ("k", k)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f" or t.ndim < 2:
            raise ValueError(
                f"{op}: {name} must be a float tensor (..., seq, features), got dtype "
                f"{t.dtype} and shape {t.shape}"
            )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{op}: q (..., L, E) = {q.shape} and k (..., S, E) = {k.shape} must have the same "
            "last axis E (the query/key feature size)"
        )
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: the batch axes of q {q.shape} and k {k.shape} do not broadcast"
        ) from None
    xp = xp_of(q._data)
    length, source = q.shape[-2], k.shape[-2]
    scores_shape = (*batch, length, source)
    bias = mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(
                f"{op}: pass either attn_mask or is_causal=True, not both (as PyTorch); fold "
                "the causal mask into attn_mask to combine them"
            )
        m = attn_mask if isinstance(attn_mask, Tensor) else Tensor(xp.asarray(attn_mask))
        try:
            ok = np.broadcast_shapes(m.shape, scores_shape) == scores_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{op}: attn_mask of shape {m.shape} must broadcast to the attention scores' "
                f"shape {scores_shape} (..., L, S)"
            )
        if m.dtype.kind == "b":
            mask = m._data
        elif m.dtype.kind == "f":
            bias = m if m.dtype == q.dtype else m.astype(q.dtype)
        else:
            raise TypeError(
                f"{op}: attn_mask must be boolean (True = attend) or float (added to the "
                f"scores), got dtype {m.dtype}"
            )
    if is_causal:
        mask = xp.tril(xp.ones((length, source), dtype=bool))
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    return bias, mask, float(scale), scores_shape


def _repeat_kv_heads(op, q, k, v):
    """k and v with each head repeated q_heads / kv_heads times (grouped-query attention)."""
    from glassnet.ops.repeat import repeat_interleave

    hq, hk = q.shape[-3], k.shape[-3]
    if v.ndim < 3 or v.shape[-3] != hk or hq % hk:
        raise ValueError(
            f"{op}: with enable_gqa, k and v need the same number of heads (dim -3), a divisor "
            f"of q's {hq}; got k {k.shape} and v {getattr(v, 'shape', None)}"
        )
    return repeat_interleave(k, hq // hk, -3), repeat_interleave(v, hq // hk, -3)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Attention out = softmax(q k^T scale + mask) v (PyTorch's signature and masks).

    Args:
        q: (..., L, E) queries.  k: (..., S, E) keys.  v: (..., S, Ev) values; batch axes
            broadcast (e.g. (N, heads, L, E)).
        attn_mask: bool (True = may attend) or float (added to the scores; it gets a gradient
            if it requires one), broadcastable to (..., L, S).
        dropout_p: probability of dropping each attention weight (glassnet's seeded RNG);
            pass 0 in evaluation.
        is_causal: query i attends to keys j <= i only (top-left aligned, as PyTorch).
        scale: default 1 / sqrt(E).
        enable_gqa: grouped-query attention: k and v may have fewer heads (dim -3) than q,
            a divisor of them; each k/v head serves q_heads / kv_heads consecutive q heads.

    Returns:
        (..., L, Ev). Rows whose keys are all masked are zeros (no NaN, zero gradients).

    >>> import glassnet as gn, glassnet.functional as F
    >>> q = k = gn.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = gn.tensor([[1.0], [3.0]])
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy().round(3)  # row 0: key 0
    array([[1.  ],
           [2.34]], dtype=float32)
    """
    op = "scaled_dot_product_attention"
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _repeat_kv_heads(op, query, key, value)
    bias, mask, scale, scores_shape = _prepare(op, query, key, attn_mask, is_causal, scale)
    if not isinstance(value, Tensor) or value.ndim < 2 or value.shape[-2] != key.shape[-2]:
        raise ValueError(
            f"{op}: v (..., S, Ev) must be a tensor with as many rows as k (S = {key.shape[-2]}); "
            f"got {getattr(value, 'shape', type(value).__name__)}"
        )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p!r}")
    keep = None
    if dropout_p > 0:  # a recorded draw: each replay of a compiled step draws its own mask
        keep = NoGrad.apply(fn=_dropout_keep, shape=scores_shape, p=dropout_p,
                            dtype=query.dtype.str, device=query.device)._data  # fmt: skip
    extra = (bias,) if bias is not None else ()
    return ScaledDotProductAttention.apply(
        query, key, value, *extra, mask=mask, keep=keep, scale=scale,
        bias_grad=bias is not None and bias.requires_grad,
    )  # fmt: skip


def attention_weights(
    q: Tensor, k: Tensor, attn_mask=None, is_causal: bool = False, scale: float | None = None
) -> Tensor:
    """The attention probabilities P = softmax(q k^T scale + mask), shape (..., L, S).

    For callers that return the weights (``MultiheadAttention(need_weights=True)``): compose
    ``dropout(P) @ v`` to get the output. Built from differentiable ops (matmul, where,
    softmax), so P has gradients. Fully masked rows are zeros, like the fused op.

    >>> import glassnet as gn, glassnet.functional as F
    >>> q = k = gn.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> F.attention_weights(q, k, is_causal=True).numpy().round(3)
    array([[1.  , 0.  ],
           [0.33, 0.67]], dtype=float32)
    """
    op = "attention_weights"
    bias, mask, scale, _ = _prepare(op, q, k, attn_mask, is_causal, scale)
    return _probs_graph(q, k, bias, mask, scale)
