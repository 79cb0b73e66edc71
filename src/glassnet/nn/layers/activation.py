"""Activation modules: one thin ``Module`` per activation op, for use in ``Sequential``.

Each forward calls the op of the same name in ``glassnet.ops``; the math (formula and
derivative) is in each docstring.
"""

from __future__ import annotations

from glassnet import ops
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.module import Module
from glassnet.ops.activation_extra import softplus as _softplus
from glassnet.tensor import Tensor


class _Activation(Module):
    def _check(self, x) -> None:
        check_float_input(x, f"{type(self).__name__}({self.extra_repr()})")


class _InplaceActivation(_Activation):
    """``inplace=True`` (PyTorch's): the result is written into the input and the input
    returned, unless it requires grad under grad mode (then the out-of-place result, with
    the same values and gradient, is returned; see ``glassnet.ops._util.inplace_result``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """y = max(0, x); dy/dx = 1 for x > 0, else 0 (0 at the kink).

    >>> import glassnet as gn
    >>> gn.nn.ReLU()(gn.tensor([-1.0, 2.0])).numpy()
    array([0., 2.], dtype=float32)
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.relu(x, self.inplace)


class LeakyReLU(_InplaceActivation):
    """y = x for x > 0, negative_slope * x otherwise; dy/dx = 1 or negative_slope.

    >>> import glassnet as gn
    >>> gn.nn.LeakyReLU(0.1)(gn.tensor([-1.0, 2.0])).numpy()
    array([-0.1,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [f"negative_slope={self.negative_slope}",
                                       super().extra_repr()]))  # fmt: skip


class ELU(_InplaceActivation):
    """y = x for x > 0, alpha (e^x - 1) otherwise; dy/dx = 1 or alpha e^x."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [f"alpha={self.alpha}", super().extra_repr()]))


class GELU(_Activation):
    """y = x Phi(x) (Phi: standard normal CDF); dy/dx = Phi(x) + x phi(x).
    ``approximate="tanh"``: y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2, BERT)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InplaceActivation):
    """y = x sigmoid(x) (swish); dy/dx = s (1 + x (1 - s)) with s = sigmoid(x)."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.silu(x, self.inplace)


class Sigmoid(_Activation):
    """y = 1 / (1 + e^-x); dy/dx = y (1 - y)."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.sigmoid(x)


class Tanh(_Activation):
    """y = tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.tanh(x)


class Softplus(_Activation):
    """y = ln(1 + e^(beta x)) / beta, and x where beta x > threshold (PyTorch's linear
    region); dy/dx = sigmoid(beta x), or 1 in the linear region."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"Softplus: beta must be > 0, got {beta}")
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return _softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _DimActivation(_Activation):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool)):
            raise TypeError(f"{type(self).__name__}: dim must be an int or None, got {dim!r}")
        self.dim = dim

    def _check(self, x) -> None:
        super()._check(x)
        if self.dim is None:
            return  # the op applies PyTorch's implicit choice or asks for dim=
        if not -max(x.ndim, 1) <= self.dim < max(x.ndim, 1):
            raise ValueError(
                f"{type(self).__name__}(dim={self.dim}) got input of shape {tuple(x.shape)} "
                f"with {x.ndim} dims; dim must be in {-x.ndim}..{x.ndim - 1}"
            )

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimActivation):
    """y_i = e^(x_i) / sum_j e^(x_j) along ``dim``; dy_i/dx_j = y_i (delta_ij - y_j).

    ``dim=None`` (the default, as PyTorch) is PyTorch's deprecated implicit choice: the last
    dim for 0-2-d input; for 3-d and more it raises and asks for ``dim=`` (as F.softmax).

    >>> import glassnet as gn
    >>> gn.nn.Softmax(dim=1)(gn.zeros(1, 4)).numpy()
    array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.softmax(x, self.dim)


class LogSoftmax(_DimActivation):
    """y_i = x_i - log sum_j e^(x_j) along ``dim`` (stable: the max is subtracted first);
    dy_i/dx_j = delta_ij - softmax(x)_j. Pair it with ``NLLLoss``."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.log_softmax(x, self.dim)
