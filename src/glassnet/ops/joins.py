"""Joining by NumPy's and PyTorch's stacking names: hstack, vstack (row_stack), dstack,
column_stack and concatenate (``torch.concatenate``, an alias of ``cat``).

Each lifts its inputs to enough dims (``atleast_1d/2d/3d``, or columns) and joins them with
``cat``, whose gradient slices the joined gradient back apart.
"""

from __future__ import annotations

from glassnet.ops.shape import concat, reshape
from glassnet.ops.shape_extra import atleast_1d, atleast_2d, atleast_3d
from glassnet.tensor import Tensor

__all__ = ["column_stack", "concatenate", "dstack", "hstack", "row_stack", "vstack"]

#: ``torch.concatenate(tensors, axis=0)``: ``cat`` under NumPy's name
concatenate = concat


def _tensors(op: str, tensors) -> list:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return tensors


def hstack(tensors) -> Tensor:
    """Join along dim 1, or dim 0 when the tensors are 1-D (0-d ones become 1-D first)."""
    ts = [atleast_1d(t) for t in _tensors("hstack", tensors)]
    return concat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0 after making each tensor at least 2-D ((n,) becomes (1, n))."""
    return concat([atleast_2d(t) for t in _tensors("vstack", tensors)], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2 after making each tensor at least 3-D ((n,) becomes (1, n, 1),
    (m, n) becomes (m, n, 1))."""
    return concat([atleast_3d(t) for t in _tensors("dstack", tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, each 0-d or 1-D tensor of n elements taken as an (n, 1) column."""
    cols = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t
            for t in _tensors("column_stack", tensors)]  # fmt: skip
    return concat(cols, 1)
