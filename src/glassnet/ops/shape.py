"""Shape ops: views (reshape, transpose, expand) and joins (concat, stack, pad).

These move numbers around without changing them, so each backward puts the gradient back
where the number came from: reshape back, transpose by the inverse permutation, slice out of
the joined gradient. Indexing and gathers are in :mod:`glassnet.ops.getitem`.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autograd.function import Function, no_grad_result
from glassnet.autograd.namespace import unbroadcast
from glassnet.backend import xp_of
from glassnet.ops._util import normalize_axis, promote_all
from glassnet.tensor import Tensor

__all__ = [
    "broadcast_to",
    "cat",
    "concat",
    "expand",
    "expand_dims",
    "flatten",
    "pad",
    "permute",
    "reshape",
    "split",
    "squeeze",
    "stack",
    "sum_to",
    "swapaxes",
    "transpose",
    "unsqueeze",
    "view",
]


class Reshape(Function):
    """y = x with a new shape (same elements, row-major order);  dy/dx: reshape back"""

    is_view = True

    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, ns, grad, x):
        return ns.reshape(grad, x.shape)


class Transpose(Function):
    """y = x with axes permuted by ``axes``;  dy/dx: permute back by the inverse permutation"""

    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, ns, grad, x):
        return ns.permute(grad, tuple(np.argsort(self.axes).tolist()))


class BroadcastTo(Function):
    """y = x copied along broadcast axes;  dy/dx = sum of the copies' gradients (engine)"""

    is_view = True

    def forward(self, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, ns, grad, x):
        return grad  # the engine's unbroadcast sums over the copied axes


class SumTo(Function):
    """y = x summed down to ``shape`` (the adjoint of broadcasting);  dy/dx: broadcast back"""

    def forward(self, x, shape):
        return unbroadcast(x, shape)

    def backward(self, ns, grad, x):
        return ns.broadcast_to(grad, x.shape)


def _slice_along(ndim: int, axis: int, item) -> tuple:
    index = [slice(None)] * ndim
    index[axis] = item
    return tuple(index)


class Concat(Function):
    """y = [x_1, ..., x_k] joined along ``axis``;  dy/dx_j = the slice of the grad from x_j"""

    def forward(self, *xs, axis):
        self.axis = axis
        self.edges = [0, *np.cumsum([x.shape[axis] for x in xs]).tolist()]
        return xp_of(xs[0]).concatenate(xs, axis=axis)

    def backward(self, ns, grad, *xs):
        edges, ndim = self.edges, grad.ndim
        return tuple(grad[_slice_along(ndim, self.axis, slice(lo, hi))]
                     for lo, hi in zip(edges[:-1], edges[1:]))  # fmt: skip


class Stack(Function):
    """y = the x_j stacked along a new ``axis``;  dy/dx_j = the j-th slice of the grad"""

    def forward(self, *xs, axis):
        self.axis = axis
        return xp_of(xs[0]).stack(xs, axis=axis)

    def backward(self, ns, grad, *xs):
        return tuple(grad[_slice_along(grad.ndim, self.axis, i)] for i in range(len(xs)))


class Pad(Function):
    """y = x surrounded by constant ``value`` (``widths`` per axis);  dy/dx = the inner slice"""

    def forward(self, x, widths, value):
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return xp_of(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, ns, grad, x):
        return grad[self.inner]


def _kw_sizes(args, value, op, name):
    """PyTorch's keyword spelling of a varargs size (``x.reshape(shape=(2, 3))``)."""
    if args:
        raise TypeError(f"{op}: give {name} either positionally or as {name}=, not both")
    return (value,)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(input: Tensor, *sizes, shape=None) -> Tensor:  # noqa: A002
    """Same elements in a new shape; one axis may be -1 (inferred). A view when possible."""
    shape = _shape_arg(sizes if shape is None else _kw_sizes(sizes, shape, "reshape", "shape"))
    if shape == input.shape:
        return input
    known = 1
    for d in shape:
        if d != -1:
            known *= d
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ValueError(
            f"reshape: invalid target shape {shape} for a tensor of shape {input.shape}: sizes "
            "must be non-negative, and at most one of them -1 (inferred)"
        )
    if known != input.numel() if -1 not in shape else known == 0 or input.numel() % known != 0:
        raise ValueError(
            f"reshape: cannot reshape shape {input.shape} ({input.numel()} elements) into "
            f"{shape}; the number of elements must match (use -1 for one inferred axis)"
        )
    return Reshape.apply(input, shape=shape)


