"""``Linear`` (fully connected) and ``Identity``."""

from __future__ import annotations

import math

import glassnet.functional as F
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import check_float_input, check_positive, fan_bound
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class Identity(Module):
    """Returns its input unchanged: y = x; dy/dx = I. A placeholder (e.g. a removed head).

    >>> import glassnet as gn
    >>> gn.nn.Identity()(gn.ones(2)).numpy()
    array([1., 1.], dtype=float32)
    """

    def __init__(self, *args, **kwargs) -> None:  # PyTorch accepts and ignores arguments
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class _Lazy:
    def __repr__(self) -> str:
        return "<lazy>"


LAZY = _Lazy()  # Linear's in_features left out: built from the first input


class Linear(Module):
    """Fully connected layer: y = x W^T + b, applied to the last axis.

    Use it for MLPs and for the projections inside attention and classifier heads.

    Math: ``W`` has shape ``(out_features, in_features)`` (PyTorch's layout), so
    y_i = sum_j x_j W_ij + b_i; dL/dx = dL/dy W, dL/dW = dL/dy^T x, dL/db = sum over batch dL/dy.

    A lazy layer's parameters take the dtype and device of its first input.

    Initialisation (PyTorch's): W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), which is
    ``kaiming_uniform_(W, a=sqrt(5))``; variance 1 / (3 in_features).

    Args:
        in_features: size of the input's last axis; left out, the layer is lazy (as
            ``nn.LazyLinear``): the weight is created on the first call from the input's
            shape (``build``). Create the optimizer after that first call (or after
            ``model.summary(...)``). ``None`` is a TypeError, as in PyTorch.
        out_features: size of the output's last axis.
        bias: learn an additive bias b.
        device, dtype: PyTorch's factory arguments (positional after ``bias``).
        kernel_regularizer, bias_regularizer: keyword-only penalties on W and b, read by
            ``nn.regularizers`` (for example ``nn.regularizers.L2(1e-4)``).

    Shapes: input ``(*, in_features)``, output ``(*, out_features)``.

    >>> import glassnet as gn
    >>> layer = gn.nn.Linear(4, 3)
    >>> layer(gn.ones(2, 4)).shape
    (2, 3)
    >>> lazy = gn.nn.Linear(out_features=5)
    >>> lazy(gn.ones(2, 7)).shape, lazy.weight.shape
    ((2, 5), (5, 7))
    """

    def __init__(
        self,
        in_features: int = LAZY,
        out_features: int | None = None,
        bias: bool = True,
        *,
        kernel_regularizer=None,
        bias_regularizer=None,
    ) -> None:
        super().__init__()
        if out_features is None:
            raise TypeError("Linear: out_features is required, e.g. Linear(784, 10)")
        check_positive(out_features, "out_features", "Linear")
        if in_features is None:  # PyTorch raises too; glassnet's lazy form leaves it out
            raise TypeError(
                "Linear: in_features=None is not an int; for a layer that infers it from its "
                "first input leave it out (nn.Linear(out_features=n)) or use nn.LazyLinear(n)"
            )
        if in_features is LAZY:
            in_features = None
        else:
            check_positive(in_features, "in_features", "Linear")
        self.in_features = in_features
        self.out_features = out_features
        self._use_bias = bool(bias)
        object.__setattr__(self, "kernel_regularizer", kernel_regularizer)
        object.__setattr__(self, "bias_regularizer", bias_regularizer)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if in_features is None:
            object.__setattr__(self, "_built", False)
        else:
            self._create(in_features)

    def _create(self, in_features: int) -> None:
        self.in_features = in_features
        self.weight = Parameter(zeros(self.out_features, in_features))
        if self._use_bias:
            self.bias = Parameter(zeros(self.out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W, b ~ U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        if self.weight is None:
            return
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = fan_bound(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def build(self, input_shape=None, *_) -> None:
        if input_shape is None or len(input_shape) == 0:
            raise ValueError(
                "Linear(in_features=None) needs a tensor input with at least 1 dim to infer "
                f"in_features, got shape {input_shape}"
            )
        self._create(int(input_shape[-1]))
        factory = self.__dict__.get("_factory_kwargs")  # Linear(None, n, dtype=..., device=...)
        if factory:
            self.to(**factory)
        else:  # build sees shapes only: adopt dtype/device in forward
            self._match_first_input = True

    def _name(self) -> str:
        return f"Linear(in_features={self.in_features})"

    def forward(self, x: Tensor) -> Tensor:
        if self.__dict__.get("_match_first_input"):
            self._match_first_input = False
            if isinstance(x, Tensor) and x.dtype.kind == "f":
                self.to(device=x.device, dtype=x.dtype)
        check_float_input(x, self._name(), self.weight)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape)
            fix = "check the out_features of the layer before it"
            if x.ndim > 2 and math.prod(shape[1:]) == self.in_features:
                fix = "flatten it with nn.Flatten() first"
            elif x.ndim == 0:
                fix = "give it at least one axis of size in_features"
            raise ValueError(
                f"{self._name()} got input of shape {shape}: its last axis must be "
                f"{self.in_features}; {fix}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}, "
        s += f"bias={self._use_bias}"
        if self.kernel_regularizer is not None:
            s += f", kernel_regularizer={self.kernel_regularizer!r}"
        if self.bias_regularizer is not None:
            s += f", bias_regularizer={self.bias_regularizer!r}"
        return s


class LazyLinear(Linear):
    """``Linear`` whose ``in_features`` is inferred from its first input (PyTorch's name).

    >>> import glassnet as gn
    >>> gn.nn.LazyLinear(3)(gn.ones(2, 5)).shape
    (2, 3)
    """

    def __init__(
        self, out_features: int, bias: bool = True, *, kernel_regularizer=None,
        bias_regularizer=None
    ) -> None:  # fmt: skip
        super().__init__(out_features=out_features, bias=bias,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer)  # fmt: skip
