"""Elementwise arithmetic and math. All broadcast like NumPy; the engine un-broadcasts grads."""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops._util import as_tensor, floating, pair, promote
from glassnet.tensor import Tensor


def _broadcast_error(op: str, a: Tensor, b: Tensor) -> ValueError:
    return ValueError(
        f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together (NumPy rules: "
        "trailing axes must be equal or 1); reshape or unsqueeze one of them"
    )


def _binary(cls, a, b):
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = pair(a, b)
    elif a._data.dtype is not b._data.dtype:  # builtin dtypes are singletons: one pointer test
        a, b = promote(a, b)
    try:
        return cls.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(cls.name, a, b) from None
        raise


class Add(Function):
    """y = a + b;  dy/da = 1,  dy/db = 1"""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad

    def backward_graph(self, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1,  dy/db = -1"""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad

    def backward_graph(self, grad):
        return grad, -grad


class Mul(Function):
    """y = a * b;  dy/da = b,  dy/db = a"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        need_a, need_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        return (grad * self.b if need_a else None), (grad * self.a if need_b else None)

    def backward_graph(self, grad):
        a, b = self.inputs
        return grad * b, grad * a


class Div(Function):
    """y = a / b;  dy/da = 1/b,  dy/db = -a/b^2"""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        ga = grad / self.b
        gb = -ga * self.a / self.b if self.inputs[1].requires_grad else None
        return ga, gb

    def backward_graph(self, grad):
        a, b = self.inputs
        ga = grad / b
        return ga, -ga * a / b


class Pow(Function):
    """y = a^b (both tensors);  dy/da = b a^(b-1),  dy/db = a^b ln a

    Edges as PyTorch: dy/da = 0 where b = 0 (also at a = 0, where b a^(b-1) is 0 * inf);
    dy/db = 0 where a = 0 and b >= 0, and a^b ln a otherwise: nan for a < 0 (ln a is not
    real) and -inf at a = 0, b < 0 (inf * -inf).
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, grad):
        xp = xp_of(grad)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.inputs[0].requires_grad:
                ga = xp.where(self.b == 0, 0, grad * self.b * self.a ** (self.b - 1))
            if self.inputs[1].requires_grad:
                zero = (self.a == 0) & (self.b >= 0)
                gb = grad * xp.where(zero, 0, self.y * xp.log(self.a))
        return ga, gb

    def backward_graph(self, grad):
        a, b = self.inputs
        ga = where(b.detach() == 0, 0.0, grad * b * a ** (b - 1))
        zero = Tensor._make((a._data == 0) & (b._data >= 0), False)
        gb = grad * where(zero, 0.0, (a**b) * log(where(zero, 1.0, a)))
        return ga, gb


class PowScalar(Function):
    """y = x^p for a constant p;  dy/dx = p x^(p-1)

    For p = 0 the derivative is 0 everywhere, also at x = 0 (as PyTorch), not 0 * inf.
    """

    def forward(self, x, p):
        self.x, self.p = x, p
        return x**p

    def backward(self, grad):
        p = self.p
        if p == 2:
            return (grad * 2 * self.x,)
        if p == 0:
            return (xp_of(grad).zeros_like(grad),)
        return (grad * p * self.x ** (p - 1),)

    def backward_graph(self, grad):
        (x,) = self.inputs
        if self.p == 0:
            return (grad * 0.0,)
        return (grad * self.p * pow(x, self.p - 1),)


class Neg(Function):
    """y = -x;  dy/dx = -1"""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)

    def backward_graph(self, grad):
        return (-grad,)


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y"""

    saves_output = True

    def forward(self, x):
        self.y = xp_of(x).exp(x)
        return self.y

    def backward(self, grad):
        return (grad * self.y,)

    def backward_graph(self, grad):
        return (grad * exp(self.inputs[0]),)


class Log(Function):
    """y = ln x;  dy/dx = 1/x   (x <= 0 gives nan/-inf, like NumPy)"""

    def forward(self, x):
        self.x = x
        return xp_of(x).log(x)

    def backward(self, grad):
        return (grad / self.x,)

    def backward_graph(self, grad):
        return (grad / self.inputs[0],)


class Log1p(Function):
    """y = ln(1 + x), accurate for small x;  dy/dx = 1/(1 + x)"""

    def forward(self, x):
        self.x = x
        return xp_of(x).log1p(x)

    def backward(self, grad):
        return (grad / (1 + self.x),)

    def backward_graph(self, grad):
        return (grad / (1 + self.inputs[0]),)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x))"""

    saves_output = True

    def forward(self, x):
        self.y = xp_of(x).sqrt(x)
        return self.y

    def backward(self, grad):
        return (grad / (2 * self.y),)

    def backward_graph(self, grad):
        return (grad / (2 * sqrt(self.inputs[0])),)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x), taken as 0 at x = 0 (a subgradient, as PyTorch)"""

    def forward(self, x):
        self.sign = xp_of(x).sign(x)
        return xp_of(x).abs(x)

    def backward(self, grad):
        return (grad * self.sign,)

    def backward_graph(self, grad):
        return (grad * Tensor._make(self.sign, False),)


