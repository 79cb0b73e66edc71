"""PyTorch's function spellings of in-place ops: ``torch.relu_(x)``, ``torch.clamp_(x, 0, 1)``,
``F.relu_(x)``, ``F.leaky_relu_(x, 0.2)``, ... Each is the Tensor method (``x.relu_()``) or
the activation with ``inplace=True``, so it changes ``x`` and returns it, recorded in the
graph as the method records it.

The top-level forms (``TORCH_FORMS``) are attached to the package root by ``glassnet``; the
activation forms below are ``glassnet.nn.functional``'s.
"""

from __future__ import annotations

from glassnet.ops import activation as _act
from glassnet.ops import activation_extra as _act_extra
from glassnet.ops import nn as _nn
from glassnet.ops import nn_extra as _nn_extra
from glassnet.tensor import Tensor

__all__ = ["celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_", "rrelu_", "selu_", "threshold_"]


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    """x <- max(x, 0) in place (``F.relu(x, inplace=True)``); returns x."""
    return _act.relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """x <- x if x > 0 else alpha (e^x - 1), in place (``F.elu(x, alpha, inplace=True)``)."""
    return _act.elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """x <- x if x > 0 else negative_slope x, in place (``F.leaky_relu(..., inplace=True)``)."""
    return _act.leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:  # noqa: A002
    """x <- clamp(x, min_val, max_val) in place (``F.hardtanh(..., inplace=True)``)."""
    return _act_extra.hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """x <- x if x > threshold else value, in place (``F.threshold(..., inplace=True)``)."""
    return _act_extra.threshold(input, threshold, value, inplace=True)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    """x <- scale (x if x > 0 else alpha (e^x - 1)), in place (``F.selu(x, inplace=True)``)."""
    return _act_extra.selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """x <- max(0, x) + min(0, alpha (e^(x / alpha) - 1)), in place (``F.celu``)."""
    return _act_extra.celu(input, alpha, inplace=True)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,  # noqa: A002
           training: bool = False) -> Tensor:  # fmt: skip
    """Randomized leaky ReLU in place (``F.rrelu(..., inplace=True)``): slope (lower +
    upper) / 2 for x < 0 in evaluation, a uniform draw in [lower, upper] in training."""
    return _act_extra.rrelu(input, lower, upper, training, inplace=True)


def _method_form(name: str):
    def form(input: Tensor, *args, **kwargs) -> Tensor:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): expected a Tensor, got {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``torch.{name}(x, ...)``: ``x.{name}(...)``, changing x in place."
    return form


def _dropout_form(name: str, fn):
    def form(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
        return fn(input, p, train, inplace=True)

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``torch.{name}(x, p, train)``: the dropout in place on x."
    return form


# torch.X_(x, ...) is x.X_(...) for these (PyTorch's top-level in-place functions)
_METHOD_NAMES = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
    "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_",
    "index_put_", "lcm_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_",
    "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)  # fmt: skip

TORCH_FORMS = {name: _method_form(name) for name in _METHOD_NAMES if hasattr(Tensor, name)}
TORCH_FORMS.update(
    selu_=selu_,
    celu_=celu_,
    rrelu_=rrelu_,
    threshold_=threshold_,
    dropout_=_dropout_form("dropout_", _nn.dropout),
    alpha_dropout_=_dropout_form("alpha_dropout_", _nn_extra.alpha_dropout),
    feature_alpha_dropout_=_dropout_form("feature_alpha_dropout_", _nn_extra.feature_alpha_dropout),
)
