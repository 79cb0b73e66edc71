"""``Flatten`` and ``Unflatten``: reshape between a conv stack and a dense head."""

from __future__ import annotations

import math

from glassnet.nn.layers._validate import check_tensor
from glassnet.nn.module import Module
from glassnet.ops import flatten as _flatten
from glassnet.ops import reshape as _reshape
from glassnet.tensor import Tensor


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default.

    A reshape (y = x, rearranged), so dL/dx is dL/dy reshaped back. The batch axis 0 is kept.

    >>> import glassnet as gn
    >>> gn.nn.Flatten()(gn.ones(32, 1, 28, 28)).shape
    (32, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "Flatten")
        ndim = x.ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim) or (
            self.start_dim % ndim > self.end_dim % ndim
        ):
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) got input of "
                f"shape {tuple(x.shape)} with {ndim} dims; the axes must exist and start_dim "
                "must not come after end_dim"
            )
        return _flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: Unflatten(1, (1, 28, 28)) maps
    (N, 784) -> (N, 1, 28, 28). The inverse of Flatten; dL/dx is dL/dy reshaped back.

    >>> import glassnet as gn
    >>> gn.nn.Unflatten(1, (2, 5))(gn.ones(3, 10)).shape
    (3, 2, 5)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        sizes = tuple(unflattened_size)
        if sizes.count(-1) > 1 or any(not isinstance(s, int) or s == 0 or s < -1 for s in sizes):
            raise ValueError(
                "Unflatten: unflattened_size must be positive ints (one may be -1), "
                f"got {unflattened_size!r}"
            )
        self.dim, self.unflattened_size = dim, sizes

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "Unflatten")
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(
                f"Unflatten(dim={self.dim}) got input of shape {tuple(x.shape)}: it has no axis "
                f"{self.dim}"
            )
        d = self.dim % x.ndim
        n = x.shape[d]
        known = math.prod(s for s in self.unflattened_size if s != -1)
        ok = n % known == 0 if -1 in self.unflattened_size else known == n
        if not ok:
            raise ValueError(
                f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size}) got input "
                f"of shape {tuple(x.shape)}: axis {self.dim} has {n} elements, which cannot "
                f"be split into {self.unflattened_size}"
            )
        return _reshape(x, x.shape[:d] + self.unflattened_size + x.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
