"""Reductions over axes: sum, mean, var/std, max/min, logsumexp, prod, argmax/argmin."""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from glassnet.autograd.function import Function, no_grad_result
from glassnet.backend import to_dtype, xp_of
from glassnet.backend.dtypes import default_float
from glassnet.ops._util import normalize_axis
from glassnet.ops.deviation import StdOfVar
from glassnet.ops.reduce_all import reduce_all
from glassnet.tensor import Tensor

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "logsumexp",
    "max",
    "mean",
    "min",
    "norm",
    "prod",
    "std",
    "sum",
    "var",
]


class Sum(Function):
    """y = sum_i x_i over ``axis``;  dy/dx_i = 1 (the gradient is broadcast back)"""

    def forward(self, x, axis, keepdims, dtype=None):  # dtype: an int dtype to accumulate in
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return xp_of(x).asarray(x.sum(axis=axis, keepdims=keepdims, dtype=dtype))

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

    def backward(self, ns, grad, x):
        centered = self.centered if ns.eager else x - ns.mean(x, self.axis, True)
        g = ns.unreduce(grad, self.shape, self.axis, self.keepdims)
        with np.errstate(invalid="ignore"):
            return g * self.scale * centered


class _Extreme(Function):
    """Shared by max/min over axes: ties split the gradient evenly among the tied elements."""

    register = False
    reduce = "max"

    def forward(self, x, axis, keepdims):
        if x.size == 0 and (not axis or builtins.any(x.shape[a] == 0 for a in axis)):
            raise ValueError(
                f"{self.name}: reduction over an empty dim (input shape {x.shape}, dims "
                f"{axis}) has no identity (PyTorch raises too)"
            )
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.size == 0:  # the reduced dims are not empty, the others are: an empty result
            self.weights = x
            y = xp_of(x).zeros(tuple(1 if i in axis else n for i, n in enumerate(x.shape)))
            return (y if keepdims else y.reshape(_drop(y.shape, axis))).astype(x.dtype)
        y = getattr(x, self.reduce)(axis=axis, keepdims=True)
        mask = (x == y).astype(x.dtype)
        with np.errstate(invalid="ignore"):  # a nan max: nan weights, as torch.amax
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
        if not builtins.all(x.shape[a] for a in axis):  # an empty sum: ln 0 = -inf (PyTorch)
            self.softmax = xp.zeros_like(x)
            y = xp.full(tuple(1 if a in axis else n for a, n in enumerate(x.shape)), -xp.inf,
                        dtype=x.dtype)  # fmt: skip
            return y if keepdims else y.reshape(_drop(y.shape, axis))
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
    if x.size == 0:  # nothing to differentiate
        return xp.zeros_like(x)
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

    def forward(self, x, axis, keepdims, dtype=None):  # dtype: an int dtype to accumulate in
        self.axis, self.keepdims, self.shape = axis, keepdims, x.shape
        if dtype is not None:  # integers: no gradient
            return xp_of(x).asarray(x.prod(axis=axis, keepdims=keepdims, dtype=dtype))
        self.others = _others_product(xp_of(x), x, axis)
        return xp_of(x).asarray(x.prod(axis=axis, keepdims=keepdims))

    def backward(self, ns, grad, x):
        others = self.others if ns.eager else _others_product_graph(x, self.axis)
        return ns.unreduce(grad, self.shape, self.axis, self.keepdims) * others


def _others_product_graph(x: Tensor, axis) -> Tensor:
    """prod_{j != i} x_j for every i, from differentiable ops: for each position p along the
    reduced axes, ``prod`` of x with p's entries replaced by 1, placed back at p by a mask."""
    from glassnet.ops.selection import where

    xp = xp_of(x._data)
    if x.numel() == 0:
        return Tensor._make(xp.zeros_like(x._data), False)
    out = None
    for pos in np.ndindex(*[x.shape[a] for a in axis]):
        hole = np.zeros([x.shape[a] if a in axis else 1 for a in range(x.ndim)], dtype=bool)
        hole[tuple(pos[axis.index(a)] if a in axis else 0 for a in range(x.ndim))] = True
        at_p = Tensor._make(xp.asarray(hole), False)
        part = prod(where(at_p, 1.0, x), axis, keepdims=True) * at_p.astype(x.dtype)
        out = part if out is None else out + part
    return out


