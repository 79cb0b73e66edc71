"""``multinomial`` (with its Tensor method), a PyTorch function the ported programs use:
it draws integer indices (no gradient) from glassnet's seeded generator of the input's device,
or from ``generator=`` (a ``gn.Generator`` on that device).

(``tril``, ``triu`` and ``narrow``, first written here, are ops now: ops/indexing.py and
ops/shape_extra.py, with their Tensor methods.)
"""

from __future__ import annotations

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


for _fn in (multinomial,):
    if not hasattr(Tensor, _fn.__name__):
        setattr(Tensor, _fn.__name__, _method(_fn))
