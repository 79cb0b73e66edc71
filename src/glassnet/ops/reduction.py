"""Reductions over axes: sum, mean, var/std, max/min, logsumexp, prod, argmax/argmin."""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops._util import expand_reduced, normalize_axis
from glassnet.tensor import Tensor


def _spread(grad, shape, axis, keepdims):
    """The gradient of a reduction, copied back along the reduced axes to the input ``shape``.

    Writes into a fresh array rather than returning ``broadcast_to``'s view: same numbers,
    but ``numpy.broadcast_to`` spends ~3 us in Python argument checks, which dominates the
    backward of a small sum, and a view would be copied anyway when it reaches a leaf.
    """
    out = xp_of(grad).empty(shape, dtype=grad.dtype)
    out[...] = expand_reduced(grad, shape, axis, keepdims) if grad.ndim else grad
    return out


class Sum(Function):
    """y = sum_i x_i over ``axis``;  dy/dx_i = 1 (the gradient is broadcast back)"""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return xp_of(x).asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, grad):
        return (_spread(grad, self.shape, self.axis, self.keepdims),)

    def backward_graph(self, grad):
        from glassnet.ops.shape import broadcast_to, reshape

        g = grad
        if not self.keepdims and self.axis:
            g = reshape(g, expand_reduced(grad.data, self.shape, self.axis, False).shape)
        return (broadcast_to(g, self.shape),)


class Mean(Function):
    """y = (1/n) sum_i x_i over ``axis`` (n elements);  dy/dx_i = 1/n"""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        n = 1
        for a in axis:
            n *= x.shape[a]
        self.n = n
        return xp_of(x).asarray(x.mean(axis=axis, keepdims=keepdims))

    def backward(self, grad):
        return (_spread(grad / self.n, self.shape, self.axis, self.keepdims),)

    def backward_graph(self, grad):
        (g,) = Sum.backward_graph(self, grad)
        return (g / self.n,)


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
        # no degrees of freedom left (n <= correction): nan (0/0) and inf gradients, with a
        # warning, as PyTorch; 2.0 / 0 would raise in Python, so the scale is inf
        self.scale = 2.0 / self.denom if self.denom else math.inf
        xp = xp_of(x)
        if not self.denom:
            warnings.warn(
                f"var: degrees of freedom <= 0 (n = {n} elements, correction = {correction}); "
                "the result is nan",
                RuntimeWarning,
                stacklevel=4,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            self.centered = x - x.mean(axis=axis, keepdims=True) if x.size else x
            total = (self.centered**2).sum(axis=axis, keepdims=keepdims)
            return xp.asarray(total / x.dtype.type(self.denom))

    def backward(self, grad):
        g = expand_reduced(grad, self.shape, self.axis, self.keepdims)
        with np.errstate(invalid="ignore"):
            return (g * self.scale * self.centered,)

    def backward_graph(self, grad):
        from glassnet.ops.shape import reshape

        (x,) = self.inputs
        centered = x - mean(x, axis=self.axis, keepdims=True)
        g = grad
        if not self.keepdims and self.axis:
            g = reshape(g, expand_reduced(grad.data, self.shape, self.axis, False).shape)
        return (g * self.scale * centered,)


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
        self.weights = mask / mask.sum(axis=axis, keepdims=True)
        return xp_of(x).asarray(y if keepdims else y.reshape(_drop(y.shape, axis)))

    def backward(self, grad):
        return (expand_reduced(grad, self.shape, self.axis, self.keepdims) * self.weights,)

    def backward_graph(self, grad):
        from glassnet.ops.shape import reshape

        g = grad
        if not self.keepdims and self.axis:
            g = reshape(g, expand_reduced(grad.data, self.shape, self.axis, False).shape)
        return (g * Tensor._make(self.weights, False),)


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

    def backward(self, grad):
        return (expand_reduced(grad, self.shape, self.axis, self.keepdims) * self.softmax,)

    def backward_graph(self, grad):
        from glassnet.ops.activation import softmax
        from glassnet.ops.shape import reshape

        (x,) = self.inputs
        g = grad
        if not self.keepdims and self.axis:
            g = reshape(g, expand_reduced(grad.data, self.shape, self.axis, False).shape)
        return (g * softmax(x, axis=self.axis),)


class Prod(Function):
    """y = prod_i x_i over ``axis``;  dy/dx_i = prod_{j != i} x_j (computed without dividing)"""

    def forward(self, x, axis, keepdims):
        xp = xp_of(x)
        self.x, self.axis, self.keepdims, self.shape = x, axis, keepdims, x.shape
        # product of all others = exclusive cumprod from the left times from the right; this
        # stays exact when some x_j are zero (y / x_i would be 0/0).
        moved = xp.moveaxis(x, axis, tuple(range(-len(axis), 0))).reshape(
            _drop(x.shape, axis) + (-1,)
        )
        ones = xp.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(_drop(x.shape, axis) + tuple(x.shape[a] for a in axis))
        self.others = xp.moveaxis(others, tuple(range(-len(axis), 0)), axis)
        return xp.asarray(x.prod(axis=axis, keepdims=keepdims))

    def backward(self, grad):
        return (expand_reduced(grad, self.shape, self.axis, self.keepdims) * self.others,)


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


def _correction(op, correction, unbiased):
    if unbiased is not None:  # PyTorch's older spelling: unbiased=False is correction=0
        return 1 if unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.integer)):
        raise TypeError(f"{op}: correction must be a number (0 or 1 usually), got {correction!r}")
    return correction


def var(
    x: Tensor, axis=None, keepdims: bool = False, correction: int = 1, *, unbiased=None
) -> Tensor:
    """Variance over ``axis``; ``correction=1`` (default, like PyTorch) divides by n - 1.

    ``unbiased=False`` (PyTorch's older keyword) is ``correction=0``. With n <= correction the
    result is nan, with a warning (as PyTorch).
    """
    correction = _correction("var", correction, unbiased)
    return _reduce(Var, x, axis, keepdims, correction=correction)


def std(
    x: Tensor, axis=None, keepdims: bool = False, correction: int = 1, *, unbiased=None
) -> Tensor:
    """Standard deviation: sqrt(var) (same ``correction``/``unbiased`` as :func:`var`)."""
    from glassnet.ops.elementwise import sqrt

    return sqrt(var(x, axis, keepdims, correction, unbiased=unbiased))


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
    if isinstance(axis, Tensor) and axis.ndim == 0:
        axis = int(axis)
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be one int (or None), got {axis!r}")
    axes = normalize_axis(axis, x.shape, name)
    if not axes:  # a 0-d tensor along axis 0 or -1: its only element is at index 0
        return Tensor._make(xp.zeros((), dtype="int64"), False)
    (a,) = axes
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