class Sin(Function):
    """y = sin x;  dy/dx = cos x"""

    def forward(self, x):
        self.x = x
        return xp_of(x).sin(x)

    def backward(self, grad):
        return (grad * xp_of(grad).cos(self.x),)

    def backward_graph(self, grad):
        return (grad * cos(self.inputs[0]),)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x"""

    def forward(self, x):
        self.x = x
        return xp_of(x).cos(x)

    def backward(self, grad):
        return (-grad * xp_of(grad).sin(self.x),)

    def backward_graph(self, grad):
        return (-grad * sin(self.inputs[0]),)


class _MinMax(Function):
    """Shared by maximum/minimum: the gradient goes to the winner; a tie splits it evenly."""

    register = False
    pick = None

    def forward(self, a, b):
        xp = xp_of(a)
        y = self.pick(xp, a, b)
        self.wa = (a == y).astype(y.dtype)
        self.wb = (b == y).astype(y.dtype)
        tie = self.wa * self.wb
        if tie.any():
            self.wa = self.wa - 0.5 * tie
            self.wb = self.wb - 0.5 * tie
        return y

    def backward(self, grad):
        return grad * self.wa, grad * self.wb

    def backward_graph(self, grad):
        return grad * Tensor._make(self.wa, False), grad * Tensor._make(self.wb, False)


class Maximum(_MinMax):
    """y = max(a, b) elementwise;  dy/da = [a > b] + 0.5 [a = b],  dy/db likewise"""

    @staticmethod
    def pick(xp, a, b):
        return xp.maximum(a, b)


class Minimum(_MinMax):
    """y = min(a, b) elementwise;  dy/da = [a < b] + 0.5 [a = b],  dy/db likewise"""

    @staticmethod
    def pick(xp, a, b):
        return xp.minimum(a, b)


class Where(Function):
    """y = a where cond else b;  dy/da = [cond],  dy/db = [not cond]  (cond gets no gradient)"""

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool, copy=False)
        return xp_of(a).where(self.cond, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = xp_of(grad)
        return None, xp.where(self.cond, grad, zero), xp.where(self.cond, zero, grad)

    def backward_graph(self, grad):
        c = Tensor._make(self.cond, False)
        return None, where(c, grad, 0.0), where(c, 0.0, grad)


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = 1 where low <= x <= high, else 0"""

    def forward(self, x, low, high):
        xp = xp_of(x)
        self.mask = xp.ones(x.shape, dtype=bool)
        if low is not None:
            self.mask &= x >= low
        if high is not None:
            self.mask &= x <= high
        return xp.clip(x, low, high)

    def backward(self, grad):
        return (grad * self.mask,)

    def backward_graph(self, grad):
        return (grad * Tensor._make(self.mask.astype(grad.dtype), False),)


class Cast(Function):
    """y = x converted to another dtype;  dy/dx = 1 (cast back)"""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.in_dtype),)

    def backward_graph(self, grad):
        return (grad.astype(self.in_dtype),)


class Clone(Function):
    """y = a copy of x;  dy/dx = 1"""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (grad,)

    def backward_graph(self, grad):
        return (grad,)


class ToDevice(Function):
    """y = x copied to another device;  dy/dx = 1 (the gradient is copied back)"""

    def forward(self, x, device):
        from glassnet.backend import device_of, to_device

        self.src = device_of(x)
        return to_device(x, device)

    def backward(self, grad):
        from glassnet.backend import to_device

        return (to_device(grad, self.src),)


# -- wrappers ---------------------------------------------------------------------------------
def add(a, b) -> Tensor:
    """Elementwise a + b with broadcasting."""
    return _binary(Add, a, b)


def sub(a, b) -> Tensor:
    """Elementwise a - b with broadcasting."""
    return _binary(Sub, a, b)


def mul(a, b) -> Tensor:
    """Elementwise a * b with broadcasting."""
    return _binary(Mul, a, b)


