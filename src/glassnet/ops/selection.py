"""Selection and comparison: elementwise maximum/minimum, where, clip, and the comparisons.

The gradient of a selection goes to the value that was selected (maximum and minimum split
it evenly at a tie); comparisons give boolean tensors and no gradient.
"""

from __future__ import annotations

from glassnet.autograd.function import Function, no_grad_result, value_result
from glassnet.backend import xp_of
from glassnet.ops._util import as_tensor, pair
from glassnet.ops.elementwise import _binary
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

    def backward(self, ns, grad, a, b):
        return grad * ns.const(self.wa), grad * ns.const(self.wb)


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

    def backward(self, ns, grad, cond, a, b):
        c = ns.const(self.cond)
        return None, ns.where(c, grad, 0.0), ns.where(c, 0.0, grad)


# -- wrappers ---------------------------------------------------------------------------------
def maximum(a, b) -> Tensor:
    """Elementwise maximum; at ties the gradient is split evenly between a and b."""
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; at ties the gradient is split evenly between a and b."""
    return _binary(Minimum, a, b)


def where(cond, a=None, b=None) -> Tensor:
    """Pick ``a`` where ``cond`` is true, else ``b`` (broadcasting all three).

    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as PyTorch's."""
    if a is None and b is None:
        cond = cond if isinstance(cond, Tensor) else as_tensor(cond, None)
        data = cond._data if cond.ndim else cond._data.reshape(1)  # PyTorch: 0-d as 1-D
        hits = xp_of(data).nonzero(data)
        return tuple(value_result(h.astype("int64", copy=False), "nonzero") for h in hits)
    if a is None or b is None:
        raise TypeError("where: give both a (where cond is true) and b, or neither")
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
    """Clamp values into [min, max]; the gradient is 1 inside (bounds included) and 0 outside.

    A composition, not an op of its own: y = where(min <= x <= max, x, clip(x)), where the
    clipped values are a constant, so dy/dx = [min <= x <= max] and d2y/dx2 = 0.
    """
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if isinstance(min, Tensor) or isinstance(max, Tensor):  # arrays as bounds: their values
        min, max = (b._data if isinstance(b, Tensor) else b for b in (min, max))
    clipped = no_grad_result(_clipped, x, low=min, high=max)  # recorded: a replay recomputes
    if not x.requires_grad:
        return clipped
    return Where.apply(no_grad_result(_inside, x, low=min, high=max), x, clipped)


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
