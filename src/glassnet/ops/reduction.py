"""Reductions over axes: sum, mean, var/std, max/min, logsumexp, prod, argmax/argmin."""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops._util import normalize_axis
from glassnet.tensor import Tensor


class Sum(Function):
    """y = sum_i x_i over ``axis``;  dy/dx_i = 1 (the gradient is broadcast back)"""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return xp_of(x).asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, ns, grad, x):
        return ns.spread(grad, self.shape, self.axis, self.keepdims)


class Mean(Function):
    """y = (1/n) sum_i x_i over ``axis`` (n elements);  dy/dx_i = 1/n"""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        n = 1
        for a in axis:
            n *= x.shape[a]
        self.n = n
        return xp_of(x).asarray(x.mean(axis=axis, keepdims=keepdims))

    def backward(self, ns, grad, x):
        return ns.spread(grad / self.n, self.shape, self.axis, self.keepdims)


class Var(Function):
    """y = sum_i (x_i - mean)^2 / (n - correction);  dy/dx_i = 2 (x_i - mean) / (n - correction)

    ``correction=1`` is the unbiased (Bessel) estimate, ``correction=0`` the population one.
    """

    def forward(self, x, axis, keepdims, correction):
        n = 1
        for a in axis:
            n *= x.shape[a]
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.denom = builtins.max(n - correction, 0)
        self.centered = x - x.mean(axis=axis, keepdims=True)
        return xp_of(x).asarray((self.centered**2).sum(axis=axis, keepdims=keepdims) / self.denom)

    def backward(self, ns, grad, x):
        centered = self.centered if ns.eager else x - ns.mean(x, self.axis, True)
        g = ns.unreduce(grad, self.shape, self.axis, self.keepdims)
        return g * (2.0 / self.denom) * centered


class _Extreme(Function):
    """Shared by max/min over axes: ties split the gradient evenly among the tied elements."""

    register = False
    reduce = "max"

    def forward(self, x, axis, keepdims):
        if x.size == 0:
            raise ValueError(f"{self.name}: reduction of an empty tensor has no identity")
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        y = getattr(x, self.reduce)(axis=axis, keepdims=True)
        mask = (x == y).astype(x.dtype)
        self.weights = mask / mask.sum(axis=axis, keepdims=True)  # constant: which x won
        return xp_of(x).asarray(y if keepdims else y.reshape(_drop(y.shape, axis)))

    def backward(self, ns, grad, x):
        g = ns.unreduce(grad, self.shape, self.axis, self.keepdims)
        return g * ns.const(self.weights)


def _drop(shape, axes):
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Max(_Extreme):
    """y = max_i x_i over ``axis``;  dy/dx_i = 1/k for each of the k elements equal to the max

    Ties split the gradient evenly (a valid subgradient, and the choice that keeps gradcheck
    symmetric); PyTorch's ``amax`` does the same.
    """

    reduce = "max"


class Min(_Extreme):
    """y = min_i x_i over ``axis``;  dy/dx_i = 1/k for each of the k elements equal to the min"""

    reduce = "min"


class Logsumexp(Function):
    """y = ln sum_i e^{x_i} = m + ln sum_i e^{x_i - m}, m = max x;  dy/dx_i = softmax(x)_i

    Subtracting the max keeps e^{x - m} <= 1, so logits of 1e4 do not overflow.
    """

    def forward(self, x, axis, keepdims):
        xp = xp_of(x)
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(x - m)
        s = e.sum(axis=axis, keepdims=True)
        self.softmax = e / s
        y = xp.log(s) + m
        return y if keepdims else y.reshape(_drop(y.shape, axis))

    def backward(self, ns, grad, x):
        p = self.softmax if ns.eager else ns.softmax(x, self.axis)
        return ns.unreduce(grad, self.shape, self.axis, self.keepdims) * p


def _others_product(xp, x, axis):
    """For each x_i: the product of the other elements along ``axis``, without dividing
    (exclusive cumprods from the left and from the right: exact when some x_j are zero)."""
    moved = xp.moveaxis(x, axis, tuple(range(-len(axis), 0))).reshape(_drop(x.shape, axis) + (-1,))
    ones = xp.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(_drop(x.shape, axis) + tuple(x.shape[a] for a in axis))
    return xp.moveaxis(others, tuple(range(-len(axis), 0)), axis)


