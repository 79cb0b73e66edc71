"""Activation modules: one thin ``Module`` per activation op, for use in ``Sequential``.

Each forward calls the op of the same name in ``glassnet.ops``; the math (formula and
derivative) is in each docstring.
"""

from __future__ import annotations

from glassnet import ops
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.module import Module
from glassnet.tensor import Tensor


class _Activation(Module):
    def _check(self, x) -> None:
        check_float_input(x, f"{type(self).__name__}({self.extra_repr()})")


class ReLU(_Activation):
    """y = max(0, x); dy/dx = 1 for x > 0, else 0 (0 at the kink).

    >>> import glassnet as gn
    >>> gn.nn.ReLU()(gn.tensor([-1.0, 2.0])).numpy()
    array([0., 2.], dtype=float32)
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.relu(x)


class LeakyReLU(_Activation):
    """y = x for x > 0, negative_slope * x otherwise; dy/dx = 1 or negative_slope.

    >>> import glassnet as gn
    >>> gn.nn.LeakyReLU(0.1)(gn.tensor([-1.0, 2.0])).numpy()
    array([-0.1,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Activation):
    """y = x for x > 0, alpha (e^x - 1) otherwise; dy/dx = 1 or alpha e^x."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


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


class SiLU(_Activation):
    """y = x sigmoid(x) (swish); dy/dx = s (1 + x (1 - s)) with s = sigmoid(x)."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.silu(x)


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
    """y = ln(1 + e^(beta x)) / beta; dy/dx = sigmoid(beta x)."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"Softplus: beta must be > 0, got {beta}")
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return ops.softplus(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class _DimActivation(_Activation):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"{type(self).__name__}: dim must be an int, got {dim!r}")
        self.dim = dim

    def _check(self, x) -> None:
        super()._check(x)
        if not -max(x.ndim, 1) <= self.dim < max(x.ndim, 1):
            raise ValueError(
                f"{type(self).__name__}(dim={self.dim}) got input of shape {tuple(x.shape)} "
                f"with {x.ndim} dims; dim must be in {-x.ndim}..{x.ndim - 1}"
            )

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimActivation):
    """y_i = e^(x_i) / sum_j e^(x_j) along ``dim``; dy_i/dx_j = y_i (delta_ij - y_j).

    ``dim`` defaults to -1 (PyTorch requires it in practice; its implicit choice is deprecated).

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
