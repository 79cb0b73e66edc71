"""Channel dropout (``Dropout1d/2d/3d``) and alpha dropout (``AlphaDropout``,
``FeatureAlphaDropout``), PyTorch's modules over :mod:`glassnet.ops.nn_extra`."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.module import Module
from glassnet.tensor import Tensor


class _DropoutNd(Module):
    """``p`` and ``inplace`` as PyTorch's ``_DropoutNd``; identity in eval mode."""

    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: dropout probability has to be in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), bool(inplace)

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(x, f"{type(self).__name__}(p={self.p})")
        return type(self)._fn(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` in training and
    scale the rest by 1 / (1 - p): y[n, c, :] = x[n, c, :] m[n, c] / (1 - p),
    m ~ Bernoulli(1 - p). Identity in eval mode. Use it after Conv1d, where neighbouring
    positions are correlated and element dropout does little.

    >>> import glassnet as gn
    >>> y = gn.nn.Dropout1d(0.5)(gn.ones(2, 64, 5))
    >>> bool(((y.numpy() == 0).all(-1) | (y.numpy() == 2).all(-1)).all())   # whole channels
    True
    """

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input with probability ``p`` in training, scale the
    rest by 1 / (1 - p); identity in eval mode. As PyTorch, a 3-D input is read as (N, C, L)
    (use Dropout1d for that)."""

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p`` in
    training, scale the rest by 1 / (1 - p); identity in eval mode."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance (PyTorch's formula:
    kept y = a x + alpha a p, dropped y = alpha a (p - 1), a = 1 / sqrt((alpha^2 p + 1)(1 - p)),
    alpha = 1.7580993408473766). Identity in eval mode.

    >>> import glassnet as gn
    >>> _ = gn.manual_seed(0)
    >>> y = gn.nn.AlphaDropout(0.2)(gn.randn(200000))
    >>> bool(abs(y.mean().item()) < 0.02), round(float(y.std().item()), 1)   # mean 0, std 1
    (True, 1.0)
    """

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of (N, C, ...) input; identity in eval mode."""

    _fn = staticmethod(F.feature_alpha_dropout)
