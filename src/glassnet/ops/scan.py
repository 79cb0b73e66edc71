"""Scans and order statistics: cumsum, cumprod, logcumsumexp, cummax/cummin, sort, topk,
kthvalue, median, mode, and the reductions amax/amin/aminmax, var_mean/std_mean.

Every value-selecting op (sort, topk, median, cummax, ...) picks its values with
``take_along_axis`` at indices computed without a gradient, so the gradient goes to the
selected element (as PyTorch) and second derivatives come for free.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from glassnet.autograd.function import Function, value_result
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._util import floating, normalize_axis
from glassnet.ops.getitem import getitem, take_along_axis
from glassnet.ops.reduce_all import reduce_all
from glassnet.tensor import Tensor

#: What a compiled step that sorts or selects by value is told (``value_result``).
_BY_VALUE = "indices chosen by value (sort, topk, kthvalue, median, mode, cummax)"

__all__ = [
    "aminmax",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "kthvalue",
    "logcumsumexp",
    "median",
    "mode",
    "msort",
    "nanmedian",
    "sort",
    "std_mean",
    "topk",
    "var_mean",
]

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])


def _one_axis(op: str, x: Tensor, dim) -> int | None:
    """The one axis ``dim`` of ``x`` (None for a 0-d tensor, which has only its element)."""
    if isinstance(dim, Tensor):
        dim = int(dim)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be one int, got {dim!r}")
    axes = normalize_axis(dim, x.shape, op)
    return axes[0] if axes else None


def _flip(xp, a, axis):
    index = [slice(None)] * a.ndim
    index[axis] = slice(None, None, -1)
    return a[tuple(index)]


def _reverse(t: Tensor, axis: int) -> Tensor:
    index = [slice(None)] * t.ndim
    index[axis] = slice(None, None, -1)
    return getitem(t, tuple(index))


# -- cumulative sums and products ---------------------------------------------------------------
class Cumsum(Function):
    """y_k = sum_{i <= k} x_i along ``axis``;  dL/dx_i = sum_{k >= i} dL/dy_k (a reversed cumsum)

    The backward is linear in dL/dy; its adjoint is the cumsum itself.
    """

    def forward(self, x, axis, dtype=None):  # dtype: an int dtype to accumulate in
        self.axis = axis
        return xp_of(x).cumsum(x, axis=axis, dtype=dtype)

    def backward(self, ns, grad, x):
        axis = self.axis

        def reverse_cumsum(g):
            xp = xp_of(g)
            return _flip(xp, xp.cumsum(_flip(xp, g, axis), axis=axis), axis)

        return ns.linear(reverse_cumsum, lambda g: xp_of(g).cumsum(g, axis=axis), grad)


def _cumprod_grad_arrays(x, y, grad, axis):
    xp = xp_of(grad)
    n = x.shape[axis]
    pos = xp.arange(n).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    is_zero = x == 0
    z = xp.where(is_zero.any(axis=axis, keepdims=True), is_zero.argmax(axis=axis,
                 keepdims=True), n)  # fmt: skip
    before = pos < z
    rev = _flip(xp, xp.cumsum(_flip(xp, grad * y, axis), axis=axis), axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        gx = xp.where(before, rev / xp.where(before, x, 1), 0)
    if is_zero.any():
        after = xp.where(pos > z, x, 1)
        tail = (xp.where(pos >= z, grad * xp.cumprod(after, axis=axis), 0)).sum(
            axis=axis, keepdims=True
        )
        prev = xp.take_along_axis(y, xp.maximum(z - 1, 0), axis=axis)
        prev = xp.where(z > 0, prev, 1)
        gx = xp.where(pos == z, prev * tail, gx)
    return gx


def _cumprod_grad_tensors(x, grad, axis):
    if not (x._data == 0).any():  # the quotient form: exact and O(n) without zeros
        y = cumprod(x, axis)
        return _reverse(cumsum(_reverse(grad * y, axis), axis), axis) / x
    # with zeros: dL/dx_i = y_{i-1} sum_{k >= i} g_k M_ik, M_ik = prod_{i < j <= k} x_j,
    # built as an (n, n) table per slice (a cumprod of x with the entries j <= i set to 1)
    from glassnet.ops.shape import concat, unsqueeze
    from glassnet.ops.shape_extra import movedim

    xm, gm = movedim(x, axis, -1), movedim(grad, axis, -1)
    xp, n = xp_of(x._data), x.shape[axis]
    later = Tensor._make(xp.arange(n)[None, :] > xp.arange(n)[:, None], False)  # j > i
    table = cumprod(_sel.where(later, unsqueeze(xm, -2), 1.0), -1)  # (..., i, k)
    upper = Tensor._make(xp.arange(n)[None, :] >= xp.arange(n)[:, None], False)  # k >= i
    total = _red.sum(_sel.where(upper, unsqueeze(gm, -2) * table, 0.0), -1)
    ones = Tensor._make(xp.ones(xm.shape[:-1] + (1,), dtype=x.dtype), False)
    before = concat([ones, getitem(cumprod(xm, -1), (Ellipsis, slice(0, n - 1)))], -1)
    return movedim(before * total, -1, axis)


class Cumprod(Function):
    """y_k = prod_{i <= k} x_i;  dL/dx_i = sum_{k >= i} dL/dy_k prod_{j <= k, j != i} x_j

    Without dividing by x_i (zeros are common): with z the first zero of the slice,
    dL/dx_i = (sum_{k >= i} g_k y_k) / x_i for i < z (x_i != 0 there),
    dL/dx_z = y_{z-1} sum_{k >= z} g_k prod_{z < j <= k} x_j,  and 0 for i > z.
    Under create_graph, slices with zeros use the (n, n) table of partial products instead,
    whose derivatives are exact in every entry.
    """

    saves_output = True

    def forward(self, x, axis, dtype=None):  # dtype: an int dtype to accumulate in
        self.axis = axis
        return xp_of(x).cumprod(x, axis=axis, dtype=dtype)

    def backward(self, ns, grad, x, y):
        if ns.eager:
            return _cumprod_grad_arrays(x, y, grad, self.axis)
        return _cumprod_grad_tensors(x, grad, self.axis)


def _logcumsumexp_grad_arrays(x, y, grad, axis):
    xp = xp_of(grad)

    def rev_lcse(a):
        return _flip(xp, xp.logaddexp.accumulate(_flip(xp, a, axis), axis=axis), axis)

    with np.errstate(divide="ignore", invalid="ignore"):
        pos = rev_lcse(xp.log(xp.where(grad > 0, grad, 0)) - y)
        neg = rev_lcse(xp.log(xp.where(grad < 0, -grad, 0)) - y)
        return xp.exp(x + pos) - xp.exp(x + neg)


def _logcumsumexp_grad_tensors(x, grad, axis):
    y = logcumsumexp(x, axis)
    # entries outside a part get ln g = a floor far below every term (finite, unlike -inf,
    # whose derivatives inside logcumsumexp would be inf - inf = nan); e^floor is 0
    xp, gd, xd = xp_of(grad._data), grad._data, x._data
    nonzero = xp.abs(gd[gd != 0])
    spread = float(xd.max() - xd.min()) if xd.size else 0.0
    floor = (float(xp.log(nonzero.min())) if nonzero.size else 0.0) - spread - 800.0

    def part(mask, g):
        if not mask.any():
            return None
        m = Tensor._make(mask, False)
        logg = _sel.where(m, _el.log(_sel.where(m, g, 1.0)), floor)
        r = _reverse(logcumsumexp(_reverse(logg - y, axis), axis), axis)
        return _el.exp(x + r)

    pos, neg = part(gd > 0, grad), part(gd < 0, -grad)
    if pos is None and neg is None:
        return grad * 0.0
    return neg * -1.0 if pos is None else pos if neg is None else pos - neg


class Logcumsumexp(Function):
    """y_k = ln sum_{i <= k} e^{x_i} (running logaddexp: no overflow);
    dL/dx_i = sum_{k >= i} dL/dy_k e^{x_i - y_k}

    The gradient is summed in log space, positive and negative parts of dL/dy apart:
    e^{x_i + R(ln g+ - y)_i} - e^{x_i + R(ln g- - y)_i}, R a reversed logcumsumexp.
    """

    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        return xp_of(x).logaddexp.accumulate(x, axis=axis) if x.size else x.copy()

    def backward(self, ns, grad, x, y):
        if ns.eager:
            return _logcumsumexp_grad_arrays(x, y, grad, self.axis)
        return _logcumsumexp_grad_tensors(x, grad, self.axis)


def _scan_input(op, x, dim, dtype):
    """x in the accumulation dtype (``dtype`` when given, else int64 for bool and int, as
    PyTorch), its axis, and the int ``dtype`` param that stops NumPy widening int32 to int64."""
    if dtype is not None:
        x = x.astype(dtype)
    elif x.dtype.kind in "biu":
        x = x.astype("int64")  # PyTorch accumulates bool and int in int64
    axis = _one_axis(op, x, dim)
    kind = x._data.dtype.kind
    return x, axis, ({"dtype": x._data.dtype.str} if kind in "iu" else {})


def _scan_dim(op: str, dim, axis):
    """The scan's dim from ``dim`` or its alias ``axis`` (PyTorch accepts both; one is needed)."""
    if axis is None:
        if dim is None:
            raise TypeError(f"{op}() missing 1 required argument: 'dim' (or its alias 'axis')")
        return dim
    if dim is not None:
        raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}; pass one of them")
    return axis


