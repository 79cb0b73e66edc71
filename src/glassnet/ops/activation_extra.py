"""More activations, by PyTorch's names and formulas, composed from differentiable ops.

Each is a few lines over ``where``/``clip``/``exp``/... so its first and second derivatives
are those of the parts. Piecewise ones pick their branch with ``where`` on a mask computed
from the data, with PyTorch's choice at the kinks (stated in each docstring); a branch that
could overflow where it is not taken is fed a clamped input, so its zero gradient there is
not 0 * inf = nan.
"""

from __future__ import annotations

from glassnet.autograd.function import no_grad_result
from glassnet.autograd.grad_mode import CAPTURING
from glassnet.backend import get_rng, xp_of
from glassnet.ops import activation as _act
from glassnet.ops import elementwise as _el
from glassnet.ops import selection as _sel
from glassnet.ops._util import inplace_result
from glassnet.ops.activation import leaky_relu, log_softmax, sigmoid, softmax, tanh
from glassnet.ops.shape import reshape, split
from glassnet.tensor import Tensor

__all__ = [
    "celu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "rrelu",
    "selu",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _mask(fn, x: Tensor, **params) -> Tensor:
    """``fn(x's array, **params)``: a mask without a gradient, recomputed by a compiled
    step's replay from that call's ``x``."""
    return no_grad_result(fn, x, **params)


def _above(x, scale, limit):
    return x * scale > limit


def _between(x, low, high):  # strictly
    return (x > low) & (x < high)


def _outside(x, low, high):  # strictly
    return (x > high) | (x < low)


def _greater(x, value):
    return x > value


def _greater_equal(x, value):
    return x >= value


def _less(x, value):
    return x < value


def _less_equal(x, value):
    return x <= value


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth ReLU ln(1 + e^{beta x}) / beta, and x itself where beta x > threshold (PyTorch's
    linear region);  dy/dx = sigmoid(beta x), or 1 in the linear region."""
    y = _act.softplus(input, beta)
    if threshold is None:
        return y
    linear = _mask(_above, input, scale=beta, limit=threshold)
    # the shortcut reads the mask: not while gn.compile captures (a replay must not skip it)
    return _sel.where(linear, input, y) if CAPTURING[0] or linear._data.any() else y


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """y = min_val for x <= min_val, max_val for x >= max_val, else x;
    dy/dx = 1 strictly inside (min_val, max_val), else 0 (0 at the kinks, as PyTorch).

    ``inplace=True`` (here and in every activation that has it): the result is written into
    ``x`` and ``x`` returned, recorded in the graph where ``x`` is an intermediate; a leaf
    that requires grad (PyTorch raises) gets the out-of-place result and keeps its values."""
    return inplace_result(input, _hardtanh(input, min_val, max_val), inplace)


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    inside = _mask(_between, x, low=min_val, high=max_val)
    return _sel.where(inside, x, _sel.clip(x.detach(), min_val, max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """y = min(max(0, x), 6);  dy/dx = 1 for 0 < x < 6, else 0."""
    return inplace_result(input, _hardtanh(input, 0.0, 6.0), inplace)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """y = relu6(x + 3) / 6;  dy/dx = 1/6 for -3 < x < 3, else 0."""
    return inplace_result(x, _hardtanh(x + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """y = x relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between;
    dy/dx = 0, 1, or x/3 + 1/2 for -3 < x < 3 (PyTorch's choice at the kinks)."""
    middle = x * (x + 3.0) / 6.0
    out = _sel.where(_mask(_greater_equal, x, value=3), x, middle)
    return inplace_result(x, _sel.where(_mask(_less_equal, x, value=-3), 0.0, out), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x tanh(softplus(x));  dy/dx = tanh(sp) + x sigmoid(x) (1 - tanh^2(sp))."""
    return inplace_result(input, input * tanh(softplus(input)), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = scale (x if x > 0 else alpha (e^x - 1)), scale = 1.0507..., alpha = 1.6733...;
    dy/dx = scale or scale alpha e^x. Self-normalizing with lecun_normal init."""
    return inplace_result(input, _SELU_SCALE * _celu(input, _SELU_ALPHA, False), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else alpha (e^{x/alpha} - 1);  dy/dx = 1 or e^{x/alpha}."""
    return inplace_result(input, _celu(input, alpha, True), inplace)


def _celu(x: Tensor, alpha: float, _scale_input: bool) -> Tensor:
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero (it divides x)")
    from glassnet.ops.special import expm1

    neg = _sel.clip(x, max=0.0)  # e^x of the untaken branch must not overflow
    inner = neg / alpha if _scale_input else neg
    return _sel.where(_mask(_greater, x, value=0), x, alpha * expm1(inner))


def softsign(input: Tensor) -> Tensor:
    """y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)^2."""
    return input / (1.0 + _el.abs(input))


def logsigmoid(x: Tensor) -> Tensor:
    """y = ln sigmoid(x) = -softplus(-x) (stable for large |x|);  dy/dx = sigmoid(-x)."""
    return -softplus(-x)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``: weights that favour the smallest entries.

    ``dim=None`` is PyTorch's deprecated implicit choice: the last dim for 0-2-d input; for
    3-d and more it raises like :func:`softmax` (pass ``dim=``)."""
    if dim is None and isinstance(input, Tensor) and input.ndim > 2:
        _act._softmax_dim("softmin", input, None, None, None)  # raises softmax's error
    return softmax(-input, dim, dtype=dtype)  # negation is exact: the same as casting first


def log_softmin(x: Tensor, dim: int = -1) -> Tensor:
    """log_softmax(-x) along ``dim``."""
    return log_softmax(-x, dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split x in halves a, b along ``dim``; y = a sigmoid(b)."""
    n = input.shape[dim] if input.ndim else 0
    if n % 2:
        raise ValueError(
            f"glu: dim {dim} of the input of shape {input.shape} has odd size {n}; it must split "
            "into two equal halves"
        )
    a, b = split(input, n // 2, dim)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """y = x if x > 0 else w x, with one learned slope w per channel (dim 1) or one in all;
    dy/dx = 1 or w (w at 0, as PyTorch), dy/dw = 0 or x."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or weight.numel() != channels:
            raise ValueError(
                f"prelu: weight of shape {weight.shape} must have 1 or {channels} elements "
                f"(the channels, dim 1, of the input of shape {input.shape})"
            )
        weight = reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim and input.ndim:
        weight = reshape(weight, ())
    return _sel.where(_mask(_greater, input, value=0), input, weight * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: y = x if x >= 0 else a x, a ~ U(lower, upper) per element in
    training (from glassnet's seeded generator), a = (lower + upper) / 2 in evaluation."""
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: need 0 <= lower <= upper, got lower={lower}, upper={upper}")
    if not training:
        return inplace_result(input, leaky_relu(input, (lower + upper) / 2), inplace)
    xp = xp_of(input._data)
    a = get_rng().uniform(lower, upper, size=input.shape).astype(input.dtype)
    slope = Tensor._make(xp.asarray(a), False)
    out = _sel.where(_mask(_greater_equal, input, value=0), input, slope * input)
    return inplace_result(input, out, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """y = x if x > threshold else value;  dy/dx = 1 or 0."""
    return inplace_result(
        input, _sel.where(_mask(_greater, input, value=threshold), input, value), inplace
    )


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x if |x| > lambd else 0;  dy/dx = 1 or 0."""
    return _sel.where(_mask(_outside, input, low=-lambd, high=lambd), input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x - lambd for x > lambd, x + lambd for x < -lambd, else 0;  dy/dx = 1 or 0."""
    out = _sel.where(_mask(_greater, input, value=lambd), input - lambd, 0.0)
    return _sel.where(_mask(_less, input, value=-lambd), input + lambd, out)


def tanhshrink(input: Tensor) -> Tensor:
    """y = x - tanh(x);  dy/dx = tanh^2(x)."""
    return input - tanh(input)
