"""DataLoader: turn a dataset into shuffled mini-batches of tensors (``torch.utils.data``).

Batches are glassnet tensors on the CPU (or lists, tuples and dicts of them), collated as
PyTorch's ``default_collate`` does; the training loop moves them to the model's device. The
order comes from a sampler that is never materialized. The loader owns its own
``numpy.random.Generator``, and its
``state_dict()`` (generator state, epoch and position inside the epoch, all JSON-safe) lets a
resumed run see exactly the same data order as an uninterrupted one.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from glassnet.data.collate import default_collate, default_convert
from glassnet.data.dataset import ArrayDataset, Dataset, Subset
from glassnet.data.iterable import IterableDataset, iterable_batches
from glassnet.data.sampler import BatchSampler, RandomSampler, SequentialSampler, resolve_generator
from glassnet.tensor import Tensor

__all__ = ["DataLoader", "DistributedSampler", "default_collate"]


def _as_tensors(batch: Any) -> Any:
    """A batch read by fancy indexing (arrays, or a tuple of them) as tensors (a list)."""
    if isinstance(batch, np.ndarray):
        return Tensor(batch)
    if isinstance(batch, tuple) and not hasattr(batch, "_fields"):
        return [_as_tensors(b) for b in batch]
    return batch


def _rng_state(rng: np.random.Generator) -> dict:
    """JSON-safe snapshot of a generator's state (big ints become strings)."""
    state = rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {key: str(value) for key, value in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _set_rng_state(rng: np.random.Generator, snapshot: dict) -> None:
    name = type(rng.bit_generator).__name__
    if not isinstance(snapshot, dict) or snapshot.get("bit_generator") != name:
        raise ValueError(
            f"DataLoader.load_state_dict: rng_state must come from state_dict() of a loader "
            f"using {name}, got {snapshot!r:.120}"
        )
    rng.bit_generator.state = {
        "bit_generator": name,
        "state": {key: int(value) for key, value in snapshot["state"].items()},
        "has_uint32": int(snapshot["has_uint32"]),
        "uinteger": int(snapshot["uinteger"]),
    }


def _batch_reader(dataset: Any) -> Callable[[np.ndarray], Any] | None:
    """Return a function reading a whole batch by fancy indexing, or None if there is none."""
    if isinstance(dataset, Subset):
        inner = _batch_reader(dataset.dataset)
        if inner is None:
            return None
        indices = dataset._positions
        return lambda batch_indices: inner(indices[batch_indices])
    get_batch = getattr(dataset, "get_batch", None)
    return get_batch if callable(get_batch) else None


_BATCH, _ERROR, _DONE = "batch", "error", "done"


class _Prefetcher:
    """Build batches in a background thread, at most ``depth`` ahead of the consumer.

    Exceptions raised while building a batch travel through the queue and are re-raised in
    the consumer's thread. ``close()`` stops the worker and joins it; it is called when the
    iteration ends, fails or is abandoned (generator closed or garbage collected).
    """

    def __init__(self, make_batch: Callable[[np.ndarray], Any], batches: Iterable, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(make_batch, batches), name="glassnet-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, item: tuple) -> bool:
        # A timed put so the worker notices a stop request while the queue is full.
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, make_batch: Callable[[np.ndarray], Any], batches: Iterable) -> None:
        try:
            for indices in batches:
                if self._stop.is_set() or not self._put((_BATCH, make_batch(indices))):
                    return
        except BaseException as exc:  # re-raised in the consumer thread
            self._put((_ERROR, exc))
            return
        self._put((_DONE, None))

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                kind, payload = self._queue.get(timeout=0.1)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("DataLoader prefetch thread stopped unexpectedly") from None
                continue
            if kind == _DONE:
                return
            if kind == _ERROR:
                raise payload
            yield payload

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10.0)


