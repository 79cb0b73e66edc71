"""Elementwise ops written as compositions of differentiable ops (PyTorch's names).

None of these defines a derivative: each is a short formula over ops that have one, so its
first and second derivatives come from theirs. Where a naive formula loses precision or
overflows, the comment says how the formula avoids it.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import no_grad_result
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import selection as _sel
from glassnet.ops._util import floating, floating_pair, pair
from glassnet.ops.logical import isnan, isneginf, isposinf
from glassnet.ops.rounding import trunc
from glassnet.tensor import Tensor

__all__ = [
    "absolute",
    "clamp_max",
    "clamp_min",
    "deg2rad",
    "float_power",
    "frac",
    "lerp",
    "logaddexp",
    "logaddexp2",
    "logit",
    "multiply",
    "nan_to_num",
    "negative",
    "positive",
    "rad2deg",
    "reciprocal",
    "subtract",
    "true_divide",
    "xlogy",
]


def _tensors(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a, b
    return pair(a, b)


def logaddexp(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """ln(e^a + e^b) without overflow: max(a, b) + ln(1 + e^{-|a - b|});
    d/da = e^a / (e^a + e^b) = sigmoid(a - b). Equal infinities give that infinity."""
    a, b = floating_pair(*_tensors(input, other))
    # hi + ln(1 + e^{lo - hi}) is logaddexp itself as a smooth function for either choice of
    # (hi, lo): the mask only picks the choice that cannot overflow, so every derivative is
    # exact, ties included
    a_hi = a >= b  # masks by comparisons: recomputed on each replay of a compiled step
    hi, lo = _sel.where(a_hi, a, b), _sel.where(a_hi, b, a)
    same = no_grad_result(_same_infinity, a, b)
    diff = _sel.where(same, 0.0, lo) - _sel.where(same, 0.0, hi)
    return hi + _el.log1p(_el.exp(diff))


def logaddexp2(input, other) -> Tensor:  # noqa: A002
    """log2(2^a + 2^b) = logaddexp(a ln 2, b ln 2) / ln 2."""
    a, b = _tensors(input, other)
    ln2 = math.log(2.0)
    return logaddexp(floating(a) * ln2, floating(b) * ln2) / ln2


def lerp(input, end, weight) -> Tensor:  # noqa: A002
    """Linear interpolation input + weight (end - input); d/dinput = 1 - weight,
    d/dend = weight, d/dweight = end - input. ``weight`` is a number or a tensor."""
    start, end = _tensors(input, end)
    return start + weight * (end - start)


def reciprocal(input: Tensor) -> Tensor:
    """Elementwise 1 / x (int tensors give float32);  d/dx = -1 / x^2."""
    return _el.div(1.0, floating(input))


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(x, min) with gradient 1 where x >= min, else 0 (to ``min`` when it is a tensor)."""
    if isinstance(min, Tensor):
        return _sel.where(input >= min, input, min)
    return _sel.clip(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """min(x, max) with gradient 1 where x <= max, else 0 (to ``max`` when it is a tensor)."""
    if isinstance(max, Tensor):
        return _sel.where(input <= max, input, max)
    return _sel.clip(input, max=max)


def frac(input: Tensor) -> Tensor:
    """Fractional part x - trunc(x) (sign of x);  d/dx = 1."""
    return input - trunc(input)


def xlogy(input, other) -> Tensor:  # noqa: A002
    """x ln y, taken as 0 where x = 0 (also for y = 0), nan where y is nan (PyTorch); the one
    op here with a derivative of its own (PyTorch's formulas, see ``elementwise.Xlogy``)."""
    x, y = _tensors(input, other)
    return _el._binary(_el.Xlogy, floating(x), floating(y))  # its own derivative (PyTorch's)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """ln(p / (1 - p)), with p clamped to [eps, 1 - eps] when ``eps`` is given."""
    p = floating(input)
    if eps is not None:
        p = _sel.clip(p, eps, 1.0 - eps)
    else:  # outside [0, 1] the value is nan and so is PyTorch's gradient (1 / (p (1 - p)) is not)
        p = p * no_grad_result(_nan_outside_unit, p)
    return _el.log(p) - _el.log1p(-p)


def _nan_outside_unit(p):
    return xp_of(p).where((p < 0) | (p > 1), np.nan, 1.0).astype(p.dtype)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """nan -> ``nan``, +inf -> ``posinf`` (default: the dtype's max), -inf -> ``neginf``.

    The gradient passes where x was finite and is 0 at the replaced entries.
    """
    if input.dtype.kind != "f":  # nothing to replace; a new tensor all the same, as PyTorch
        return _el.clone(input)
    info = np.finfo(input.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = _sel.where(isnan(input), nan, input)
    out = _sel.where(isposinf(input), posinf, out)
    return _sel.where(isneginf(input), neginf, out)


def _same_infinity(a, b):
    return (a == b) & ~xp_of(a).isfinite(a)  # +-inf on both sides


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians: x pi / 180."""
    return floating(input) * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees: x 180 / pi."""
    return floating(input) * (180.0 / math.pi)


def float_power(input, exponent) -> Tensor:  # noqa: A002
    """input ** exponent computed in float64 (PyTorch's float_power)."""
    if isinstance(input, Tensor):
        input = input.astype("float64")
    if isinstance(exponent, Tensor):
        exponent = exponent.astype("float64")
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input, dtype=np.float64))
    return _el.pow(input, exponent)


def negative(input: Tensor) -> Tensor:
    """-x (PyTorch's alias of neg)."""
    return _el.neg(input)


def positive(input: Tensor) -> Tensor:
    """x itself."""
    return input


absolute = _el.abs
multiply = _el.mul
subtract = _el.sub
true_divide = _el.div