def view(x: Tensor, *shape, size=None, dtype=None) -> Tensor:
    """``torch.Tensor.view``: the same storage seen in a new shape, never a copy.

    Where the strides do not allow a view (a transposed tensor flattened, say), PyTorch
    refuses rather than copy, since writes through a copy would not reach ``x``; so does this.
    ``view(dtype)`` reinterprets the bytes as another dtype (not differentiable), as PyTorch.
    """
    if size is not None or dtype is not None:  # x.view(size=...), x.view(dtype=...)
        shape = _kw_sizes(shape, dtype if size is None else size, "view", "size")
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        try:
            dtype = np.dtype(shape[0])
        except TypeError:
            dtype = None
        if dtype is not None:
            if x.requires_grad:
                raise ValueError(
                    f"view({dtype}) reinterprets the bytes of a tensor that requires grad, which "
                    "has no derivative; call it on x.detach()"
                )
            return no_grad_result(_view_as, x, dtype=dtype.str)
    out = reshape(x, *shape)
    if out is not x and x.numel() > 0 and not _may_share(out._data, x._data):
        raise ValueError(
            f"view{_shape_arg(shape)}: a tensor of shape {x.shape} with these strides cannot be "
            "seen in that shape without a copy (at least one dimension spans two non-contiguous "
            "blocks, as after transpose/permute); use .reshape(...) instead, or "
            ".contiguous().view(...)"
        )
    return out


