"""``Bilinear``: y = x1^T A x2 + b (PyTorch's module)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import check_float_input, check_positive, fan_bound
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class Bilinear(Module):
    """Bilinear map of two inputs: y[..., o] = sum_ij x1[..., i] A[o, i, j] x2[..., j] + b[o].

    Use it to score pairs (a relation between two embeddings). Weight A of shape
    ``(out_features, in1_features, in2_features)``, bias ``(out_features,)``, both
    U(-1/sqrt(in1_features), 1/sqrt(in1_features)) as PyTorch.

    Shapes: input1 ``(*, in1)``, input2 ``(*, in2)`` (same leading dims), output ``(*, out)``.

    >>> import glassnet as gn
    >>> gn.nn.Bilinear(3, 4, 5)(gn.ones(2, 3), gn.ones(2, 4)).shape
    (2, 5)
    """

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True
    ) -> None:
        super().__init__()
        for name, v in (("in1_features", in1_features), ("in2_features", in2_features),
                        ("out_features", out_features)):  # fmt: skip
            check_positive(v, name, "Bilinear")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(zeros(out_features, in1_features, in2_features))
        if bias:
            self.bias = Parameter(zeros(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's: A and b ~ U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        bound = fan_bound(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        check_float_input(input1, "Bilinear (input1)", self.weight)
        check_float_input(input2, "Bilinear (input2)", self.weight)
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