def cumsum(input: Tensor, dim: int | None = None, *, axis=None, dtype=None) -> Tensor:
    """Running sum along ``dim`` (alias ``axis``; bool/int give int64, as PyTorch; ``dtype``
    casts first and the sum runs in it, wrapping around as PyTorch's int32 does)."""
    dim = _scan_dim("cumsum", dim, axis)
    input, axis, extra = _scan_input("cumsum", input, dim, dtype)
    return _el.clone(input) if axis is None else Cumsum.apply(input, axis=axis, **extra)


def cumprod(input: Tensor, dim: int | None = None, *, axis=None, dtype=None) -> Tensor:
    """Running product along ``dim`` (alias ``axis``); exact gradients also where x has zeros."""
    dim = _scan_dim("cumprod", dim, axis)
    input, axis, extra = _scan_input("cumprod", input, dim, dtype)
    return _el.clone(input) if axis is None else Cumprod.apply(input, axis=axis, **extra)


def logcumsumexp(input: Tensor, dim: int | None = None, *, axis=None) -> Tensor:
    """Running ln sum exp along ``dim`` (alias ``axis``), computed stably (no overflow)."""
    dim = _scan_dim("logcumsumexp", dim, axis)
    input = floating(input)
    axis = _one_axis("logcumsumexp", input, dim)
    return _el.clone(input) if axis is None else Logcumsumexp.apply(input, axis=axis)


