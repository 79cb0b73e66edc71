"""Elementwise math beyond the basics: exp2/expm1/log2/log10, trigonometric and hyperbolic
functions and their inverses, erf/erfc/erfinv, atan2, hypot, rounding.

Each differentiable op here writes its derivative once, as a formula ``derivative(m, x, y)``
over a math namespace ``m``: NumPy/CuPy on arrays for the ordinary backward, glassnet's own
ops on tensors for ``backward(create_graph=True)``. The same line serves both orders.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops._util import floating, pair, promote
from glassnet.tensor import Tensor

__all__ = [
    "acos",
    "acosh",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "ceil",
    "cosh",
    "div",
    "divide",
    "floor_divide",
    "fmod",
    "remainder",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expm1",
    "fix",
    "floor",
    "hypot",
    "log10",
    "log2",
    "round",
    "sgn",
    "sign",
    "sinh",
    "tan",
    "trunc",
]


class _TensorMath:
    """The math namespace of the derivative formulas on tensors (bound below)."""

    exp = sqrt = sin = cos = cosh = sinh = staticmethod(None)


class _Unary(Function):
    """An elementwise op y = f(x) whose derivative is ``derivative(m, x, y)``.

    ``m`` is the array module (NumPy/CuPy) in first-order backward and glassnet's ops under
    ``create_graph``: the one formula serves both.
    """

    register = False

    @staticmethod
    def f(xp, x):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def derivative(m, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x):
        return self.f(xp_of(x), x)

    def backward(self, ns, grad, x, y=None):
        m = xp_of(x) if ns.eager else _TensorMath
        return grad * self.derivative(m, x, y)


def _f(name):
    return staticmethod(lambda xp, x: getattr(xp, name)(x))


class Expm1(_Unary):
    """y = e^x - 1, accurate for small x;  dy/dx = e^x = y + 1"""

    saves_output = True
    f = _f("expm1")
    derivative = staticmethod(lambda m, x, y: y + 1)


class Exp2(_Unary):
    """y = 2^x;  dy/dx = 2^x ln 2 = y ln 2"""

    saves_output = True
    f = _f("exp2")
    derivative = staticmethod(lambda m, x, y: y * math.log(2.0))


class Log2(_Unary):
    """y = log2 x;  dy/dx = 1 / (x ln 2)"""

    f = _f("log2")
    derivative = staticmethod(lambda m, x, y: 1 / (x * math.log(2.0)))


class Log10(_Unary):
    """y = log10 x;  dy/dx = 1 / (x ln 10)"""

    f = _f("log10")
    derivative = staticmethod(lambda m, x, y: 1 / (x * math.log(10.0)))


class Tan(_Unary):
    """y = tan x;  dy/dx = 1 + tan^2 x = 1 + y^2"""

    saves_output = True
    f = _f("tan")
    derivative = staticmethod(lambda m, x, y: 1 + y * y)


class Asin(_Unary):
    """y = arcsin x (|x| <= 1);  dy/dx = 1 / sqrt(1 - x^2)"""

    f = _f("arcsin")
    derivative = staticmethod(lambda m, x, y: 1 / m.sqrt(1 - x * x))


class Acos(_Unary):
    """y = arccos x (|x| <= 1);  dy/dx = -1 / sqrt(1 - x^2)"""

    f = _f("arccos")
    derivative = staticmethod(lambda m, x, y: -1 / m.sqrt(1 - x * x))


class Atan(_Unary):
    """y = arctan x;  dy/dx = 1 / (1 + x^2)"""

    f = _f("arctan")
    derivative = staticmethod(lambda m, x, y: 1 / (1 + x * x))


class Sinh(_Unary):
    """y = sinh x = (e^x - e^-x) / 2;  dy/dx = cosh x"""

    f = _f("sinh")
    derivative = staticmethod(lambda m, x, y: m.cosh(x))


class Cosh(_Unary):
    """y = cosh x = (e^x + e^-x) / 2;  dy/dx = sinh x"""

    f = _f("cosh")
    derivative = staticmethod(lambda m, x, y: m.sinh(x))


class Asinh(_Unary):
    """y = arsinh x = ln(x + sqrt(x^2 + 1));  dy/dx = 1 / sqrt(x^2 + 1)"""

    f = _f("arcsinh")
    derivative = staticmethod(lambda m, x, y: 1 / m.sqrt(x * x + 1))


class Acosh(_Unary):
    """y = arcosh x (x >= 1);  dy/dx = 1 / sqrt(x^2 - 1)"""

    f = _f("arccosh")
    derivative = staticmethod(lambda m, x, y: 1 / m.sqrt(x * x - 1))


class Atanh(_Unary):
    """y = artanh x (|x| < 1);  dy/dx = 1 / (1 - x^2)"""

    f = _f("arctanh")
    derivative = staticmethod(lambda m, x, y: 1 / (1 - x * x))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_math_erf = np.frompyfunc(math.erf, 1, 1)  # libm: exact in float64
_math_erfc = np.frompyfunc(math.erfc, 1, 1)


def _host_float64(xp, x, fn):
    """Apply a float64 host function elementwise (exact libm values), back in x's dtype."""
    from glassnet.backend import to_device

    host = np.asarray(to_device(x, "cpu"), dtype=np.float64)
    out = np.asarray(fn(host), dtype=x.dtype)
    return out if xp is np else xp.asarray(out)


class Erfc(_Unary):
    """y = erfc x = 1 - erf x (accurate where erf x is near 1);  dy/dx = -(2/sqrt(pi)) e^{-x^2}"""

    f = staticmethod(lambda xp, x: _host_float64(xp, x, _math_erfc))
    derivative = staticmethod(lambda m, x, y: -_TWO_OVER_SQRT_PI * m.exp(-(x * x)))


