"""Rearranging by PyTorch's names: chunk, unbind, narrow, movedim, unflatten, meshgrid,
one_hot (tile and repeat_interleave live in ops/repeat.py). All are slices,
reshapes and broadcasts of differentiable ops."""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import no_grad_result, value_check, value_result
from glassnet.backend import is_debug, xp_of
from glassnet.ops._util import normalize_axis
from glassnet.ops.getitem import getitem
from glassnet.ops.shape import broadcast_to, permute, reshape, split
from glassnet.tensor import Tensor

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_tensors",
    "chunk",
    "dsplit",
    "hsplit",
    "meshgrid",
    "moveaxis",
    "movedim",
    "narrow",
    "narrow_copy",
    "one_hot",
    "ravel",
    "select",
    "split_with_sizes",
    "swapdims",
    "tensor_split",
    "unbind",
    "unflatten",
    "vsplit",
]


def _axis(op: str, x: Tensor, dim) -> int:
    if isinstance(dim, Tensor):
        dim = int(dim)
    (a,) = normalize_axis(dim, x.shape, op) if x.ndim else (0,)
    return a


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ceil(n / chunks) along ``dim`` (the last may be smaller,
    and fewer pieces come back when n does not fill them, as PyTorch)."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    a = _axis("chunk", input, dim)
    n = input.shape[a]
    if n == 0:  # PyTorch: ``chunks`` empty pieces
        return tuple(getitem(input, (slice(None),) * a + (slice(0, 0),)) for _ in range(chunks))
    return tuple(split(input, -(-n // chunks), a))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into k nearly equal pieces (the first n % k one larger), or at the given indices
    [i_1, ..., i_m]: the pieces x[:i_1], x[i_1:i_2], ..., x[i_m:] along ``dim``, with Python's
    slice rules (negative indices count from the end; a piece whose end comes before its start
    is empty, as PyTorch). A 0-d int tensor is a number of sections, a 1-D one indices."""
    a = _axis("tensor_split", input, dim)
    n = input.shape[a]
    if isinstance(indices_or_sections, Tensor):
        ios = indices_or_sections
        if ios.dtype.kind not in "iu" or ios.ndim > 1:
            raise ValueError(
                f"tensor_split: a tensor of sections or indices must be a 0-d or 1-D int tensor, "
                f"got {ios.dtype} of shape {ios.shape}"
            )
        indices_or_sections = int(ios.item()) if ios.ndim == 0 else ios.tolist()
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k < 1:
            raise ValueError(f"tensor_split: sections must be positive, got {k}")
        ends = np.cumsum([n // k + (1 if i < n % k else 0) for i in range(k)]).tolist()
        bounds = list(zip([0, *ends[:-1]], ends))
    else:
        cuts = [int(i) for i in indices_or_sections]
        bounds = list(zip([None, *cuts], [*cuts, None]))
    lead = (slice(None),) * a
    return tuple(getitem(input, lead + (slice(s, e),)) for s, e in bounds)


def _split_at(op: str, x: Tensor, indices_or_sections, dim: int, min_ndim: int) -> tuple:
    if x.ndim < min_ndim:
        raise ValueError(f"{op} needs a tensor with at least {min_ndim} dims, got {x.shape}")
    if isinstance(indices_or_sections, (int, np.integer)):
        k, n = int(indices_or_sections), x.shape[dim]
        if k < 1 or n % k:
            raise ValueError(f"{op}: dim {dim} of size {n} cannot be split into {k} equal parts")
    return tensor_split(x, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 of a 1-D tensor); a number of sections must
    divide that dim."""
    return _split_at("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims (equal sections)."""
    return _split_at("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims (equal sections)."""
    return _split_at("dsplit", input, indices_or_sections, 2, 3)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Pieces of the given sizes along ``dim``; the sizes must add up to that dim."""
    a = _axis("split_with_sizes", input, dim)
    sizes = [int(s) for s in split_sizes]
    if sum(sizes) != input.shape[a] or any(s < 0 for s in sizes):
        raise ValueError(
            f"split_with_sizes: sizes {sizes} must be non-negative and add up to dim {a} of "
            f"size {input.shape[a]}"
        )
    return tensor_split(input, list(np.cumsum(sizes)[:-1]), a)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, with that dim removed."""
    a = _axis("select", input, dim)
    n = input.shape[a]
    if not -n <= int(index) < n:
        raise IndexError(f"select: index {index} is out of range for dim {a} of size {n}")
    return getitem(input, (slice(None),) * a + (int(index),))


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """All slices along ``dim``, that dim removed from each."""
    a = _axis("unbind", input, dim)
    return tuple(getitem(input, (slice(None),) * a + (i,)) for i in range(input.shape[a]))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` elements from ``start`` along ``dim`` (a view)."""
    a = _axis("narrow", input, dim)
    n = input.shape[a]
    start = int(start) + (n if int(start) < 0 else 0)
    if not (0 <= start <= n and length >= 0 and start + length <= n):
        raise IndexError(
            f"narrow: start {start} and length {length} do not fit dim {a} of size {n}"
        )
    return getitem(input, (slice(None),) * a + (slice(start, start + int(length)),))


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    """``narrow`` as a new tensor (a copy, not a view: writing to it leaves ``input`` alone);
    the gradient flows back into the narrowed slice."""
    return narrow(input, dim, start, length).clone()


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or tuples); the rest keep order."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: {len(src)} source dims but {len(dst)} destinations")
    nd = input.ndim
    if nd == 0:  # dims 0 and -1 name the one "dim" of a 0-d tensor (PyTorch): a view
        for d in (*src, *dst):
            normalize_axis(d, (), "movedim")
        return reshape(input, ())
    src = [normalize_axis(s, input.shape, "movedim")[0] for s in src]
    dst = [normalize_axis(d, input.shape, "movedim")[0] for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("movedim: repeated dims in source or destination")
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    perm = [p if p is not None else next(rest) for p in perm]
    return permute(input, perm) if perm != list(range(nd)) else input


moveaxis = movedim


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (PyTorch's swapdims/swapaxes/transpose(d0, d1))."""
    from glassnet.ops.shape import swapaxes

    return swapaxes(input, dim0, dim1)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Expand dim ``dim`` into ``sizes`` (one may be -1)."""
    a = _axis("unflatten", input, dim)
    sizes = tuple(int(s) for s in sizes)
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (-1 not in sizes and known != input.shape[a]):
        raise ValueError(
            f"unflatten: sizes {sizes} do not multiply to dim {a}'s size {input.shape[a]}"
        )
    if -1 in sizes and known:  # spelled out: reshape cannot infer -1 when a dim is 0
        sizes = tuple(input.shape[a] // known if s == -1 else s for s in sizes)
    return reshape(input, input.shape[:a] + sizes + input.shape[a + 1 :])


def ravel(input: Tensor) -> Tensor:
    """The elements as 1-D."""
    return reshape(input, (-1,))


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors: "ij" (matrix, the default) or "xy" (Cartesian)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: inputs must be 0-D or 1-D, got shape {t.shape}")
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and len(tensors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(tensors):
        axis = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            axis = 1 - i
        shape = [1] * len(tensors)
        shape[axis] = t.numel()
        out.append(broadcast_to(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(out)


def broadcast_tensors(*tensors) -> tuple:
    """All tensors broadcast to their common shape (views)."""
    shape = np.broadcast_shapes(*[t.shape for t in tensors])
    return tuple(broadcast_to(t, shape) if t.shape != shape else t for t in tensors)


def atleast_1d(x: Tensor) -> Tensor:
    """``x`` with at least 1 dim."""
    return reshape(x, (1,)) if x.ndim == 0 else x


def atleast_2d(x: Tensor) -> Tensor:
    """``x`` with at least 2 dims (new leading ones)."""
    return reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x


def atleast_3d(x: Tensor) -> Tensor:
    """``x`` with at least 3 dims: (n,) -> (1, n, 1), (m, n) -> (m, n, 1), as PyTorch."""
    if x.ndim == 0:
        return reshape(x, (1, 1, 1))
    if x.ndim == 1:
        return reshape(x, (1, x.shape[0], 1))
    if x.ndim == 2:
        return reshape(x, x.shape + (1,))
    return x


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: y[..., c] = 1 where x = c; ``num_classes=-1`` takes max(x) + 1."""
    if input.dtype.kind not in "iu":
        raise TypeError(f"one_hot: needs an integer tensor of class indices, got {input.dtype}")
    if num_classes == -1:  # the result's shape depends on the values
        if not input.numel():
            raise ValueError(
                "one_hot: cannot infer the number of classes from an empty tensor (PyTorch "
                "raises too); pass num_classes"
            )
        top = value_result(input._data.max(), "one_hot(num_classes=-1)")
        num_classes = int(top) + 1
    value_check(_check_one_hot, input, num_classes)  # again on each replay of a compiled step
    return no_grad_result(_one_hot, input, num_classes=num_classes)


def _check_one_hot(x, num_classes: int) -> None:
    """A value check: debug mode on devices (a host sync; num_classes=-1 needs one anyway)."""
    d = x._data
    if d.size and is_debug(d) and (int(d.min()) < 0 or int(d.max()) >= num_classes):
        raise ValueError(
            f"one_hot: class values must be in 0..{num_classes - 1}, got "
            f"{int(d.min())}..{int(d.max())}"
        )


def _one_hot(x, num_classes: int):
    return (x[..., None] == xp_of(x).arange(num_classes)).astype(np.int64)
