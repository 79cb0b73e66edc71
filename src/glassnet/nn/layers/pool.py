"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (NCHW)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._validate import as_tuple, check_float_input, check_rank
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

_LAYOUT = "(N, C, H, W)"


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = as_tuple(kernel_size, 2, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else as_tuple(stride, 2, "stride", name)
        self.padding = as_tuple(padding, 2, "padding", name)
        if min(self.kernel_size) <= 0 or min(self.stride) <= 0:
            raise ValueError(
                f"{name}: kernel_size and stride must be positive, got kernel_size="
                f"{self.kernel_size}, stride={self.stride}"
            )
        for p, k in zip(self.padding, self.kernel_size):
            if p < 0 or p > k // 2:
                raise ValueError(
                    f"{name}: padding must be between 0 and kernel_size // 2, got padding="
                    f"{self.padding} for kernel_size={self.kernel_size}"
                )

    def _check(self, x: Tensor) -> None:
        name = f"{type(self).__name__}(kernel_size={self.kernel_size})"
        check_float_input(x, name)
        check_rank(x, name, (4,), _LAYOUT)
        for size, k, p in zip(x.shape[2:], self.kernel_size, self.padding):
            if size + 2 * p < k:
                raise ValueError(
                    f"{name} got input of shape {tuple(x.shape)}: the spatial size "
                    f"{tuple(x.shape[2:])} is smaller than the window {self.kernel_size}; "
                    "use a smaller kernel_size or fewer pooling layers before this one"
                )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max over each ``kernel_size`` window: y[n, c, i, j] = max_{p, q} x[n, c, i s + p, j s + q].

    The gradient flows only to the arg-max of each window (dy/dx = 1 there, 0 elsewhere).
    ``stride`` defaults to ``kernel_size``; padding pads with -inf.
    H_out = floor((H + 2 padding - kernel_size) / stride) + 1.

    >>> import glassnet as gn
    >>> gn.nn.MaxPool2d(2)(gn.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class AvgPool2d(_Pool2d):
    """Mean over each ``kernel_size`` window:
    y[n, c, i, j] = (1 / (k_h k_w)) sum_{p, q} x[n, c, i s + p, j s + q].

    Each input in a window receives 1 / (k_h k_w) of that output's gradient. ``stride``
    defaults to ``kernel_size``; padded zeros count in the mean (PyTorch's default).

    >>> import glassnet as gn
    >>> gn.nn.AvgPool2d(2)(gn.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size ``(H_out, W_out)`` whatever the input size.

    Output cell (i, j) averages rows floor(i H / H_out) .. ceil((i + 1) H / H_out) - 1 (and
    likewise for columns); ``AdaptiveAvgPool2d(1)`` is global average pooling. ``None`` in
    ``output_size`` keeps that input size.

    >>> import glassnet as gn
    >>> gn.nn.AdaptiveAvgPool2d((1, 1))(gn.ones(2, 16, 7, 7)).shape
    (2, 16, 1, 1)
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
            sizes = tuple(output_size)
        else:
            sizes = (output_size, output_size)
        for s in sizes:
            if s is not None and (not isinstance(s, int) or isinstance(s, bool) or s <= 0):
                raise ValueError(
                    "AdaptiveAvgPool2d: output_size must be a positive int or a tuple of two "
                    f"(positive ints or None), got {output_size!r}"
                )
        self.output_size = output_size if isinstance(output_size, int) else sizes

    def forward(self, x: Tensor) -> Tensor:
        name = f"AdaptiveAvgPool2d(output_size={self.output_size})"
        check_float_input(x, name)
        check_rank(x, name, (4,), _LAYOUT)
        out = self.output_size
        if not isinstance(out, int):
            out = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(out))
        return F.adaptive_avg_pool2d(x, out)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
