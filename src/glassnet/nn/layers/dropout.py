"""``Dropout``: randomly zero activations while training (inverted dropout)."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.module import Module
from glassnet.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scale the rest by 1 / (1 - p).

    Math: y = x * m / (1 - p), m ~ Bernoulli(1 - p) drawn from glassnet's seeded RNG, so
    E[y] = x; dy/dx = m / (1 - p). In eval mode (``model.eval()``) y = x.

    Use it against overfitting, typically p = 0.1..0.5 after dense or attention layers.
    ``inplace=True`` writes the result into the input (unless the input requires grad under
    grad mode: then the out-of-place result is returned, with the same values and gradient).

    >>> import glassnet as gn
    >>> drop = gn.nn.Dropout(0.5)
    >>> y = drop(gn.ones(1000))
    >>> sorted(set(y.numpy().tolist()))     # dropped, or kept and scaled by 2
    [0.0, 2.0]
    >>> drop.eval()(gn.ones(3)).numpy()     # identity at evaluation
    array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(x, f"Dropout(p={self.p})")
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