class DataLoader:
    """Iterate over a dataset in mini-batches of tensors, as ``torch.utils.data.DataLoader``.

    When to use it: every training loop. Pass any dataset (``__len__`` and ``__getitem__``:
    a :class:`~glassnet.data.dataset.Dataset`, a ``TensorDataset``) or, glassnet's shortcut,
    arrays directly (``DataLoader((x, y))``). For an ``ArrayDataset``/``TensorDataset`` (or a
    ``Subset`` of one) each batch is cut with one fancy-indexing call per array; other
    datasets are read sample by sample and stacked by ``collate_fn`` (default:
    :func:`default_collate`, PyTorch's rules). Batches are CPU tensors: a tensor, or a list
    (for tuple samples), dict, ... of them.

    Each ``iter(loader)`` is one epoch. The order comes from ``sampler`` (any iterable of
    indices, read lazily: never materialized), ``batch_sampler`` (lists of indices), or else
    ``shuffle``: a fresh permutation per epoch drawn from the loader's own generator, seeded by
    ``generator`` / ``seed`` (or, when both are None, by a seed drawn once from glassnet's
    global RNG, so ``gn.manual_seed`` makes it repeatable). ``state_dict()`` /
    ``load_state_dict()`` save and restore that generator, the epoch and the number of batches
    already served in the current epoch.

    Args:
        dataset: a dataset (a list of samples is one, as in PyTorch), an
            :class:`~glassnet.data.iterable.IterableDataset` (read in its own order, batches
            of ``batch_size`` consecutive samples; no shuffle or sampler), an array, or a
            tuple of arrays with equal first axes (glassnet's shortcut).
        batch_size: samples per batch (PyTorch's default, 1); the last batch may be smaller
            unless ``drop_last``. ``None`` turns batching off: each sample is served alone,
            converted by ``collate_fn`` (default :func:`default_convert`).
        shuffle: draw a new random order every epoch.
        sampler: an iterable of indices giving the order (e.g. ``RandomSampler``,
            :class:`DistributedSampler`); exclusive with ``shuffle``. If it has
            ``set_epoch(epoch)`` it is called each epoch.
        batch_sampler: an iterable of index lists (one per batch); exclusive with
            ``batch_size``/``shuffle``/``sampler``/``drop_last``.
        num_workers, pin_memory, timeout, ...: PyTorch's worker and pinning options, accepted
            and without effect (batches are read in this process; ``prefetch`` for a thread).
        collate_fn: turns a list of samples into a batch; disables the fast path.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: a ``glassnet.Generator`` for the shuffle order.
        seed: (glassnet) int seed of the loader's generator.
        prefetch: (glassnet) build up to this many batches ahead in a background thread.

    Returns (when iterated):
        Batches: a tensor of shape (B, ...), or a list/tuple/dict of them, B = ``batch_size``.

    Example:
        >>> x = np.arange(10, dtype=np.float32).reshape(5, 2); y = np.arange(5)
        >>> loader = DataLoader((x, y), batch_size=2)
        >>> [yb.tolist() for _, yb in loader]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        dataset: Dataset | np.ndarray | Sequence[np.ndarray],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[list[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        seed: int | None = None,
        prefetch: int = 0,
    ):
        iterable = isinstance(dataset, IterableDataset)
        if isinstance(dataset, np.ndarray):
            dataset = ArrayDataset(dataset)
        elif isinstance(dataset, tuple):  # glassnet's shortcut: DataLoader((x, y))
            dataset = ArrayDataset(*dataset)
        elif not iterable and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader expects a Dataset, an array or a tuple of arrays, got "
                f"{type(dataset).__name__}; wrap arrays as DataLoader((x, y))"
            )
        if iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError(
                "DataLoader: an IterableDataset yields its own order, so shuffle, sampler and "
                "batch_sampler are not allowed (shuffle inside its __iter__), as in PyTorch"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler is exclusive with batch_size, shuffle, sampler "
                    "and drop_last (the batch sampler decides them), as in PyTorch"
                )
            batch_size = getattr(batch_sampler, "batch_size", 1)
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None turns batching off (each sample is served alone) "
                "and is exclusive with drop_last, as in PyTorch"
            )
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
        ):
            raise TypeError(f"batch_size must be a positive int or None, got {batch_size!r}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, (int, np.integer)):
            raise TypeError(f"prefetch must be an int >= 0 (batches built ahead), got {prefetch!r}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 (batches built ahead), got {prefetch}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader got both shuffle=True and a sampler; the sampler decides the order, "
                "so pass shuffle=False (shuffle inside the sampler instead)"
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.prefetch = int(prefetch)
        self._sampler, self._batch_sampler, self._iterable = sampler, batch_sampler, iterable
        self.num_workers, self.pin_memory = num_workers, bool(pin_memory)
        self._rng = resolve_generator(generator, seed)
        # PyTorch's attributes: the samplers that give this order (the default ones share the
        # loader's generator, and draw the same permutation); None for an IterableDataset
        if sampler is None and not iterable:
            if shuffle:
                sampler = RandomSampler(dataset, generator=self._rng)
            else:
                sampler = SequentialSampler(dataset)
        if batch_sampler is None and self.batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._epoch = 0
        self._in_progress = False
        self._batches_done = 0
        self._epoch_start_state = _rng_state(self._rng)
        self._resume_batches = 0
        plain = collate_fn is None and not iterable and self.batch_size is not None
        reader = _batch_reader(dataset) if plain else None
        self._read_batch = reader

    @property
    def epoch(self) -> int:
        """Number of epochs started before the current one (0 during the first epoch)."""
        return self._epoch

    def _num_samples(self) -> int:
        if self._sampler is not None:
            if not hasattr(self._sampler, "__len__"):
                raise TypeError("len(DataLoader) needs a sampler with __len__")
            return len(self._sampler)
        return len(self.dataset)

    def __len__(self) -> int:
        if self._batch_sampler is not None:
            return len(self._batch_sampler)
        n = self._num_samples()
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _index_batches(self) -> Iterator:
        """This epoch's batches of indices, lazily (a sampler is read as it goes)."""
        source = self._batch_sampler if self._batch_sampler is not None else self._sampler
        if source is not None:
            set_epoch = getattr(source, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(self._epoch)
            if self._batch_sampler is not None:
                return (np.asarray(b, dtype=np.int64) for b in self._batch_sampler)
            if self.batch_size is None:  # no batching: one index at a time
                return iter(self._sampler)
            batches = BatchSampler(self._sampler, self.batch_size, self.drop_last)
            return (np.asarray(b, dtype=np.int64) for b in batches)
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        if self.batch_size is None:
            return iter(order.tolist())
        stops = range(self.batch_size, n + self.batch_size, self.batch_size)
        batches = [order[stop - self.batch_size : stop] for stop in stops]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return iter(batches)

    def _make_batch(self, indices: np.ndarray) -> Any:
        if self._iterable:  # iterable_batches made it already
            return indices
        if self.batch_size is None:  # one sample, converted (PyTorch's default_convert)
            return (self.collate_fn or default_convert)(self.dataset[int(indices)])
        if self._read_batch is not None:
            return _as_tensors(self._read_batch(indices))
        samples = [self.dataset[int(i)] for i in indices]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self) -> Iterator[Any]:
        if self._in_progress:  # the previous epoch was abandoned part-way: it still counts
            self._epoch += 1
        self._epoch_start_state = _rng_state(self._rng)
        if self._iterable:
            collate = self.collate_fn or (default_collate if self.batch_size else default_convert)
            batches = iterable_batches(self.dataset, self.batch_size, self.drop_last, collate)
        else:
            batches = self._index_batches()
        skip, self._resume_batches = self._resume_batches, 0
        self._batches_done = skip
        self._in_progress = True
        return self._serve(itertools.islice(batches, skip, None))

    def _serve(self, batches: Iterable) -> Iterator[Any]:
        prefetcher = None
        if self.prefetch > 0:
            prefetcher = _Prefetcher(self._make_batch, batches, self.prefetch)
            source: Iterable[Any] = prefetcher
        else:
            source = (self._make_batch(indices) for indices in batches)
        try:
            for batch in source:
                # Counted before the yield: once the consumer holds batch k, a state_dict()
                # taken then must resume at batch k + 1.
                self._batches_done += 1
                yield batch
        finally:
            if prefetcher is not None:
                prefetcher.close()
        self._epoch += 1
        self._in_progress = False
        self._batches_done = 0

    def state_dict(self) -> dict:
        """JSON-safe state: generator state, epoch and batches served in the current epoch.

        Returns:
            ``{"epoch": int, "batches_done": int, "rng_state": dict}``; saving it with a
            checkpoint and passing it to :meth:`load_state_dict` of a fresh loader (same
            dataset and options) reproduces the remaining data order exactly.
        """
        if self._in_progress:
            # The generator has already drawn this epoch's order; store the state from
            # before the draw so the resumed loader draws the same order and skips ahead.
            return {
                "epoch": self._epoch,
                "batches_done": self._batches_done,
                "rng_state": self._epoch_start_state,
            }
        return {"epoch": self._epoch, "batches_done": 0, "rng_state": _rng_state(self._rng)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state produced by :meth:`state_dict` (the next epoch resumes there)."""
        missing = {"epoch", "batches_done", "rng_state"} - set(state)
        if missing:
            raise ValueError(
                f"DataLoader.load_state_dict: missing keys {sorted(missing)}; pass the dict "
                "returned by DataLoader.state_dict()"
            )
        epoch, done = int(state["epoch"]), int(state["batches_done"])
        if epoch < 0 or done < 0 or (not self._iterable and done > len(self)):
            raise ValueError(
                f"DataLoader.load_state_dict: epoch={epoch}, batches_done={done} are not valid "
                f"for a loader with {len(self)} batches per epoch"
            )
        _set_rng_state(self._rng, state["rng_state"])
        self._epoch = epoch
        self._resume_batches = done
        self._batches_done = 0
        self._in_progress = False

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, prefetch={self.prefetch})"
        )


class DistributedSampler:
    """Give each of ``num_replicas`` processes a disjoint, equal-sized share of the indices.

    Pass it as ``DataLoader(..., sampler=sampler)``; the loader calls ``set_epoch`` so every
    epoch gets a new permutation that all replicas agree on (same ``seed``). The index list
    is padded by wrapping around so every replica gets ``ceil(N / num_replicas)`` indices
    (every rank must take the same number of steps); with ``drop_last=True`` the tail is
    dropped instead, giving ``floor(N / num_replicas)`` each and no sample twice.

    Args:
        num_samples: length of the dataset.
        num_replicas: number of processes.
        rank: this process, in ``[0, num_replicas)``.
        shuffle: permute the indices each epoch.
        seed: shared seed; all replicas must use the same one.
        drop_last: drop the tail of the order instead of padding it (PyTorch's option).

    Example:
        >>> list(DistributedSampler(5, num_replicas=2, rank=1, shuffle=False))
        [1, 3, 0]
    """

    def __init__(
        self,
        num_samples: int,
        num_replicas: int,
        rank: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if num_samples < 1 or num_replicas < 1:
            raise ValueError(
                f"DistributedSampler needs num_samples >= 1 and num_replicas >= 1, got "
                f"{num_samples} and {num_replicas}"
            )
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must lie in [0, {num_replicas}), got {rank}")
        self.num_samples = int(num_samples)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        if self.drop_last and self.num_samples < self.num_replicas:
            raise ValueError(
                f"DistributedSampler(drop_last=True) with {num_samples} samples and "
                f"{num_replicas} replicas would give every replica nothing; use drop_last=False"
            )

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (called by the DataLoader)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.num_replicas
        return math.ceil(self.num_samples / self.num_replicas)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        total = len(self) * self.num_replicas
        order = np.resize(order, total)  # wraps around to pad, or cuts the tail
        return iter(order[self.rank : total : self.num_replicas].tolist())
