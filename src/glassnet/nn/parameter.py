"""``Parameter``: a tensor that a module owns and an optimizer updates."""

from __future__ import annotations

from glassnet.tensor import Tensor, _as_array


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` that registers itself when assigned to a
    :class:`~glassnet.nn.Module` attribute (``self.weight = Parameter(...)``).

    >>> import glassnet as gn
    >>> p = gn.nn.Parameter(gn.zeros(2, 3))
    >>> p.requires_grad, p.shape
    (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        arr = _as_array(data)
        if arr.dtype.kind != "f":
            raise TypeError(f"a Parameter must hold floats, got dtype {arr.dtype}")
        if isinstance(data, Tensor) or not arr.flags.writeable:
            arr = arr.copy() if not arr.flags.writeable else arr
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
