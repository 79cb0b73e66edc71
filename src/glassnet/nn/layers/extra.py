"""Modules for issue 16's ops, by PyTorch's names and arguments: activations, losses,
distances, transposed and 3-D convolutions, 1-D/3-D and adaptive pooling, unpooling,
Upsample, PixelShuffle, Fold/Unfold. Each forward calls the functional op of the same name,
whose docstring holds the math."""

from __future__ import annotations

import math

import glassnet.functional as F
from glassnet import ops
from glassnet.creation import full, zeros
from glassnet.nn import init
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


def _module(name: str, fn, doc: str, **defaults):
    """A Module class whose forward is ``fn(x, **its arguments)`` (PyTorch's defaults)."""

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        params = dict(defaults)
        for key, value in zip(defaults, args):
            params[key] = value
        unknown = set(kwargs) - set(defaults)
        if unknown or len(args) > len(defaults):
            raise TypeError(f"{name}: unexpected arguments {sorted(unknown) or args}")
        params.update(kwargs)
        for key, value in params.items():
            object.__setattr__(self, key, value)

    def forward(self, *inputs):
        return fn(*inputs, **{k: getattr(self, k) for k in defaults})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in defaults)

    return type(name, (Module,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                  "extra_repr": extra_repr, "__module__": __name__})  # fmt: skip


# -- activations ---------------------------------------------------------------------------
ReLU6 = _module("ReLU6", F.relu6, "y = min(max(0, x), 6).")
Hardtanh = _module("Hardtanh", F.hardtanh, "y = clip(x, min_val, max_val).", min_val=-1.0,
                   max_val=1.0)  # fmt: skip
Hardsigmoid = _module("Hardsigmoid", F.hardsigmoid, "y = relu6(x + 3) / 6.")
Hardswish = _module("Hardswish", F.hardswish, "y = x relu6(x + 3) / 6.")
Mish = _module("Mish", F.mish, "y = x tanh(softplus(x)).")
SELU = _module("SELU", F.selu, "y = scale (x if x > 0 else alpha (e^x - 1)).")
CELU = _module("CELU", F.celu, "y = x if x > 0 else alpha (e^{x/alpha} - 1).", alpha=1.0)
Softsign = _module("Softsign", F.softsign, "y = x / (1 + |x|).")
LogSigmoid = _module("LogSigmoid", F.logsigmoid, "y = ln sigmoid(x) = -softplus(-x).")
Softmin = _module("Softmin", F.softmin, "softmax(-x) along dim.", dim=None)
GLU = _module("GLU", F.glu, "a sigmoid(b) for the halves a, b of x along dim.", dim=-1)
Threshold = _module("Threshold", F.threshold, "y = x if x > threshold else value.",
                    threshold=0.0, value=0.0)  # fmt: skip
Hardshrink = _module("Hardshrink", F.hardshrink, "y = x if |x| > lambd else 0.", lambd=0.5)
Softshrink = _module("Softshrink", F.softshrink, "y = x - lambd sign(x) beyond lambd, else 0.",
                     lambd=0.5)  # fmt: skip
Tanhshrink = _module("Tanhshrink", F.tanhshrink, "y = x - tanh(x).")


