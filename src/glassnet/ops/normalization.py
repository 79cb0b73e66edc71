"""Normalization: rescale activations to zero mean and unit variance, then scale and shift.

Each norm is one fused op with the standard efficient backward. Over the normalized axes
(n elements), with xhat = (x - mean) / sigma and g = dL/dxhat:

    dL/dx = (1 / sigma) (g - mean(g) - xhat mean(g xhat))

which is three reductions instead of a graph of a dozen small ops. Variances are biased
(divide by n) as in PyTorch; only BatchNorm's running variance uses the unbiased estimate.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import no_grad
from glassnet.autograd.namespace import array_namespace
from glassnet.backend import xp_of
from glassnet.ops import _fused
from glassnet.ops._parallel import map_rows, rows_view
from glassnet.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm"]


def _normalize(ns, x, axes, eps):
    """(xhat, rstd, var): xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps) over ``axes``
    (var biased).

    Written against ``ns``: forward runs it on arrays, and ``backward(create_graph=True)``
    runs it again on the input tensors, so the statistics' own derivatives are in the graph.
    """
    if math.prod(x.shape) == 0 and ns.eager:  # an empty batch: nothing to normalize
        z = ns.xp.zeros(tuple(1 if i in axes else n for i, n in enumerate(x.shape)), x.dtype)
        return x.copy(), z + 1 / math.sqrt(eps), z
    centered = x - ns.mean(x, axes, True)
    var = ns.mean(centered * centered, axes, True)
    rstd = 1 / ns.sqrt(var + eps)
    return ns.mul_(centered, rstd), rstd, var  # xhat in centered's buffer on arrays


def _normalize_backward(ns, g, xhat, rstd, axes):
    """dL/dx from g = dL/dxhat: rstd (g - mean(g) - xhat mean(g xhat)) over ``axes``."""
    if math.prod(g.shape) == 0:
        return g + 0.0
    # on arrays in one buffer (ns.sub_/mul_ write into the fresh g - mean(g)); on tensors the
    # ordinary out-of-place ops
    dx = ns.sub_(g - ns.mean(g, axes, True), xhat * ns.mean(g * xhat, axes, True))
    return ns.mul_(dx, rstd)


class _AffineNorm(Function):
    """Shared affine part y = xhat w + b; w and b may be absent (no input for them)."""

    register = False

    def _affine(self, xhat, params, shape):
        w = params[0].reshape(shape) if self.has_weight else None
        b = params[int(self.has_weight)].reshape(shape) if self.has_bias else None
        if w is None:
            return xhat if b is None else xhat + b
        y = xhat * w
        if b is None or b.dtype != y.dtype:
            return y if b is None else y + b
        y += b  # in place on the fresh product (the same sum); xhat, saved, is untouched
        return y

    def _weight(self, ns, params, shape):
        return ns.reshape(params[0], shape) if self.has_weight else None

    def _param_grads(self, ns, grad, xhat, axes, shape):
        need = self.needs_input_grad[1:]
        out = []
        if self.has_weight:
            out.append(ns.reshape(ns.sum(grad * xhat, axes), shape) if need[0] else None)
        if self.has_bias:
            out.append(ns.reshape(ns.sum(grad, axes), shape) if need[-1] else None)
        return out


class LayerNorm(_AffineNorm):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over the last len(w.shape) axes
    dL/dx = (1/sigma) (g - mean(g) - xhat mean(g xhat)),  g = dL/dy w
    dL/dw = sum over the other axes of dL/dy xhat;  dL/db = sum of dL/dy
    """

    def forward(self, x, *params, naxes, eps, has_weight, has_bias):
        self.axes = tuple(range(x.ndim - naxes, x.ndim))
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        w, b = (params[0] if has_weight else None), (params[-1] if has_bias else None)
        if (fused := _fused.layer_norm(x, w, b, naxes, eps)) is not None:  # backend.jit
            y, self.xhat, self.rstd = fused
            return y
        ns, shape = array_namespace(x), x.shape[x.ndim - naxes :]
        rows = rows_view(x, naxes) if x.size else None
        if rows is None:
            self.xhat, self.rstd, _ = _normalize(ns, x, self.axes, eps)
            return self._affine(self.xhat, params, shape)
        # rows (tokens) in parallel: statistics never mix rows (see ops/_parallel.py)
        row_axes = tuple(range(1, naxes + 1))

        def block(xb):
            xhat, rstd, _ = _normalize(ns, xb, row_axes, eps)
            return xhat, rstd, self._affine(xhat, params, shape)

        xhat, rstd, y = map_rows(block, (rows,), item_size=math.prod(shape), cost=8)
        self.xhat = xhat.reshape(x.shape)
        self.rstd = rstd.reshape(*x.shape[: x.ndim - naxes], *(1,) * naxes)
        return y.reshape(x.shape)

    def backward(self, ns, grad, x, *params):
        axes = self.axes
        if ns.eager and (fused := self._fused_backward(grad, params)) is not None:
            return fused
        xhat, rstd = (self.xhat, self.rstd) if ns.eager else _normalize(ns, x, axes, self.eps)[:2]
        w = self._weight(ns, params, x.shape[axes[0] :])
        lead = tuple(range(grad.ndim - len(axes)))
        rows = rows_view(grad, len(axes)) if ns.eager and grad.size else None
        if rows is None:
            dx = _normalize_backward(ns, grad if w is None else grad * w, xhat, rstd, axes)
            return (dx, *self._param_grads(ns, grad, xhat, lead, x.shape[axes[0] :]))
        row_axes = tuple(range(1, len(axes) + 1))
        need_w = self.has_weight and self.needs_input_grad[1]

        def block(gb, xb, rb):
            dx = _normalize_backward(ns, gb if w is None else gb * w, xb, rb, row_axes)
            return (dx, gb * xb) if need_w else dx

        n, size = rows.shape[0], math.prod(rows.shape[1:])
        out = map_rows(
            block,
            (rows, xhat.reshape(rows.shape), rstd.reshape(n, *(1,) * len(axes))),
            item_size=size,
            cost=10,
        )
        dx, gx = out if need_w else (out, None)
        grads = []
        if self.has_weight:  # the sums run over the rows: one thread, as without the split
            grads.append(ns.sum(gx, 0) if need_w else None)
        if self.has_bias:
            grads.append(ns.sum(rows, 0) if self.needs_input_grad[-1] else None)
        return (dx.reshape(x.shape), *grads)

    def _fused_backward(self, grad, params):
        w = params[0] if self.has_weight else None
        fused = _fused.layer_norm_backward(grad, w, self.xhat, self.rstd, len(self.axes))
        if fused is None:
            return None
        dx, dw, db = fused
        return (dx, *([dw] if self.has_weight else []), *([db] if self.has_bias else []))


