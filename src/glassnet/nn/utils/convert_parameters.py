"""``parameters_to_vector`` / ``vector_to_parameters``, as ``torch.nn.utils``."""

from __future__ import annotations

from glassnet import ops
from glassnet.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable), in order."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: got no parameters")
    return ops.cat([ops.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place, no grad)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        got = vec.shape if isinstance(vec, Tensor) else type(vec).__name__
        raise TypeError(f"vector_to_parameters: expected a 1-D tensor, got {got}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: the vector has {vec.numel()} values but the parameters "
            f"have {total} together"
        )
    start = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[start : start + n].reshape(p.shape)
        p._bump()
        start += n
