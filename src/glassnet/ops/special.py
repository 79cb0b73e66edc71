"""Elementwise math beyond the basics: exp2/expm1/log2/log10, trigonometric and hyperbolic
functions and their inverses, erf/erfc/erfinv, atan2, hypot (rounding and integer division
are in :mod:`glassnet.ops.rounding`).

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
from glassnet.ops._util import floating, floating_pair, pair, promote
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
    "cosh",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expm1",
    "hypot",
    "log10",
    "log2",
    "sinh",
    "tan",
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


def _host_float64(xp, x, fn, name):
    """Apply a float64 host function elementwise (exact libm values), back in x's dtype; on a
    device, ``cupyx.scipy.special.<name>`` there (backend), with no transfer to the host."""
    if xp is not np:
        from glassnet.backend.special import gpu_special

        return gpu_special(name, x, fn)
    return np.asarray(fn(np.asarray(x, dtype=np.float64)), dtype=x.dtype)


class Erfc(_Unary):
    """y = erfc x = 1 - erf x (accurate where erf x is near 1);  dy/dx = -(2/sqrt(pi)) e^{-x^2}"""

    f = staticmethod(lambda xp, x: _host_float64(xp, x, _math_erfc, "erfc"))
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
                err = np.asarray(_math_erf(r), dtype=np.float64) - y
                step = err / (_TWO_OVER_SQRT_PI * np.exp(-r * r))
                r = np.where(finite, r - step, r)
            r = np.where(np.abs(y) == 1, np.copysign(np.inf, y), r)
            return np.where(np.abs(y) > 1, np.nan, r)

    return _host_float64(xp, x, exact, "erfinv")


class Erfinv(_Unary):
    """y = erf^{-1}(x) (|x| < 1; +-inf at +-1);  dy/dx = (sqrt(pi) / 2) e^{y^2}"""

    saves_output = True
    f = staticmethod(_erfinv_values)
    derivative = staticmethod(lambda m, x, y: (1 / _TWO_OVER_SQRT_PI) * m.exp(y * y))


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a) in (-pi, pi];
    dy/da = b / (a^2 + b^2),  dy/db = -a / (a^2 + b^2)   (0 at a = b = 0, as PyTorch)"""

    def forward(self, a, b):
        return xp_of(a).arctan2(a, b)

    def backward(self, ns, grad, a, b):
        r2 = a * a + b * b
        origin = (r2._data if isinstance(r2, Tensor) else r2) == 0
        if origin.any():  # 0/0: PyTorch's gradient there is 0
            c = ns.const(origin)
            scale = ns.where(c, 0.0, grad / ns.where(c, 1.0, r2))
        else:
            scale = grad / r2
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


def _float_unary(cls):
    def op(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return cls.apply(floating(input) if isinstance(input, Tensor) else Tensor(input))

    op.__name__ = cls.name
    op.__doc__ = f"{cls.__doc__}\n\nElementwise; int and bool tensors give float32."
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


def erf(input: Tensor) -> Tensor:
    """Elementwise erf x = (2 / sqrt(pi)) int_0^x e^{-t^2} dt; int and bool give float32."""
    from glassnet.ops.activation import erf as _erf_op

    return _erf_op(floating(input))


erfc = _float_unary(Erfc)
erfinv = _float_unary(Erfinv)


def _float_pair(a, b):
    a, b = pair(a, b) if not (isinstance(a, Tensor) and isinstance(b, Tensor)) else promote(a, b)
    return floating_pair(a, b)


def atan2(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """Elementwise atan2(input, other): the angle of the point (other, input), in (-pi, pi]."""
    return _el._binary(Atan2, *_float_pair(input, other))


arctan2 = atan2


def hypot(input, other) -> Tensor:  # noqa: A002
    """Elementwise sqrt(input^2 + other^2), without overflow for large values."""
    return _el._binary(Hypot, *_float_pair(input, other))


def _bind_tensor_math() -> None:
    _TensorMath.exp = staticmethod(_el.exp)
    _TensorMath.sqrt = staticmethod(_el.sqrt)
    _TensorMath.sin = staticmethod(_el.sin)
    _TensorMath.cos = staticmethod(_el.cos)
    _TensorMath.cosh = staticmethod(cosh)
    _TensorMath.sinh = staticmethod(sinh)


_bind_tensor_math()
