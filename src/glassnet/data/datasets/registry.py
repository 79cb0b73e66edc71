"""The dataset registry: look datasets up by name."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from glassnet.data.datasets.cifar10 import load_cifar10
from glassnet.data.datasets.digits import load_digits
from glassnet.data.datasets.mnist import load_fashion_mnist, load_mnist
from glassnet.data.datasets.mnist1d import load_mnist1d
from glassnet.data.datasets.shakespeare import load_shakespeare

__all__ = ["DATASETS", "load_dataset"]

DATASETS: dict[str, str] = {
    "digits": "1,797 handwritten digits, 8x8 grey, 10 classes; bundled (offline default)",
    "mnist1d": "MNIST-1D: 5,000 generated 1-D digit signals of length 40, 10 classes; no download",
    "mnist": "MNIST: 70,000 handwritten digits, 28x28 grey, 10 classes; downloads 11MB",
    "fashion_mnist": "Fashion-MNIST: 70,000 clothes images, 28x28 grey, 10 classes; downloads 30MB",
    "cifar10": "CIFAR-10: 60,000 colour images, 32x32, 10 classes; downloads 170MB",
    "shakespeare": "8 Shakespeare plays, 1 MB of text for character models; bundled",
}

_LOADERS: dict[str, Callable[..., Any]] = {
    "digits": load_digits,
    "mnist1d": load_mnist1d,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "shakespeare": load_shakespeare,
}


def load_dataset(name: str, **kwargs: Any) -> Any:
    """Load a dataset by name; keyword arguments go to its loader (e.g. ``flatten=False``).

    Args:
        name: one of ``DATASETS`` (case-insensitive; "-" and "_" are the same).
        **kwargs: options of that dataset's ``load_*`` function.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` for the array datasets;
        ``(train_text, val_text, vocab)`` for "shakespeare".

    Example:
        >>> (x, y), (xt, yt) = load_dataset("digits")
        >>> x.shape
        (1437, 64)
    """
    if not isinstance(name, str):
        raise TypeError(f"load_dataset: name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in _LOADERS:
        close = difflib.get_close_matches(key, list(_LOADERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}.{hint}")
    return _LOADERS[key](**kwargs)
