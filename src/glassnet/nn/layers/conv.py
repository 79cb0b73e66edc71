"""Convolution layers ``Conv1d``, ``Conv2d`` and ``Conv3d`` (cross-correlation, NCL / NCHW /
NCDHW layouts), with PyTorch's ``padding_mode``."""

from __future__ import annotations

import math

import glassnet.functional as F
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import (
    as_tuple,
    check_channels,
    check_float_input,
    check_positive,
    check_rank,
    fan_bound,
)
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared by Conv1d, Conv2d and Conv3d: arguments, parameters, init, checks and repr.

    ``padding_mode`` other than "zeros" pads the input with ``F.pad`` in that mode (by
    ``padding``, or by 'same''s split of dilation (k - 1): the smaller half first, as
    PyTorch) and then convolves without padding."""

    _dims = 0
    _layout = ""
    _conv = None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        kernel_regularizer=None,
        bias_regularizer=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        n = self._dims
        check_positive(in_channels, "in_channels", name)
        check_positive(out_channels, "out_channels", name)
        check_positive(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride, n, "stride", name)
        self.dilation = as_tuple(dilation, n, "dilation", name)
        for label, value in (("kernel_size", self.kernel_size), ("stride", self.stride),
                             ("dilation", self.dilation)):  # fmt: skip
            if min(value) <= 0:
                raise ValueError(f"{name}: {label} must be positive, got {value}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"
                )
            if padding == "same" and max(self.stride) > 1:
                raise ValueError(
                    f"{name}: padding='same' needs stride=1 (got stride={stride}); "
                    "pad explicitly with an int padding instead"
                )
            self.padding = padding if padding == "same" else (0,) * n
        else:
            self.padding = as_tuple(padding, n, "padding", name)
            if min(self.padding) < 0:
                raise ValueError(f"{name}: padding must be >= 0, got {padding}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        object.__setattr__(self, "kernel_regularizer", kernel_regularizer)
        object.__setattr__(self, "bias_regularizer", bias_regularizer)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(zeros(*shape))
        if bias:
            self.bias = Parameter(zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        fan_in = in_channels / groups * prod(kernel_size)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = fan_bound(self.in_channels // self.groups * math.prod(self.kernel_size))
            init.uniform_(self.bias, -bound, bound)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"

    def _check_input(self, x: Tensor) -> None:
        name = self._name()
        check_float_input(x, name, self.weight)
        check_rank(x, name, (self._dims + 1, self._dims + 2), self._layout)
        if x.ndim == self._dims + 1:  # unbatched (C, *spatial), as PyTorch
            if x.shape[0] != self.in_channels:
                raise ValueError(
                    f"{name} got unbatched input of shape {tuple(x.shape)}: axis 0 (channels) "
                    f"must be {self.in_channels}; for a batch use the layout {self._layout}"
                )
        else:
            check_channels(x, name, self.in_channels, self._layout)
        if self.padding == "same":
            return
        spatial = x.shape[-self._dims :]
        for size, k, p, d in zip(spatial, self.kernel_size, self.padding, self.dilation):
            if size + 2 * p < d * (k - 1) + 1:
                raise ValueError(
                    f"{name} got input of shape {tuple(x.shape)}: spatial size "
                    f"{tuple(spatial)} plus padding {self.padding} is smaller than the "
                    f"(dilated) kernel {self.kernel_size}; use a larger input, more padding "
                    "or padding='same'"
                )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding == "same" or any(self.padding):
            s += f", padding={self.padding!r}"
        if any(d != 1 for d in self.dilation):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s

    def _pad_widths(self) -> tuple:
        """F.pad's widths (last dim first) for a non-"zeros" padding_mode."""
        widths = []
        for i in reversed(range(self._dims)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                widths += [total // 2, total - total // 2]
            else:
                widths += [self.padding[i], self.padding[i]]
        return tuple(widths)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        padding = self.padding
        if self.padding_mode != "zeros":
            x = F.pad(x, self._pad_widths(), mode=self.padding_mode)
            padding = 0
        elif padding != "same" and self._dims == 1:
            padding = padding[0]
        stride, dilation = self.stride, self.dilation
        if self._dims == 1:
            stride, dilation = stride[0], dilation[0]
        return type(self)._conv(x, self.weight, self.bias, stride=stride, padding=padding,
                                dilation=dilation, groups=self.groups)  # fmt: skip


class Conv1d(_ConvNd):
    """1-D convolution over sequences (N, C_in, L) -> (N, C_out, L_out).

    Math (cross-correlation, like every framework):
    y[n, o, l] = b[o] + sum_{c, k} W[o, c, k] x[n, g*C_in/groups + c, l*stride + k*dilation
    - padding], with L_out = floor((L + 2 padding - dilation (K - 1) - 1) / stride) + 1.
    dL/dx is the transposed convolution of dL/dy with W; dL/dW correlates x with dL/dy.

    Weight ``(out_channels, in_channels / groups, kernel_size)``; initialised like PyTorch,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kernel_size.

    Args: in_channels, out_channels, kernel_size, stride=1, padding=0 (int or 'same' / 'valid'),
    dilation=1, groups=1, bias=True, padding_mode='zeros', device=None, dtype=None (PyTorch's
    order); keyword-only: kernel_regularizer=None, bias_regularizer=None.

    >>> import glassnet as gn
    >>> gn.nn.Conv1d(2, 4, kernel_size=3, padding="same")(gn.ones(1, 2, 10)).shape
    (1, 4, 10)
    """

    _dims = 1
    _layout = "(N, C, L)"
    _conv = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """2-D convolution over images (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Use it for image feature extraction: it shares one small kernel across all positions.

    Math (cross-correlation): y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q]
    x[n, c', i*s_h + p*d_h - pad_h, j*s_w + q*d_w - pad_w] over the input channels c' of o's
    group, with H_out = floor((H + 2 pad_h - d_h (K_h - 1) - 1) / s_h) + 1 (same for W).
    dL/dx is the transposed convolution of dL/dy with W; dL/dW correlates x with dL/dy;
    dL/db sums dL/dy over n, i, j.

    Weight ``(out_channels, in_channels / groups, K_h, K_w)``; initialised like PyTorch,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * K_h * K_w.

    Args:
        in_channels, out_channels: channel counts (axis 1 of input and output).
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), 'valid' (0) or 'same' (output size = input size; stride 1).
        groups: split channels into groups convolved separately (groups=in_channels is a
            depthwise convolution).
        bias: learn one bias per output channel.
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular': how the
            ``padding`` border is filled (``F.pad``'s modes).
        device, dtype: PyTorch's factory arguments (positional after ``padding_mode``).
        kernel_regularizer, bias_regularizer: keyword-only penalties read by
            ``nn.regularizers``.

    >>> import glassnet as gn
    >>> conv = gn.nn.Conv2d(1, 8, kernel_size=3, padding=1)
    >>> conv(gn.ones(2, 1, 28, 28)).shape
    (2, 8, 28, 28)
    >>> conv
    Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    _dims = 2
    _layout = "(N, C, H, W)"
    _conv = staticmethod(F.conv2d)


class Conv3d(_ConvNd):
    """3-D convolution (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); see F.conv3d.

    The math, arguments and initialisation of :class:`Conv2d` with one more spatial axis:
    fan_in = in_channels / groups * K_d * K_h * K_w.

    >>> import glassnet as gn
    >>> gn.nn.Conv3d(1, 2, 3, padding=1)(gn.ones(1, 1, 4, 4, 4)).shape
    (1, 2, 4, 4, 4)
    """

    _dims = 3
    _layout = "(N, C, D, H, W)"
    _conv = staticmethod(F.conv3d)
