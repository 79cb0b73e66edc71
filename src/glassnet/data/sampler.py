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
    "WeightedRandomSampler",
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


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))``, index i drawn with probability
    ``weights[i] / sum(weights)`` (PyTorch's ``torch.utils.data.WeightedRandomSampler``).

    Use it to rebalance classes: ``weights[i] = 1 / count[label[i]]``. With ``replacement``
    every draw is independent (inverse CDF); without, the indices are distinct and drawn as
    ``torch.multinomial`` does (each next index with probability proportional to the weights
    of those not drawn yet), so ``num_samples`` may not exceed the number of non-zero weights.

    Args:
        weights: a 1-D sequence (list, NumPy array or Tensor) of non-negative weights, not
            necessarily summing to one.
        num_samples: how many indices per epoch (a positive int).
        replacement: draw with replacement (default True).
        generator: a CPU :class:`Generator`; default glassnet's global RNG (a fresh seed is
            drawn from it each epoch, so ``gn.manual_seed`` makes the order repeatable).

    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 3)
    >>> list(s)
    [1, 1, 1]
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                f"num_samples={num_samples!r}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"WeightedRandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        from glassnet.tensor import Tensor

        raw = weights.detach().cpu().numpy() if isinstance(weights, Tensor) else weights
        try:
            w = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"WeightedRandomSampler: weights must be a 1-D sequence of numbers, got "
                f"{type(weights).__name__} ({err})"
            ) from None
        if w.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                f"shape {tuple(w.shape)}"
            )
        if w.size == 0 or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(
                "WeightedRandomSampler: weights must be finite, non-negative and have a "
                f"positive sum (got {w.size} weights, min {w.min() if w.size else None}, sum "
                f"{w.sum()}); give every sample you want drawn a weight > 0"
            )
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} distinct indices without "
                f"replacement from {int((w > 0).sum())} non-zero weights; lower num_samples "
                "or pass replacement=True"
            )
        from glassnet.creation import tensor

        self.weights = tensor(w, dtype=np.float64)  # PyTorch keeps a double tensor
        self._w = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        # generator=None: a fresh seed from the global RNG each epoch (PyTorch draws from the
        # global generator), so re-seeding with gn.manual_seed repeats the order.
        rng = resolve_generator(self.generator)
        w, total = self._w, self.num_samples
        if self.replacement:
            cdf = np.cumsum(w / w.sum())
            for start in range(0, total, _CHUNK):
                u = 1.0 - rng.random(min(_CHUNK, total - start))  # (0, 1]: zero weights missed
                idx = np.minimum(np.searchsorted(cdf, u, side="left"), w.size - 1)
                yield from idx.tolist()
            return
        # Sequential draws without replacement == the top-k of log w + Gumbel noise.
        log_w = np.where(w > 0, np.log(np.where(w > 0, w, 1.0)), -np.inf)
        keys = log_w - np.log(-np.log(1.0 - rng.random(w.size)))
        yield from np.argsort(-keys, kind="stable")[:total].tolist()

    def __len__(self) -> int:
        return self.num_samples


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