def _reduce(cls, x, axis, keepdims, **extra):
    if isinstance(axis, (tuple, list)) and not axis:
        axis = None  # PyTorch: dim=() reduces over every dim (NumPy's axis=() reduces none)
    axes = normalize_axis(axis, x.shape, cls.name)  # 0-d tensors take dim 0 or -1 (PyTorch)
    return cls.apply(x, axis=axes, keepdims=keepdims, **extra)


def _resolve(op, dim, axis, keepdim, keepdims):
    """PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` are the same arguments."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}; pass one of them")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def sum(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (int, tuple, or None for all); ``axis``/``keepdims`` are aliases.

    ``dtype`` casts the input first (PyTorch's keyword); bool and int tensors sum in int64
    unless ``dtype`` names another, as PyTorch (NumPy would give uint64 for uint8).
    """
    if axis is not None or keepdims is not None:
        dim, keepdim = _resolve("sum", dim, axis, keepdim, keepdims)
    if dtype is not None or input._data.dtype.kind in "biu":
        input, extra = _int_accumulate(input, dtype)
        return _reduce(Sum, input, dim, keepdim, **extra)
    return _reduce(Sum, input, dim, keepdim)


def _int_accumulate(x: Tensor, dtype):
    """``x`` in the dtype a sum or product accumulates in: ``dtype`` when given (PyTorch casts
    the input to it), else int64 for bool and int (as PyTorch); and the ``dtype`` param that
    keeps NumPy from widening an int32, int16 or uint8 accumulation to int64 or uint64."""
    target = np.dtype(np.int64) if dtype is None else to_dtype(dtype)
    if target.kind == "b":
        raise TypeError("sum/prod: dtype=bool is not supported; use any()/all() instead")
    if x._data.dtype != target:
        x = x.astype(target)
    return x, ({"dtype": target.str} if target.kind in "iu" else {})


def mean(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; ``axis``/``keepdims`` are aliases."""
    if axis is not None or keepdims is not None:
        dim, keepdim = _resolve("mean", dim, axis, keepdim, keepdims)
    if dtype is not None:
        input = input.astype(dtype)
    if input._data.dtype.kind != "f":
        _need_float("mean", input, "x.float().mean() or mean(dtype=gn.float32)")
    return _reduce(Mean, input, dim, keepdim)


def _need_float(op: str, x: Tensor, instead: str):
    raise TypeError(
        f"{op}(): could not infer output dtype: the input must be a floating-point tensor, got "
        f"{x.dtype} (as PyTorch); write {instead}"
    )


def _correction(op, unbiased, correction) -> int:
    if unbiased is not None:  # PyTorch's older spelling: unbiased=False is correction=0
        if correction is not None:
            raise TypeError(f"{op}: got both unbiased= and correction=; pass one of them")
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(
                f"{op}: the argument after dim is unbiased (a bool, as in PyTorch), got "
                f"{unbiased!r}; pass keepdim=... by keyword"
            )
        return 1 if unbiased else 0
    if correction is None:
        return 1
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.integer)):
        raise TypeError(f"{op}: correction must be a number (0 or 1 usually), got {correction!r}")
    return correction


def var(
    input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None
):
    """Variance over ``dim``: sum (x - mean)^2 / (n - correction), as ``torch.var``.

    ``correction=1`` (default) divides by n - 1 (Bessel); ``unbiased=False`` (PyTorch's older
    positional form ``x.var(dim, False)``) is ``correction=0``. With n <= correction the
    result is nan, with a warning (as PyTorch).
    """
    dim, keepdim = _resolve("var", dim, axis, keepdim, keepdims)
    if input._data.dtype.kind != "f":
        _need_float("var", input, "x.float().var()")
    return _reduce(Var, input, dim, keepdim, correction=_correction("var", unbiased, correction))


def std(
    input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None
):
    """Standard deviation: sqrt(var), with ``torch.std``'s arguments (a zero gradient where
    the deviation is 0, as PyTorch)."""
    dim, keepdim = _resolve("std", dim, axis, keepdim, keepdims)
    c = _correction("std", unbiased, correction)
    if input._data.dtype.kind != "f":
        _need_float("std", input, "x.float().std()")
    return StdOfVar.apply(_reduce(Var, input, dim, keepdim, correction=c))


def amax(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Maximum values over ``dim`` (int, tuple, or None/() for all); ties share the gradient.

    NumPy's ``max(axis=...)`` under PyTorch's name for it (``max(dim)`` returns values and
    indices). Tied maxima split the gradient evenly, as ``torch.amax`` does.
    """
    dim, keepdim = _resolve("amax", dim, axis, keepdim, keepdims)
    return _reduce(Max, input, dim, keepdim)


