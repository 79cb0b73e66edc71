"""Transforms: plain callables on NumPy batches (images are NCHW: batch, channel, height, width).

Deterministic transforms (``Normalize``, ``Standardize``, ``Flatten``) are pure functions of
their input. Random transforms (``RandomCrop``, ``RandomHorizontalFlip``, ``GaussianNoise``)
own a ``numpy.random.Generator`` built from their ``seed`` argument, so a seeded pipeline
produces the same augmented batches on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from glassnet.data.dataset import make_generator

__all__ = [
    "Compose",
    "Flatten",
    "GaussianNoise",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Standardize",
    "one_hot",
]


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def _check_images(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"{name} expects a batch of images of shape (N, C, H, W), got shape {x.shape}; "
            "reshape a single image with x[None] or flat pixels with x.reshape(N, C, H, W)"
        )
    return x


class Normalize:
    """Subtract a fixed ``mean`` and divide by a fixed ``std``, per channel.

    ``y = (x - mean) / std``, with ``mean``/``std`` broadcast along axis 1 (channels) when
    they are sequences. Use it with known dataset statistics (e.g. MNIST: 0.1307, 0.3081);
    to learn the statistics from data use :class:`Standardize`.

    Args:
        mean: a number or one number per channel.
        std: a positive number or one positive number per channel.

    Returns (when called on x of shape (N, C, ...)):
        A float array of the same shape (integer input becomes float32).

    Example:
        >>> Normalize(mean=[1.0, 2.0], std=[2.0, 4.0])(np.ones((1, 2, 1, 1))).ravel().tolist()
        [0.0, -0.25]
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError(
                f"Normalize: mean and std must be numbers or 1-D per-channel sequences, got "
                f"shapes {self.mean.shape} and {self.std.shape}"
            )
        if self.mean.ndim == self.std.ndim == 1 and self.mean.size != self.std.size:
            raise ValueError(
                f"Normalize: mean has {self.mean.size} values but std has {self.std.size}; "
                "give one value per channel to both"
            )
        if np.any(self.std <= 0) or not np.all(np.isfinite(self.std)):
            raise ValueError(f"Normalize: std must be positive and finite, got {self.std.tolist()}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _as_float(x)
        mean, std = self.mean, self.std
        if mean.ndim == 1 or std.ndim == 1:
            channels = max(mean.size, std.size)
            if x.ndim < 2 or x.shape[1] != channels:
                raise ValueError(
                    f"Normalize has {channels} per-channel values but got input of shape "
                    f"{x.shape}; axis 1 must hold the {channels} channels: (N, {channels}, ...)"
                )
            shape = (1, -1) + (1,) * (x.ndim - 2)
            mean = mean.reshape(shape) if mean.ndim else mean
            std = std.reshape(shape) if std.ndim else std
        return ((x - mean) / std).astype(x.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Standardize:
    """Scale features to zero mean and unit variance, with statistics fit on training data.

    ``fit(x_train)`` stores ``mean_ = x.mean(axis=0)`` and ``std_ = x.std(axis=0)``; calling the
    transform then computes ``(x - mean_) / std_`` (features whose ``std_`` is below ``eps``, i.e.
    constant features, are divided by 1 instead, so they become 0, not NaN). Fit on the
    training split only: fitting on validation or test data leaks their statistics into the
    model.

    Args:
        eps: standard deviations below this count as zero (constant feature).

    Example:
        >>> s = Standardize().fit(np.array([[0.0], [2.0]]))
        >>> s(np.array([[4.0]])).tolist()
        [[3.0]]
    """

    def __init__(self, eps: float = 1e-8):
        self.eps = float(eps)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Standardize:
        """Compute per-feature mean and std over axis 0 of ``x`` (shape (N, ...)); returns self."""
        x = _as_float(x)
        if x.ndim < 1 or x.shape[0] < 1:
            raise ValueError(f"Standardize.fit needs at least one sample, got shape {x.shape}")
        self.mean_ = x.mean(axis=0)
        self.std_ = x.std(axis=0)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.std_ is None:
            raise ValueError(
                "Standardize was called before fit(); call .fit(x_train) on the training split "
                "first, then apply it to every split"
            )
        x = _as_float(x)
        if x.shape[1:] != self.mean_.shape:
            raise ValueError(
                f"Standardize was fit on samples of shape {self.mean_.shape} but got a batch of "
                f"shape {x.shape}; expected (N, {', '.join(map(str, self.mean_.shape))})"
            )
        scale = np.where(self.std_ < self.eps, 1.0, self.std_)
        return ((x - self.mean_) / scale).astype(x.dtype, copy=False)

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"Standardize(eps={self.eps}, {fitted})"


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Encode integer class labels as one-hot rows.

    Args:
        labels: integer array of shape (N,) (any shape works) with values in [0, num_classes).
        num_classes: number of classes C.

    Returns:
        float32 array of shape labels.shape + (C,).

    Example:
        >>> one_hot(np.array([2, 0]), 3).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"one_hot expects integer labels, got dtype {labels.dtype}; convert with "
            "labels.astype(np.int64) if they are whole numbers"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes}), got values from {labels.min()} "
            f"to {labels.max()}; check num_classes"
        )
    return np.eye(num_classes, dtype=np.float32)[labels]