def _erfinv_values(xp, x):
    def exact(y):
        # Giles' single-precision approximation ("Approximating the erfinv function", GPU
        # Computing Gems, 2011), then two Newton steps on erf(x) = y in float64
        with np.errstate(divide="ignore", invalid="ignore"):
            w = -np.log((1.0 - y) * (1.0 + y))
            small = w < 5.0
            ws = w - 2.5
            ps = 2.81022636e-08
            for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                      -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):  # fmt: skip
                ps = c + ps * ws
            wl = np.sqrt(np.where(small, 9.0, w)) - 3.0
            pl = -0.000200214257
            for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                      -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):  # fmt: skip
                pl = c + pl * wl
            r = np.where(small, ps, pl) * y
            finite = np.abs(y) < 1
            for _ in range(2):
                step = (_math_erf(r).astype(np.float64) - y) / (_TWO_OVER_SQRT_PI * np.exp(-r * r))
                r = np.where(finite, r - step, r)
            r = np.where(np.abs(y) == 1, np.copysign(np.inf, y), r)
            return np.where(np.abs(y) > 1, np.nan, r)

    return _host_float64(xp, x, exact)


class Erfinv(_Unary):
    """y = erf^{-1}(x) (|x| < 1; +-inf at +-1);  dy/dx = (sqrt(pi) / 2) e^{y^2}"""

    saves_output = True
    f = staticmethod(_erfinv_values)
    derivative = staticmethod(lambda m, x, y: (1 / _TWO_OVER_SQRT_PI) * m.exp(y * y))


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a) in (-pi, pi];
    dy/da = b / (a^2 + b^2),  dy/db = -a / (a^2 + b^2)   (nan at a = b = 0, as PyTorch)"""

    def forward(self, a, b):
        return xp_of(a).arctan2(a, b)

    def backward(self, ns, grad, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / (a * a + b * b)
            return scale * b, -scale * a


class Hypot(Function):
    """y = sqrt(a^2 + b^2) (without overflow for large a, b);  dy/da = a / y,  dy/db = b / y"""

    saves_output = True

    def forward(self, a, b):
        return xp_of(a).hypot(a, b)

    def backward(self, ns, grad, a, b, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / y
            return scale * a, scale * b


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
def _float_unary(cls):
    def op(x: Tensor) -> Tensor:
        return cls.apply(floating(x) if isinstance(x, Tensor) else Tensor(x))

    op.__name__ = cls.name
    op.__doc__ = f"Elementwise {cls.name}; int and bool tensors give float32.\n\n{cls.__doc__}"
    return op


expm1 = _float_unary(Expm1)
exp2 = _float_unary(Exp2)
log2 = _float_unary(Log2)
log10 = _float_unary(Log10)
tan = _float_unary(Tan)
asin = arcsin = _float_unary(Asin)
acos = arccos = _float_unary(Acos)
atan = arctan = _float_unary(Atan)
sinh = _float_unary(Sinh)
cosh = _float_unary(Cosh)
asinh = arcsinh = _float_unary(Asinh)
acosh = arccosh = _float_unary(Acosh)
atanh = arctanh = _float_unary(Atanh)


def erf(x: Tensor) -> Tensor:
    """Elementwise erf x = (2 / sqrt(pi)) int_0^x e^{-t^2} dt; int and bool give float32."""
    from glassnet.ops.activation import erf as _erf_op

    return _erf_op(floating(x))


erfc = _float_unary(Erfc)
erfinv = _float_unary(Erfinv)


def _float_pair(a, b):
    a, b = pair(a, b) if not (isinstance(a, Tensor) and isinstance(b, Tensor)) else promote(a, b)
    return floating(a), floating(b)


def atan2(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """Elementwise atan2(input, other): the angle of the point (other, input), in (-pi, pi]."""
    return _el._binary(Atan2, *_float_pair(input, other))


arctan2 = atan2


def hypot(input, other) -> Tensor:  # noqa: A002
    """Elementwise sqrt(input^2 + other^2), without overflow for large values."""
    return _el._binary(Hypot, *_float_pair(input, other))


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
            xp = xp_of(q.data)
            fix = (q.data < 0) & (xp.remainder(a.data, b.data) != 0)
            return Tensor._make(q.data + fix.astype(q.dtype), False)
        return trunc(_el.div(a, b))
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


divide = div


def _step(cls, x, **params):
    if x.dtype.kind in "iub" and cls is not Sign:
        return x  # integers are already whole (PyTorch returns them unchanged)
    return cls.apply(x, **params)


def floor(x: Tensor) -> Tensor:
    """Elementwise floor (zero gradient, as PyTorch)."""
    return _step(Floor, x)


def ceil(x: Tensor) -> Tensor:
    """Elementwise ceiling (zero gradient)."""
    return _step(Ceil, x)


def trunc(x: Tensor) -> Tensor:
    """Elementwise rounding toward zero (zero gradient)."""
    return _step(Trunc, x)


fix = trunc


def round(x: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round to ``decimals`` places, halves to even like PyTorch and NumPy (zero gradient)."""
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return _step(Round, x, decimals=int(decimals))


def sign(x: Tensor) -> Tensor:
    """Elementwise sign in {-1, 0, 1}; 0 for nan (as PyTorch); zero gradient."""
    return Sign.apply(x)


sgn = sign


def _bind_tensor_math() -> None:
    _TensorMath.exp = staticmethod(_el.exp)
    _TensorMath.sqrt = staticmethod(_el.sqrt)
    _TensorMath.sin = staticmethod(_el.sin)
    _TensorMath.cos = staticmethod(_el.cos)
    _TensorMath.cosh = staticmethod(cosh)
    _TensorMath.sinh = staticmethod(sinh)


_bind_tensor_math()
