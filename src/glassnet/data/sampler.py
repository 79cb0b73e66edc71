"""Samplers (the order a DataLoader reads a dataset in), as ``torch.utils.data``.

Samplers are iterables of indices that never materialize more than a chunk of them:
``RandomSampler(ds, replacement=True, num_samples=10**10)`` draws indices 65,536 at a time.
``Generator`` is PyTorch's seedable generator object (``generator=Generator().manual_seed(0)``,
:mod:`glassnet.generator`); the samplers draw on the host, from a CPU generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized

import numpy as np

from glassnet.data.dataset import make_generator
from glassnet.generator import Generator

__all__ = [
    "BatchSampler",
    "Generator",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
]

_CHUNK = 65536


def resolve_generator(generator=None, seed=None) -> np.random.Generator:
    """A NumPy generator from a :class:`Generator`, a NumPy generator, a seed, or None (a seed
    drawn from glassnet's global RNG, so ``manual_seed`` makes it repeatable)."""
    if isinstance(generator, Generator):
        if generator.device.type != "cpu":
            raise ValueError(
                f"the data pipeline shuffles on the host; got a generator on "
                f"'{generator.device}', pass a CPU one (gn.Generator())"
            )
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is not None:
        raise TypeError(f"generator must be a glassnet.Generator, got {type(generator).__name__}")
    return make_generator(seed)


class Sampler:
    """Base class: an iterable of dataset indices (``__iter__``), usually with ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order: a permutation (``replacement=False``) or ``num_samples`` independent
    uniform draws (``replacement=True``), drawn lazily in chunks.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: how many indices per epoch (default ``len(data_source)``); without
            replacement, more than the length repeats whole permutations, as PyTorch.
        generator: a :class:`Generator` (default: one seeded from glassnet's global RNG).
    """

    def __init__(self, data_source: Sized, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (
            isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0
        ):
            raise ValueError(
                f"RandomSampler: num_samples must be a positive int, got {num_samples!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._rng = None

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        if self._rng is None:
            self._rng = resolve_generator(self.generator)
        n, total = len(self.data_source), self.num_samples
        if self.replacement:
            for start in range(0, total, _CHUNK):
                yield from self._rng.integers(0, n, size=min(_CHUNK, total - start)).tolist()
            return
        for _ in range(total // n):
            yield from self._rng.permutation(n).tolist()
        if total % n:
            yield from self._rng.permutation(n)[: total % n].tolist()


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new permutation each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self.generator = generator
        self._rng = None

    def __iter__(self) -> Iterator[int]:
        if self._rng is None:
            self._rng = resolve_generator(self.generator)
        return iter([self.indices[i] for i in self._rng.permutation(len(self.indices))])

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size`` (the last may be smaller unless
    ``drop_last``), lazily.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
