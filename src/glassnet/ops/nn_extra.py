"""PyTorch's channel dropouts, alpha dropout, RMS norm, local response norm and bilinear map.

Each is a composition of existing ops (no hand-written derivative); the random masks are
drawn through ``no_grad_result``, so a ``gn.compile`` replay draws new ones on every call.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import no_grad_result
from glassnet.backend import device_of, get_rng, xp_of
from glassnet.ops import reduction, shape
from glassnet.ops._util import inplace_result
from glassnet.tensor import Tensor

__all__ = [
    "alpha_dropout",
    "bilinear",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "local_response_norm",
    "rms_norm",
]

# SELU's -scale * alpha: the value a dropped unit takes before alpha dropout's affine fix-up
_ALPHA = 1.7580993408473766


def _keep_mask(x, p: float, kept: int):
    """1 with probability 1 - p, else 0, per entry of x's first ``kept`` axes (broadcast
    over the others): a whole channel is kept or dropped."""
    xp = xp_of(x)
    rng = get_rng(None if xp is np else device_of(x))
    shape_ = tuple(x.shape[:kept]) + (1,) * (x.ndim - kept)
    u = rng.random(shape_, dtype=np.float32 if x.dtype != np.float64 else np.float64)
    return (u >= p).astype(x.dtype)


def _check(x, p, name: str) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got {x.dtype}")


def _feature_dropout(x, p, training, inplace, kept, alpha, name):
    """y = x m / (1 - p) (or alpha dropout's affine map) with m drawn per ``kept`` axes."""
    _check(x, p, name)
    if not training or p == 0 or x.numel() == 0:
        return x
    if p == 1:
        out = x * 0.0
    else:
        m = no_grad_result(_keep_mask, x, p=float(p), kept=kept)
        if alpha:
            # a = 1 / sqrt((alpha^2 p + 1)(1 - p)); kept: a x + alpha a p, dropped: a alpha
            # (p - 1): mean 0 and variance 1 stay so for a standardized input (SELU nets)
            a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))
            out = x * (m * a) + (m - 1.0) * (_ALPHA * a) + _ALPHA * a * p
        else:
            out = x * (m * (1.0 / (1.0 - p)))
    return inplace_result(x, out, inplace)  # the activations' inplace= rule (ops/_util.py)


