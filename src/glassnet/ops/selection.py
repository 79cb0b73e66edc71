"""Selection and comparison: elementwise maximum/minimum, where, clip, and the comparisons.

The gradient of a selection goes to the value that was selected (maximum and minimum split
it evenly at a tie); comparisons give boolean tensors and no gradient.
"""

from __future__ import annotations

from glassnet.autograd.function import Function, no_grad_result, value_result
from glassnet.backend import xp_of
from glassnet.ops._util import as_tensor, cast_to, pair
from glassnet.ops.elementwise import _binary
from glassnet.ops.promotion import result_type_of
from glassnet.tensor import Tensor

__all__ = [
    "clamp",
    "clip",
    "equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "maximum",
    "minimum",
    "not_equal",
    "where",
]


class _MinMax(Function):
    """Shared by maximum/minimum: the gradient goes to the winner; a tie splits it evenly."""

    register = False
    pick = None
    larger = True  # maximum: the smaller side loses

    def forward(self, a, b):
        xp = xp_of(a)
        y = self.pick(xp, a, b)
        # PyTorch's rule: the loser gets 0, a tie 1/2 each, anything else (nan on either side
        # included) the whole gradient
        lose_a, lose_b = (a < b, a > b) if self.larger else (a > b, a < b)
        half = xp.where(a == b, 0.5, 1.0)
        dtype = y.dtype if y.dtype.kind in "fc" else "float64"
        self.wa = xp.where(lose_a, 0.0, half).astype(dtype, copy=False)
        self.wb = xp.where(lose_b, 0.0, half).astype(dtype, copy=False)
        return y

    def backward(self, ns, grad, a, b):
        return grad * ns.const(self.wa), grad * ns.const(self.wb)


class Maximum(_MinMax):
    """y = max(a, b) elementwise;  dy/da = [a > b] + 0.5 [a = b],  dy/db likewise (a nan on
    either side: 1 for both, as PyTorch)"""

    @staticmethod
    def pick(xp, a, b):
        return xp.maximum(a, b)


class Minimum(_MinMax):
    """y = min(a, b) elementwise;  dy/da = [a < b] + 0.5 [a = b],  dy/db likewise (a nan on
    either side: 1 for both, as PyTorch)"""

    larger = False

    @staticmethod
    def pick(xp, a, b):
        return xp.minimum(a, b)


class Where(Function):
    """y = a where cond else b;  dy/da = [cond],  dy/db = [not cond]  (cond gets no gradient)"""

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool, copy=False)
        return xp_of(a).where(self.cond, a, b)

    def backward(self, ns, grad, cond, a, b):
        c = ns.const(self.cond)
        return None, ns.where(c, grad, 0.0), ns.where(c, 0.0, grad)


# -- wrappers ---------------------------------------------------------------------------------
def maximum(input, other) -> Tensor:
    """Elementwise maximum; at ties the gradient is split evenly between a and b."""
    return _binary(Maximum, input, other)


def minimum(input, other) -> Tensor:
    """Elementwise minimum; at ties the gradient is split evenly between a and b."""
    return _binary(Minimum, input, other)


def where(condition, input=None, other=None) -> Tensor:
    """Pick ``input`` where ``condition`` is true, else ``other`` (broadcasting all three).

    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as PyTorch's."""
    if input is None and other is None:
        condition = condition if isinstance(condition, Tensor) else as_tensor(condition, None)
        data = (
            condition._data if condition.ndim else condition._data.reshape(1)
        )  # PyTorch: 0-d as 1-D
        hits = xp_of(data).nonzero(data)
        return tuple(value_result(h.astype("int64", copy=False), "nonzero") for h in hits)
    if input is None or other is None:
        raise TypeError("where: give both input (where condition is true) and other, or neither")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor(input)  # two Python numbers: PyTorch's dtypes of numbers (int64, float32)
    input, other = pair(input, other)  # PyTorch's promotion: where(c, int64, 0.5) is float32
    condition = as_tensor(condition, None) if not isinstance(condition, Tensor) else condition
    if condition.dtype.kind != "b":
        raise TypeError(
            f"where: cond must be a boolean tensor, got dtype {condition.dtype}; build it with a "
            "comparison such as x > 0"
        )
    try:
        return Where.apply(condition, input, other)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise ValueError(
            f"where: shapes {condition.shape} (condition), {input.shape} and {other.shape} "
            "cannot be broadcast "
            "together (NumPy rules: trailing axes must be equal or 1)"
        ) from None


