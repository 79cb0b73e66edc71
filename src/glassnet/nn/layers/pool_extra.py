"""Pooling, unpooling, resizing and patch modules beyond ``pool.py``'s 2-D ones, by PyTorch's
names and constructor signatures; each forward calls the functional op of the same name
(whose docstring holds the math)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._simple import REQUIRED, simple_module
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

MaxPool1d = simple_module("MaxPool1d", F.max_pool1d, "1-D max pooling.", kernel_size=REQUIRED,
                          stride=None, padding=0, dilation=1, return_indices=False,
                          ceil_mode=False)  # fmt: skip
MaxPool3d = simple_module("MaxPool3d", F.max_pool3d, "3-D max pooling.", kernel_size=REQUIRED,
                          stride=None, padding=0, dilation=1, return_indices=False,
                          ceil_mode=False)  # fmt: skip
AvgPool1d = simple_module("AvgPool1d", F.avg_pool1d, "1-D average pooling.",
                          kernel_size=REQUIRED, stride=None, padding=0, ceil_mode=False,
                          count_include_pad=True)  # fmt: skip
AvgPool3d = simple_module("AvgPool3d", F.avg_pool3d, "3-D average pooling.",
                          kernel_size=REQUIRED, stride=None, padding=0, ceil_mode=False,
                          count_include_pad=True, divisor_override=None)  # fmt: skip
AdaptiveMaxPool1d = simple_module("AdaptiveMaxPool1d", F.adaptive_max_pool1d,
                                  "max over output_size bins.", output_size=REQUIRED,
                                  return_indices=False)  # fmt: skip
AdaptiveMaxPool2d = simple_module("AdaptiveMaxPool2d", F.adaptive_max_pool2d,
                                  "max over output_size bins.", output_size=REQUIRED,
                                  return_indices=False)  # fmt: skip
AdaptiveAvgPool1d = simple_module("AdaptiveAvgPool1d", F.adaptive_avg_pool1d,
                                  "mean over output_size bins.",
                                  output_size=REQUIRED)  # fmt: skip
AdaptiveAvgPool3d = simple_module("AdaptiveAvgPool3d", F.adaptive_avg_pool3d,
                                  "mean over (D, H, W) output_size bins.",
                                  output_size=REQUIRED)  # fmt: skip
Upsample = simple_module("Upsample", F.interpolate, "interpolate to size or by scale_factor.",
                         size=None, scale_factor=None, mode="nearest", align_corners=None,
                         recompute_scale_factor=None)  # fmt: skip
PixelShuffle = simple_module("PixelShuffle", F.pixel_shuffle, "(C r^2, H, W) -> (C, H r, W r).",
                             upscale_factor=REQUIRED)  # fmt: skip
PixelUnshuffle = simple_module("PixelUnshuffle", F.pixel_unshuffle,
                               "(C, H r, W r) -> (C r^2, H, W).",
                               downscale_factor=REQUIRED)  # fmt: skip
Unfold = simple_module("Unfold", F.unfold, "im2col: sliding blocks as columns.",
                       kernel_size=REQUIRED, dilation=1, padding=0, stride=1)  # fmt: skip
Fold = simple_module("Fold", F.fold, "col2im: columns summed back into an image.",
                     output_size=REQUIRED, kernel_size=REQUIRED, dilation=1, padding=0,
                     stride=1)  # fmt: skip


class _MaxUnpoolNd(Module):
    """Values back at their max-pool indices, zeros elsewhere (F.max_unpool*d)."""

    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Tensor, indices, output_size=None) -> Tensor:  # noqa: A002
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d(return_indices=True); forward(x, indices,
    output_size=None)."""

    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d(return_indices=True): forward(x, indices,
    output_size=None) puts each value at its flat H x W index (written once where
    overlapping windows repeat an index, as PyTorch)."""

    _fn = staticmethod(F.max_unpool2d)
