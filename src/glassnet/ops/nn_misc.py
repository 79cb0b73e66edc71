"""``F.gumbel_softmax`` and ``F.channel_shuffle`` (PyTorch's names and semantics), as
compositions of differentiable ops."""

from __future__ import annotations

from glassnet.creation_extra import rand_like
from glassnet.ops import activation as _act
from glassnet.ops import elementwise as _el
from glassnet.ops._util import normalize_axis
from glassnet.ops.indexing import scatter
from glassnet.ops.reduction import argmax
from glassnet.ops.shape import reshape, swapaxes
from glassnet.tensor import Tensor

__all__ = ["channel_shuffle", "gumbel_softmax"]


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
