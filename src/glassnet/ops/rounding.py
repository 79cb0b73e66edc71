"""Rounding and integer division: floor, ceil, trunc, round, sign, fmod, remainder,
floor_divide and ``div(rounding_mode=)``. Piecewise constant results have zero gradient (as
PyTorch); fmod and remainder pass the gradient to the dividend.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function, no_grad_result
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops._util import pair, promote
from glassnet.tensor import Tensor

__all__ = [
    "ceil",
    "div",
    "divide",
    "fix",
    "floor",
    "floor_divide",
    "fmod",
    "remainder",
    "round",
    "sgn",
    "sign",
    "trunc",
]


class _Step(Function):
    """A piecewise-constant op: its derivative is 0 wherever it exists (PyTorch's choice)."""

    register = False

    def forward(self, x, **params):
        return self.f(xp_of(x), x, **params)

    def backward(self, ns, grad, x):
        return grad * 0.0


class Floor(_Step):
    """y = floor x, the largest integer <= x;  dy/dx = 0"""

    f = staticmethod(lambda xp, x: xp.floor(x))


class Ceil(_Step):
    """y = ceil x, the smallest integer >= x;  dy/dx = 0"""

    f = staticmethod(lambda xp, x: xp.ceil(x))


class Trunc(_Step):
    """y = trunc x, x rounded toward zero;  dy/dx = 0"""

    f = staticmethod(lambda xp, x: xp.trunc(x))


class Round(_Step):
    """y = x rounded to ``decimals`` places, halves to even (0.5 -> 0, 1.5 -> 2);  dy/dx = 0"""

    f = staticmethod(lambda xp, x, decimals: xp.round(x, decimals))


class Sign(_Step):
    """y = sign x in {-1, 0, 1} (0 for nan, as PyTorch);  dy/dx = 0"""

    @staticmethod
    def f(xp, x):
        if x.dtype.kind == "b":
            return x.copy()
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


class _Mod(Function):
    """Shared by fmod/remainder: y = a - q b with a piecewise-constant quotient q."""

    register = False

    def forward(self, a, b):
        xp = xp_of(a)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and not xp.all(b):
            raise ZeroDivisionError(f"{self.name}: integer division by zero")
        with np.errstate(divide="ignore", invalid="ignore"):
            y = self.f(xp, a, b)
            if a.dtype.kind == "f":
                self.q = self.quotient(xp, a, b)
        return y

    def backward(self, ns, grad, a, b):
        return grad, -grad * ns.const(self.q)


class Fmod(_Mod):
    """y = fmod(a, b) = a - trunc(a / b) b (C's fmod: the sign of a);
    dy/da = 1,  dy/db = -trunc(a / b)"""

    f = staticmethod(lambda xp, a, b: xp.fmod(a, b))
    quotient = staticmethod(lambda xp, a, b: xp.trunc(a / b))


class Remainder(_Mod):
    """y = a mod b = a - floor(a / b) b (Python's %: the sign of b);
    dy/da = 1,  dy/db = -floor(a / b)"""

    f = staticmethod(lambda xp, a, b: xp.remainder(a, b))
    quotient = staticmethod(lambda xp, a, b: xp.floor(a / b))


class FloorDivide(Function):
    """y = floor(a / b) (Python's //);  dy/da = dy/db = 0 (piecewise constant, as PyTorch)"""

    def forward(self, a, b):
        xp = xp_of(a)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and not xp.all(b):
            raise ZeroDivisionError("floor_divide: integer division by zero")
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.floor_divide(a, b)

    def backward(self, ns, grad, a, b):
        return grad * 0.0, grad * 0.0


# -- wrappers ---------------------------------------------------------------------------------


def _int_or_float_pair(a, b):
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return pair(a, b)
    return promote(a, b)


def fmod(input, other) -> Tensor:  # noqa: A002
    """Elementwise remainder of truncated division (sign of ``input``), like C's fmod."""
    return _el._binary(Fmod, *_int_or_float_pair(input, other))


def remainder(input, other) -> Tensor:  # noqa: A002
    """Elementwise Python-style modulus ``input % other`` (sign of ``other``)."""
    return _el._binary(Remainder, *_int_or_float_pair(input, other))


def floor_divide(input, other) -> Tensor:  # noqa: A002
    """Elementwise ``input // other`` = floor(input / other) (zero gradient)."""
    return _el._binary(FloorDivide, *_int_or_float_pair(input, other))


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """Elementwise division: true division (None), or rounded "trunc" / "floor" (PyTorch).

    Rounded quotients are piecewise constant: zero gradient, as PyTorch. Integers stay
    integers under rounding modes; true division of integers gives float32.
    """
    if rounding_mode is None:
        return _el.div(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = _int_or_float_pair(input, other)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            q = floor_divide(a, b)  # integers: floor, then one step toward zero where inexact
            return no_grad_result(_toward_zero, q, a, b)
        return trunc(_el.div(a, b))
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


divide = div


def _step(cls, x, **params):
    if x.dtype.kind in "iub" and cls is not Sign:
        # integers are already whole: PyTorch returns an unchanged copy (never x itself, so
        # writing into the result leaves x alone)
        return _el.clone(x)
    return cls.apply(x, **params)


def floor(input: Tensor) -> Tensor:
    """Elementwise floor (zero gradient, as PyTorch)."""
    return _step(Floor, input)


def ceil(input: Tensor) -> Tensor:
    """Elementwise ceiling (zero gradient)."""
    return _step(Ceil, input)


def trunc(input: Tensor) -> Tensor:
    """Elementwise rounding toward zero (zero gradient)."""
    return _step(Trunc, input)


fix = trunc


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round to ``decimals`` places, halves to even like PyTorch and NumPy (zero gradient)."""
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return _step(Round, input, decimals=int(decimals))


def sign(input: Tensor) -> Tensor:
    """Elementwise sign in {-1, 0, 1}; 0 for nan (as PyTorch); zero gradient."""
    return Sign.apply(input)


sgn = sign


def _toward_zero(q, a, b):
    """The floor quotient q of integers a / b moved one step toward zero where inexact."""
    return q + ((q < 0) & (xp_of(q).remainder(a, b) != 0)).astype(q.dtype)