def amin(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Minimum values over ``dim``; tied minima share the gradient evenly (``torch.amin``)."""
    dim, keepdim = _resolve("amin", dim, axis, keepdim, keepdims)
    return _reduce(Min, input, dim, keepdim)


def _extreme(op, x, dim, keepdim, axis, keepdims, other):
    from glassnet.ops.selection import maximum, minimum

    if isinstance(dim, Tensor) and axis is None:  # torch.max(input, other): elementwise
        other, dim = dim, None
    if other is not None:
        return (maximum if op == "max" else minimum)(x, other)
    dim, keepdim = _resolve(op, dim, axis, keepdim, keepdims)
    if dim is None:  # ties and nan: PyTorch's even split (see reduce_all.py)
        return reduce_all(x, op)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(
            f"{op}: dim must be one int (values and indices along it), got {dim!r}; for the "
            f"{op} over several dims use amax/amin (gn.a{op}(x, dim=(0, 1)))"
        )
    from glassnet.ops.getitem import take_along_axis
    from glassnet.ops.shape import squeeze
    from glassnet.return_types import max as max_type
    from glassnet.return_types import min as min_type

    if normalize_axis(dim, x.shape, op) == ():  # 0-d tensor
        from glassnet.ops.elementwise import clone

        index = Tensor._make(xp_of(x._data).zeros((), dtype="int64"), False)
        # a copy, never x itself: PyTorch's values are a new tensor (writing them leaves x)
        return (max_type if op == "max" else min_type)(clone(x), index)
    index = _arg("argmax" if op == "max" else "argmin", x, dim, True)
    values = take_along_axis(x, index, dim)
    if not keepdim:
        values, index = squeeze(values, dim), squeeze(index, dim)
    return (max_type if op == "max" else min_type)(values, index)


def max(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """``torch.max``: the maximum of all elements, or ``(values, indices)`` along ``dim``.

    - ``max(x)``: a 0-d tensor; tied maxima share the gradient evenly.
    - ``max(x, dim, keepdim=False)``: a named tuple ``(values, indices)``
      (``glassnet.return_types.max``); ``indices`` is the first maximum along ``dim``, and
      the gradient flows to that element only, as in PyTorch.
    - ``max(x, other)`` with a tensor ``other``: the elementwise maximum (``maximum``).

    For NumPy's "maximum values over axes" use :func:`amax` (any number of dims).
    """
    return _extreme("max", input, dim, keepdim, axis, keepdims, other)


def min(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):  # noqa: A001
    """``torch.min``: the minimum, or ``(values, indices)`` along ``dim``; see :func:`max`."""
    return _extreme("min", input, dim, keepdim, axis, keepdims, other)


def logsumexp(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """ln sum exp(x) over ``dim``, computed stably."""
    if axis is not None or keepdims is not None:
        dim, keepdim = _resolve("logsumexp", dim, axis, keepdim, keepdims)
    if input._data.dtype.kind != "f":  # int and bool give the default float dtype (PyTorch)
        input = input.astype(default_float())
    return _reduce(Logsumexp, input, dim, keepdim)


def prod(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:
    """Product over ``dim``."""
    dim, keepdim = _resolve("prod", dim, axis, keepdim, keepdims)
    if dtype is not None or input._data.dtype.kind in "biu":
        input, extra = _int_accumulate(input, dtype)
        return _reduce(Prod, input, dim, keepdim, **extra)
    return _reduce(Prod, input, dim, keepdim)


def norm(x: Tensor, p=2, dim=None, keepdim=False, *, ord=None, axis=None, keepdims=None):  # noqa: A002
    """Vector p-norm over ``dim`` (p = 1, 2 or "fro", which is 2 for vectors), ``torch.norm``."""
    from glassnet.ops.elementwise import abs as _abs
    from glassnet.ops.elementwise import sqrt

    dim, keepdim = _resolve("norm", dim, axis, keepdim, keepdims)
    if ord is not None:
        p = ord
    if p in (2, "fro"):
        return sqrt(sum(x * x, dim, keepdim))
    if p == 1:
        return sum(_abs(x), dim, keepdim)
    raise ValueError(f"norm: p must be 1, 2 or 'fro', got {p!r}")


def _arg(name, x, axis, keepdims):
    xp = xp_of(x._data)
    if axis is None:  # keepdim: every dim kept with size 1, as PyTorch
        return no_grad_result(_arg_array, x, name=name, axis=None, keepdims=keepdims)
    if isinstance(axis, Tensor) and axis.ndim == 0:
        axis = int(axis)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{name}: dim must be one int (or None), got {axis!r}")
    axes = normalize_axis(axis, x.shape, name)
    if not axes:  # a 0-d tensor along axis 0 or -1: its only element is at index 0
        return Tensor._make(xp.zeros((), dtype="int64"), False)
    (a,) = axes
    return no_grad_result(_arg_array, x, name=name, axis=a, keepdims=keepdims)


def _arg_array(x, name, axis, keepdims):
    """argmax/argmin of an array as int64 (flattened when ``axis`` is None)."""
    xp = xp_of(x)
    if axis is None:
        out = xp.asarray(getattr(xp, name)(x.reshape(-1)), dtype="int64")
        return out.reshape((1,) * x.ndim) if keepdims else out
    out = getattr(xp, name)(x, axis=axis)
    if keepdims:
        out = xp.expand_dims(out, axis)
    return out.astype("int64", copy=False)


def argmax(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the maximum (first one at ties); not differentiable."""
    dim, keepdim = _resolve("argmax", dim, axis, keepdim, keepdims)
    return _arg("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index of the minimum (first one at ties); not differentiable."""
    dim, keepdim = _resolve("argmin", dim, axis, keepdim, keepdims)
    return _arg("argmin", input, dim, keepdim)


def _logical(op, x, dim, keepdim, axis, keepdims):
    dim, keepdim = _resolve(op, dim, axis, keepdim, keepdims)
    axes = None if dim is None or x.ndim == 0 else normalize_axis(dim, x.shape, op)
    return no_grad_result(_logical_array, x, op=op, axes=axes, keepdims=keepdim)


def _logical_array(x, op, axes, keepdims):
    out = xp_of(x).asarray(getattr(x, op)(axis=axes, keepdims=keepdims))
    return out.astype(x.dtype) if x.dtype == np.uint8 else out  # uint8 in, uint8 out (PyTorch)


def any(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    """True where any element along ``dim`` is nonzero; not differentiable."""
    return _logical("any", input, dim, keepdim, axis, keepdims)


def all(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    """True where all elements along ``dim`` are nonzero; not differentiable."""
    return _logical("all", input, dim, keepdim, axis, keepdims)