def div(a, b) -> Tensor:
    """Elementwise true division a / b with broadcasting (int / int gives float32, as PyTorch)."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = pair(a, b)
    if a._data.dtype.kind != "f" or b._data.dtype.kind != "f":
        a, b = floating(a), floating(b)
    return _binary(Div, a, b)


def pow(a, b) -> Tensor:  # noqa: A001 - mirrors the operator
    """Elementwise a ** b; a constant exponent uses the cheaper ``pow_scalar`` op."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if isinstance(b, float):  # int tensor ** float: float32, as PyTorch
            a = floating(a)
        return PowScalar.apply(a, p=b)
    return _binary(Pow, a, b)


def neg(x: Tensor) -> Tensor:
    """Elementwise -x."""
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    """Elementwise e^x."""
    return Exp.apply(x if x._data.dtype.kind == "f" else floating(x))


def log(x: Tensor) -> Tensor:
    """Elementwise natural logarithm."""
    return Log.apply(x if x._data.dtype.kind == "f" else floating(x))


def log1p(x: Tensor) -> Tensor:
    """Elementwise ln(1 + x)."""
    return Log1p.apply(x if x._data.dtype.kind == "f" else floating(x))


def sqrt(x: Tensor) -> Tensor:
    """Elementwise square root."""
    return Sqrt.apply(x if x._data.dtype.kind == "f" else floating(x))


def rsqrt(x: Tensor) -> Tensor:
    """Elementwise 1 / sqrt(x)."""
    return PowScalar.apply(floating(x), p=-0.5)


def square(x: Tensor) -> Tensor:
    """Elementwise x^2."""
    return PowScalar.apply(x, p=2)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - NumPy's name
    """Elementwise |x|."""
    return Abs.apply(x)


def sin(x: Tensor) -> Tensor:
    """Elementwise sine."""
    return Sin.apply(x if x._data.dtype.kind == "f" else floating(x))


def cos(x: Tensor) -> Tensor:
    """Elementwise cosine."""
    return Cos.apply(x if x._data.dtype.kind == "f" else floating(x))


def maximum(a, b) -> Tensor:
    """Elementwise maximum; at ties the gradient is split evenly between a and b."""
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; at ties the gradient is split evenly between a and b."""
    return _binary(Minimum, a, b)


def where(cond, a, b) -> Tensor:
    """Pick ``a`` where ``cond`` is true, else ``b`` (broadcasting all three)."""
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if ref is None:
        ref = as_tensor(a)
    a = as_tensor(a, ref)
    b = as_tensor(b, ref)
    cond = as_tensor(cond, None) if not isinstance(cond, Tensor) else cond
    if cond.dtype.kind != "b":
        raise TypeError(
            f"where: cond must be a boolean tensor, got dtype {cond.dtype}; build it with a "
            "comparison such as x > 0"
        )
    try:
        return Where.apply(cond, a, b)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise ValueError(
            f"where: shapes {cond.shape} (cond), {a.shape} and {b.shape} cannot be broadcast "
            "together (NumPy rules: trailing axes must be equal or 1)"
        ) from None


def clip(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - NumPy/PyTorch names
    """Clamp values into [min, max]; the gradient is 1 inside and 0 outside."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip.apply(x, low=min, high=max)


clamp = clip


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` that stays in the graph."""
    return Clone.apply(x)


def cast(x: Tensor, dtype) -> Tensor:
    """Convert ``x`` to ``dtype``; the gradient flows back between float dtypes."""
    if dtype.kind != "f" and x.requires_grad:
        from glassnet.autograd.grad_mode import no_grad

        with no_grad():
            return Cast.apply(x, dtype=dtype)
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device) -> Tensor:
    """Copy ``x`` to ``device``; differentiable."""
    return ToDevice.apply(x, device=device)


# -- comparisons: no gradient ----------------------------------------------------------------
def _compare(name, a, b):
    a, b = pair(a, b)
    xp = xp_of(a._data)
    return Tensor._make(getattr(xp, name)(a._data, b._data), False)


def equal(a, b) -> Tensor:
    """Elementwise a == b (boolean, no gradient)."""
    return _compare("equal", a, b)


def not_equal(a, b) -> Tensor:
    """Elementwise a != b (boolean, no gradient)."""
    return _compare("not_equal", a, b)


def less(a, b) -> Tensor:
    """Elementwise a < b (boolean, no gradient)."""
    return _compare("less", a, b)


def less_equal(a, b) -> Tensor:
    """Elementwise a <= b (boolean, no gradient)."""
    return _compare("less_equal", a, b)


def greater(a, b) -> Tensor:
    """Elementwise a > b (boolean, no gradient)."""
    return _compare("greater", a, b)


def greater_equal(a, b) -> Tensor:
    """Elementwise a >= b (boolean, no gradient)."""
    return _compare("greater_equal", a, b)