def _running_extreme(op, x, dim, ufunc):
    axis = _one_axis(op, x, dim)
    xp = xp_of(x._data)
    if axis is None:
        return _el.clone(x), Tensor._make(xp.zeros((), dtype=np.int64), False)
    values = getattr(xp, ufunc).accumulate(x._data, axis=axis) if x.numel() else x._data
    pos = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    # the latest position holding the running extreme (ties: the last one, as PyTorch); a nan
    # sticks, each later nan taking over its index
    hit = (x._data == values) | (x._data != x._data)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=axis) if x.numel() else hit
    idx = idx.astype(np.int64)
    return take_along_axis(x, idx, axis), value_result(idx, _BY_VALUE)


def cummax(input: Tensor, dim: int | None = None, *, axis=None):
    """Running maximum along ``dim`` (alias ``axis``) and the index where it was reached:
    (values, indices)."""
    dim = _scan_dim("cummax", dim, axis)
    return CummaxResult(*_running_extreme("cummax", input, dim, "maximum"))


def cummin(input: Tensor, dim: int | None = None, *, axis=None):
    """Running minimum along ``dim`` (alias ``axis``) and the index where it was reached:
    (values, indices)."""
    dim = _scan_dim("cummin", dim, axis)
    return CumminResult(*_running_extreme("cummin", input, dim, "minimum"))


