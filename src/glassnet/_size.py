"""``torch.Size`` and ``torch._assert``.

A tensor's ``shape`` in glassnet is a plain tuple; ``torch.Size`` is PyTorch's tuple
subclass, which programs build (``torch.Size([B, C])``) and compare with shapes. Here it is
a tuple with ``numel()``, equal to the same tuple, whose slices and sums stay Sizes.
"""

from __future__ import annotations

import math

__all__ = ["Size", "_assert"]


class Size(tuple):
    """A shape: a tuple of ints with ``numel()`` (the product of its entries)."""

    def __new__(cls, sizes=()):
        values = tuple(sizes)
        for v in values:
            if not isinstance(v, int) and not hasattr(v, "__index__"):
                raise TypeError(
                    f"torch.Size() takes an iterable of 'int' (item {len(values)} is "
                    f"'{type(v).__name__}')"
                )
        return super().__new__(cls, (int(v) for v in values))

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __getitem__(self, index):
        out = super().__getitem__(index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"


def _assert(condition, message) -> None:
    """``torch._assert(condition, message)``: raise AssertionError(message) when not
    condition (a traceable assert in PyTorch; a plain one here)."""
    if not condition:
        raise AssertionError(message)
