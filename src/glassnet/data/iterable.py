"""Iterable-style datasets (``torch.utils.data.IterableDataset``): a stream of samples read
in order, with no index and possibly no length (a file read line by line, a generator).

The :class:`~glassnet.data.loader.DataLoader` reads one with :func:`iterable_batches`: it takes
``batch_size`` samples at a time from ``iter(dataset)`` and collates them (the last batch may
be smaller unless ``drop_last``); with ``batch_size=None`` each sample is converted alone.
There is no sampler and no shuffle. glassnet reads in this process (``num_workers`` has no
effect), so :func:`get_worker_info` returns None, as in PyTorch's main process: a dataset that
splits its stream by worker yields all of it once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from glassnet.data.dataset import Dataset

__all__ = ["ChainDataset", "IterableDataset", "get_worker_info", "iterable_batches"]


class IterableDataset(Dataset):
    """Base class of iterable-style datasets: implement ``__iter__`` yielding samples.

    ``ds1 + ds2`` chains two of them (:class:`ChainDataset`). ``__len__`` is optional; a
    DataLoader over a dataset without it has no length either.

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(3))
        >>> list(Count())
        [0, 1, 2]
    """

    _iterable = True  # marks the kind for ConcatDataset and the DataLoader

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(
            f"{type(self).__name__} is an IterableDataset: it has no index; iterate over it "
            "(or read it with a DataLoader)"
        )

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} (an IterableDataset) does not define __len__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after the other (``torch.utils.data.ChainDataset``).

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(Count(2) + Count(3))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[IterableDataset]):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only chains IterableDatasets; dataset {i} is a "
                    f"{type(d).__name__} (use ConcatDataset for map-style datasets)"
                )

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def get_worker_info() -> None:
    """PyTorch's ``get_worker_info``: None, since glassnet's DataLoader reads every dataset in
    the calling process (as PyTorch's main process, ``num_workers=0``)."""
    return None


def iterable_batches(
    dataset: IterableDataset,
    batch_size: int | None,
    drop_last: bool,
    collate: Callable[[Any], Any],
) -> Iterator[Any]:
    """The batches of one pass over ``dataset``: ``collate(list of batch_size samples)``, or
    ``collate(sample)`` for each sample when ``batch_size`` is None."""
    it = iter(dataset)
    if batch_size is None:
        for sample in it:
            yield collate(sample)
        return
    while True:
        samples = list(itertools.islice(it, batch_size))
        if not samples or (drop_last and len(samples) < batch_size):
            return
        yield collate(samples)