# -- sorting and order statistics -----------------------------------------------------------------
def _sort_indices(x: Tensor, dim, descending: bool, op: str):
    """Stable sort indices of ``x`` along ``dim`` (nan largest), and the axis (None for 0-d)."""
    xp = xp_of(x._data)
    axis = _one_axis(op, x, dim)
    if axis is None:
        return xp.zeros((), dtype=np.int64), None
    if not descending:
        return xp.argsort(x._data, axis=axis, kind="stable").astype(np.int64), axis
    # descending and stable: sort the reversed slice ascending, reverse the order back
    n = x.shape[axis]
    rev = xp.argsort(_flip(xp, x._data, axis), axis=axis, kind="stable")
    return (n - 1 - _flip(xp, rev, axis)).astype(np.int64), axis


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sort along ``dim``: (values, indices). Ties keep their order; nan sorts as the largest.

    The gradient of the values goes back to the element each came from.
    """
    idx, axis = _sort_indices(input, dim, descending, "sort")
    if axis is None:
        return SortResult(_el.clone(input), value_result(idx, _BY_VALUE))
    return SortResult(take_along_axis(input, idx, axis), value_result(idx, _BY_VALUE))


def msort(input: Tensor) -> Tensor:
    """Sort along the first dimension (values only)."""
    return sort(input, 0).values


def _select(x: Tensor, idx, axis: int, keepdim: bool):
    values = take_along_axis(x, idx, axis)
    if not keepdim:
        from glassnet.ops.shape import squeeze

        values = squeeze(values, axis)
        idx = idx.squeeze(axis)
    return values, value_result(idx, _BY_VALUE)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim``: (values, indices)."""
    axis = _one_axis("topk", input, dim)
    n = 1 if axis is None else input.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int in 0..{n} (the size of dim {dim}), got {k!r}")
    idx, axis = _sort_indices(input, dim, largest, "topk")
    if axis is None:
        return TopkResult(_el.clone(input), value_result(idx, _BY_VALUE))
    index = [slice(None)] * input.ndim
    index[axis] = slice(0, int(k))
    idx = idx[tuple(index)]
    return TopkResult(take_along_axis(input, idx, axis), value_result(idx, _BY_VALUE))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest element (k from 1) along ``dim``: (values, indices)."""
    axis = _one_axis("kthvalue", input, dim)
    n = 1 if axis is None else input.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"kthvalue: k must be an int in 1..{n} (the size of dim), got {k!r}")
    idx, axis = _sort_indices(input, dim, False, "kthvalue")
    if axis is None:
        return KthvalueResult(_el.clone(input), value_result(idx, _BY_VALUE))
    xp = xp_of(idx)
    pick = xp.take(idx, xp.asarray([int(k) - 1]), axis=axis)
    return KthvalueResult(*_select(input, pick, axis, keepdim))


def _median_index(x: Tensor, axis: int, ignore_nan: bool):
    xp = xp_of(x._data)
    idx = xp.argsort(x._data, axis=axis, kind="stable")
    isnan = x._data != x._data
    count = x.shape[axis] - isnan.sum(axis=axis, keepdims=True) if ignore_nan else x.shape[axis]
    middle = xp.maximum((count - 1) // 2, 0)
    middle = xp.broadcast_to(xp.asarray(middle), idx.shape[:axis] + (1,) + idx.shape[axis + 1 :])
    pick = xp.take_along_axis(idx, middle.astype(np.int64), axis=axis)
    if not ignore_nan:  # a nan in the slice is the median (PyTorch): its first position
        has_nan = isnan.any(axis=axis, keepdims=True)
        pick = xp.where(has_nan, isnan.argmax(axis=axis, keepdims=True), pick)
    return pick.astype(np.int64)


def _median(op, x, dim, keepdim, ignore_nan):
    if x.numel() == 0 and dim is None:  # PyTorch: nan (a float tensor of the input's dtype)
        if x.dtype.kind != "f":
            raise ValueError(f"{op}: the median of an empty {x.dtype} tensor is undefined")
        return Tensor._make(xp_of(x._data).full((), np.nan, dtype=x.dtype), False)
    if dim is None:  # the lower median of all elements, a 0-d tensor (no indices); its
        # gradient is split evenly over the elements equal to it, as PyTorch
        return reduce_all(x, "nanmedian" if ignore_nan else "median")
    axis = _one_axis(op, x, dim)
    if axis is None:
        zero = Tensor._make(xp_of(x._data).zeros((), dtype=np.int64), False)
        return MedianResult(_el.clone(x), zero)
    return MedianResult(*_select(x, _median_index(x, axis, ignore_nan), axis, keepdim))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (of two middle values, the smaller): of all elements (a 0-d tensor)
    or along ``dim`` as (values, indices). A nan in the slice makes the median nan."""
    return _median("median", input, dim, keepdim, ignore_nan=False)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring nan (nan only where the slice is all nan)."""
    return _median("nanmedian", input, dim, keepdim, ignore_nan=True)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence, as PyTorch: (values, indices)."""
    axis = _one_axis("mode", input, dim)
    xp = xp_of(input._data)
    if axis is None:
        return ModeResult(_el.clone(input), Tensor._make(xp.zeros((), dtype=np.int64), False))
    n = input.shape[axis]
    if n == 0:
        raise ValueError(f"mode: dim {dim} of the tensor of shape {input.shape} is empty")
    order = xp.argsort(input._data, axis=axis, kind="stable")
    s = xp.take_along_axis(input._data, order, axis=axis)
    moved = xp.moveaxis(s, axis, -1).reshape(-1, n)
    order_m = xp.moveaxis(order, axis, -1).reshape(-1, n)
    pos = xp.arange(n)
    first = xp.ones((moved.shape[0], 1), bool)
    new_run = xp.concatenate([first, moved[:, 1:] != moved[:, :-1]], axis=1)
    run_start = xp.maximum.accumulate(xp.where(new_run, pos, 0), axis=1)
    run_len = pos - run_start + 1  # at each position: the length of its run so far
    # the longest run; among equal lengths the first (smallest value): argmax takes the first
    end = run_len.argmax(axis=1)
    # the stable sort keeps equal values in index order: the last occurrence ends the run
    last = order_m[xp.arange(moved.shape[0]), end]
    shape = list(input.shape)
    shape.pop(axis)
    idx = xp.expand_dims(last.reshape(shape), axis).astype(np.int64)
    return ModeResult(*_select(input, idx, axis, keepdim))


# -- reductions by PyTorch's names ----------------------------------------------------------------
def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """(min, max) over ``dim`` (one int or None), as a named pair."""
    return AminmaxResult(_red.amin(input, dim, keepdim), _red.amax(input, dim, keepdim))


def var_mean(input: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None):
    """(variance, mean) over ``dim`` in one call (PyTorch's var_mean)."""
    c = correction if unbiased is None else None
    v = _red.var(input, dim, unbiased, keepdim, correction=c)
    return v, _red.mean(input, dim, keepdim)


def std_mean(input: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None):
    """(standard deviation, mean) over ``dim`` in one call."""
    c = correction if unbiased is None else None
    s = _red.std(input, dim, unbiased, keepdim, correction=c)
    return s, _red.mean(input, dim, keepdim)
