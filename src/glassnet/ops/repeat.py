"""``repeat`` (PyTorch's tiling) and ``repeat_interleave`` (NumPy's ``repeat``).

The two names mean different things in NumPy and PyTorch; glassnet follows PyTorch:
``x.repeat(2, 1)`` tiles a (2, 3) tensor into (4, 3), and each element repeated in place
(NumPy's ``np.repeat``) is ``repeat_interleave``. Both are built from differentiable shape ops,
so their gradients sum the copies back.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
from glassnet.ops._util import normalize_axis
from glassnet.ops.elementwise import clone
from glassnet.ops.shape import _kw_sizes, _may_share, _shape_arg, broadcast_to, reshape
from glassnet.tensor import Tensor

__all__ = ["repeat", "repeat_interleave", "tile"]


def repeat(x: Tensor, *sizes, repeats=None) -> Tensor:
    """Tile ``x``: ``sizes[i]`` copies along dim ``i`` (PyTorch's ``Tensor.repeat``).

    ``sizes`` has at least ``x.ndim`` entries; extra leading ones add new leading dims.
    The result is always a new tensor (``x.repeat(1, 1)`` too), as PyTorch.
    ``y[i_0, ..., i_k] = x[i_0 mod s_0, ..., i_k mod s_k]`` for input shape ``s``, and
    dL/dx sums dL/dy over all the copies of each element.

    >>> import glassnet as gn
    >>> gn.tensor([[1, 2, 3], [4, 5, 6]]).repeat(2, 1).shape
    (4, 3)
    """
    sizes = _shape_arg(sizes if repeats is None else _kw_sizes(sizes, repeats, "repeat", "repeats"))
    if len(sizes) < x.ndim or any(not isinstance(r, (int, np.integer)) or r < 0 for r in sizes):
        raise ValueError(
            f"repeat: got sizes {sizes} for a tensor of shape {x.shape}; give one non-negative "
            f"int per dim (at least {x.ndim}). For NumPy's repeat (each element repeated in "
            "place) use repeat_interleave(repeats, dim)"
        )
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    interleaved = tuple(n for s in shape for n in (1, s))
    target = tuple(n for r, s in zip(sizes, shape) for n in (int(r), s))
    tiled = reshape(broadcast_to(reshape(x, interleaved), target), tuple(
        int(r) * s for r, s in zip(sizes, shape)))  # fmt: skip
    # all sizes 1 (or copies of one element) leave a view of x: PyTorch's repeat always copies
    return clone(tiled) if _may_share(tiled._data, x._data) else tiled


def tile(input: Tensor, dims) -> Tensor:
    """``torch.tile``: like :func:`repeat`, but ``dims`` may be shorter than ``x.ndim``."""
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(x: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:  # fmt: skip
    """Repeat each element ``repeats`` times along ``dim`` (``torch.repeat_interleave``).

    ``repeats`` is an int or one count per element along ``dim`` (a one-element tensor counts
    for every element, as PyTorch); ``dim=None`` flattens first.
    This is NumPy's ``np.repeat``. The gradient of each element sums the gradients of its
    copies. ``repeat_interleave(counts)`` alone repeats each index i counts[i] times
    (PyTorch's overload); ``output_size``, the result's length along ``dim``, is checked.

    >>> import glassnet as gn
    >>> gn.tensor([1, 2]).repeat_interleave(2).tolist()
    [1, 1, 2, 2]
    """
    if repeats is None:  # repeat_interleave(counts): index i, counts[i] times
        counts = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise ValueError(
                f"repeat_interleave: a lone argument must be a 1-D int tensor of counts, got "
                f"shape {counts.shape} and dtype {counts.dtype}"
            )
        idx = xp_of(x._data).arange(counts.shape[0], dtype=np.int64)
        x = Tensor._make(idx, False)
        repeats = counts
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    (axis,) = normalize_axis(dim, x.shape, "repeat_interleave")
    counts = repeats.numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim == 1 and counts.shape[0] == 1:  # one count broadcast to every element
        counts = counts.reshape(())
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts < 0).any():
        raise ValueError(
            f"repeat_interleave: repeats must be a non-negative int or a 1-D list of them, got "
            f"{repeats!r}"
        )
    if counts.ndim == 1 and counts.shape[0] != x.shape[axis]:
        raise ValueError(
            f"repeat_interleave: got {counts.shape[0]} repeats for dim {dim} of length "
            f"{x.shape[axis]} (tensor shape {x.shape}); give one count per element or one int"
        )
    idx = np.repeat(np.arange(x.shape[axis]), counts)
    if output_size is not None and output_size != idx.shape[0]:
        raise ValueError(
            f"repeat_interleave: output_size={output_size} but the repeats give {idx.shape[0]}"
        )
    index = [slice(None)] * x.ndim
    index[axis] = xp_of(x._data).asarray(idx)
    return x[tuple(index)]
