"""Modules for issue 16's ops, by PyTorch's names and arguments: activations, distances and
losses (here), transposed and 3-D convolutions, 1-D/3-D and adaptive pooling, unpooling,
Upsample, PixelShuffle, Fold/Unfold (re-exported from their files). Each forward calls the
functional op of the same name, whose docstring holds the math. Constructor arguments follow
PyTorch's positional order (``simple_module``)."""

from __future__ import annotations

import warnings

import glassnet.functional as F
from glassnet.creation import full
from glassnet.nn.layers._simple import REQUIRED, simple_module
from glassnet.nn.layers.conv import Conv3d
from glassnet.nn.layers.conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from glassnet.nn.layers.pool_extra import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool3d,
    Fold,
    MaxPool1d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
    Upsample,
)
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

__all__ = [
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool3d",
    "Fold", "MaxPool1d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "PixelShuffle",
    "PixelUnshuffle", "Unfold", "Upsample",
]  # fmt: skip


def _hardtanh_aliases(bound: dict) -> None:
    """PyTorch's deprecated ``min_value``/``max_value`` override ``min_val``/``max_val``."""
    for old, new in (("min_value", "min_val"), ("max_value", "max_val")):
        value = bound.pop(old)
        if value is not None:
            warnings.warn(f"Hardtanh: keyword argument {old} is deprecated, use {new} instead",
                          DeprecationWarning, stacklevel=4)  # fmt: skip
            bound[new] = value


# -- activations (``inplace``: see glassnet.ops._util.inplace_result) ------------------------
ReLU6 = simple_module("ReLU6", F.relu6, "y = min(max(0, x), 6).", inplace=False)
Hardtanh = simple_module("Hardtanh", F.hardtanh, "y = clip(x, min_val, max_val).",
                         prepare=_hardtanh_aliases,
                         min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                         max_value=None)  # fmt: skip
Hardsigmoid = simple_module("Hardsigmoid", F.hardsigmoid, "y = relu6(x + 3) / 6.", inplace=False)
Hardswish = simple_module("Hardswish", F.hardswish, "y = x relu6(x + 3) / 6.", inplace=False)
Mish = simple_module("Mish", F.mish, "y = x tanh(softplus(x)).", inplace=False)
SELU = simple_module("SELU", F.selu, "y = scale (x if x > 0 else alpha (e^x - 1)).",
                     inplace=False)  # fmt: skip
CELU = simple_module("CELU", F.celu, "y = x if x > 0 else alpha (e^{x/alpha} - 1).", alpha=1.0,
                     inplace=False)  # fmt: skip
Softsign = simple_module("Softsign", F.softsign, "y = x / (1 + |x|).")
LogSigmoid = simple_module("LogSigmoid", F.logsigmoid, "y = ln sigmoid(x) = -softplus(-x).")
Softmin = simple_module("Softmin", F.softmin, "softmax(-x) along dim (dim=None: as F.softmin).",
                        dim=None)  # fmt: skip
GLU = simple_module("GLU", F.glu, "a sigmoid(b) for the halves a, b of x along dim.", dim=-1)
Threshold = simple_module("Threshold", F.threshold, "y = x if x > threshold else value.",
                          threshold=REQUIRED, value=REQUIRED, inplace=False)  # fmt: skip
Hardshrink = simple_module("Hardshrink", F.hardshrink, "y = x if |x| > lambd else 0.",
                           lambd=0.5)  # fmt: skip
Softshrink = simple_module("Softshrink", F.softshrink,
                           "y = x - lambd sign(x) beyond lambd, else 0.", lambd=0.5)  # fmt: skip
Tanhshrink = simple_module("Tanhshrink", F.tanhshrink, "y = x - tanh(x).")


class RReLU(Module):
    """Randomized leaky ReLU: slopes ~ U(lower, upper) in training, their mean in eval."""

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" * self.inplace)


