"""Transposed convolutions ``ConvTranspose1d/2d/3d`` (PyTorch's arguments and init)."""

from __future__ import annotations

import math

from glassnet import ops
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import as_tuple, check_positive
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class _ConvT(Module):
    _dims = 0
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1,
                 padding_mode="zeros") -> None:  # fmt: skip
        super().__init__()
        n, name = self._dims, type(self).__name__
        check_positive(in_channels, "in_channels", name)
        check_positive(out_channels, "out_channels", name)
        check_positive(groups, "groups", name)
        if padding_mode != "zeros":  # PyTorch's rule
            raise ValueError(
                f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}; pad "
                "the output with F.pad(..., mode=...) instead"
            )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels "
                f"{out_channels} must be divisible by groups {groups}"
            )
        tup = lambda v, label: as_tuple(v, n, label, name)  # noqa: E731
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = tup(kernel_size, "kernel_size"), tup(stride, "stride")
        self.padding, self.dilation = tup(padding, "padding"), tup(dilation, "dilation")
        self.output_padding = tup(output_padding, "output_padding")
        self.padding_mode = padding_mode
        self.weight = Parameter(zeros(in_channels, out_channels // groups, *self.kernel_size))
        if bias:
            self.bias = Parameter(zeros(out_channels))
        else:  # PyTorch's placeholder: `bias` is None and not in the state_dict
            self.register_parameter("bias", None)
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) on the (C_in, C_out/g, k) weight,
        # whose fan_in is C_out/g * prod(k); the bias ~ U(+-1/sqrt(fan_in))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(out_channels // groups * math.prod(self.kernel_size))
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        out_pad = self.output_padding
        if output_size is not None:  # PyTorch: choose output_padding to reach output_size
            want = tuple(output_size)[-self._dims :]
            base = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(x.shape[-self._dims :], self.stride, self.padding, self.dilation,
                        self.kernel_size)]  # fmt: skip
            out_pad = tuple(w - b for w, b in zip(want, base))
        return type(self)._fn(x, self.weight, self.bias, self.stride, self.padding, out_pad,
                              self.groups, self.dilation)  # fmt: skip

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")  # fmt: skip


class ConvTranspose1d(_ConvT):
    """Transposed 1-D convolution (N, C_in, L) -> (N, C_out, L_out); see F.conv_transpose1d.
    Arguments in PyTorch's order: in_channels, out_channels, kernel_size, stride=1,
    padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros' (the
    only mode, as in PyTorch), device=None, dtype=None."""

    _dims = 1
    _fn = staticmethod(ops.conv_transpose1d)


class ConvTranspose2d(_ConvT):
    """Transposed 2-D convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""

    _dims = 2
    _fn = staticmethod(ops.conv_transpose2d)


class ConvTranspose3d(_ConvT):
    """Transposed 3-D convolution (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _dims = 3
    _fn = staticmethod(ops.conv_transpose3d)