def _unbatched(x, name: str, ranks: tuple, layout: str) -> bool:
    if x.ndim not in ranks:
        raise ValueError(
            f"{name}: expected input of shape {layout}, got {tuple(x.shape)} ({x.ndim} dims)"
        )
    return x.ndim == ranks[0]


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """Zero whole channels of (N, C, L) or unbatched (C, L) input with probability p, scale the
    rest by 1 / (1 - p): y[n, c, :] = x[n, c, :] m[n, c] / (1 - p), m ~ Bernoulli(1 - p).
    Identity when ``training`` is False."""
    _check(input, p, "dropout1d")
    kept = 1 if _unbatched(input, "dropout1d", (2, 3), "(N, C, L) or (C, L)") else 2
    return _feature_dropout(input, p, training, inplace, kept, False, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """Zero whole channels of (N, C, H, W) input with probability p, scale the rest by
    1 / (1 - p). As PyTorch, a 3-D input is read as (N, C, L) (1-D channel dropout; use
    dropout1d for it, PyTorch warns the same)."""
    _check(input, p, "dropout2d")
    _unbatched(input, "dropout2d", (3, 4), "(N, C, H, W) (or (N, C, L), as PyTorch)")
    return _feature_dropout(input, p, training, inplace, 2, False, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with probability
    p, scale the rest by 1 / (1 - p)."""
    _check(input, p, "dropout3d")
    unbatched = _unbatched(input, "dropout3d", (4, 5), "(N, C, D, H, W) or (C, D, H, W)")
    return _feature_dropout(input, p, training, inplace, 1 if unbatched else 2, False, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False):  # noqa: A002
    """Alpha dropout (Klambauer et al. 2017, for SELU networks), PyTorch's formula: with
    a = 1 / sqrt((alpha^2 p + 1)(1 - p)), alpha = 1.7580993408473766 and m ~ Bernoulli(1 - p)
    per element, y = a x + alpha a p where kept and y = alpha a (p - 1) where dropped; keeps
    zero mean and unit variance. Identity when ``training`` is False (PyTorch's default)."""
    return _feature_dropout(input, p, training, inplace, input.ndim, True, "alpha_dropout")


def feature_alpha_dropout(
    input: Tensor,  # noqa: A002
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Alpha dropout of whole channels: m drawn per (N, C) entry of an (N, C, ...) input."""
    _check(input, p, "feature_alpha_dropout")
    if input.ndim < 2:
        raise ValueError(
            f"feature_alpha_dropout: expected input of shape (N, C, ...), got {tuple(input.shape)}"
        )
    return _feature_dropout(input, p, training, inplace, 2, True, "feature_alpha_dropout")


def rms_norm(input: Tensor, normalized_shape, weight=None, eps: float | None = None) -> Tensor:  # noqa: A002
    """Root-mean-square normalization over the last ``len(normalized_shape)`` axes
    (Zhang & Sennrich 2019), PyTorch's ``F.rms_norm``:

        y = x / sqrt(mean(x^2 over the normalized axes) + eps) * weight

    No centring and no bias. ``eps=None`` uses ``finfo(x.dtype).eps``, as PyTorch; float16
    input is computed in float32 and cast back.

    >>> import glassnet as gn
    >>> rms_norm(gn.tensor([[3.0, 4.0]]), (2,), eps=0.0).numpy().round(4)
    array([[0.8485, 1.1314]], dtype=float32)
    """
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError("rms_norm: input must be a floating-point Tensor")
    normalized_shape = (
        (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    )
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k :]) != normalized_shape:
        raise ValueError(
            f"rms_norm: normalized_shape {normalized_shape} must be the trailing dims of the "
            f"input, got input of shape {tuple(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != normalized_shape:
        raise ValueError(
            f"rms_norm: weight of shape {tuple(weight.shape)} must have normalized_shape "
            f"{normalized_shape}"
        )
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    x = input.astype("float32") if input.dtype == np.float16 else input
    axes = tuple(range(x.ndim - k, x.ndim))
    ms = reduction.mean(x * x, dim=axes, keepdim=True)
    y = x / (ms + eps) ** 0.5
    if y.dtype != input.dtype:
        y = y.astype(input.dtype)
    return y if weight is None else y * weight


def local_response_norm(
    input: Tensor,  # noqa: A002
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
) -> Tensor:
    """Local response normalization across channels (Krizhevsky et al. 2012), PyTorch's:

        y[n, c] = x[n, c] / (k + alpha / size * sum_{c'} x[n, c']^2) ** beta

    with c' from c - size // 2 to c + (size - 1) // 2 (channels outside count as zeros).
    Input (N, C, *), at least 3 dims.
    """
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError("local_response_norm: input must be a floating-point Tensor")
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected input of 3 or more dims (N, C, *), got "
            f"{tuple(input.shape)}"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    widths = [(0, 0)] * input.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    sq = shape.pad(input * input, widths)
    total = sq[:, 0:c]
    for j in range(1, size):
        total = total + sq[:, j : j + c]
    return input / (total * (alpha / size) + k) ** beta


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] A[o, i, j] x2[..., j] + b[o], PyTorch's ``F.bilinear``.

    Args:
        input1: (*, in1); input2: (*, in2) with the same leading dims.
        weight: (out, in1, in2); bias: (out,) or None.

    Returns (*, out).
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor) or t.dtype.kind != "f":
            raise TypeError(f"bilinear: {name} must be a floating-point Tensor")
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be (out, in1, in2), got {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1:] != (in1,) or input2.shape[-1:] != (in2,):
        raise ValueError(
            f"bilinear: inputs of shapes {tuple(input1.shape)} and {tuple(input2.shape)} do "
            f"not end in in1={in1} and in2={in2} (weight {tuple(weight.shape)})"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ValueError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} must "
            "have the same leading dims"
        )
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise ValueError(f"bilinear: bias must have shape ({out_f},), got {tuple(bias.shape)}")
    lead = tuple(input1.shape[:-1])
    x1 = shape.reshape(input1, (-1, in1))
    x2 = shape.reshape(input2, (-1, 1, in2))
    a = shape.reshape(shape.permute(weight, (1, 0, 2)), (in1, out_f * in2))
    t = shape.reshape(x1 @ a, (-1, out_f, in2))
    y = reduction.sum(t * x2, dim=-1)
    if bias is not None:
        y = y + bias
    return shape.reshape(y, (*lead, out_f))