class BatchNorm(_AffineNorm):
    """Per channel c of x (N, C, ...): y = (x - mu_c) / sqrt(var_c + eps) * w_c + b_c
    training: mu, var = batch mean and biased variance over (N, ...);
        dL/dx = (1/sigma) (g - mean(g) - xhat mean(g xhat)),  g = dL/dy w
    eval: mu, var = the running statistics (constants), so dL/dx = g / sigma
    dL/dw_c = sum of dL/dy xhat over (N, ...);  dL/db_c = sum of dL/dy
    """

    def forward(self, x, *params, training, running, eps, has_weight, has_bias, stats):
        xp = xp_of(x)
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.training, self.has_weight, self.has_bias = training, has_weight, has_bias
        self.eps = eps
        # (N, C, ...) on the CPU: channels in parallel. (N, C) keeps one NumPy reduction over
        # the batch: there the per-channel order below costs a transposed copy (1.3 against
        # 0.7 ms for a (256, 512) forward + backward, measured) and splitting gains nothing.
        if training and _by_channel(x):
            self.xhat, self.rstd, mean, var = map_rows(
                lambda xb: _channel_normalize(xb, eps), (x,), item_size=x.size // x.shape[1],
                cost=6, axis=1,
            )  # fmt: skip
            stats["mean"], stats["var"] = mean.reshape(-1), var.reshape(-1)
        elif training:
            self.xhat, self.rstd, var = _normalize(array_namespace(x), x, self.axes, eps)
            stats["mean"], stats["var"] = x.mean(axis=self.axes), var.reshape(-1)
        else:
            self.mean, var = (a.reshape(self.cshape) for a in running)
            self.rstd = (1 / xp.sqrt(var + eps)).astype(x.dtype)
            self.xhat = (x - self.mean) * self.rstd
        return self._affine(self.xhat, params, self.cshape)

    def backward(self, ns, grad, x, *params):
        axes = self.axes
        w = self._weight(ns, params, self.cshape)
        if self.training and ns.eager and _by_channel(grad):
            arrays = (grad, self.xhat, self.rstd) + (() if w is None else (w,))
            dx = map_rows(  # channels in parallel on the CPU
                _channel_normalize_backward, arrays, item_size=grad.size // grad.shape[1],
                cost=8, axis=1,
            )  # fmt: skip
            return (dx, *self._param_grads(ns, grad, self.xhat, axes, (grad.shape[1],)))
        g = grad if w is None else grad * w
        if self.training:
            stats = (self.xhat, self.rstd) if ns.eager else _normalize(ns, x, axes, self.eps)[:2]
            xhat, rstd = stats
            dx = _normalize_backward(ns, g, xhat, rstd, axes)
        else:  # the running statistics are constants
            rstd = ns.const(self.rstd)
            xhat = self.xhat if ns.eager else (x - ns.const(self.mean)) * rstd
            dx = g * rstd
        return (dx, *self._param_grads(ns, grad, xhat, axes, (grad.shape[1],)))


