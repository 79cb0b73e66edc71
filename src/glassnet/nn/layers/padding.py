"""PyTorch's padding modules (``ZeroPad2d``, ``ReflectionPad1d``, ...), ``Softmax2d``,
``ChannelShuffle`` and the ``UpsamplingNearest2d``/``UpsamplingBilinear2d`` modules: each
forward is one functional op (``F.pad``, ``F.softmax``, ``F.channel_shuffle``,
``F.interpolate``).

A padding size is an int (every side) or a tuple (left, right[, top, bottom[, front, back]]),
last dim first, as ``F.pad`` takes it. The input has the module's spatial dims plus a channel
dim, and optionally a batch dim (``ReflectionPad2d`` takes (C, H, W) or (N, C, H, W)).
"""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.module import Module

__all__ = [
    "ChannelShuffle", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d",
    "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "Softmax2d",
    "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]  # fmt: skip


class _Pad(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self.dims:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints "
                f"(left, right, ... last dim first), got {padding}"
            )
        self.padding, self.value = padding, float(value)

    def forward(self, x):
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected a {self.dims + 1}-D (unbatched) or "
                f"{self.dims + 2}-D (batched) input, got shape {tuple(x.shape)}"
            )
        if self.mode == "constant":
            return F.pad(x, self.padding, mode="constant", value=self.value)
        return F.pad(x, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        extra = f", value={self.value}" if type(self).__name__.startswith("Constant") else ""
        return f"{self.padding}{extra}"


def _pad_class(name: str, mode: str, dims: int, constant: bool):
    doc = (f"Pad the last {dims} dim(s) by ``padding`` ({mode} padding"
           f"{', with value' if constant else ''}).")  # fmt: skip
    body = {"mode": mode, "dims": dims, "__doc__": doc, "__module__": __name__}
    if not constant:
        body["__init__"] = lambda self, padding: _Pad.__init__(self, padding)
    return type(name, (_Pad,), body)


ZeroPad1d = _pad_class("ZeroPad1d", "constant", 1, False)
ZeroPad2d = _pad_class("ZeroPad2d", "constant", 2, False)
ZeroPad3d = _pad_class("ZeroPad3d", "constant", 3, False)
ConstantPad1d = _pad_class("ConstantPad1d", "constant", 1, True)
ConstantPad2d = _pad_class("ConstantPad2d", "constant", 2, True)
ConstantPad3d = _pad_class("ConstantPad3d", "constant", 3, True)
ReflectionPad1d = _pad_class("ReflectionPad1d", "reflect", 1, False)
ReflectionPad2d = _pad_class("ReflectionPad2d", "reflect", 2, False)
ReflectionPad3d = _pad_class("ReflectionPad3d", "reflect", 3, False)
ReplicationPad1d = _pad_class("ReplicationPad1d", "replicate", 1, False)
ReplicationPad2d = _pad_class("ReplicationPad2d", "replicate", 2, False)
ReplicationPad3d = _pad_class("ReplicationPad3d", "replicate", 3, False)
CircularPad1d = _pad_class("CircularPad1d", "circular", 1, False)
CircularPad2d = _pad_class("CircularPad2d", "circular", 2, False)
CircularPad3d = _pad_class("CircularPad3d", "circular", 3, False)


class Softmax2d(Module):
    """softmax over the channels (dim -3) of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got {tuple(x.shape)}")
        return F.softmax(x, -3)


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of channels (``F.channel_shuffle``)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = int(groups)

    def forward(self, x):
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class UpsamplingNearest2d(Module):
    """Nearest-neighbour upsampling of (N, C, H, W) to ``size`` or by ``scale_factor``."""

    mode, align = "nearest", None

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{type(self).__name__}: give exactly one of size and scale_factor")
        self.size, self.scale_factor = size, scale_factor

    def forward(self, x):
        extra = {} if self.align is None else {"align_corners": self.align}
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                             **extra)  # fmt: skip

    def extra_repr(self) -> str:
        return f"size={self.size}, scale_factor={self.scale_factor}"


class UpsamplingBilinear2d(UpsamplingNearest2d):
    """Bilinear upsampling with ``align_corners=True`` (PyTorch's choice for this module)."""

    mode, align = "bilinear", True
