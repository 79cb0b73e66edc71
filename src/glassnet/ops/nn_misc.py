"""``F.gumbel_softmax``, ``F.channel_shuffle`` and ``F.embedding_bag`` (PyTorch's names and
semantics), as compositions of differentiable ops."""

from __future__ import annotations

from glassnet.backend import xp_of
from glassnet.creation_extra import rand_like
from glassnet.ops import activation as _act
from glassnet.ops import elementwise as _el
from glassnet.ops._util import normalize_axis
from glassnet.ops.indexing import index_add, scatter, scatter_reduce
from glassnet.ops.nn import embedding, embedding_renorm_
from glassnet.ops.reduction import argmax
from glassnet.ops.shape import reshape, swapaxes
from glassnet.tensor import Tensor

__all__ = ["channel_shuffle", "embedding_bag", "gumbel_softmax"]


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:  # fmt: skip
    """Samples of the Gumbel-softmax (Concrete) distribution: y = softmax((logits + g) / tau),
    g = -ln(-ln U) Gumbel(0, 1) noise drawn from glassnet's generator. ``hard=True`` returns
    the one-hot of argmax y in the forward pass with the gradient of y (the straight-through
    estimator: one_hot - y.detach() + y). ``eps`` is unused, as in PyTorch."""
    if tau <= 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau}")
    d = normalize_axis(dim, logits.shape, "gumbel_softmax")[0]
    u = rand_like(logits)
    gumbels = -_el.log(-_el.log1p(-u))  # -ln(Exp(1)): Exp(1) = -ln(1 - U)
    y = _act.softmax((logits + gumbels) / tau, d)
    if not hard:
        return y
    index = argmax(y, d, keepdim=True)
    y_hard = scatter(y.detach() * 0, d, index, value=1.0)
    return y_hard - y.detach() + y


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """Split the C channels (dim 1) into ``groups`` groups and interleave them (ShuffleNet):
    (N, g, C/g, *) -> (N, C/g, g, *) -> (N, C, *)."""
    if input.ndim < 3:
        raise ValueError(f"channel_shuffle: needs (N, C, *) input, got {tuple(input.shape)}")
    n, c = input.shape[:2]
    if groups < 1 or c % groups:
        raise ValueError(f"channel_shuffle: {c} channels cannot be split into {groups} groups")
    rest = input.shape[2:]
    x = reshape(input, (n, groups, c // groups) + rest)
    return reshape(swapaxes(x, 1, 2), (n, c) + rest)


_BAG_MODES = ("sum", "mean", "max")


def _bag_layout(xp, idx, offsets, include_last_offset: bool):
    """(flat ids, bag of each id, number of bags) from PyTorch's two input forms."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "embedding_bag: if input is 2D, then offsets has to be None, as input is "
                "treated is a mini-batch of fixed length sequences"
            )
        bags, length = idx.shape
        return idx.reshape(-1), xp.repeat(xp.arange(bags), length), bags
    if idx.ndim != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got {idx.ndim}D")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    starts = offsets._data if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if starts.ndim != 1 or starts.dtype.kind not in "iu":
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor of integers")
    if starts.size and int(starts[0]) != 0:
        raise ValueError(
            "embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
            f"has to start from position 0. However, got {int(starts[0])}"
        )
    if include_last_offset:  # the last offset only closes the last bag (at the input's end)
        starts = starts[:-1]
    return idx, xp.searchsorted(starts, xp.arange(idx.size), side="right") - 1, starts.size


def embedding_bag(
    input,  # noqa: A002 - PyTorch's names
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
    """Sums, means or maxima of bags of embedding rows, without building the (bags, length,
    dim) lookup (PyTorch's ``F.embedding_bag``).

    A 2-D ``input`` (B, N) is B bags of N ids; a 1-D ``input`` is split into bags by
    ``offsets`` (the start of each bag; with ``include_last_offset=True`` one more entry ends
    the last bag). Ids equal to ``padding_idx`` are left out (and not counted by "mean"); an
    empty bag gives zeros. ``per_sample_weights`` (``input``'s shape) scales each row, with
    ``mode="sum"`` only. Gradients: sum/mean spread to the rows of the bag (mean divided by its
    count); max goes to the row that holds each maximum.

    Returns:
        (B, embedding_dim).

    >>> import glassnet as gn
    >>> w = gn.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    >>> embedding_bag(gn.tensor([0, 1, 2]), w, gn.tensor([0, 2]), mode="sum").numpy().tolist()
    [[1.0, 2.0], [4.0, 4.0]]
    """
    if mode not in _BAG_MODES:
        raise ValueError(f"embedding_bag: mode has to be one of {_BAG_MODES}, got {mode!r}")
    if sparse:
        raise NotImplementedError(
            "embedding_bag: sparse=True (sparse gradients) is not supported in glassnet; use "
            "sparse=False: the dense gradient has the same values"
        )
    if scale_grad_by_freq:
        raise NotImplementedError(
            "embedding_bag: scale_grad_by_freq=True is not supported in glassnet (PyTorch's "
            "scaling does not follow the documented rule); scale the rows' gradients with a "
            "hook on weight if you need it"
        )
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding_bag: weight has to be a 2D Tensor (num_embeddings, dim)")
    xp = xp_of(weight._data)
    idx = input._data if isinstance(input, Tensor) else xp.asarray(input)
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(idx.shape):
        raise ValueError(
            f"embedding_bag: per_sample_weights has shape {tuple(per_sample_weights.shape)}; "
            f"it must have the input's shape {tuple(idx.shape)}"
        )
    flat, bag, bags = _bag_layout(xp, idx, offsets, include_last_offset)
    if max_norm is not None:
        embedding_renorm_(weight, flat, max_norm, norm_type)
    keep = bag >= 0
    if padding_idx is not None:
        keep &= flat != padding_idx % weight.shape[0]
    target = xp.where(keep, bag, bags)  # left-out ids go to one more bag, dropped at the end
    rows = embedding(Tensor(flat), weight)  # (M, D)
    if per_sample_weights is not None:
        rows = rows * reshape(per_sample_weights, (-1, 1))
    dim = weight.shape[1]
    out = Tensor._make(xp.zeros((bags + 1, dim), dtype=weight.dtype), False)
    counts = xp.bincount(target, minlength=bags + 1)[:bags]
    if mode == "max":
        index = Tensor(xp.broadcast_to(target[:, None], (flat.size, dim)).copy())
        top = scatter_reduce(out, 0, index, rows, "amax", include_self=False)[:bags]
        return top  # an empty bag keeps out's zeros (include_self=False leaves it alone)
    total = index_add(out, 0, Tensor(target), rows)[:bags]
    if mode == "sum":
        return total
    return total / Tensor(xp.maximum(counts, 1).astype(weight.dtype)[:, None])