def _by_channel(a) -> bool:
    """Whether batch norm takes the channel-split path: a non-empty (N, C, ...) float32 or
    float64 host array (float16 keeps NumPy's mean, which accumulates in float32)."""
    return (
        type(a) is np.ndarray and a.ndim > 2 and a.size > 0 and a.dtype in (np.float32, np.float64)
    )


def _channel_sums(a):
    """Sums of a (N, c, ...) array over every axis but the channels (1), in an order fixed per
    channel whatever c is: each (sample, channel) over its positions (a row: NumPy's pairwise
    sum), then each channel's N partial sums as a row of their own. (NumPy's reduction of
    axes (0, 2, ...) changes its order with c, measured: splitting channels over threads then
    changed the last bits.)"""
    per_sample = a.reshape(a.shape[0], a.shape[1], -1).sum(axis=2)
    return (
        np.ascontiguousarray(per_sample.T).sum(axis=1).reshape(1, a.shape[1], *(1,) * (a.ndim - 2))
    )


def _channel_normalize(x, eps):
    """Batch norm's training forward of a block of channels: (xhat, rstd, mean, var), the
    statistics shaped (1, c, 1, ...); the math of :func:`_normalize` over axes (0, 2, ...)."""
    count = x.size // x.shape[1]
    mean = _channel_sums(x) / count
    centered = x - mean
    var = _channel_sums(centered * centered) / count
    rstd = 1 / np.sqrt(var + eps)
    centered *= rstd
    return centered, rstd.astype(x.dtype, copy=False), mean, var


def _channel_normalize_backward(grad, xhat, rstd, *w):
    """dL/dx of batch norm (training) for a block of channels: rstd (g - mean(g) - xhat
    mean(g xhat)), g = dL/dy w, means over axes (0, 2, ...) by :func:`_channel_sums`."""
    g = grad * w[0] if w else grad
    count = g.size // g.shape[1]
    dx = g - _channel_sums(g) / count
    dx -= xhat * (_channel_sums(g * xhat) / count)
    dx *= rstd
    return dx


