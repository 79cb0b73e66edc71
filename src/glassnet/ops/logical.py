"""Ops without a gradient: predicates (isnan, isclose), logical and bitwise ops, comparisons
by PyTorch's names, and index-valued ops (nonzero, argsort, unique, count_nonzero).

Their results are bool or integer tensors, which never require grad.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import no_grad_result, value_result
from glassnet.autograd.grad_mode import CAPTURING
from glassnet.backend import xp_of
from glassnet.ops import selection as _sel
from glassnet.ops._util import normalize_axis, pair
from glassnet.tensor import Tensor, _read_on_host

__all__ = [
    "allclose",
    "argsort",
    "argwhere",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "count_nonzero",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isclose",
    "isfinite",
    "isin",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "nonzero",
    "not_equal",
    "signbit",
    "unique",
    "unique_consecutive",
]


def _const(data) -> Tensor:
    """A result that depends on the input's shape only (recorded as a constant)."""
    return Tensor._make(data, False)


def _unary(name: str, x: Tensor) -> Tensor:
    return no_grad_result(getattr(xp_of(x._data), name), x)


def _equals(x, value):
    return x == value


def isnan(input: Tensor) -> Tensor:
    """True where x is nan (never for int and bool tensors)."""
    return _unary("isnan", input)


def isinf(input: Tensor) -> Tensor:
    """True where x is +inf or -inf."""
    return _unary("isinf", input)


def isposinf(input: Tensor) -> Tensor:
    """True where x is +inf."""
    return (
        no_grad_result(_equals, input, value=np.inf)
        if input.dtype.kind == "f"
        else _unary("zeros_like", input) > 0
    )


def isneginf(input: Tensor) -> Tensor:
    """True where x is -inf."""
    return (
        no_grad_result(_equals, input, value=-np.inf)
        if input.dtype.kind == "f"
        else _unary("zeros_like", input) > 0
    )


def isfinite(input: Tensor) -> Tensor:
    """True where x is neither nan nor infinite."""
    return _unary("isfinite", input)


def isreal(input: Tensor) -> Tensor:
    """True everywhere for real tensors (glassnet has no complex dtype)."""
    return _const(xp_of(input._data).ones(input.shape, dtype=bool))


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (also for -0.0)."""
    return _unary("signbit", input)


def _binary(name: str, a, b) -> Tensor:
    a, b = pair(a, b)
    try:
        return no_grad_result(getattr(xp_of(a._data), name), a, b)
    except TypeError:
        raise TypeError(
            f"{name}: not defined for dtypes {a.dtype} and {b.dtype}; bitwise ops need bool "
            "or integer tensors (use logical_* for truth values of floats)"
        ) from None


def logical_and(input, other) -> Tensor:
    """Elementwise a and b (nonzero is true)."""
    return _binary("logical_and", input, other)


def logical_or(input, other) -> Tensor:
    """Elementwise a or b (nonzero is true)."""
    return _binary("logical_or", input, other)


def logical_xor(input, other) -> Tensor:
    """Elementwise a xor b (nonzero is true)."""
    return _binary("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not x (nonzero is true)."""
    return _unary("logical_not", input)