class RReLU(Module):
    """Randomized leaky ReLU: slopes ~ U(lower, upper) in training, their mean in eval."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3) -> None:
        super().__init__()
        self.lower, self.upper = lower, upper

    def forward(self, x: Tensor) -> Tensor:
        return F.rrelu(x, self.lower, self.upper, self.training)


class PReLU(Module):
    """y = x if x > 0 else a x with a learned slope a: one (num_parameters=1) or one per
    channel (dim 1), initialized to ``init`` (0.25)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(full((num_parameters,), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


# -- distances and losses ------------------------------------------------------------------
CosineSimilarity = _module("CosineSimilarity", F.cosine_similarity,
                           "cos of the angle between x1 and x2 along dim.", dim=1,
                           eps=1e-8)  # fmt: skip
PairwiseDistance = _module("PairwiseDistance", F.pairwise_distance,
                           "||x1 - x2 + eps||_p over the last dim.", p=2.0, eps=1e-6,
                           keepdim=False)  # fmt: skip
MarginRankingLoss = _module("MarginRankingLoss", F.margin_ranking_loss,
                            "max(0, -y (x1 - x2) + margin).", margin=0.0,
                            reduction="mean")  # fmt: skip
HingeEmbeddingLoss = _module("HingeEmbeddingLoss", F.hinge_embedding_loss,
                             "x if y = 1, max(0, margin - x) if y = -1.", margin=1.0,
                             reduction="mean")  # fmt: skip
SoftMarginLoss = _module("SoftMarginLoss", F.soft_margin_loss, "ln(1 + e^{-y x}).",
                         reduction="mean")  # fmt: skip
MultiLabelSoftMarginLoss = _module("MultiLabelSoftMarginLoss", F.multilabel_soft_margin_loss,
                                   "per-class logistic loss averaged over classes.",
                                   weight=None, reduction="mean")  # fmt: skip
CosineEmbeddingLoss = _module("CosineEmbeddingLoss", F.cosine_embedding_loss,
                              "1 - cos if y = 1, max(0, cos - margin) if y = -1.", margin=0.0,
                              reduction="mean")  # fmt: skip
TripletMarginLoss = _module("TripletMarginLoss", F.triplet_margin_loss,
                            "max(d(a, p) - d(a, n) + margin, 0).", margin=1.0, p=2.0,
                            eps=1e-6, swap=False, reduction="mean")  # fmt: skip
PoissonNLLLoss = _module("PoissonNLLLoss", F.poisson_nll_loss,
                         "e^x - y x (log_input) or x - y ln(x + eps).", log_input=True,
                         full=False, eps=1e-8, reduction="mean")  # fmt: skip
CTCLoss = _module("CTCLoss", F.ctc_loss, "-ln p(target | input) over all CTC alignments.",
                  blank=0, reduction="mean", zero_infinity=False)  # fmt: skip
GaussianNLLLoss = _module("GaussianNLLLoss", F.gaussian_nll_loss,
                          "(ln var + (x - y)^2 / var) / 2.", full=False, eps=1e-6,
                          reduction="mean")  # fmt: skip

# -- pooling, resizing, patches ------------------------------------------------------------
MaxPool1d = _module("MaxPool1d", F.max_pool1d, "1-D max pooling.", kernel_size=1,
                    stride=None, padding=0, dilation=1, return_indices=False,
                    ceil_mode=False)  # fmt: skip
MaxPool3d = _module("MaxPool3d", F.max_pool3d, "3-D max pooling.", kernel_size=1,
                    stride=None, padding=0, dilation=1, return_indices=False,
                    ceil_mode=False)  # fmt: skip
AvgPool1d = _module("AvgPool1d", F.avg_pool1d, "1-D average pooling.", kernel_size=1,
                    stride=None, padding=0, ceil_mode=False, count_include_pad=True)  # fmt: skip
AvgPool3d = _module("AvgPool3d", F.avg_pool3d, "3-D average pooling.", kernel_size=1,
                    stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                    divisor_override=None)  # fmt: skip
AdaptiveMaxPool1d = _module("AdaptiveMaxPool1d", F.adaptive_max_pool1d,
                            "max over output_size bins.", output_size=1,
                            return_indices=False)  # fmt: skip
AdaptiveMaxPool2d = _module("AdaptiveMaxPool2d", F.adaptive_max_pool2d,
                            "max over output_size bins.", output_size=1,
                            return_indices=False)  # fmt: skip
AdaptiveAvgPool1d = _module("AdaptiveAvgPool1d", F.adaptive_avg_pool1d,
                            "mean over output_size bins.", output_size=1)  # fmt: skip
AdaptiveAvgPool3d = _module("AdaptiveAvgPool3d", F.adaptive_avg_pool3d,
                            "mean over (D, H, W) output_size bins.", output_size=1)  # fmt: skip
MaxUnpool2d = _module("MaxUnpool2d", F.max_unpool2d,
                      "values back at their max_pool2d indices.", kernel_size=1, stride=None,
                      padding=0)  # fmt: skip
Upsample = _module("Upsample", F.interpolate, "interpolate to size or by scale_factor.",
                   size=None, scale_factor=None, mode="nearest", align_corners=None)  # fmt: skip
PixelShuffle = _module("PixelShuffle", F.pixel_shuffle, "(C r^2, H, W) -> (C, H r, W r).",
                       upscale_factor=1)  # fmt: skip
PixelUnshuffle = _module("PixelUnshuffle", F.pixel_unshuffle,
                         "(C, H r, W r) -> (C r^2, H, W).", downscale_factor=1)  # fmt: skip
Unfold = _module("Unfold", F.unfold, "im2col: sliding blocks as columns.", kernel_size=1,
                 dilation=1, padding=0, stride=1)  # fmt: skip
Fold = _module("Fold", F.fold, "col2im: columns summed back into an image.", output_size=1,
               kernel_size=1, dilation=1, padding=0, stride=1)  # fmt: skip


# -- convolutions with parameters ----------------------------------------------------------
class _ConvT(Module):
    _dims = 0
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1) -> None:  # fmt: skip
        super().__init__()
        n = self._dims
        tup = lambda v: (v,) * n if isinstance(v, int) else tuple(v)  # noqa: E731
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{type(self).__name__}: in_channels {in_channels} and out_channels "
                f"{out_channels} must be divisible by groups {groups}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding = tup(kernel_size), tup(stride), tup(padding)
        self.output_padding, self.dilation = tup(output_padding), tup(dilation)
        self.weight = Parameter(zeros(in_channels, out_channels // groups, *self.kernel_size))
        self.bias = Parameter(zeros(out_channels)) if bias else None
        if not bias:
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
    """Transposed 1-D convolution (N, C_in, L) -> (N, C_out, L_out); see F.conv_transpose1d."""

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


class Conv3d(Module):
    """3-D convolution (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); see F.conv3d.
    PyTorch's init: W, b ~ U(+-1/sqrt(fan_in)), fan_in = C_in / groups * prod(kernel)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True) -> None:  # fmt: skip
        super().__init__()
        k = (kernel_size,) * 3 if isinstance(kernel_size, int) else tuple(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, k
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.weight = Parameter(zeros(out_channels, in_channels // groups, *k))
        self.bias = Parameter(zeros(out_channels)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(in_channels // groups * math.prod(k))
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return ops.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups)  # fmt: skip

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
