"""Reading at indices: ``x[index]``, ``take_along_axis`` and PyTorch's ``gather``.

Reading x at some positions is linear, and its adjoint is a scatter-add back into those
positions (repeated indices accumulate): each backward is that scatter, written as
``ns.linear(scatter, gather, grad)``, so it is differentiable to any order. The scatter is
``glassnet.ops._segment.scatter_add``: deterministic on devices (no atomic adds) unless
``glassnet.use_deterministic_algorithms(False)``.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function, not_replayable
from glassnet.autograd.grad_mode import CAPTURING
from glassnet.backend import xp_of
from glassnet.ops._segment import scatter_add
from glassnet.ops._util import normalize_axis
from glassnet.ops.index_order import ints_first
from glassnet.tensor import Tensor

__all__ = ["gather", "getitem", "take_along_axis"]


class GetItem(Function):
    """y = x[index] (slices, ints, integer arrays, boolean masks);  dy/dx: scatter-add back

    The backward is linear in the gradient (a scatter-add, whose adjoint is indexing again),
    written as ``ns.linear``: repeated integer indices read the same element several times,
    so their gradients add up.
    """

    is_view = True  # basic indexing returns a view (``getitem`` unshares a gathered copy's)

    def forward(self, x, index):
        self.index = index
        y = x[index]
        if isinstance(y, np.generic):  # NumPy's scalar for one element: a 0-d view instead, as
            y = x[(*index, ...) if isinstance(index, tuple) else (index, ...)]  # PyTorch's t[i, j]
        return y

    def backward(self, ns, grad, x):
        index, shape = self.index, x.shape
        xp = xp_of(x._data if isinstance(x, Tensor) else x)
        return ns.linear(lambda g: scatter_add(xp, g, shape, index), lambda g: g[index], grad)


class TakeAlongAxis(Function):
    """y = x gathered by ``indices`` along ``axis``;  dy/dx: scatter-add into those positions"""

    def forward(self, x, indices, axis):
        xp = xp_of(x)
        y = xp.take_along_axis(x, indices, axis=axis)
        # (i, j, ..., indices[i, j, ...], ...) for every output position: the same gather as
        # one fancy index; the output's shape is the broadcast of indices with x
        idx = list(np.ix_(*[np.arange(n) for n in y.shape]))
        idx[axis] = xp.broadcast_to(indices, y.shape)
        self.index = tuple(xp.asarray(i) for i in idx) if xp is not np else tuple(idx)
        self.axis = axis
        return y

    def backward(self, ns, grad, x):
        index, shape = self.index, x.shape
        xp = xp_of(grad._data if isinstance(grad, Tensor) else grad)
        # only positions along the axis can share a destination: at most its length do
        run = index[self.axis].shape[self.axis]
        return ns.linear(lambda g: scatter_add(xp, g, shape, index, run), lambda g: g[index], grad)


class SetItem(Function):
    """y = x with y[index] = v (v broadcast to x[index]'s shape; PyTorch's recorded
    ``x[index] = v``);  dy/dx = grad with zeros at index,  dy/dv = grad[index] (summed over
    v's broadcast dims by the engine).

    The forward writes into ``x``'s array and returns it: the caller (``Tensor._rebase``)
    hands in a snapshot sharing the written tensor's storage, and neither derivative reads a
    value.
    """

    def forward(self, x, v, index):
        x[index] = v
        self.index = index
        return x

    def backward(self, ns, grad, x, v):
        index = self.index
        gx = gv = None
        if self.needs_input_grad[0]:
            keep = xp_of(grad._data if isinstance(grad, Tensor) else grad).ones(grad.shape, bool)
            keep[index] = False
            gx = grad * keep
        if self.needs_input_grad[1]:
            gv = grad[index]
        return gx, gv


def setitem(x: Tensor, index, value) -> Tensor:
    """``x[index] = value`` recorded in the graph, writing into ``x``'s storage (used by
    ``Tensor.__setitem__`` and ``copy_`` through ``Tensor._rebase``; not an out-of-place op)."""
    if not isinstance(value, Tensor):
        value = Tensor._make(xp_of(x._data).asarray(value, dtype=x.dtype), False)
    return SetItem.apply(x, value, index=_convert_index(index, x))


# -- wrappers ---------------------------------------------------------------------------------
def _convert_index(index, x: Tensor):
    xp = xp_of(x._data)
    if isinstance(index, Tensor):
        # a uint8 index is a mask in PyTorch (its legacy mask dtype), never integer positions
        if index.dtype == np.uint8:
            return index._data.astype(bool)
        if index.ndim == 0 and index.dtype.kind == "i" and not CAPTURING[0]:
            # PyTorch reads a 0-d int tensor as the int itself: x[t] is a view, as x[1]
            # (NumPy would gather a copy); a compile capture keeps the array (not baked in)
            return int(index._data)
        return index._data
    if isinstance(index, list):
        # x[[]] selects nothing along dim 0 (PyTorch); NumPy would read [] as float positions
        return xp.asarray(index) if index else xp.zeros(0, dtype=np.int64)
    if isinstance(index, tuple):
        return tuple(_convert_index(i, x) for i in index)
    return index


def _has_mask(index) -> bool:
    if isinstance(index, tuple):
        return any(_has_mask(i) for i in index)
    return getattr(getattr(index, "dtype", None), "kind", None) == "b"


def getitem(x: Tensor, index) -> Tensor:
    """Indexing as PyTorch: slices and ints give views; integer arrays and masks gather copies.

    A bool or uint8 tensor is a mask (uint8 is PyTorch's legacy mask dtype); ``x[[]]`` is
    empty along dim 0.

    Ints mixed with integer arrays are applied first (see ``index_order``), so the result's
    dims are ordered as in PyTorch, not as in NumPy.
    """
    index = _convert_index(index, x)
    if CAPTURING[0] and _has_mask(index):
        # x[mask] has as many rows as the mask has True entries: a replay would keep the
        # captured count (and crash or mis-shape the gradient when a later mask differs)
        not_replayable("a boolean-mask index (x[mask]: the result's length is the mask's count)")
    split = ints_first(index, x.ndim) if isinstance(index, tuple) else None
    try:
        if split is not None:
            out = GetItem.apply(GetItem.apply(x, index=split[0]), index=split[1])
        else:
            out = GetItem.apply(x, index=index)
    except IndexError as e:
        raise IndexError(
            f"index {index!r} is invalid for a tensor of shape {x.shape}: {e}"
        ) from None
    if not _basic(index):
        # integer arrays and masks gather a copy: its own version counter, as in PyTorch, so
        # an in-place change of x does not fail the backward of ops that used the copy
        # (F.pad's reflect mode gathers, and fast_neural_style divides the input in place)
        out._vc = [0]
    return out


def _basic(index) -> bool:
    """True for an index of ints, slices, None and Ellipsis only (NumPy returns a view)."""
    for item in index if type(index) is tuple else (index,):
        kind = type(item)  # a plain loop, no generator: this runs on every x[...]
        if kind is slice or kind is int or item is None or item is Ellipsis:
            continue
        if kind is bool or not isinstance(item, np.integer):
            return False
    return True


def take_along_axis(x: Tensor, indices, axis: int) -> Tensor:
    """Gather values along ``axis`` at ``indices`` (NumPy's take_along_axis)."""
    indices = indices._data if isinstance(indices, Tensor) else xp_of(x._data).asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {indices.dtype}")
    if indices.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {indices.shape} have {indices.ndim} dims but "
            f"the tensor of shape {x.shape} has {x.ndim}; they must have the same number"
        )
    (axis,) = normalize_axis(axis, x.shape, "take_along_axis")
    return TakeAlongAxis.apply(x, indices=indices, axis=axis)


def gather(input: Tensor, dim: int, index) -> Tensor:
    """PyTorch's ``gather(input, dim, index)``: out[i][j] = x[i][index[i][j]] (for dim=1).

    ``index`` may be smaller than ``x`` in the other axes (PyTorch): only the leading
    ``index.shape[d]`` entries of axis d are read there.
    """
    axis = dim
    index = index._data if isinstance(index, Tensor) else xp_of(input._data).asarray(index)
    if index.ndim == input.ndim and input.ndim:
        (a,) = normalize_axis(axis, input.shape, "gather")
        if any(i > n for d, (i, n) in enumerate(zip(index.shape, input.shape)) if d != a):
            raise ValueError(
                f"gather: index of shape {index.shape} is larger than the input of shape "
                f"{input.shape} in an axis other than axis {a}; it may only be smaller there"
            )
        if any(i < n for d, (i, n) in enumerate(zip(index.shape, input.shape)) if d != a):
            input = input[
                tuple(slice(None) if d == a else slice(0, i) for d, i in enumerate(index.shape))
            ]
    return take_along_axis(input, index, axis)
