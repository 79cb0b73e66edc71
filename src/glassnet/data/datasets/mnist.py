"""MNIST and Fashion-MNIST: downloaded on first use, verified by SHA-256, parsed with NumPy.

Both ship as four gzipped IDX files. IDX is a tiny big-endian format: two zero bytes, a
type code, the number of dimensions, one uint32 per dimension, then the raw values.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glassnet.data.download import cache_dir, download

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_MIRRORS",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
]

MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

# sha256 of each file, as listed in tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt.
MNIST_FILES = {
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}
FASHION_MNIST_FILES = {
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
}
# Sizes in bytes of the files above: a download is cut off 1% past them (an endless or wrong
# body never fills the disk); the checksum then decides.
_SIZES = {
    "mnist": {"train_images": 9_912_422, "train_labels": 28_881,
              "test_images": 1_648_877, "test_labels": 4_542},
    "fashion_mnist": {"train_images": 26_421_880, "train_labels": 29_515,
                      "test_images": 4_422_102, "test_labels": 5_148},
}  # fmt: skip


def _max_bytes(name: str, key: str) -> int | None:
    size = _SIZES.get(name, {}).get(key)
    return None if size is None else size + size // 100 + 65536


FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array.

    Args:
        path: the file; gzip compression is detected from its first two bytes.

    Returns:
        The array with the shape and dtype stored in the header (native byte order).

    Example:
        >>> read_idx("train-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
        (60000,)
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(
                f"{path}: broken gzip data ({exc}); delete the file and retry"
            ) from exc
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"{path} is not an IDX file: it must start with two zero bytes and a type code in "
            f"{sorted(_IDX_TYPES)}, got header bytes {raw[:4]!r}"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path}: IDX header announces {ndim} dimensions but the file is truncated"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({expected} bytes in all) but the "
            f"file holds {len(raw)} bytes; the file is truncated or corrupt, delete it and retry"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _load_idx_dataset(
    name: str,
    files: dict[str, tuple[str, str]],
    mirrors: Sequence[str],
    flatten: bool,
    root: str | os.PathLike | None,
    progress: bool,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    folder = Path(root) if root is not None else cache_dir() / name
    arrays = {}
    for key, (filename, sha256) in files.items():
        urls = [base.rstrip("/") + "/" + filename for base in mirrors]
        path = download(urls, sha256, folder / filename, progress=progress,
                        max_bytes=_max_bytes(name, key))  # fmt: skip
        arrays[key] = read_idx(path)
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{name} {split} files hold images of shape {images.shape} and labels of shape "
                f"{labels.shape}; expected (N, H, W) and (N,)"
            )
        x = (images.astype(np.float32) / 255.0)[:, None, :, :]
        splits.append((x.reshape(len(x), -1) if flatten else x, labels.astype(np.int64)))
    return splits[0], splits[1]


def load_mnist(
    flatten: bool = False,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST: 60,000 training and 10,000 test handwritten digits of 28x28 pixels.

    Downloaded on first use (about 11 MB) into ``cache_dir()/mnist`` and verified by
    SHA-256. Offline, place the four ``*-ubyte.gz`` files in that folder by hand.
    Source: Y. LeCun, C. Cortes and C. J. C. Burges, the MNIST database.

    Args:
        flatten: return x of shape (N, 784) instead of (N, 1, 28, 28).
        mirrors: base URLs tried in order (each must serve the four files).
        root: folder for the files (default: ``cache_dir()/mnist``).
        progress: show download progress bars.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x float32 in [0, 1], y int64 in 0..9.

    Example:
        >>> (x, y), (xt, yt) = load_mnist()  # doctest: +SKIP
        >>> x.shape, xt.shape  # doctest: +SKIP
        ((60000, 1, 28, 28), (10000, 1, 28, 28))
    """
    return _load_idx_dataset("mnist", MNIST_FILES, mirrors, flatten, root, progress)


def load_fashion_mnist(
    flatten: bool = False,
    mirrors: Sequence[str] = FASHION_MNIST_MIRRORS,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of clothes in 10 classes.

    Downloaded on first use (about 30 MB) into ``cache_dir()/fashion_mnist`` and verified by
    SHA-256. Class names are in ``FASHION_MNIST_CLASSES``. Source: H. Xiao, K. Rasul and
    R. Vollgraf, Zalando Research, 2017 (MIT licence).

    Args:
        flatten: return x of shape (N, 784) instead of (N, 1, 28, 28).
        mirrors: base URLs tried in order (each must serve the four files).
        root: folder for the files (default: ``cache_dir()/fashion_mnist``).
        progress: show download progress bars.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x float32 in [0, 1], y int64 in 0..9.

    Example:
        >>> (x, y), _ = load_fashion_mnist(flatten=True)  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        (60000, 784)
    """
    return _load_idx_dataset("fashion_mnist", FASHION_MNIST_FILES, mirrors, flatten, root, progress)
