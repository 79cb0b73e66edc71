"""Strided views: ``diagonal``, ``Tensor.unfold`` and ``as_strided`` see the input's own
storage, as PyTorch.

Both are a new (shape, strides) over the same memory, built with ``as_strided``, so writes
through the result reach the input and the two share one version counter (``is_view``):

- ``diagonal(x, offset, dim1, dim2)``: the elements x[..., i, i + offset, ...] are one stride
  ``s_dim1 + s_dim2`` apart, starting at x[..., r0, c0, ...] (r0 = max(-offset, 0),
  c0 = max(offset, 0));
- ``unfold(x, dim, size, step)``: window k starts ``k * step`` elements along ``dim`` (stride
  ``step * s_dim``) and walks ``size`` elements (stride ``s_dim``) in a new last dim.

- ``as_strided(x, size, stride, offset)``: y[i_1, ..., i_n] = storage[offset + sum_k i_k
  stride_k], the storage being the array that owns the memory x sees (``x.storage_offset()``
  counts from its start); its backward scatter-adds into a zero storage at the positions y
  reads and reads that back at x's own positions (PyTorch's AsStridedBackward: storage
  elements x does not see get no gradient).

Reading through a view is linear, so each backward is a scatter-add into zeros (overlapping
windows add up), given with its adjoint (the view again) to ``ns.linear``: differentiable to
any order.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops._util import normalize_axis
from glassnet.ops.shape import reshape
from glassnet.tensor import Tensor

__all__ = ["as_strided", "diagonal", "unfold"]


def _as_strided(x, shape, strides):
    """A view of ``x``'s memory with ``shape`` and ``strides`` (bytes); writable if x is."""
    return xp_of(x).lib.stride_tricks.as_strided(x, shape=tuple(shape), strides=tuple(strides))


def _diagonal_view(x, offset: int, a: int, b: int):
    """The (a, b) diagonal of array ``x`` at ``offset``, as the last dim of a view."""
    n_rows, n_cols = x.shape[a], x.shape[b]
    if offset >= 0:
        length = builtins.max(builtins.min(n_rows, n_cols - offset), 0)
    else:
        length = builtins.max(builtins.min(n_rows + offset, n_cols), 0)
    rest = [i for i in range(x.ndim) if i not in (a, b)]
    shape = [x.shape[i] for i in rest] + [length]
    strides = [x.strides[i] for i in rest] + [x.strides[a] + x.strides[b]]
    if length:  # start at x[..., r0, c0, ...]: a slice, so the view keeps x's offset
        index = [slice(None)] * x.ndim
        index[a] = slice(builtins.max(-offset, 0), None)
        index[b] = slice(builtins.max(offset, 0), None)
        x = x[tuple(index)]
    return _as_strided(x, shape, strides)


def _unfold_view(x, a: int, size: int, step: int):
    """Windows of ``size`` elements, ``step`` apart along dim ``a``: a view of array ``x``."""
    count = (x.shape[a] - size) // step + 1
    shape = x.shape[:a] + (count,) + x.shape[a + 1 :] + (size,)
    strides = x.strides[:a] + (x.strides[a] * step,) + x.strides[a + 1 :] + (x.strides[a],)
    return _as_strided(x, shape, strides)


class Diagonal(Function):
    """y[..., k] = x[..., r0 + k, c0 + k] (dims ``a``, ``b`` removed, the diagonal last), a view;
    dL/dx = zeros with dL/dy written onto that diagonal"""

    is_view = True

    def forward(self, x, offset, a, b):
        self.offset, self.a, self.b = offset, a, b
        return _diagonal_view(x, offset, a, b)

    def backward(self, ns, grad, x):
        shape, offset, a, b = x.shape, self.offset, self.a, self.b

        def scatter(g):
            out = xp_of(g).zeros(shape, dtype=g.dtype)
            _diagonal_view(out, offset, a, b)[...] = g
            return out

        return ns.linear(scatter, lambda g: _diagonal_view(g, offset, a, b).copy(), grad)


class Unfold(Function):
    """y[..., k, ..., j] = x[..., k * step + j, ...] (windows along dim ``a``), a view;
    dL/dx_i = the sum of dL/dy over every window position that reads x_i"""

    is_view = True

    def forward(self, x, a, size, step):
        self.a, self.size, self.step = a, size, step
        return _unfold_view(x, a, size, step)

    def backward(self, ns, grad, x):
        shape, a, size, step = x.shape, self.a, self.size, self.step

        def scatter_add(g):
            out = xp_of(g).zeros(shape, dtype=g.dtype)
            count = g.shape[a]
            lead = (slice(None),) * a
            for j in range(size):  # window offset j of every window at once
                out[lead + (slice(j, j + step * (count - 1) + 1, step),)] += g[..., j]
            return out

        return ns.linear(scatter_add, lambda g: _unfold_view(g, a, size, step).copy(), grad)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, x[..., i, i + offset, ...], as the last dim.

    A view, as PyTorch: writing into it (``x.diagonal().fill_(1)``) writes into ``x``.
    """
    if input.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dims, got shape {input.shape}")
    a, b = (normalize_axis(d, input.shape, "diagonal")[0] for d in (dim1, dim2))
    if a == b:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    return Diagonal.apply(input, offset=int(offset), a=a, b=b)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Tensor.unfold: all windows of ``size`` elements, ``step`` apart, along ``dimension``.

    That dim becomes the number of windows, (n - size) // step + 1, and a new last dim of
    length ``size`` holds each window. A view, as PyTorch (windows may overlap: the same
    element is then seen in several windows, and its gradient adds up).
    """
    if isinstance(dimension, Tensor):
        dimension = int(dimension)
    (a,) = normalize_axis(dimension, x.shape, "unfold") if x.ndim else (0,)
    n = x.shape[a] if x.ndim else 1
    if size < 0 or size > n or step < 1:
        raise ValueError(
            f"unfold: size {size} must be in 0..{n} (dim {a}'s size) and step {step} >= 1"
        )
    if x.ndim == 0:
        return reshape(x, (1,))
    return Unfold.apply(x, a=a, size=int(size), step=int(step))


