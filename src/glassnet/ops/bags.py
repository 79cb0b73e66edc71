"""``F.embedding_bag`` (PyTorch's name and semantics): the sum, mean or max of each bag's
embedding rows, without materializing the (bags, length, dim) lookups a padded batch would.

Bags come either from a 2-D ``input`` (B, N) (each row a bag of N indices) or from a 1-D
``input`` cut at ``offsets`` (bag b is input[offsets[b]:offsets[b + 1]]). For bag b with
indices i_1..i_n and per-sample weights w (sum mode only; 1 otherwise)::

    sum:  y_b = sum_k w_k W[i_k]        mean: y_b = (1/n) sum_k W[i_k]
    max:  y_b = max_k W[i_k]  (elementwise; the gradient goes to the row that gave the max)

Entries equal to ``padding_idx`` are left out of their bag (and of the mean's count); an
empty bag gives zeros. Built from differentiable ops: the lookup (``embedding``) and a scatter
of the rows into their bags, so the gradient reaches ``weight`` (and the per-sample weights).
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
from glassnet.backend.device import to_numpy
from glassnet.ops.indexing import index_add
from glassnet.ops.nn import embedding, embedding_renorm_
from glassnet.ops.reduction import max as max_
from glassnet.ops.selection import where
from glassnet.ops.shape import concat, reshape
from glassnet.tensor import Tensor

__all__ = ["embedding_bag"]


def _host_ints(x, what: str) -> np.ndarray:
    data = to_numpy(x)  # the bag layout is computed on the host (an explicit copy)
    if data.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag: {what} must hold integers, got dtype {data.dtype}")
    return data.astype(np.int64)


def _bags(input, offsets, include_last_offset: bool):  # noqa: A002
    """(flat indices, bag id of each, number of bags)."""
    if isinstance(input, Tensor) and input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "embedding_bag: if input is 2D, then offsets has to be None, as input is "
                "treated as a mini-batch of fixed length sequences; got offsets too"
            )
        flat = _host_ints(input, "input").reshape(-1)
        bags, length = input.shape
        return flat, np.repeat(np.arange(bags), length), bags
    flat = _host_ints(input, "input")
    if flat.ndim != 1:
        raise ValueError(
            f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension "
            f"{flat.ndim}"
        )
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    starts = _host_ints(offsets, "offsets")
    if starts.ndim != 1:
        raise ValueError(f"embedding_bag: offsets has to be a 1D Tensor, got {starts.ndim}D")
    if starts.size and starts[0] != 0:
        raise ValueError(
            "embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
            f"has to start from position 0. However, got {starts[0]}"
        )
    if starts.size and (starts[-1] > flat.size or np.any(np.diff(starts) < 0)):
        raise ValueError(
            f"embedding_bag: offsets must be non-decreasing and at most len(input) = "
            f"{flat.size}, got {starts.tolist()}"
        )
    if include_last_offset:  # the CSR form's closing offset: PyTorch ignores its value, the
        starts = starts[:-1]  # last bag runs to the end of the input (as torch 2.13 computes)
    ends = np.append(starts[1:], flat.size)
    sizes = ends - starts
    bag_of = np.repeat(np.arange(sizes.size), sizes)
    return flat[starts[0] : starts[0] + sizes.sum()] if sizes.size else flat[:0], bag_of, sizes.size


def embedding_bag(
    input,  # noqa: A002 - PyTorch's name
    weight: Tensor,
    offsets=None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum / mean / max of each bag of embedding rows (see the module docstring).

    Returns (B, embedding_dim): B = input.shape[0] for 2-D input, else the number of bags
    given by ``offsets`` (one fewer with ``include_last_offset=True``).

    >>> import glassnet as gn
    >>> w = gn.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    >>> embedding_bag(gn.tensor([0, 1, 2]), w, gn.tensor([0, 2]), mode="sum").tolist()
    [[1.0, 2.0], [4.0, 4.0]]
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse:
        raise NotImplementedError(
            "embedding_bag: sparse=True (sparse gradients) is not supported; use sparse=False "
            "(the dense gradient has the same values)"
        )
    if scale_grad_by_freq and mode == "max":
        raise ValueError(
            "embedding_bag: max mode does not support scaling the gradient by the frequency"
        )
    if scale_grad_by_freq:
        # torch 2.13's scaled gradient follows neither the documented rule (divide by the
        # id's count in the batch) nor an evident other one (random bags, measured): raise
        # rather than compute something else
        raise NotImplementedError(
            "embedding_bag: scale_grad_by_freq=True is not supported (PyTorch's scaling here "
            "does not follow its documented rule); use scale_grad_by_freq=False"
        )
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}')"
        )
    num, dim = weight.shape
    flat, bag_of, bags = _bags(input, offsets, include_last_offset)
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        bad = int(flat[(flat < 0) | (flat >= num)][0])
        raise IndexError(f"embedding_bag: index {bad} is out of range for {num} embeddings")
    keep = np.ones(flat.size, dtype=bool)
    if padding_idx is not None:
        padding_idx = padding_idx + num if padding_idx < 0 else padding_idx
        keep = flat != padding_idx
    if max_norm is not None:
        embedding_renorm_(weight, flat[keep], max_norm, norm_type)
    xp = xp_of(weight._data)
    rows = embedding(Tensor._make(xp.asarray(flat[keep]), False), weight)
    bag_ids = bag_of[: flat.size][keep]
    counts = np.bincount(bag_ids, minlength=bags)
    if mode == "max":
        return _bag_max(rows, bag_ids, counts, bags, dim, weight)
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != tuple(np.shape(flat.reshape(input.shape))):
            raise ValueError(
                f"embedding_bag: per_sample_weights has shape {tuple(per_sample_weights.shape)}; "
                f"expected the shape of input, {tuple(input.shape)}"
            )
        sample = reshape(per_sample_weights, (-1,))[
            Tensor._make(xp.asarray(np.flatnonzero(keep)), False)
        ]
        rows = rows * reshape(sample, (-1, 1))
    zeros = Tensor._make(xp.zeros((bags, dim), dtype=weight.dtype), False)
    total = index_add(zeros, 0, Tensor._make(xp.asarray(bag_ids), False), rows)
    if mode == "sum":
        return total
    scale = xp.asarray(1.0 / np.maximum(counts, 1), dtype=weight.dtype).reshape(-1, 1)
    return total * Tensor._make(scale, False)


def _bag_max(rows: Tensor, bag_ids, counts, bags: int, dim: int, weight: Tensor) -> Tensor:
    """Elementwise max over each bag's rows: the rows laid out (bags, longest, dim) with -inf
    in the unused slots, then ``amax`` over the slots; empty bags give 0."""
    xp = xp_of(weight._data)
    longest = int(counts.max()) if counts.size else 0
    if longest == 0:
        return Tensor._make(xp.zeros((bags, dim), dtype=weight.dtype), False)
    slot = np.arange(bag_ids.size) - np.repeat(np.cumsum(counts) - counts, counts)
    layout = np.full((bags, longest), bag_ids.size, dtype=np.int64)  # the -inf row
    layout[bag_ids, slot] = np.arange(bag_ids.size)
    filler = Tensor._make(xp.full((1, dim), -np.inf, dtype=weight.dtype), False)
    padded = concat([rows, filler], 0)[Tensor._make(xp.asarray(layout.reshape(-1)), False)]
    # max over the slots with its index: the gradient goes to the first row holding the max
    best = max_(reshape(padded, (bags, longest, dim)), 1)[0]
    empty = Tensor._make(xp.asarray((counts == 0).reshape(-1, 1)), False)
    return where(empty, 0.0, best)