def clip(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - NumPy/PyTorch names
    """Clamp values into [min, max]: y = min(max(x, min), max) (nan stays nan; where
    min > max every value is max, as PyTorch). The result dtype is PyTorch's promotion of x
    and the bounds (an int tensor with min=0.5 gives float32).

    A composition of selections: dy/dx = [min <= x <= max]; a tensor bound gets the gradient
    where it is the value chosen: d/dmin = [x < min < max], d/dmax = [x > max or max < min]
    (PyTorch's rule), and d2y = 0.
    """
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    input, min, max = _clamp_operands(input, min, max)
    tensors = [b for b in (min, max) if isinstance(b, Tensor)]
    if not tensors:  # number bounds: the clipped values, recorded (a replay recomputes them)
        clipped = no_grad_result(_clipped, input, low=min, high=max)
        if not input.requires_grad:
            return clipped
        return Where.apply(no_grad_result(_inside, input, low=min, high=max), input, clipped)
    args = (input, *tensors)
    low, high = (None if b is None or isinstance(b, Tensor) else b for b in (min, max))
    params = dict(has=(min is not None, max is not None), low=low, high=high)
    out = no_grad_result(_clamp_pick, *args, which=-1, **params)
    if not any(t.requires_grad for t in args):
        return out
    # the masks are disjoint: each element takes the gradient path of the value it holds
    for i, t in enumerate(args):
        if t.requires_grad:
            out = Where.apply(no_grad_result(_clamp_pick, *args, which=i, **params), t, out)
    return out


def _clamp_operands(x, low, high):
    """x and the bounds in PyTorch's result dtype (number bounds stay numbers)."""
    low, high = (b if b is None or isinstance(b, (Tensor, int, float)) else as_tensor(b, x)
                 for b in (low, high))  # fmt: skip
    values = [v for v in (x, low, high) if v is not None]
    dt = x._data.dtype
    if dt.kind == "f" and all(not isinstance(v, Tensor) or v._data.dtype == dt for v in values):
        return x, low, high
    out = result_type_of(values)

    def conv(v):
        if isinstance(v, Tensor):
            return v if v._data.dtype == out else cast_to(v, out)
        return v

    return conv(x), conv(low), conv(high)


def _clamp_pick(*arrays, which, has, low, high):
    """The clamped values (``which`` = -1), or the mask of where input ``which`` (x, then the
    tensor bounds in order) is the value chosen."""
    arrays = list(arrays)
    x = arrays.pop(0)
    xp = xp_of(x)
    lo = (arrays.pop(0) if low is None else low) if has[0] else None
    hi = (arrays.pop(0) if high is None else high) if has[1] else None
    y = x if lo is None else xp.maximum(x, lo)
    y = y if hi is None else xp.minimum(y, hi)
    if which == -1:
        return y if y is not x else y.copy()
    if which == 0:
        m = xp.ones(y.shape, dtype=bool)
        if lo is not None:
            m = m & (x >= lo)
        if hi is not None:
            m = m & (x <= hi)
        return xp.broadcast_to(m, y.shape)
    if which == 1 and has[0] and low is None:  # the min tensor
        m = (x < lo) if hi is None else (x < lo) & (lo < hi)
    else:
        m = (x > hi) if lo is None else (x > hi) | (hi < lo)
    if y.dtype.kind == "f":
        m = m & ~xp.isnan(y)  # a nan result (nan x or bound) is a constant
    return xp.broadcast_to(m, y.shape)


def _clipped(x, low, high):
    return xp_of(x).clip(x, low, high)


def _inside(x, low, high):
    """low <= x <= high (a missing bound: no limit); nan is outside."""
    inside = xp_of(x).ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    return inside


clamp = clip


# -- comparisons: no gradient ----------------------------------------------------------------
def _compare(name, a, b):
    a, b = pair(a, b)
    return no_grad_result(getattr(xp_of(a._data), name), a, b)  # recorded by gn.compile


def equal(input, other) -> Tensor:
    """Elementwise a == b (boolean, no gradient)."""
    return _compare("equal", input, other)


def not_equal(input, other) -> Tensor:
    """Elementwise a != b (boolean, no gradient)."""
    return _compare("not_equal", input, other)


def less(input, other) -> Tensor:
    """Elementwise a < b (boolean, no gradient)."""
    return _compare("less", input, other)


def less_equal(input, other) -> Tensor:
    """Elementwise a <= b (boolean, no gradient)."""
    return _compare("less_equal", input, other)


def greater(input, other) -> Tensor:
    """Elementwise a > b (boolean, no gradient)."""
    return _compare("greater", input, other)


def greater_equal(input, other) -> Tensor:
    """Elementwise a >= b (boolean, no gradient)."""
    return _compare("greater_equal", input, other)