class GroupNorm(_AffineNorm):
    """x (N, C, ...) split into G groups of C/G channels; each (sample, group) is normalized
    over its channels and positions: xhat = (x - mean_ng) / sqrt(var_ng + eps), y = xhat w_c + b_c
    dL/dx = (1/sigma) (g - mean(g) - xhat mean(g xhat)) within each group,  g = dL/dy w
    """

    def forward(self, x, *params, num_groups, eps, has_weight, has_bias):
        self.has_weight, self.has_bias, self.eps = has_weight, has_bias, eps
        # explicit group size, not -1: reshape cannot infer it when the batch is empty
        per_group = x.size // builtins.max(x.shape[0], 1) // num_groups
        self.groups = (x.shape[0], num_groups, per_group)
        grouped, ns = x.reshape(self.groups), array_namespace(x)
        # samples in parallel on the CPU (each group's statistics stay within its sample)
        self.xhat, self.rstd = map_rows(
            lambda xb: _normalize(ns, xb, (2,), eps)[:2], (grouped,), item_size=x[0].size, cost=6
        ) if x.size else _normalize(ns, grouped, (2,), eps)[:2]  # fmt: skip
        self.cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return self._affine(self.xhat.reshape(x.shape), params, self.cshape)

    def backward(self, ns, grad, x, *params):
        if ns.eager:
            xhat, rstd = self.xhat, self.rstd
        else:
            xhat, rstd, _ = _normalize(ns, ns.reshape(x, self.groups), (2,), self.eps)
        w = self._weight(ns, params, self.cshape)
        g = ns.reshape(grad if w is None else grad * w, self.groups)
        if ns.eager and g.size:  # samples in parallel on the CPU
            rows = (g, xhat, rstd)
            dx = map_rows(
                lambda *b: _normalize_backward(ns, *b, (2,)), rows, item_size=g[0].size, cost=6
            ).reshape(x.shape)
        else:
            dx = ns.reshape(_normalize_backward(ns, g, xhat, rstd, (2,)), x.shape)
        axes = (0,) + tuple(range(2, grad.ndim))
        xhat_full = ns.reshape(xhat, x.shape)
        return (dx, *self._param_grads(ns, grad, xhat_full, axes, (grad.shape[1],)))


# -- wrappers ---------------------------------------------------------------------------------
def _check_x(op: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}; use .float()")


def _affine_args(op: str, weight, bias, shape) -> tuple[list, dict]:
    params = []
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(p).__name__}")
        if tuple(p.shape) != tuple(shape):
            raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {p.shape}")
        params.append(p)
    return params, {"has_weight": weight is not None, "has_bias": bias is not None}


