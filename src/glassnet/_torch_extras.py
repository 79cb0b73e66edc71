"""PyTorch functions the ported programs use that glassnet had no name for: ``tril``,
``triu``, ``narrow`` and ``multinomial`` (with their Tensor methods).

``tril``/``triu``/``narrow`` are compositions of differentiable ops (a select against a constant
mask, a slice), so their gradients are those ops' gradients; ``multinomial`` draws integer
indices (no gradient) from glassnet's seeded generator of the input's device.
"""

from __future__ import annotations

from glassnet.backend import get_rng, xp_of
from glassnet.ops import where
from glassnet.tensor import Tensor


def _check(x, name: str, min_ndim: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a glassnet Tensor, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} needs a tensor with at least {min_ndim} dims, got shape {tuple(x.shape)}"
        )


def _triangle(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    name = "tril" if lower else "triu"
    _check(x, name, 2)
    if isinstance(diagonal, bool) or not isinstance(diagonal, int):
        raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
    arr = x._data if hasattr(x, "_data") else x.data
    xp = xp_of(arr)
    rows, cols = x.shape[-2], x.shape[-1]
    ones = xp.ones((rows, cols), dtype=bool)
    keep = xp.tril(ones, k=diagonal) if lower else xp.triu(ones, k=diagonal)
    return where(Tensor._make(keep, False), x, 0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims: ``y[..., i, j] = x[..., i, j] if j - i <=
    diagonal else 0``. Gradient: dL/dx = dL/dy on the kept entries, 0 elsewhere.

    >>> import glassnet as gn
    >>> gn.tril(gn.ones(3, 3)).numpy()
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]], dtype=float32)
    """
    return _triangle(input, diagonal, lower=True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims: ``y[..., i, j] = x[..., i, j] if j - i >=
    diagonal else 0``. Gradient: dL/dx = dL/dy on the kept entries, 0 elsewhere.

    >>> import glassnet as gn
    >>> gn.triu(gn.ones(2, 3), diagonal=1).numpy()
    array([[0., 1., 1.],
           [0., 0., 1.]], dtype=float32)
    """
    return _triangle(input, diagonal, lower=False)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` consecutive entries of dim ``dim`` from ``start`` (negative ``start`` counts
    from the end), PyTorch's ``narrow``: ``x.narrow(0, 2, 3) == x[2:5]``. Gradient: the slice's.

    >>> import glassnet as gn
    >>> gn.arange(6).narrow(0, 2, 3).numpy()
    array([2, 3, 4])
    """
    _check(input, "narrow", 1)
    ndim = input.ndim
    if not isinstance(dim, int) or not -ndim <= dim < ndim:
        raise IndexError(f"narrow: dim {dim!r} is out of range for shape {tuple(input.shape)}")
    dim %= ndim
    size = input.shape[dim]
    if start < 0:
        start += size
    if not (0 <= start <= size and length >= 0 and start + length <= size):
        raise IndexError(
            f"narrow: start {start} and length {length} do not fit dim {dim} of size {size}; "
            f"start + length must be at most {size}"
        )
    index = (slice(None),) * dim + (slice(start, start + length),)
    return input[index]


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:  # fmt: skip
    """Draw ``num_samples`` category indices per row, each with probability proportional to
    the row's non-negative weights (PyTorch's ``torch.multinomial``).

    Without replacement the draws of a row are distinct (sequential sampling, done in one
    pass as the top-k of log w + Gumbel noise); with replacement each draw is independent
    (inverse CDF). Returns int64 indices of shape (num_samples,) or (N, num_samples).

    >>> import glassnet as gn
    >>> gn.manual_seed(0)
    >>> gn.multinomial(gn.tensor([0.0, 1.0, 0.0]), 2, replacement=True).numpy()
    array([1, 1])
    """
    _check(input, "multinomial", 1)
    if generator is not None:
        raise ValueError("multinomial: generator= is not supported; seed with gn.manual_seed")
    if input.ndim > 2:
        raise ValueError(
            f"multinomial: input must be 1-D (C,) or 2-D (N, C) weights, got shape "
            f"{tuple(input.shape)}"
        )
    arr = input._data if hasattr(input, "_data") else input.data
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
    rng = get_rng(input.device)
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
        idx = xp.argsort(-with_noise, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(xp.int64)
    return Tensor._make(idx if input.ndim == 2 else idx[0], False)


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


for _fn in (tril, triu, narrow, multinomial):
    if not hasattr(Tensor, _fn.__name__):
        setattr(Tensor, _fn.__name__, _method(_fn))