class Prod(Function):
    """y = prod_i x_i over ``axis``;  dy/dx_i = prod_{j != i} x_j (computed without dividing)

    Under create_graph, prod_{j != i} x_j is itself built from ``prod`` ops (one per position
    along the reduced axes), so its derivative is in the graph too.
    """

    def forward(self, x, axis, keepdims):
        self.axis, self.keepdims, self.shape = axis, keepdims, x.shape
        self.others = _others_product(xp_of(x), x, axis)
        return xp_of(x).asarray(x.prod(axis=axis, keepdims=keepdims))

    def backward(self, ns, grad, x):
        others = self.others if ns.eager else _others_product_graph(x, self.axis)
        return ns.unreduce(grad, self.shape, self.axis, self.keepdims) * others


def _others_product_graph(x: Tensor, axis) -> Tensor:
    """prod_{j != i} x_j for every i, from differentiable ops: for each position p along the
    reduced axes, ``prod`` of x with p's entries replaced by 1, placed back at p by a mask."""
    from glassnet.ops.elementwise import where

    xp = xp_of(x.data)
    out = None
    for pos in np.ndindex(*[x.shape[a] for a in axis]):
        hole = np.zeros([x.shape[a] if a in axis else 1 for a in range(x.ndim)], dtype=bool)
        hole[tuple(pos[axis.index(a)] if a in axis else 0 for a in range(x.ndim))] = True
        at_p = Tensor._make(xp.asarray(hole), False)
        part = prod(where(at_p, 1.0, x), axis, keepdims=True) * at_p.astype(x.dtype)
        out = part if out is None else out + part
    return out


def _reduce(cls, x, axis, keepdims, **extra):
    axes = normalize_axis(axis, x.shape, cls.name)
    return cls.apply(x, axis=axes, keepdims=keepdims, **extra)


def sum(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (int, tuple, or None for all)."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``."""
    if x.dtype.kind != "f":
        x = x.astype("float32")
    return _reduce(Mean, x, axis, keepdims)


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``; ``correction=1`` (default, like PyTorch) divides by n - 1."""
    return _reduce(Var, x, axis, keepdims, correction=correction)


def std(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Standard deviation: sqrt(var)."""
    from glassnet.ops.elementwise import sqrt

    return sqrt(var(x, axis, keepdims, correction))


def max(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return _reduce(Max, x, axis, keepdims)


def min(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return _reduce(Min, x, axis, keepdims)


def logsumexp(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """ln sum exp(x) over ``axis``, computed stably."""
    return _reduce(Logsumexp, x, axis, keepdims)


def prod(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis``."""
    return _reduce(Prod, x, axis, keepdims)


def norm(x: Tensor, ord: int = 2, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector p-norm over ``axis`` (p = 1 or 2)."""
    from glassnet.ops.elementwise import abs as _abs
    from glassnet.ops.elementwise import sqrt

    if ord == 2:
        return sqrt(sum(x * x, axis, keepdims))
    if ord == 1:
        return sum(_abs(x), axis, keepdims)
    raise ValueError(f"norm: ord must be 1 or 2, got {ord!r}")


def _arg(name, x, axis, keepdims):
    xp = xp_of(x.data)
    if axis is None:
        out = getattr(xp, name)(x.data.reshape(-1))
        return Tensor._make(xp.asarray(out, dtype="int64"), False)
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be one int (or None), got {axis!r}")
    (a,) = normalize_axis(axis, x.shape, name)
    out = getattr(xp, name)(x.data, axis=a)
    if keepdims:
        out = xp.expand_dims(out, a)
    return Tensor._make(out.astype("int64", copy=False), False)


def argmax(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the maximum (first one at ties); not differentiable."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the minimum (first one at ties); not differentiable."""
    return _arg("argmin", x, axis, keepdims)


def any(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """True where any element along ``axis`` is nonzero; not differentiable."""
    return Tensor._make(xp_of(x.data).asarray(x.data.any(axis=axis, keepdims=keepdims)), False)


def all(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """True where all elements along ``axis`` are nonzero; not differentiable."""
    return Tensor._make(xp_of(x.data).asarray(x.data.all(axis=axis, keepdims=keepdims)), False)
