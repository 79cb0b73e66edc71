"""Collation: turning samples into batches of tensors, as ``torch.utils.data``'s
``default_collate`` (stack samples into a batch) and ``default_convert`` (convert one sample,
the ``DataLoader(batch_size=None)`` default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from glassnet.tensor import Tensor

__all__ = ["default_collate", "default_convert"]


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors, arrays and numbers are stacked along a new first dim into one tensor (Python
    floats become float64, ints int64, bools bool, as PyTorch); strings are kept as a list;
    tuples become a list of collated fields (namedtuples stay namedtuples), lists a list, and
    dicts a dict, collated key by key.

    Args:
        samples: a non-empty list of samples with the same structure and shapes.

    Returns:
        A tensor of shape (B, ...), or a list/tuple/dict of them.

    Example:
        >>> x, y = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
        >>> x.shape, y.tolist()
        ((2, 3), [1, 0])
    """
    if len(samples) == 0:
        raise ValueError("default_collate got an empty list of samples")
    first = samples[0]
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in samples):
            raise ValueError(
                f"default_collate: samples must all be sequences of length {len(first)}, got "
                f"{[type(s).__name__ for s in samples[:5]]}..."
            )
        fields = [default_collate([s[i] for s in samples]) for i in range(len(first))]
        return type(first)(*fields) if hasattr(first, "_fields") else fields
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, Tensor):
        arrays = [s.numpy() if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    elif isinstance(first, float):
        arrays = [np.asarray(s, dtype=np.float64) for s in samples]
    else:
        arrays = [np.asarray(s) for s in samples]
    if arrays[0].dtype.kind in "OUS":
        raise TypeError(
            f"default_collate: cannot batch samples of type {type(first).__name__}; give "
            "tensors, arrays, numbers, strings or dicts/lists/tuples of them, or a collate_fn"
        )
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(
            f"default_collate cannot stack samples of different shapes {sorted(shapes)}; "
            "pad or crop them to one shape, or pass a collate_fn"
        )
    return Tensor(np.stack(arrays))  # on the default device, as gn.tensor


def default_convert(data: Any) -> Any:
    """Convert one sample's NumPy arrays and NumPy scalars to tensors, as PyTorch's
    ``default_convert`` (what ``DataLoader(batch_size=None)`` applies to each sample).

    Tensors, Python numbers and strings stay as they are; dicts are converted value by value,
    namedtuples field by field, tuples become lists and lists stay lists (PyTorch's rules).

    Example:
        >>> default_convert((np.zeros(2), 3))
        [tensor([0., 0.], dtype=float64), 3]
    """
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and data.dtype.kind in "OUSV":
            return data  # arrays of strings or objects stay arrays (PyTorch)
        return Tensor(np.asarray(data))
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
