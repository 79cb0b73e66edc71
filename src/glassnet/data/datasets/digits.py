"""The UCI handwritten digits (8x8), bundled with glassnet: the offline default dataset."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from glassnet.data.datasets._bundled import verified_path

__all__ = ["load_digits"]

NUM_TEST = 360


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"{path}: expected rows of 64 pixels + 1 label, got shape {table.shape}")
    return table[:, :64], table[:, 64]


def _stratified_split(y: np.ndarray, num_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a split holding ``num_test`` samples, each class in proportion."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quotas = counts * num_test / len(y)
    take = np.floor(quotas).astype(np.int64)
    # Largest remainders get the leftover test slots (stable sort: ties go to lower classes).
    leftovers = np.argsort(-(quotas - take), kind="stable")[: num_test - take.sum()]
    take[leftovers] += 1
    train, test = [], []
    for label, n_test in zip(classes, take):
        members = rng.permutation(np.flatnonzero(y == label))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def load_digits(
    flatten: bool = True, seed: int = 0, path: str | Path | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the 1,797 handwritten digits (8x8 pixels), split 1,437 train / 360 test.

    The UCI optical-recognition digits test set as distributed with scikit-learn
    (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0). It ships with glassnet, so it works
    offline; its sha256 is checked on every load. The split is stratified (each digit in
    proportion) and fixed by ``seed``.

    Args:
        flatten: return x of shape (N, 64); with False, images of shape (N, 1, 8, 8).
        seed: seed of the train/test split (0 is the documented split).
        path: read this file instead of the bundled one (it must have the same sha256).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x float32 in [0, 1] (pixels / 16), y int64
        of shape (N,) with values 0..9.

    Example:
        >>> (x, y), (xt, yt) = load_digits()
        >>> x.shape, xt.shape, float(x.max())
        ((1437, 64), (360, 64), 1.0)
    """
    x, y = _read_csv(verified_path("digits.csv.gz", path))
    x = (x / 16.0).astype(np.float32)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    train, test = _stratified_split(y, NUM_TEST, seed)
    return (x[train], y[train]), (x[test], y[test])
