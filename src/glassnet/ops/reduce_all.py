"""Reductions of all elements to one chosen element, with PyTorch's gradient for them:
``max()``, ``min()``, ``median()`` and ``nanmedian()`` with no dim, and ``nansum``.

The chosen value's gradient is spread evenly over every element equal to it (a nan result
over the nan elements): PyTorch's ``evenly_distribute_backward``. (``amax``/``amin`` and the
``dim=`` forms keep their own rules: see ``reduction.py`` and ``scan.py``.)
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.tensor import Tensor


def _value(xp, x, how):
    """The chosen element of ``x`` as a 0-d array: max, min, or the lower median (median:
    nan when any element is nan; nanmedian: of the non-nan elements, nan when all are)."""
    flat = x.reshape(-1)
    if how in ("max", "min"):
        return xp.asarray(getattr(flat, how)())
    s = xp.sort(flat)  # nan sorts last
    if x.dtype.kind == "f":
        k = int((s == s).sum()) if how == "nanmedian" else (len(s) if s[-1] == s[-1] else 0)
    else:
        k = len(s)
    if k == 0:
        return xp.asarray(np.nan, dtype=x.dtype)
    return s[(k - 1) // 2].copy()


class ReduceAll(Function):
    """y = the max, min or lower median of all elements (a 0-d tensor);
    dy/dx_i = 1/k for each of the k elements equal to y (nan: the nan elements)."""

    def forward(self, x, how):
        xp = xp_of(x)
        if x.size == 0:
            raise ValueError(f"{how}(): reduction of an empty tensor has no identity")
        y = _value(xp, x, how)
        mask = x == y
        if y.dtype.kind == "f" and y != y:
            mask = x != x
        self.weights = mask.astype(x.dtype) / mask.sum()
        return xp.asarray(y)

    def backward(self, ns, grad, x):
        return grad * ns.const(self.weights)


def reduce_all(x: Tensor, how: str) -> Tensor:
    return ReduceAll.apply(x, how=how)


class Nansum(Function):
    """y = sum of the non-nan x_i over ``axis``;  dy/dx_i = [x_i is not nan] (a product with
    the mask, as PyTorch: an inf gradient gives nan at a nan element)"""

    def forward(self, x, axis, keepdims):
        xp = xp_of(x)
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.keep = (x == x).astype(x.dtype)
        return xp.asarray(xp.nansum(x, axis=axis, keepdims=keepdims))

    def backward(self, ns, grad, x):
        with np.errstate(invalid="ignore"):  # inf * 0 = nan at a nan element, as PyTorch
            return ns.spread(grad, self.shape, self.axis, self.keepdims) * ns.const(self.keep)