def layer_norm(
    input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5
) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` axes (per sample, per token).

    The Transformer norm: statistics never mix samples, so it behaves the same in training and
    evaluation. y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance). On the
    CPU with ``glassnet[jit]`` installed, forward and backward run as fused per-row kernels
    (docs/performance.md; ``GLASSNET_JIT=0`` turns them off), with the same results.

    Args:
        x: (..., *normalized_shape).  normalized_shape: int or tuple of trailing sizes.
        weight, bias: optional tensors of shape ``normalized_shape``.  eps: added to var.

    Returns:
        a tensor shaped like ``x``.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.layer_norm(gn.tensor([[1.0, 3.0]]), 2).numpy().round(3)
    array([[-1.,  1.]], dtype=float32)
    """
    op = "layer_norm"
    _check_x(op, input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape) :] != shape or len(shape) > input.ndim:
        raise ValueError(
            f"{op}: normalized_shape {shape} must match the last axes of the input, which has "
            f"shape {input.shape}; pass normalized_shape=x.shape[-1] to normalize the last axis"
        )
    params, flags = _affine_args(op, weight, bias, shape)
    return LayerNorm.apply(input, *params, naxes=len(shape), eps=float(eps), **flags)


def batch_norm(
    input: Tensor,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization per channel (axis 1) of x (N, C) or (N, C, ...).

    Training: normalize with the batch mean and biased variance over (N, ...), and update the
    running statistics in place (no gradient; their version counters are bumped):
    running = (1 - momentum) running + momentum batch_stat, using the *unbiased* variance
    (n / (n - 1) var) for running_var, as PyTorch. Evaluation: normalize with the running ones.

    Args:
        x: (N, C, ...).  running_mean, running_var: (C,) tensors, or None to use batch
            statistics only (then ``training`` must be True).
        weight, bias: optional (C,) tensors.  momentum: in [0, 1].  eps: added to the variance.

    >>> import glassnet as gn, glassnet.functional as F
    >>> rm, rv = gn.zeros(1), gn.ones(1)
    >>> F.batch_norm(gn.tensor([[1.0], [3.0]]), rm, rv, training=True).numpy().round(3)
    array([[-1.],
           [ 1.]], dtype=float32)
    >>> rm.numpy(), rv.numpy()          # 0.9 * 0 + 0.1 * 2;  0.9 * 1 + 0.1 * 2 (unbiased var)
    (array([0.2], dtype=float32), array([1.1], dtype=float32))
    """
    op = "batch_norm"
    _check_x(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and (not isinstance(r, Tensor) or r.shape != (channels,)):
            got = r.shape if isinstance(r, Tensor) else type(r).__name__
            raise ValueError(f"{op}: {name} must be a tensor of shape ({channels},), got {got}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: pass both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation (training=False) needs running_mean/running_var")
    count = input.numel() // max(channels, 1)
    if training and count <= 1:
        raise ValueError(
            f"{op}: training needs more than 1 value per channel, got shape {input.shape}; "
            "use a batch of 2 or more, or evaluation mode"
        )
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum!r}")
    params, flags = _affine_args(op, weight, bias, (channels,))
    running = None if training else (running_mean._data, running_var._data)
    stats: dict = {}
    out = BatchNorm.apply(
        input,
        *params,
        training=bool(training),
        running=running,
        eps=float(eps),
        stats=stats,
        **flags,
    )
    if training and running_mean is not None:
        with no_grad():
            unbiased = stats["var"] * (count / (count - 1))
            running_mean.mul_(1 - momentum).add_(stats["mean"] * momentum)
            running_var.mul_(1 - momentum).add_(unbiased * momentum)
    return out


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Group normalization: per sample, over groups of C / num_groups channels (and positions).

    Independent of the batch size (unlike batch_norm); num_groups=1 normalizes each sample like
    layer_norm over (C, ...), num_groups=C gives instance norm. weight/bias: (C,).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.group_norm(gn.tensor([[1.0, 3.0, 5.0, 9.0]]), 2).numpy().round(3)
    array([[-1.,  1., -1.,  1.]], dtype=float32)
    """
    op = "group_norm"
    _check_x(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(
            f"{op}: num_groups={num_groups!r} must be a positive divisor of the {channels} "
            f"channels of the input (shape {input.shape})"
        )
    params, flags = _affine_args(op, weight, bias, (channels,))
    return GroupNorm.apply(input, *params, num_groups=num_groups, eps=float(eps), **flags)


def instance_norm(
    input: Tensor,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalization (PyTorch's ``F.instance_norm``) of x (N, C, ...): each sample's
    channel over its own positions, y = w_c (x - mu_nc) / sqrt(s2_nc + eps) + b_c.

    With ``use_input_stats`` (the default) mu_nc and s2_nc (biased) come from the sample:
    ``group_norm`` with one group per channel. ``running_mean`` / ``running_var``, when given,
    are then updated in place: r = (1 - momentum) r + momentum * (the batch mean of mu_nc, or
    of the unbiased s2_nc). Without it the running statistics normalize, as ``batch_norm`` in
    evaluation.

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.instance_norm(gn.tensor([[[1.0, 3.0], [2.0, 2.0]]])).numpy().round(3)
    array([[[-1.,  1.],
            [ 0.,  0.]]], dtype=float32)
    """
    op = "instance_norm"
    _check_x(op, input)
    if input.ndim < 3:
        raise ValueError(
            f"{op}: input must be (N, C, L), (N, C, H, W) or (N, C, D, H, W), got shape "
            f"{input.shape}; add a batch axis with x.unsqueeze(0)"
        )
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False, eps=eps)
    out = group_norm(input, input.shape[1], weight, bias, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            axes, data = tuple(range(2, input.ndim)), input.detach()
            if running_mean is not None:
                mean = data.mean(axes).mean(0)
                running_mean.mul_(1 - momentum).add_(mean * momentum)
            if running_var is not None:
                var = data.var(axes, unbiased=True).mean(0)
                running_var.mul_(1 - momentum).add_(var * momentum)
    return out
