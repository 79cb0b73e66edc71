"""Scatter-adding a tensor into zeros, differentiably: the adjoint of indexing."""

from __future__ import annotations

from glassnet.autograd.function import LinearMap
from glassnet.backend import xp_of
from glassnet.ops._segment import scatter_add
from glassnet.tensor import Tensor


def scatter_into(g: Tensor, shape, index) -> Tensor:
    """zeros(shape) with ``g`` added at ``index`` (repeats accumulate); its gradient gathers
    at ``index``, whose gradient scatters again: differentiable to any order."""
    xp = xp_of(g._data)
    shape = tuple(shape)
    return LinearMap.apply(
        g, f=lambda v: scatter_add(xp, v, shape, index), f_adjoint=lambda v: v[index]
    )