class PReLU(Module):
    """y = x if x > 0 else a x with a learned slope a: one (num_parameters=1) or one per
    channel (dim 1), initialized to ``init`` (0.25). ``device``/``dtype`` follow (PyTorch)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


# -- distances and losses (size_average/reduce: PyTorch's deprecated pair) -------------------
_LEGACY = {"size_average": None, "reduce": None}
CosineSimilarity = simple_module("CosineSimilarity", F.cosine_similarity,
                                 "cos of the angle between x1 and x2 along dim.", dim=1,
                                 eps=1e-8)  # fmt: skip
PairwiseDistance = simple_module("PairwiseDistance", F.pairwise_distance,
                                 "||x1 - x2 + eps||_p over the last dim.", p=2.0, eps=1e-6,
                                 keepdim=False)  # fmt: skip
MarginRankingLoss = simple_module("MarginRankingLoss", F.margin_ranking_loss,
                                  "max(0, -y (x1 - x2) + margin).", margin=0.0, **_LEGACY,
                                  reduction="mean")  # fmt: skip
HingeEmbeddingLoss = simple_module("HingeEmbeddingLoss", F.hinge_embedding_loss,
                                   "x if y = 1, max(0, margin - x) if y = -1.", margin=1.0,
                                   **_LEGACY, reduction="mean")  # fmt: skip
SoftMarginLoss = simple_module("SoftMarginLoss", F.soft_margin_loss, "ln(1 + e^{-y x}).",
                               **_LEGACY, reduction="mean")  # fmt: skip
MultiLabelSoftMarginLoss = simple_module(
    "MultiLabelSoftMarginLoss", F.multilabel_soft_margin_loss,
    "per-class logistic loss averaged over classes; ``weight`` is a buffer.", buffers=("weight",),
    weight=None, **_LEGACY, reduction="mean",
)  # fmt: skip
CosineEmbeddingLoss = simple_module("CosineEmbeddingLoss", F.cosine_embedding_loss,
                                    "1 - cos if y = 1, max(0, cos - margin) if y = -1.",
                                    margin=0.0, **_LEGACY, reduction="mean")  # fmt: skip
TripletMarginLoss = simple_module("TripletMarginLoss", F.triplet_margin_loss,
                                  "max(d(a, p) - d(a, n) + margin, 0).", margin=1.0, p=2.0,
                                  eps=1e-6, swap=False, **_LEGACY,
                                  reduction="mean")  # fmt: skip
PoissonNLLLoss = simple_module("PoissonNLLLoss", F.poisson_nll_loss,
                               "e^x - y x (log_input) or x - y ln(x + eps).", log_input=True,
                               full=False, size_average=None, eps=1e-8, reduce=None,
                               reduction="mean")  # fmt: skip
CTCLoss = simple_module("CTCLoss", F.ctc_loss, "-ln p(target | input) over all CTC alignments.",
                        blank=0, reduction="mean", zero_infinity=False)  # fmt: skip
GaussianNLLLoss = simple_module("GaussianNLLLoss", F.gaussian_nll_loss,
                                "(ln var + (x - y)^2 / var) / 2.",
                                keyword_only=("full", "eps", "reduction"), full=False,
                                eps=1e-6, reduction="mean")  # fmt: skip
MultiMarginLoss = simple_module(
    "MultiMarginLoss", F.multi_margin_loss,
    "sum_{j != y} w[y] max(0, margin - x[y] + x[j])^p / C; ``weight`` is a buffer.", p=1,
    margin=1.0, buffers=("weight",), weight=None, **_LEGACY, reduction="mean",
)  # fmt: skip
MultiLabelMarginLoss = simple_module(
    "MultiLabelMarginLoss", F.multilabel_margin_loss,
    "sum over target j, non-target k of max(0, 1 - (x[j] - x[k])) / C.", **_LEGACY,
    reduction="mean",
)  # fmt: skip
TripletMarginWithDistanceLoss = simple_module(
    "TripletMarginWithDistanceLoss", F.triplet_margin_with_distance_loss,
    "max(d(a, p) - d(a, n) + margin, 0) with any distance d.",
    keyword_only=("distance_function", "margin", "swap", "reduction"), distance_function=None,
    margin=1.0, swap=False, reduction="mean",
)  # fmt: skip