# -- as_strided -------------------------------------------------------------------------------
def _storage(data):
    """(the array owning ``data``'s memory, flattened; ``data``'s offset in it, in elements)."""
    root = obj = data
    while getattr(obj, "base", None) is not None:  # views (and as_strided's DummyArray)
        obj = obj.base
        if hasattr(obj, "strides"):
            root = obj
    if not root.flags.c_contiguous or root.dtype != data.dtype:
        raise ValueError(
            "as_strided: this tensor's storage is not a row-major array of its own dtype "
            f"(it is {root.dtype}, {'' if root.flags.c_contiguous else 'not '}row-major); "
            "call .contiguous() (or .clone()) first"
        )
    flat = root.reshape(-1)
    return flat, (_address(data) - _address(flat)) // data.itemsize


def _address(a) -> int:
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    if not hasattr(a, "data") or not hasattr(a.data, "ptr"):
        raise TypeError(
            "as_strided: views by memory address need host (NumPy) or CuPy arrays; "
            f"a {type(a).__name__} has no address"
        )
    return int(a.data.ptr)  # CuPy


def _positions(xp, offset, shape, strides):
    """The storage index of every element of a (shape, strides in elements, offset) view."""
    index = xp.asarray(offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        step = xp.arange(n, dtype=np.int64) * s
        index = index + step.reshape((n,) + (1,) * (len(shape) - k - 1))
    return xp.broadcast_to(index, tuple(shape))


class AsStrided(Function):
    """y[i] = storage[offset + sum_k i_k stride_k] (a view of x's storage);  dL/dx = dL/dy
    scatter-added into the storage at the positions y reads, read at x's positions"""

    is_view = True

    def forward(self, x, size, stride, offset):
        flat, x_offset = _storage(x)
        xp = xp_of(x)
        self.size, self.n = size, flat.size
        self.index = _positions(xp, offset, size, stride)
        x_steps = [s // x.itemsize for s in x.strides]
        self.x_index = _positions(xp, x_offset, x.shape, x_steps)
        return xp.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=tuple(s * x.itemsize for s in stride)
        )

    def backward(self, ns, grad, x):
        index, x_index, n = self.index, self.x_index, self.n

        def to_input(g):
            xp = xp_of(g)
            storage = xp.zeros(n, dtype=g.dtype)
            xp.add.at(storage, index.reshape(-1), g.reshape(-1))
            return storage[x_index]

        def to_output(g):
            storage = xp_of(g).zeros(n, dtype=g.dtype)
            storage[x_index] = g
            return storage[index]

        return ns.linear(to_input, to_output, grad)


def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:  # noqa: A002
    """A view of ``input``'s storage with ``size``, ``stride`` (in elements) and
    ``storage_offset`` (default: ``input``'s own), as PyTorch. Its elements may overlap (the
    gradient of a storage element read twice adds up).

    >>> import glassnet as gn
    >>> gn.arange(6.0).as_strided((2, 2), (1, 2)).tolist()
    [[0.0, 2.0], [1.0, 3.0]]
    """
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise ValueError(
            f"as_strided: mismatch in length of strides and shape: size {size}, stride {stride}"
        )
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ValueError(
            f"as_strided: sizes and strides must be non-negative (PyTorch does not support "
            f"negative strides either), got size {size}, stride {stride}"
        )
    flat, own = _storage(input._data)
    offset = own if storage_offset is None else int(storage_offset)
    needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    if offset < 0 or needed > flat.size:
        raise ValueError(
            f"as_strided: size {size}, stride {stride} and storage offset {offset} need a "
            f"storage of {needed} elements, out of bounds for this tensor's storage of "
            f"{flat.size} (PyTorch raises too)"
        )
    xi = _positions(np, 0, input.shape, [s // input._data.itemsize for s in input._data.strides])
    if input.requires_grad and np.unique(xi).size != xi.size:
        raise ValueError(
            "as_strided: this tensor's own elements overlap in memory (an expand or unfold "
            "view), which glassnet cannot differentiate through as_strided; clone it first"
        )
    return AsStrided.apply(input, size=size, stride=stride, offset=offset)
