"""PyTorch's order of result dims when integer and tensor indices are mixed."""

from __future__ import annotations

import numpy as np


def _int_like(item) -> bool:
    if isinstance(item, bool):
        return False
    if isinstance(item, (int, np.integer)):
        return True
    return getattr(item, "ndim", None) == 0 and item.dtype.kind in "iu"


def ints_first(index, ndim: int):
    """Split ``index`` into (ints only, the rest) when it mixes ints with arrays, else None.

    PyTorch applies integer indices first (each removes its dim) and then the tensor indices;
    NumPy counts ints as advanced indices too, which moves the result's dims elsewhere:
    for x of shape (A, B, C), ``x[0, :, [1, 2]]`` is (B, 2) in PyTorch and (2, B) in NumPy.
    """
    items = index if isinstance(index, tuple) else (index,)
    if not any(_int_like(i) for i in items):
        return None
    arrays = [i for i in items if hasattr(i, "dtype") and not _int_like(i)]
    if not arrays or any(isinstance(i, bool) for i in items):
        return None
    width = [i.ndim if i.dtype == bool else 1 for i in arrays]
    used = sum(width) + sum(
        1 for i in items if not hasattr(i, "dtype") and i is not None and i is not Ellipsis
    )
    first, rest = [], []
    for item in items:
        if item is Ellipsis:
            first += [slice(None)] * (ndim - used)
            rest += [slice(None)] * (ndim - used)
        elif _int_like(item):
            first.append(item)
        elif item is None:
            first.append(None)
            rest.append(slice(None))
        else:
            n = item.ndim if hasattr(item, "dtype") and item.dtype == bool else 1
            first += [slice(None)] * n
            rest.append(item)
    return tuple(first), tuple(rest)
