"""Datasets: indexable collections of samples, and ways to split them.

A :class:`Dataset` is anything with ``__len__`` and ``__getitem__``. :class:`ArrayDataset`
wraps NumPy arrays that share their first axis (inputs, labels, ...) and lets the
:class:`~glassnet.data.loader.DataLoader` cut whole batches with one fancy-indexing call per
array instead of a Python loop over samples.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ArrayDataset",
    "ConcatDataset",
    "Dataset",
    "Subset",
    "TensorDataset",
    "make_generator",
    "random_split",
]


def _global_seed() -> int:
    """Draw a seed from glassnet's global RNG, or 0 when the backend cannot be imported."""
    try:
        from glassnet.backend.random import get_rng
    except Exception:  # the core may be mid-edit or absent; the data layer must still work
        return 0
    return int(get_rng().integers(2**63))


def make_generator(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """Return a NumPy ``Generator`` for a data-layer component.

    Args:
        seed: an existing ``Generator`` (returned as is), a non-negative int, or ``None`` to
            draw a seed once from glassnet's global RNG (so ``gn.manual_seed`` controls it).

    Returns:
        A ``numpy.random.Generator``.

    Example:
        >>> make_generator(0).integers(10, size=3).tolist()
        [8, 6, 5]
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = _global_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(
            f"seed must be a non-negative int, a numpy.random.Generator or None, got {seed!r}; "
            "pass e.g. seed=0"
        )
    return np.random.default_rng(int(seed))


class Dataset:
    """Base class of map-style datasets: ``len(ds)`` samples, ``ds[i]`` is sample ``i``.

    Subclass it and implement ``__len__`` and ``__getitem__``. A sample is a NumPy array or a
    tuple of arrays (for example ``(image, label)``).

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return np.float32(i * i)
        >>> Squares()[3]
        np.float32(9.0)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        """``ds1 + ds2``: the samples of ``ds1`` followed by those of ``ds2`` (PyTorch's)."""
        return ConcatDataset([self, other])


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other (``torch.utils.data.ConcatDataset``):
    index ``i`` falls in the dataset ``d`` with ``cumulative_sizes[d-1] <= i <
    cumulative_sizes[d]``, at position ``i - cumulative_sizes[d-1]`` there.

    Example:
        >>> ds = ConcatDataset([ArrayDataset(np.arange(3)), ArrayDataset(np.arange(10, 12))])
        >>> len(ds), ds[3], ds.cumulative_sizes
        (5, np.int64(10), [3, 5])
    """

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset (got an empty iterable)")
        for i, d in enumerate(self.datasets):
            if getattr(d, "_iterable", False):
                raise TypeError(
                    f"ConcatDataset does not take IterableDatasets (dataset {i}); chain them "
                    "with ChainDataset (or ds1 + ds2)"
                )
        self.cumulative_sizes = [int(n) for n in np.cumsum([len(d) for d in self.datasets])]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        index = _check_index(index, len(self), "ConcatDataset")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[d][index - (self.cumulative_sizes[d - 1] if d else 0)]


def _check_index(index: Any, length: int, owner: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(
            f"{owner} index must be an int, got {type(index).__name__} ({index!r}); "
            "use the DataLoader to read batches"
        )
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for length {length}")
    return int(index) % length


class ArrayDataset(Dataset):
    """A dataset over NumPy arrays that share their first (sample) axis.

    ``ds[i]`` is ``(a[i], b[i], ...)``, or ``a[i]`` alone when only one array was given.
    ``get_batch(indices)`` returns the same structure for many samples at once using fancy
    indexing, which is what the DataLoader uses (no per-sample Python loop).

    Args:
        *arrays: one or more arrays (or array-likes) with equal ``shape[0]``.
        transform: optional callable applied to batches of the first array (for example a
            :class:`~glassnet.data.transforms.RandomCrop`). Single samples are passed to it as
            a batch of one.

    Example:
        >>> x = np.zeros((5, 3), dtype=np.float32); y = np.arange(5)
        >>> ds = ArrayDataset(x, y)
        >>> len(ds), ds[2][1]
        (5, np.int64(2))
    """

    def __init__(self, *arrays: Any, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array, e.g. ArrayDataset(x, y)")
        converted = []
        for position, array in enumerate(arrays):
            array = np.asarray(array)
            if array.ndim == 0:
                raise ValueError(
                    f"ArrayDataset array {position} is a scalar; every array needs a first "
                    "(sample) axis, e.g. shape (N,) or (N, features)"
                )
            converted.append(array)
        lengths = {a.shape[0] for a in converted}
        if len(lengths) > 1:
            shapes = ", ".join(str(a.shape) for a in converted)
            raise ValueError(
                f"ArrayDataset arrays must have the same length along axis 0, got shapes "
                f"{shapes}; make sure inputs and labels hold the same number of samples"
            )
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.arrays: tuple[np.ndarray, ...] = tuple(converted)
        self.transform = transform

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index: int) -> Any:
        index = _check_index(index, len(self), "ArrayDataset")
        batch = self.get_batch(np.array([index]))
        if isinstance(batch, tuple):
            return tuple(part[0] for part in batch)
        return batch[0]

    def get_batch(self, indices: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        """Return the samples at ``indices`` stacked along a new first axis.

        Args:
            indices: integer array of shape (B,).

        Returns:
            An array of shape (B, ...) when the dataset holds one array, else a tuple of them.
        """
        parts = [array[indices] for array in self.arrays]
        if self.transform is not None:
            parts[0] = self.transform(parts[0])
        return parts[0] if len(parts) == 1 else tuple(parts)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"ArrayDataset({shapes})"


class TensorDataset(ArrayDataset):
    """``torch.utils.data.TensorDataset``: samples are tuples of tensors, ``ds[i] = (a[i],
    b[i], ...)``, from tensors (or arrays) that share their first dim. Batches are cut by
    fancy indexing, as for :class:`ArrayDataset`.

    Example:
        >>> import glassnet as gn
        >>> ds = TensorDataset(gn.zeros(5, 3), gn.arange(5))
        >>> x, y = ds[2]
        >>> x.shape, y.item()
        ((3,), 2)
    """

    def __init__(self, *tensors: Any):
        super().__init__(*(t.numpy() if hasattr(t, "numpy") else t for t in tensors))

    def __getitem__(self, index: Any) -> tuple:
        """``(a[index], b[index], ...)``: an int gives one sample; a slice, a list or an
        integer or bool tensor/array indexes every tensor with it (PyTorch's)."""
        from glassnet.tensor import Tensor

        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            index = _check_index(index, len(self), "TensorDataset")
        elif isinstance(index, Tensor):
            index = index.numpy()
        elif isinstance(index, list):
            index = np.asarray(index)
        elif not isinstance(index, (slice, np.ndarray)):
            raise TypeError(
                f"TensorDataset index must be an int, a slice, a list or an integer/bool "
                f"tensor or array, got {type(index).__name__}"
            )
        return tuple(Tensor._make(np.asarray(array[index]), False) for array in self.arrays)

    @property
    def tensors(self) -> tuple:
        """The tensors (sharing the dataset's arrays), as PyTorch's ``TensorDataset.tensors``."""
        from glassnet.tensor import Tensor

        return tuple(Tensor._make(array, False) for array in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(array[indices] for array in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """A view of ``dataset`` restricted to ``indices`` (in that order).

    Args:
        dataset: the dataset to view.
        indices: sequence of valid integer indices into ``dataset``.

    Example:
        >>> sub = Subset(ArrayDataset(np.arange(10)), [7, 3])
        >>> len(sub), sub[0]
        (2, np.int64(7))
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray):
        self.dataset = dataset
        self.indices = indices  # kept as given (PyTorch); checked and mirrored in _positions

    @property
    def indices(self) -> Any:
        """The indices into ``dataset``, as given (a list from :func:`random_split`)."""
        return self._indices

    @indices.setter
    def indices(self, indices: Any) -> None:
        dataset = self.dataset
        given = indices
        indices = np.asarray(indices.numpy() if hasattr(indices, "_vc") else indices)
        if indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
            raise TypeError(
                f"Subset indices must be a 1-D sequence of ints, got dtype {indices.dtype} "
                f"and shape {indices.shape}"
            )
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(
                f"Subset indices must lie in [0, {n}) for a dataset of length {n}, got values "
                f"from {indices.min()} to {indices.max()}"
            )
        self._indices, self._positions = given, indices.astype(np.int64)

    def __len__(self) -> int:
        return int(self._positions.shape[0])

    def __getitem__(self, index: Any) -> Any:
        """``dataset[indices[index]]``; a list of positions (or a slice) reads
        ``dataset[[indices[i] for i in index]]``, as PyTorch's."""
        if isinstance(index, slice):
            index = list(range(len(self)))[index]
        if isinstance(index, list):
            for i in index:
                _check_index(i, len(self), "Subset")
            return self.dataset[[int(self._positions[i]) for i in index]]
        index = _check_index(index, len(self), "Subset")
        return self.dataset[int(self._positions[index])]


def _split_lengths(total: int, lengths: Sequence[int | float]) -> list[int]:
    if len(lengths) == 0:
        raise ValueError("random_split needs at least one length, e.g. [0.8, 0.2]")
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in lengths):
        if any(n < 0 for n in lengths) or sum(lengths) != total:
            raise ValueError(
                f"random_split lengths {list(lengths)} must be non-negative and sum to the "
                f"dataset length {total}; or pass fractions that sum to 1, e.g. [0.8, 0.2]"
            )
        return [int(n) for n in lengths]
    fractions = [float(f) for f in lengths]
    if any(f < 0 or f > 1 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"random_split fractions {list(lengths)} must lie in [0, 1] and sum to 1 "
            f"(they sum to {sum(fractions):g}); or pass ints that sum to {total}"
        )
    counts = [int(np.floor(f * total)) for f in fractions]
    # Hand the samples lost to flooring out one each, round-robin, like PyTorch does.
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: Any = None,
    seed: int | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets.

    Args:
        dataset: the dataset to split.
        lengths: subset sizes as ints summing to ``len(dataset)``, or fractions summing to 1
            (samples left over by rounding go to the first subsets, one each).
        generator: a ``glassnet.Generator`` for the permutation (PyTorch's argument); when
            None, ``seed`` seeds it, and without a seed glassnet's global generator draws it
            (seeded by ``glassnet.manual_seed``, as PyTorch's default generator).
        seed: seed of the permutation; the same seed gives the same split.

    Returns:
        A list of :class:`Subset`, one per entry of ``lengths``.

    Example:
        >>> train, val = random_split(ArrayDataset(np.arange(10)), [0.8, 0.2])
        >>> len(train), len(val)
        (8, 2)
    """
    counts = _split_lengths(len(dataset), lengths)
    # a glassnet.Generator carries its NumPy generator as .rng (glassnet.generator)
    if generator is not None:
        if getattr(getattr(generator, "device", None), "type", "cpu") != "cpu":
            raise ValueError(
                f"random_split: the permutation is drawn on the host; got a generator on "
                f"'{generator.device}', pass a CPU one (gn.Generator())"
            )
        rng = getattr(generator, "rng", generator)
    else:
        rng = make_generator(seed)  # None: a seed drawn from the global generator
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0, *counts])
    return [
        Subset(dataset, order[start:stop].tolist()) for start, stop in zip(bounds[:-1], bounds[1:])
    ]
