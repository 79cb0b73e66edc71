"""Elementwise arithmetic and math. All broadcast like NumPy; the engine un-broadcasts grads."""

from __future__ import annotations

import numpy as np

from glassnet._torch_extras import check_memory_format
from glassnet.autograd.function import Function, no_grad_result
from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import device_of, xp_of
from glassnet.backend import to_device as _move
from glassnet.ops import _fused
from glassnet.ops._util import astype, floating, floating_pair, pair, promote
from glassnet.tensor import Tensor

__all__ = [
    "abs",
    "add",
    "cast",
    "clone",
    "cos",
    "div",
    "exp",
    "log",
    "log1p",
    "mul",
    "neg",
    "pow",
    "rsqrt",
    "sin",
    "sqrt",
    "square",
    "sub",
    "to_device",
]


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
        out = _fused.add(a, b)  # large same-shape arrays: on the CPU threads
        return a + b if out is None else out

    def backward(self, ns, grad, a, b):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1,  dy/db = -1"""

    def forward(self, a, b):
        return a - b

    def backward(self, ns, grad, a, b):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b,  dy/db = a"""

    def forward(self, a, b):
        return a * b

    def backward(self, ns, grad, a, b):
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b,  dy/db = -a/b^2"""

    def forward(self, a, b):
        return a / b

    def backward(self, ns, grad, a, b):
        ga = grad / b
        return ga, (-ga * a / b if self.needs_input_grad[1] else None)


class Pow(Function):
    """y = a^b (both tensors);  dy/da = b a^(b-1),  dy/db = a^b ln a

    Edges as PyTorch: dy/da = 0 where b = 0 (also at a = 0, where b a^(b-1) is 0 * inf);
    dy/db = 0 where a = 0 and b >= 0, and a^b ln a otherwise: nan for a < 0 (ln a is not
    real) and -inf at a = 0, b < 0 (inf * -inf).
    """

    saves_output = True

    def forward(self, a, b):
        return a**b

    def backward(self, ns, grad, a, b, y):
        need_a, need_b = self.needs_input_grad
        a_, b_ = _data(a), _data(b)  # the constant masks below are read from the arrays
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                ga = ns.where(ns.const(b_ == 0), 0.0, grad * b * a ** (b - 1))
            if need_b:
                zero = ns.const((a_ == 0) & (b_ >= 0))
                gb = grad * ns.where(zero, 0.0, y * ns.log(ns.where(zero, 1.0, a)))
        return ga, gb


def _data(v):
    """The array behind ``v`` (a Tensor under create_graph, else already an array)."""
    return v._data if isinstance(v, Tensor) else v


class Xlogy(Function):
    """y = a ln b, taken as 0 where a = 0 (unless b is nan; PyTorch's ``xlogy``);
    dy/da = ln b (0 where a = 0 and b is not nan), dy/db = a / b.

    The derivatives are PyTorch's formulas as written, so dy/db at a = b = 0 is 0/0 = nan, as
    PyTorch's (the value there is 0): a composition with a mask gave 0.
    """

    name = "xlogy"

    def forward(self, a, b):
        xp = xp_of(a)
        zero = (a == 0) & (b == b)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = a * xp.log(xp.where(zero, 1, b))
        return xp.where(zero, xp.zeros((), dtype=y.dtype), y)

    def backward(self, ns, grad, a, b):
        need_a, need_b = self.needs_input_grad
        zero = ns.const((_data(a) == 0) & (_data(b) == _data(b)))
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                ga = grad * ns.where(zero, 0.0, ns.log(ns.where(zero, 1.0, b)))
            if need_b:
                gb = grad * a / b
        return ga, gb


class PowScalar(Function):
    """y = x^p for a constant p;  dy/dx = p x^(p-1)

    For p = 0 the derivative is 0 everywhere, also at x = 0 (as PyTorch), not 0 * inf.
    """

    def forward(self, x, p):
        self.p = p
        return x**p

    def backward(self, ns, grad, x):
        p = self.p
        if p == 2:
            return grad * 2 * x
        if p == 0:  # 0 everywhere, also at x = 0 (PyTorch), not 0 * inf
            return grad * 0.0
        return grad * p * x ** (p - 1)


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dy/dx = -y^3 / 2   (rsqrt(-0) = -inf and rsqrt(-inf) = nan, as
    PyTorch: x^-0.5 would give inf and 0)"""

    saves_output = True

    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1 / xp_of(x).sqrt(x)

    def backward(self, ns, grad, x, y):
        return grad * -0.5 * y * y * y


class Neg(Function):
    """y = -x;  dy/dx = -1"""

    def forward(self, x):
        return -x

    def backward(self, ns, grad, x):
        return -grad


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y"""

    saves_output = True

    def forward(self, x):
        return xp_of(x).exp(x)

    def backward(self, ns, grad, x, y):
        return grad * y


class Log(Function):
    """y = ln x;  dy/dx = 1/x   (x <= 0 gives nan/-inf, like NumPy)"""

    def forward(self, x):
        return xp_of(x).log(x)

    def backward(self, ns, grad, x):
        return grad / x


class Log1p(Function):
    """y = ln(1 + x), accurate for small x;  dy/dx = 1/(1 + x)"""

    def forward(self, x):
        return xp_of(x).log1p(x)

    def backward(self, ns, grad, x):
        return grad / (1 + x)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)"""

    saves_output = True

    def forward(self, x):
        return xp_of(x).sqrt(x)

    def backward(self, ns, grad, x, y):
        return grad / (2 * y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x), taken as 0 at x = 0 (a subgradient, as PyTorch) and at nan
    (PyTorch's sign of nan is 0)"""

    def forward(self, x):
        xp = xp_of(x)
        sign = xp.sign(x)  # piecewise constant: its own derivative is 0
        self.sign = xp.where(sign != sign, 0, sign) if x.dtype.kind == "f" else sign
        return xp_of(x).abs(x)

    def backward(self, ns, grad, x):
        return grad * ns.const(self.sign)


class Sin(Function):
    """y = sin x;  dy/dx = cos x"""

    def forward(self, x):
        return xp_of(x).sin(x)

    def backward(self, ns, grad, x):
        return grad * ns.cos(x)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x"""

    def forward(self, x):
        return xp_of(x).cos(x)

    def backward(self, ns, grad, x):
        return -grad * ns.sin(x)


class Cast(Function):
    """y = x converted to another dtype;  dy/dx = 1 (cast back)"""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, ns, grad, x):
        return ns.cast(grad, self.in_dtype)


class Clone(Function):
    """y = a copy of x;  dy/dx = 1"""

    def forward(self, x):
        return x.copy()

    def backward(self, ns, grad, x):
        return grad


class ToDevice(Function):
    """y = x copied to another device;  dy/dx = 1 (the gradient is copied back)"""

    def forward(self, x, device):
        self.src = device_of(x)
        return _move(x, device)

    def backward(self, ns, grad, x):
        return ns.to_device(grad, self.src)


# -- wrappers ---------------------------------------------------------------------------------
def add(input, other, *, alpha=1) -> Tensor:
    """Elementwise a + alpha * b with broadcasting (``torch.add``; ``alpha`` scales ``b``)."""
    if alpha != 1:
        other = _scaled("add", input, other, alpha)
    return _binary(Add, input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """Elementwise a - alpha * b with broadcasting (``torch.sub``)."""
    if alpha != 1:
        other = _scaled("sub", input, other, alpha)
    return _binary(Sub, input, other)


def _scaled(name, a, b, alpha):
    """alpha * b in the result's dtype, as PyTorch (int64 b with a float a: scaled as a float,
    never overflowing in int64). A float ``alpha`` with an integer result raises, as PyTorch
    (it would change the result's dtype or need a rounding PyTorch does not define)."""
    from glassnet.ops._util import cast_to
    from glassnet.ops.promotion import result_type_of

    out = result_type_of((a, b))
    if isinstance(alpha, float) and out.kind in "biu":
        raise TypeError(
            f"{name}: alpha={alpha!r} is a float but the inputs are integer tensors (PyTorch "
            "raises too); pass an int alpha, or convert the inputs with .float() first"
        )
    if isinstance(b, Tensor) and b.dtype != out:
        b = cast_to(b, out)
    return b * alpha


def mul(input, other) -> Tensor:
    """Elementwise a * b with broadcasting."""
    return _binary(Mul, input, other)


def div(input, other) -> Tensor:
    """Elementwise true division a / b with broadcasting (int / int gives float32, as PyTorch)."""
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        input, other = pair(input, other)
    if input._data.dtype.kind != "f" or other._data.dtype.kind != "f":
        input, other = floating_pair(input, other)
    return _binary(Div, input, other)


def pow(input, exponent) -> Tensor:  # noqa: A001 - mirrors the operator
    """Elementwise a ** b; a constant exponent uses the cheaper ``pow_scalar`` op."""
    if (
        isinstance(input, Tensor)
        and isinstance(exponent, (int, float))
        and not isinstance(exponent, bool)
    ):
        if isinstance(exponent, float):  # int tensor ** float: float32, as PyTorch
            input = floating(input)
        elif input._data.dtype.kind == "b":  # bool ** int: int64, as PyTorch (NumPy: int8)
            input = no_grad_result(astype, input, dtype="int64")
        return PowScalar.apply(input, p=exponent)
    return _binary(Pow, input, exponent)


def neg(input: Tensor) -> Tensor:
    """Elementwise -x."""
    return Neg.apply(input)


def exp(input: Tensor) -> Tensor:
    """Elementwise e^x."""
    return Exp.apply(input if input._data.dtype.kind == "f" else floating(input))


def log(input: Tensor) -> Tensor:
    """Elementwise natural logarithm."""
    return Log.apply(input if input._data.dtype.kind == "f" else floating(input))


def log1p(input: Tensor) -> Tensor:
    """Elementwise ln(1 + x)."""
    return Log1p.apply(input if input._data.dtype.kind == "f" else floating(input))


def sqrt(input: Tensor) -> Tensor:
    """Elementwise square root."""
    return Sqrt.apply(input if input._data.dtype.kind == "f" else floating(input))


def rsqrt(input: Tensor) -> Tensor:
    """Elementwise 1 / sqrt(x)."""
    return Rsqrt.apply(input if input._data.dtype.kind == "f" else floating(input))


def square(input: Tensor) -> Tensor:
    """Elementwise x^2 (bool input gives int64, as PyTorch)."""
    return pow(input, 2)


def abs(input: Tensor) -> Tensor:  # noqa: A001 - NumPy's name
    """Elementwise |x|."""
    return Abs.apply(input)


def sin(input: Tensor) -> Tensor:
    """Elementwise sine."""
    return Sin.apply(input if input._data.dtype.kind == "f" else floating(input))


def cos(input: Tensor) -> Tensor:
    """Elementwise cosine."""
    return Cos.apply(input if input._data.dtype.kind == "f" else floating(input))


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``x`` that stays in the graph (``memory_format``, a layout, is checked and
    changes nothing: glassnet stores the copy row-major)."""
    if memory_format is not None:
        check_memory_format(memory_format, "clone", input.shape)
    return Clone.apply(input)


def cast(x: Tensor, dtype) -> Tensor:
    """Convert ``x`` to ``dtype``; the gradient flows back between float dtypes."""
    if dtype.kind != "f" and x.requires_grad:
        with no_grad():
            return Cast.apply(x, dtype=dtype)
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device) -> Tensor:
    """Copy ``x`` to ``device``; differentiable."""
    return ToDevice.apply(x, device=device)