def _check_integral(op: str, *tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype.kind not in "biu":
            raise TypeError(
                f"{op}: bitwise ops need bool or integer tensors, got dtype {t.dtype}; use "
                "logical_and/or/xor/not for truth values"
            )


def _bitwise(op: str, name: str, a, b) -> Tensor:
    a, b = pair(a, b)
    _check_integral(op, a, b)
    return _binary(name, a, b)


def bitwise_and(input, other) -> Tensor:
    """Elementwise a & b (bool or integer tensors)."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    """Elementwise a | b (bool or integer tensors)."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    """Elementwise a ^ b (bool or integer tensors)."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise ~x: logical not for bool, two's-complement not for integers."""
    _check_integral("bitwise_not", input)
    return _unary("invert", input)


def bitwise_left_shift(input, other) -> Tensor:
    """Elementwise a << b (integer tensors)."""
    return _bitwise("bitwise_left_shift", "left_shift", input, other)


def bitwise_right_shift(input, other) -> Tensor:
    """Elementwise a >> b (integer tensors; arithmetic shift for signed)."""
    return _bitwise("bitwise_right_shift", "right_shift", input, other)


eq, ne, lt, le, gt, ge = (_sel.equal, _sel.not_equal, _sel.less, _sel.less_equal, _sel.greater,
                          _sel.greater_equal)  # fmt: skip
# PyTorch's long names for the same comparisons
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True if ``a`` and ``b`` have the same shape and elements (a Python bool, as PyTorch's
    ``torch.equal``; nan is never equal to itself). For the elementwise test use ``eq``."""
    input, other = pair(input, other)
    if input.shape != other.shape:
        return False
    if CAPTURING[0]:  # a Python bool the step may branch on: a compiled step runs eagerly
        _read_on_host(input, "equal()")
        _read_on_host(other, "equal()")
    return bool(xp_of(input._data).array_equal(input._data, other._data))


def isclose(
    input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """Elementwise |a - b| <= atol + rtol |b| (PyTorch's defaults); infinities equal only
    themselves, nan equals nan only with ``equal_nan``."""
    input, other = pair(input, other)
    fn = xp_of(input._data).isclose
    return no_grad_result(fn, input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(
    input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """True if ``isclose`` holds everywhere (a Python bool; read with ``bool()``, so a step
    that ``gn.compile`` captures runs eagerly, as for any value read in Python)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def isin(elements, test_elements, *, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` occurs in ``test_elements``."""
    elements, test_elements = pair(elements, test_elements)
    return no_grad_result(xp_of(elements._data).isin, elements, test_elements, invert=invert)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero elements: an (n, ndim) int64 tensor, or with ``as_tuple=True``
    one 1-D int64 tensor per dimension (usable as an index). A 0-d input counts as 1-D."""
    xp = xp_of(input._data)
    data = input._data.reshape(1) if input.ndim == 0 else input._data
    idx = [i.astype(np.int64, copy=False) for i in xp.nonzero(data)]
    if as_tuple:
        return tuple(value_result(i, "nonzero") for i in idx)
    if not idx:
        return value_result(xp.zeros((0, 0), dtype=np.int64), "nonzero")
    both = xp.stack(idx, axis=1) if input.ndim else xp.zeros((len(idx[0]), 0), np.int64)
    return value_result(both, "nonzero")


def argwhere(input: Tensor) -> Tensor:
    """Same as ``nonzero(x)``: the (n, ndim) indices of the nonzero elements."""
    return nonzero(input)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements over ``dim`` (all when None or ()), as int64."""
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch: dim=() counts over every dim
    axes = normalize_axis(dim, input.shape, "count_nonzero")
    return no_grad_result(_count_nonzero, input, axes=axes)


def _count_nonzero(x, axes):
    return xp_of(x).asarray((x != 0).sum(axis=axes), dtype=np.int64)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort ``x`` along ``dim`` (int64). Ties keep their order (a stable sort),
    also when ``descending``; nan sorts as the largest value, as PyTorch."""
    from glassnet.ops.scan import _sort_indices

    return value_result(_sort_indices(input, dim, descending, "argsort")[0], "argsort")


def unique(
    x: Tensor,
    sorted: bool = True,  # noqa: A002 - PyTorch's name
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
):
    """The distinct values of ``x`` in ascending order (of the flattened tensor, or the
    distinct slices along ``dim``), optionally with the inverse indices (each element's
    position in the result, shaped like ``x``) and the counts; not differentiable."""
    xp = xp_of(x._data)
    if dim is None:
        # sort, then a new value wherever a neighbour differs: nan != nan, so every nan is
        # its own value, as PyTorch's (NumPy's unique merges them)
        flat = x._data.reshape(-1)
        order = xp.argsort(flat, kind="stable")
        ordered = flat[order]
        starts = xp.ones(flat.shape, dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        values = ordered[starts]
        group = xp.cumsum(starts) - 1
        inverse = xp.empty_like(group)
        inverse[order] = group
        inverse = inverse.reshape(x.shape)
        edges = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([flat.size])])
        counts = xp.diff(edges)
    else:
        (axis,) = normalize_axis(dim, x.shape, "unique")
        values, inverse, counts = xp.unique(
            x._data, return_inverse=True, return_counts=True, axis=axis
        )
        inverse = inverse.reshape(-1)
    out = [value_result(values, "unique")]
    if return_inverse:
        out.append(value_result(inverse.astype(np.int64, copy=False), "unique"))
    if return_counts:
        out.append(value_result(counts.astype(np.int64, copy=False), "unique"))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x: Tensor, return_inverse: bool = False, return_counts: bool = False):
    """Collapse runs of equal consecutive elements of the flattened ``x`` into one."""
    xp = xp_of(x._data)
    flat = x._data.reshape(-1)
    if flat.size == 0:
        starts = xp.zeros(0, dtype=bool)
    else:
        starts = xp.concatenate([xp.ones(1, dtype=bool), flat[1:] != flat[:-1]])
    out = [value_result(flat[starts], "unique_consecutive")]
    if return_inverse:
        inverse = (xp.cumsum(starts) - 1).astype(np.int64).reshape(x.shape)
        out.append(value_result(inverse, "unique_consecutive"))
    if return_counts:
        edges = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([flat.size])])
        out.append(value_result(xp.diff(edges).astype(np.int64), "unique_consecutive"))
    return out[0] if len(out) == 1 else tuple(out)
