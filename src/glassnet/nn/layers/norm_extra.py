"""``BatchNorm3d``, ``RMSNorm`` and ``LocalResponseNorm`` (PyTorch's modules)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.creation import ones
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.layers.norm import _BN_MATH, _BatchNorm
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) volumes, per channel C (statistics over N, D, H,
    W). Use it between Conv3d and the activation."""

    __doc__ = (
        (__doc__ or "")
        + _BN_MATH
        + """
    >>> import glassnet as gn
    >>> gn.nn.BatchNorm3d(4)(gn.randn(2, 4, 3, 3, 3)).shape
    (2, 4, 3, 3, 3)
    """
    )

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


class RMSNorm(Module):
    """Root-mean-square normalization over the last ``len(normalized_shape)`` axes (Zhang &
    Sennrich 2019; LLaMA-style Transformers):

        y = x / sqrt(mean(x^2 over the normalized axes) + eps) * weight

    No centring and no bias; ``weight`` (shape ``normalized_shape``, init 1) when
    ``elementwise_affine``. ``eps=None`` uses ``finfo(x.dtype).eps``, as PyTorch.

    >>> import glassnet as gn
    >>> norm = gn.nn.RMSNorm(2)
    >>> norm(gn.tensor([[3.0, 4.0]])).numpy().round(4)
    array([[0.8485, 1.1314]], dtype=float32)
    >>> list(norm.state_dict())
    ['weight']
    """

    def __init__(
        self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        shape = tuple(int(s) for s in shape)
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(f"RMSNorm: normalized_shape must be positive ints, got {shape}")
        if eps is not None and eps < 0:
            raise ValueError(f"RMSNorm: eps must be >= 0 or None, got {eps}")
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(ones(*shape))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight._data[...] = 1
            self.weight._bump()

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(x, f"RMSNorm({self.normalized_shape})", self.weight)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class LocalResponseNorm(Module):
    """Normalize each channel by its neighbours' energy (AlexNet):
    y[n, c] = x[n, c] / (k + alpha / size * sum of x[n, c']^2 over the ``size`` channels
    around c) ** beta. Input (N, C, *), at least 3 dims.

    >>> import glassnet as gn
    >>> gn.nn.LocalResponseNorm(2)(gn.ones(1, 3, 2, 2)).shape
    (1, 3, 2, 2)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
