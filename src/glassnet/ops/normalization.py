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

from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import xp_of
from glassnet.tensor import Tensor


def _normalize(xp, x, axes, eps):
    if x.size == 0:  # an empty batch: nothing to normalize (NumPy warns on empty means)
        z = xp.zeros(tuple(1 if i in axes else n for i, n in enumerate(x.shape)), x.dtype)
        return x.copy(), z + 1 / math.sqrt(eps), z, z
    mean = x.mean(axis=axes, keepdims=True)
    xhat = x - mean  # centered, then scaled in place: the same arithmetic, one buffer fewer
    var = (xhat * xhat).mean(axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt(var + eps)
    xhat *= rstd
    return xhat, rstd, mean, var


def _normalize_backward(g, xhat, rstd, axes):
    """dL/dx from g = dL/dxhat: rstd (g - mean(g) - xhat mean(g xhat)) over ``axes``."""
    if g.size == 0:
        return g.copy()
    tmp = g * xhat
    mean_gx = tmp.mean(axis=axes, keepdims=True)
    dx = g - g.mean(axis=axes, keepdims=True)
    dx -= xp_of(g).multiply(xhat, mean_gx, out=tmp)
    dx *= rstd
    return dx


class _AffineNorm(Function):
    """Shared affine part y = xhat w + b; w and b may be absent (no input for them)."""

    register = False

    def _affine(self, xhat, params, shape):
        w = params[0].reshape(shape) if self.has_weight else None
        b = params[int(self.has_weight)].reshape(shape) if self.has_bias else None
        self.xhat, self.w = xhat, w
        if w is None:
            return xhat if b is None else xhat + b
        y = xhat * w
        if b is None:
            return y
        if b.dtype != y.dtype:
            return y + b
        y += b  # in place on the fresh product: xhat (saved for backward) is untouched
        return y

    def _param_grads(self, grad, axes, shape):
        out = []
        if self.has_weight:
            out.append((grad * self.xhat).sum(axis=axes).reshape(shape))
        if self.has_bias:
            out.append(grad.sum(axis=axes).reshape(shape))
        return out


class LayerNorm(_AffineNorm):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over the last len(w.shape) axes
    dL/dx = (1/sigma) (g - mean(g) - xhat mean(g xhat)),  g = dL/dy w
    dL/dw = sum over the other axes of dL/dy xhat;  dL/db = sum of dL/dy
    """

    def forward(self, x, *params, naxes, eps, has_weight, has_bias):
        xp = xp_of(x)
        self.axes = tuple(range(x.ndim - naxes, x.ndim))
        self.has_weight, self.has_bias = has_weight, has_bias
        xhat, self.rstd, _, _ = _normalize(xp, x, self.axes, eps)
        return self._affine(xhat, params, x.shape[x.ndim - naxes :])

    def backward(self, grad):
        g = grad if self.w is None else grad * self.w
        dx = _normalize_backward(g, self.xhat, self.rstd, self.axes)
        lead = tuple(range(grad.ndim - len(self.axes)))
        return (dx, *self._param_grads(grad, lead, self.xhat.shape[len(lead) :]))


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
        if training:
            xhat, self.rstd, mean, var = _normalize(xp, x, self.axes, eps)
            stats["mean"], stats["var"] = mean.reshape(-1), var.reshape(-1)
        else:
            mean, var = (a.reshape(self.cshape) for a in running)
            self.rstd = (1 / xp.sqrt(var + eps)).astype(x.dtype)
            xhat = (x - mean) * self.rstd
        return self._affine(xhat, params, self.cshape)

    def backward(self, grad):
        g = grad if self.w is None else grad * self.w
        if self.training:
            dx = _normalize_backward(g, self.xhat, self.rstd, self.axes)
        else:
            dx = g * self.rstd
        return (dx, *self._param_grads(grad, self.axes, (grad.shape[1],)))


class GroupNorm(_AffineNorm):
    """x (N, C, ...) split into G groups of C/G channels; each (sample, group) is normalized
    over its channels and positions: xhat = (x - mean_ng) / sqrt(var_ng + eps), y = xhat w_c + b_c
    dL/dx = (1/sigma) (g - mean(g) - xhat mean(g xhat)) within each group,  g = dL/dy w
    """

    def forward(self, x, *params, num_groups, eps, has_weight, has_bias):
        xp = xp_of(x)
        self.has_weight, self.has_bias = has_weight, has_bias
        # explicit group size, not -1: reshape cannot infer it when the batch is empty
        grouped = x.reshape(
            x.shape[0], num_groups, x.size // builtins.max(x.shape[0], 1) // num_groups
        )
        xhat, self.rstd, _, _ = _normalize(xp, grouped, (2,), eps)
        self.cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return self._affine(xhat.reshape(x.shape), params, self.cshape)

    def backward(self, grad):
        g = grad if self.w is None else grad * self.w
        n, groups = grad.shape[0], self.rstd.shape[1]
        per_group = grad.size // builtins.max(n, 1) // groups
        xhat = self.xhat.reshape(n, groups, per_group)
        dx = _normalize_backward(g.reshape(n, groups, per_group), xhat, self.rstd, (2,))
        axes = (0,) + tuple(range(2, grad.ndim))
        return (dx.reshape(grad.shape), *self._param_grads(grad, axes, (grad.shape[1],)))


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


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` axes (per sample, per token).

    The Transformer norm: statistics never mix samples, so it behaves the same in training and
    evaluation. y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance).

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
    _check_x(op, x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"{op}: normalized_shape {shape} must match the last axes of the input, which has "
            f"shape {x.shape}; pass normalized_shape=x.shape[-1] to normalize the last axis"
        )
    params, flags = _affine_args(op, weight, bias, shape)
    return LayerNorm.apply(x, *params, naxes=len(shape), eps=float(eps), **flags)


def batch_norm(
    x: Tensor,
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
    _check_x(op, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, ...), got shape {x.shape}")
    channels = x.shape[1]
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and (not isinstance(r, Tensor) or r.shape != (channels,)):
            got = r.shape if isinstance(r, Tensor) else type(r).__name__
            raise ValueError(f"{op}: {name} must be a tensor of shape ({channels},), got {got}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: pass both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation (training=False) needs running_mean/running_var")
    count = x.numel() // max(channels, 1)
    if training and count <= 1:
        raise ValueError(
            f"{op}: training needs more than 1 value per channel, got input of shape {x.shape}; "
            "use a batch of 2 or more, or evaluation mode"
        )
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum!r}")
    params, flags = _affine_args(op, weight, bias, (channels,))
    running = None if training else (running_mean._data, running_var._data)
    stats: dict = {}
    out = BatchNorm.apply(
        x, *params, training=bool(training), running=running, eps=float(eps), stats=stats, **flags
    )
    if training and running_mean is not None:
        with no_grad():
            unbiased = stats["var"] * (count / (count - 1))
            running_mean.mul_(1 - momentum).add_(stats["mean"] * momentum)
            running_var.mul_(1 - momentum).add_(unbiased * momentum)
    return out


def group_norm(x: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Group normalization: per sample, over groups of C / num_groups channels (and positions).

    Independent of the batch size (unlike batch_norm); num_groups=1 normalizes each sample like
    layer_norm over (C, ...), num_groups=C gives instance norm. weight/bias: (C,).

    >>> import glassnet as gn, glassnet.functional as F
    >>> F.group_norm(gn.tensor([[1.0, 3.0, 5.0, 9.0]]), 2).numpy().round(3)
    array([[-1.,  1., -1.,  1.]], dtype=float32)
    """
    op = "group_norm"
    _check_x(op, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, ...), got shape {x.shape}")
    channels = x.shape[1]
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(
            f"{op}: num_groups={num_groups!r} must be a positive divisor of the {channels} "
            f"channels of the input (shape {x.shape})"
        )
    params, flags = _affine_args(op, weight, bias, (channels,))
    return GroupNorm.apply(x, *params, num_groups=num_groups, eps=float(eps), **flags)