class Flatten:
    """Flatten every axis from ``start_axis`` on: (N, C, H, W) -> (N, C*H*W).

    Args:
        start_axis: first axis to merge (1 keeps the batch axis).

    Example:
        >>> Flatten()(np.zeros((2, 1, 8, 8))).shape
        (2, 64)
    """

    def __init__(self, start_axis: int = 1):
        self.start_axis = int(start_axis)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if not 0 <= self.start_axis <= x.ndim:
            raise ValueError(
                f"Flatten(start_axis={self.start_axis}) got input of shape {x.shape}; "
                f"start_axis must lie in [0, {x.ndim}]"
            )
        return x.reshape(*x.shape[: self.start_axis], -1)

    def __repr__(self) -> str:
        return f"Flatten(start_axis={self.start_axis})"


class RandomCrop:
    """Zero-pad each image by ``padding`` pixels, then crop a random ``size`` window from it.

    Each image of the batch gets its own offset, drawn uniformly from all valid positions.
    The crop is one fancy-indexing operation on the whole batch.

    Args:
        size: output (height, width), or an int for a square crop.
        padding: zeros added on each side before cropping.
        seed: int seed, a Generator, or None (seed drawn from glassnet's global RNG).

    Returns (when called on x of shape (N, C, H, W)):
        Array of shape (N, C, size_h, size_w), same dtype.

    Example:
        >>> RandomCrop(28, padding=4, seed=0)(np.ones((2, 1, 28, 28))).shape
        (2, 1, 28, 28)
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int = 0,
        seed: int | np.random.Generator | None = None,
    ):
        size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(size) != 2 or any(int(s) < 1 for s in size):
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.size = (int(size[0]), int(size[1]))
        self.padding = int(padding)
        self.rng = make_generator(seed)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_images(x, "RandomCrop")
        p = self.padding
        n, c, h, w = x.shape
        out_h, out_w = self.size
        if out_h > h + 2 * p or out_w > w + 2 * p:
            raise ValueError(
                f"RandomCrop(size={self.size}, padding={p}) cannot crop images of size "
                f"{(h, w)}: the padded image is {(h + 2 * p, w + 2 * p)}; lower size or raise "
                "padding"
            )
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        top = self.rng.integers(0, h + 2 * p - out_h + 1, size=n)
        left = self.rng.integers(0, w + 2 * p - out_w + 1, size=n)
        rows = (top[:, None] + np.arange(out_h))[:, None, :, None]
        cols = (left[:, None] + np.arange(out_w))[:, None, None, :]
        return padded[
            np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols
        ]

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p`` (independently per image).

    Args:
        p: probability of flipping an image.
        seed: int seed, a Generator, or None (seed drawn from glassnet's global RNG).

    Returns (when called on x of shape (N, C, H, W)):
        A new array of the same shape.

    Example:
        >>> RandomHorizontalFlip(p=1.0, seed=0)(np.arange(3.0).reshape(1, 1, 1, 3)).ravel().tolist()
        [2.0, 1.0, 0.0]
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = float(p)
        self.rng = make_generator(seed)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_images(x, "RandomHorizontalFlip")
        flip = self.rng.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise:
    """Add i.i.d. Gaussian noise: ``y = x + std * eps``, ``eps ~ N(0, 1)``.

    Args:
        std: noise standard deviation (>= 0).
        seed: int seed, a Generator, or None (seed drawn from glassnet's global RNG).

    Returns (when called on x of any shape):
        A float array of the same shape (integer input becomes float32).

    Example:
        >>> GaussianNoise(0.0, seed=0)(np.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, std: float, seed: int | np.random.Generator | None = None):
        if not std >= 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std = float(std)
        self.rng = make_generator(seed)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _as_float(x)
        noise = self.rng.standard_normal(x.shape).astype(x.dtype, copy=False)
        return x + self.std * noise

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"


class Compose:
    """Apply transforms one after another: ``Compose([f, g])(x) == g(f(x))``.

    Args:
        transforms: a sequence of callables.

    Example:
        >>> Compose([Flatten(), Normalize(0.5, 0.5)])(np.ones((1, 1, 2, 2))).tolist()
        [[1.0, 1.0, 1.0, 1.0]]
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]):
        transforms = list(transforms)
        for position, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(
                    f"Compose: item {position} is a {type(transform).__name__}, not a callable; "
                    "pass transform objects or functions"
                )
        self.transforms = transforms

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
