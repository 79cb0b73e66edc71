"""``multinomial`` (with its Tensor method), a PyTorch function the ported programs use:
it draws integer indices (no gradient) from glassnet's seeded generator of the input's device,
or from ``generator=`` (a ``gn.Generator`` on that device).

(``tril``, ``triu`` and ``narrow``, first written here, are ops now: ops/indexing.py and
ops/shape_extra.py, with their Tensor methods.)
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import xp_of
from glassnet.generator import rng_for
from glassnet.tensor import Tensor


def _check(x, name: str, min_ndim: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a glassnet Tensor, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} needs a tensor with at least {min_ndim} dims, got shape {tuple(x.shape)}"
        )


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:  # fmt: skip
    """Draw ``num_samples`` category indices per row, each with probability proportional to
    the row's non-negative weights (PyTorch's ``torch.multinomial``).

    Without replacement the draws of a row are distinct (sequential sampling, done in one
    pass as the top-k of log w + Gumbel noise); with replacement each draw is independent
    (inverse CDF). Returns int64 indices of shape (num_samples,) or (N, num_samples).

    >>> import glassnet as gn
    >>> _ = gn.manual_seed(0)
    >>> gn.multinomial(gn.tensor([0.0, 1.0, 0.0]), 2, replacement=True).numpy()
    array([1, 1])
    """
    _check(input, "multinomial", 1)
    if input.ndim > 2:
        raise ValueError(
            f"multinomial: input must be 1-D (C,) or 2-D (N, C) weights, got shape "
            f"{tuple(input.shape)}"
        )
    arr = input._data if hasattr(input, "_data") else input._data
    xp = xp_of(arr)
    w = arr.astype(xp.float64).reshape(-1, arr.shape[-1])
    n, c = w.shape
    total = w.sum(axis=1, keepdims=True)
    if bool((w < 0).any()) or not bool(xp.isfinite(w).all()) or bool((total <= 0).any()):
        raise ValueError(
            "multinomial: every row of weights must be finite, non-negative and have a "
            "positive sum (probabilities, e.g. from softmax)"
        )
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    rng = rng_for("multinomial", generator, input.device)  # draws on the input's device
    if replacement:
        cdf = xp.cumsum(w / total, axis=1)
        u = 1.0 - rng.random((n, num_samples))  # (0, 1]: a zero-weight category is never hit
        idx = (cdf[:, None, :] < u[:, :, None]).sum(axis=2)
        idx = xp.minimum(idx, c - 1)
    else:
        if num_samples > int((w > 0).sum(axis=1).min()):
            raise ValueError(
                f"multinomial: cannot draw {num_samples} distinct categories without "
                "replacement from a row with fewer non-zero weights; pass replacement=True"
            )
        log_w = xp.where(w > 0, xp.log(xp.where(w > 0, w, 1.0)), -xp.inf)
        with_noise = log_w - xp.log(-xp.log(1.0 - rng.random((n, c))))
        idx = xp.argsort(-with_noise, axis=1)[:, :num_samples]  # continuous keys: no ties
    idx = idx.astype(xp.int64)
    return Tensor._make(idx if input.ndim == 2 else idx[0], False)


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


# -- page-locked and shared memory: host-transfer details without a meaning for the values ------
def pin_memory(self: Tensor, device=None) -> Tensor:
    """``x.pin_memory()``: PyTorch copies a CPU tensor into page-locked memory for faster
    host-to-GPU copies; glassnet has no page-locked pool, so this is a copy (a new tensor
    with the same values, as PyTorch's result is a new tensor)."""
    if self._data.__class__ is not np.ndarray:
        raise RuntimeError(f"cannot pin a tensor on {self.device}: only CPU memory can be pinned")
    return self.clone()


def is_pinned(self: Tensor, device=None) -> bool:
    """False: glassnet never holds page-locked memory."""
    return False


def share_memory_(self: Tensor) -> Tensor:
    """``x.share_memory_()``: glassnet's multi-process tools share data their own way, so this
    is a no-op that returns the tensor itself, as PyTorch's does once shared."""
    return self


def is_shared(self: Tensor) -> bool:
    """False: ``share_memory_`` moves nothing (see there)."""
    return False


for _fn in (multinomial, pin_memory, is_pinned, share_memory_, is_shared):
    if not hasattr(Tensor, _fn.__name__):
        setattr(Tensor, _fn.__name__, _method(_fn))


# -- memory formats ----------------------------------------------------------------------------
class memory_format:  # noqa: N801 - PyTorch's class name
    """PyTorch's memory formats (``torch.channels_last``, ...): how a tensor's elements are laid
    out in memory, never what they are. glassnet keeps every tensor row-major
    (``contiguous_format``), so ``x.to(memory_format=...)``, ``model.to(memory_format=...)``,
    ``contiguous(memory_format=...)``, ``clone(memory_format=...)`` and the ``*_like``
    functions accept one and compute the same values as PyTorch; asking whether a tensor *is*
    laid out channels-last (``is_contiguous(memory_format=channels_last)``) raises."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"glassnet.{self._name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
_RANK = {channels_last: 4, channels_last_3d: 5}


def check_memory_format(value, where: str, shape=None):
    """``value`` if it is a memory format (or None) that fits a tensor of ``shape``, else
    PyTorch's error: a TypeError for another type, a ValueError for channels_last on a
    tensor that is not 4-d (5-d for channels_last_3d)."""
    if value is None:
        return None
    if not isinstance(value, memory_format):
        raise TypeError(
            f"{where}: memory_format must be glassnet.contiguous_format, channels_last, "
            f"channels_last_3d or preserve_format, got {type(value).__name__}"
        )
    rank = _RANK.get(value)
    if rank is not None and shape is not None and len(shape) != rank:
        raise ValueError(
            f"{where}: {value!r} needs a {rank}-d tensor, got shape {tuple(shape)} (PyTorch's rule)"
        )
    return value
