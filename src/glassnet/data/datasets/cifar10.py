"""CIFAR-10 (binary version): downloaded on first use, verified, parsed with NumPy.

Only ``cifar-10-binary.tar.gz`` is used, never the "python version", which is a pickle:
loading data must never execute code. The archive's members are read straight from the tar
stream (nothing is extracted to disk, so archive paths cannot escape the cache).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glassnet.data.download import cache_dir, download

__all__ = ["CIFAR10_CLASSES", "CIFAR10_FILE", "CIFAR10_MIRRORS", "load_cifar10", "read_cifar10"]

CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
# sha256 as listed in tensorflow_datasets/url_checksums/cifar10.txt (170,052,171 bytes).
CIFAR10_FILE = (
    "cifar-10-binary.tar.gz",
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
)
CIFAR10_BYTES = 170_052_171
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = ("test_batch.bin",)


def _parse_records(raw: bytes, member: str) -> tuple[np.ndarray, np.ndarray]:
    if len(raw) == 0 or len(raw) % _RECORD:
        raise ValueError(
            f"CIFAR-10 member {member} holds {len(raw)} bytes, not a positive multiple of the "
            f"{_RECORD}-byte record; the archive is corrupt, delete it and retry"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"CIFAR-10 member {member} has labels up to {labels.max()}, expected 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_cifar10(
    path: str | os.PathLike,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Parse ``cifar-10-binary.tar.gz`` into uint8 images and int64 labels.

    Args:
        path: the archive.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 of shape (N, 3, 32, 32).
    """
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in _TRAIN + _TEST:
                    found[base] = _parse_records(archive.extractfile(member).read(), base)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(
            f"{path} is not a readable tar.gz archive ({exc}); delete it and retry"
        ) from exc
    missing = [name for name in _TRAIN + _TEST if name not in found]
    if missing:
        raise ValueError(
            f"{path} lacks {missing}; expected the CIFAR-10 binary archive "
            "(cifar-10-binary.tar.gz with cifar-10-batches-bin/*.bin), not the python version"
        )
    splits = []
    for names in (_TRAIN, _TEST):
        splits.append(
            (
                np.concatenate([found[n][0] for n in names]),
                np.concatenate([found[n][1] for n in names]),
            )
        )
    return splits[0], splits[1]


def load_cifar10(
    flatten: bool = False,
    mirrors: Sequence[str] = CIFAR10_MIRRORS,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10: 50,000 training and 10,000 test colour images (32x32) in 10 classes.

    Downloads the binary archive (170 MB) on first use into ``cache_dir()/cifar10`` and
    verifies its SHA-256. Offline, place ``cifar-10-binary.tar.gz`` in that folder by hand.
    Class names are in ``CIFAR10_CLASSES``. Source: A. Krizhevsky, "Learning Multiple Layers
    of Features from Tiny Images", 2009.

    Args:
        flatten: return x of shape (N, 3072) instead of (N, 3, 32, 32).
        mirrors: base URLs tried in order (each must serve the archive).
        root: folder for the archive (default: ``cache_dir()/cifar10``).
        progress: show a download progress bar.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x float32 in [0, 1] (NCHW), y int64.

    Example:
        >>> (x, y), (xt, yt) = load_cifar10()  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        (50000, 3, 32, 32)
    """
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    filename, sha256 = CIFAR10_FILE
    folder = Path(root) if root is not None else cache_dir() / "cifar10"
    urls = [base.rstrip("/") + "/" + filename for base in mirrors]
    limit = CIFAR10_BYTES + CIFAR10_BYTES // 100  # an endless body is cut off past this
    path = download(urls, sha256, folder / filename, progress=progress, max_bytes=limit)
    (x, y), (xt, yt) = read_cifar10(path)
    x, xt = x.astype(np.float32) / 255.0, xt.astype(np.float32) / 255.0
    if flatten:
        x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    return (x, y), (xt, yt)
