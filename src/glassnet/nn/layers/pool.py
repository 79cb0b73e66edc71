"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (NCHW)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._validate import as_tuple, check_float_input, check_rank
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

_LAYOUT = "(N, C, H, W)"


class _Pool2d(Module):
    _dilation = (1, 1)

    def _setup(self, kernel_size, stride, padding) -> None:
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
        check_rank(x, name, (3, 4), _LAYOUT)  # (C, H, W): unbatched, as PyTorch
        for size, k, p, d in zip(x.shape[-2:], self.kernel_size, self.padding, self._dilation):
            if size + 2 * p < d * (k - 1) + 1:
                raise ValueError(
                    f"{name} got input of shape {tuple(x.shape)}: the spatial size "
                    f"{tuple(x.shape[-2:])} is smaller than the window {self.kernel_size}; "
                    "use a smaller kernel_size or fewer pooling layers before this one"
                )

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return s + "".join(f", {k}={v!r}" for k, v in self._options().items())


class MaxPool2d(_Pool2d):
    """Max over each ``kernel_size`` window: y[n, c, i, j] = max_{p, q} x[n, c, i s + p, j s + q].

    The gradient flows only to the arg-max of each window (dy/dx = 1 there, 0 elsewhere).
    ``stride`` defaults to ``kernel_size``; padding pads with -inf.
    H_out = floor((H + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1 (ceil with
    ``ceil_mode``). ``return_indices=True`` also returns the flat H x W index of each max
    (for ``MaxUnpool2d``).

    >>> import glassnet as gn
    >>> gn.nn.MaxPool2d(2)(gn.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:  # fmt: skip
        super().__init__()
        self._setup(kernel_size, stride, padding)
        self.dilation = as_tuple(dilation, 2, "dilation", "MaxPool2d")
        if min(self.dilation) <= 0:
            raise ValueError(f"MaxPool2d: dilation must be positive, got {dilation}")
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    @property
    def _dilation(self):
        return self.dilation

    def _options(self) -> dict:
        return {"dilation": self.dilation, "ceil_mode": self.ceil_mode}

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class AvgPool2d(_Pool2d):
    """Mean over each ``kernel_size`` window:
    y[n, c, i, j] = (1 / (k_h k_w)) sum_{p, q} x[n, c, i s + p, j s + q].

    Each input in a window receives 1 / (k_h k_w) of that output's gradient. ``stride``
    defaults to ``kernel_size``; padded zeros count in the mean (``count_include_pad=True``,
    PyTorch's default); ``divisor_override`` replaces the divisor; ``ceil_mode`` rounds the
    output size up.

    >>> import glassnet as gn
    >>> gn.nn.AvgPool2d(2)(gn.ones(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None) -> None:  # fmt: skip
        super().__init__()
        self._setup(kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _options(self) -> dict:
        return {"ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad}

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip


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
