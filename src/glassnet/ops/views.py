"""Strided views: ``diagonal`` and ``Tensor.unfold`` see the input's own storage, as PyTorch.

Both are a new (shape, strides) over the same memory, built with ``as_strided``, so writes
through the result reach the input and the two share one version counter (``is_view``):

- ``diagonal(x, offset, dim1, dim2)``: the elements x[..., i, i + offset, ...] are one stride
  ``s_dim1 + s_dim2`` apart, starting at x[..., r0, c0, ...] (r0 = max(-offset, 0),
  c0 = max(offset, 0));
- ``unfold(x, dim, size, step)``: window k starts ``k * step`` elements along ``dim`` (stride
  ``step * s_dim``) and walks ``size`` elements (stride ``s_dim``) in a new last dim.

Reading through a view is linear, so each backward is a scatter-add into zeros (overlapping
windows add up), given with its adjoint (the view again) to ``ns.linear``: differentiable to
any order.
"""

from __future__ import annotations

import builtins

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops._util import normalize_axis
from glassnet.ops.shape import reshape
from glassnet.tensor import Tensor

__all__ = ["diagonal", "unfold"]


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