def _may_share(a, b) -> bool:
    try:
        return bool(xp_of(a).may_share_memory(a, b))
    except (TypeError, AttributeError):  # an array library without the check: trust reshape
        return True


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
    if input.ndim == 0:
        for d in (start_dim, end_dim):
            normalize_axis(d, 1, "flatten")
        return reshape(input, (1,))
    (s,) = normalize_axis(start_dim, input.shape, "flatten")
    (e,) = normalize_axis(end_dim, input.shape, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    # the merged length spelled out, not -1: reshape cannot infer -1 when a dim is 0
    merged = int(np.prod(input.shape[s : e + 1]))
    return reshape(input, input.shape[:s] + (merged,) + input.shape[e + 1 :])


def transpose(input: Tensor, *dims, dim0=None, dim1=None) -> Tensor:
    """``transpose(x, dim0, dim1)`` swaps two dims, as ``torch.transpose``, for any ndim.

    Two separate ints always mean PyTorch's swap (``W.transpose(0, 1)`` is ``W.T`` for a
    matrix). Forms PyTorch does not have keep NumPy's meaning, since nothing can confuse them:
    one tuple or list is a full permutation (``x.transpose((2, 0, 1))``, as ``permute``), three
    or more ints are a permutation too, and no argument reverses all dims (``x.T``).
    """
    if dim0 is not None or dim1 is not None:
        if dims or dim0 is None or dim1 is None:
            raise TypeError("transpose: pass dim0= and dim1= together, and nothing else")
        dims = (dim0, dim1)
    if len(dims) == 2 and not isinstance(dims[0], (tuple, list)):
        for d in dims:
            normalize_axis(d, input.shape, "transpose")
        if input.ndim == 0:  # dims 0 and -1 name the one "dim" of a 0-d tensor (PyTorch)
            return reshape(input, ())
        return swapaxes(input, *dims)
    axes = _shape_arg(dims) if dims else tuple(reversed(range(input.ndim)))
    if sorted(a % input.ndim for a in axes) != list(range(input.ndim)) if input.ndim else axes:
        raise ValueError(
            f"transpose: axes {axes} are not a permutation of the {input.ndim} axes of a tensor of "
            f"shape {input.shape}; give each of 0..{input.ndim - 1} once"
        )
    axes = tuple(a % input.ndim for a in axes)
    if axes == tuple(range(input.ndim)):
        return input
    return Transpose.apply(input, axes=axes)


def permute(input: Tensor, *axes, dims=None) -> Tensor:  # noqa: A002
    """Permute axes to the given order (PyTorch's ``permute``)."""
    axes = _shape_arg(axes if dims is None else _kw_sizes(axes, dims, "permute", "dims"))
    if len(axes) != input.ndim:
        raise ValueError(
            f"permute: got {len(axes)} axes {axes} for a tensor of shape {input.shape} "
            f"({input.ndim} dims); give each of 0..{input.ndim - 1} once"
        )
    return transpose(input, axes)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:  # noqa: A002
    """Swap two axes (``torch.swapaxes(input, axis0, axis1)``)."""
    perm = list(range(input.ndim))
    a, b = (
        normalize_axis(axis0, input.shape, "swapaxes")[0],
        normalize_axis(axis1, input.shape, "swapaxes")[0],
    )
    perm[a], perm[b] = perm[b], perm[a]
    if a == b:
        return input
    return Transpose.apply(input, axes=tuple(perm))


def broadcast_to(input: Tensor, *shape, size=None, _op: str = "broadcast_to") -> Tensor:
    """Repeat along new leading axes and axes of size 1 (a view), NumPy rules; -1 keeps the
    size of an existing axis, as PyTorch."""
    if size is not None:
        shape = _kw_sizes(shape, size, _op, "size")
    shape = _shape_arg(shape)
    if shape == input.shape:
        return input
    if -1 in shape:
        lead = len(shape) - input.ndim
        if -1 in shape[: builtins.max(lead, 0)]:
            raise ValueError(
                f"{_op}: -1 (keep the size) is not allowed in a new leading dim, got {shape} "
                f"for a tensor of shape {input.shape}; give that dim's size"
            )
        shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    try:
        ok = np.broadcast_shapes(input.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{_op}: cannot broadcast a tensor of shape {input.shape} to {shape}: each axis of the "
            "input (aligned from the right) must equal the target's or be 1"
        )
    return BroadcastTo.apply(input, shape=shape)


def expand(x: Tensor, *shape, size=None) -> Tensor:
    """PyTorch's ``expand``: like broadcast_to, with -1 meaning 'keep this axis'."""
    if size is not None:
        shape = _kw_sizes(shape, size, "expand", "size")
    return broadcast_to(x, _shape_arg(shape), _op="expand")


def sum_to(x: Tensor, shape) -> Tensor:
    """Sum ``x`` down to ``shape`` (undo broadcasting)."""
    if tuple(shape) == x.shape:
        return x
    return SumTo.apply(x, shape=tuple(shape))


def squeeze(input: Tensor, dim=None, *, axis=None) -> Tensor:
    """Remove dims of size 1: all of them, or those in ``dim`` (an int or a tuple).

    As in PyTorch, a listed dim whose size is not 1 is left in place (no error), so
    ``x.squeeze(1)`` on a (4, 3) tensor returns it unchanged. ``axis`` is an alias.
    """
    dim = dim if axis is None else axis
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    elif input.ndim == 0:
        normalize_axis(dim, 1, "squeeze")  # PyTorch accepts dim 0 / -1 on a 0-d tensor
        return input
    else:
        axes = normalize_axis(dim, input.shape, "squeeze")
        shape = tuple(n for i, n in enumerate(input.shape) if i not in axes or n != 1)
    return reshape(input, shape)


def unsqueeze(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (``axis`` is an alias)."""
    axis = dim if axis is None else axis
    if axis is None:
        raise TypeError("unsqueeze: missing the dim where the new axis goes, e.g. unsqueeze(x, 0)")
    nd = input.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(
            f"unsqueeze: axis {axis} is out of range for a tensor of shape {input.shape}: the "
            f"result has {nd} dims, so axis must be in {-nd}..{nd - 1}"
        )
    axis %= nd
    return reshape(input, input.shape[:axis] + (1,) + input.shape[axis:])


expand_dims = unsqueeze


def concat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``axis`` is an alias).

    As PyTorch, a 1-D empty tensor (shape (0,)) joins tensors of any shape: it adds nothing
    (its dtype still counts, as an empty slice of the others' shape).
    """
    axis = dim if axis is None else axis
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    tensors = promote_all(tensors, "concat")  # PyTorch's promotion: f32 with i64 is f32
    ref = next((t for t in tensors if t.shape != (0,)), tensors[0])
    if ref.shape != (0,):  # PyTorch's legacy rule: (0,) tensors are skipped
        (a,) = normalize_axis(axis, ref.shape, "concat")
        empty = ref.shape[:a] + (0,) + ref.shape[a + 1 :]
        tensors = [reshape(t, empty) if t.shape == (0,) else t for t in tensors]
    (axis,) = normalize_axis(axis, ref.shape, "concat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != axis
        ):
            raise ValueError(
                f"concat: tensor {i} has shape {t.shape} but tensor 0 has {ref.shape}; all "
                f"axes except axis {axis} must match"
            )
    return Concat.apply(*tensors, axis=axis)


cat = concat


def stack(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim (``axis`` is an alias)."""
    axis = dim if axis is None else axis
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    tensors = promote_all(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has {tensors[0].shape}"
            )
    nd = tensors[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(
            f"stack: axis {axis} is out of range for stacking tensors of shape "
            f"{tensors[0].shape}: the result has {nd} dims, so axis must be in {-nd}..{nd - 1}"
        )
    return Stack.apply(*tensors, axis=axis % nd)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0, *, axis=None) -> list[Tensor]:
    """Split into pieces along ``dim``: equal pieces of a given size, or given sizes (PyTorch)."""
    axis = dim if axis is None else axis
    (axis,) = normalize_axis(axis, tensor.shape, "split")
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(
                f"split: size must be positive, got {size} (tensor shape {tensor.shape})"
            )
        # an empty dim still gives one (empty) piece, as PyTorch
        sizes = [size] * (n // size) + ([n % size] if n % size or n == 0 else [])
    else:
        sizes = list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes must be non-negative, got {sizes} (PyTorch raises too)")
        if builtins.sum(sizes) != n:
            raise ValueError(
                f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but axis {axis} of a "
                f"tensor of shape {tensor.shape} has length {n}"
            )
    out, start = [], 0
    for s in sizes:
        index = [slice(None)] * tensor.ndim
        index[axis] = slice(start, start + s)
        out.append(tensor[tuple(index)])
        start += s
    return out


def pad(x: Tensor, widths, value: float = 0.0) -> Tensor:
    """Pad with a constant; ``widths`` is NumPy's ((before, after), ...) per axis."""
    widths = tuple((int(a), int(b)) for a, b in widths)
    if len(widths) != x.ndim:
        raise ValueError(
            f"pad: got {len(widths)} (before, after) pairs for a tensor of shape {x.shape}; "
            f"give one pair per axis ({x.ndim})"
        )
    if any(a < 0 or b < 0 for a, b in widths):  # a negative width crops (PyTorch's F.pad)
        crop = tuple(slice(-builtins.min(a, 0), n + builtins.min(b, 0)) for (a, b), n
                     in zip(widths, x.shape))  # fmt: skip
        if any(c.start > c.stop for c in crop):
            raise ValueError(
                f"pad: widths {widths} crop more than the tensor of shape {x.shape} holds"
            )
        x = x[crop]
        widths = tuple((builtins.max(a, 0), builtins.max(b, 0)) for a, b in widths)
    return Pad.apply(x, widths=widths, value=value)


def _view_as(x, dtype):
    return x.view(dtype)
