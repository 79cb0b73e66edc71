"""What ``model.fit(..., distributed=True)`` adds to the training loop.

The loop in :mod:`glassnet.train.loop` stays the one readable loop; when ``FitState`` holds a
:class:`DistributedFit` the loop calls it at four points:

- setup: every rank gets its shard of the training data (a seeded
  :class:`~glassnet.data.DistributedSampler`, same seed on every rank) and of the validation
  data (a strided shard without padding, so each sample counts once); gradients are averaged
  by :class:`DistributedDataParallel`, which also broadcasts rank 0's weights;
- each step (:meth:`agree_step`): one small all-reduce makes the reported loss the mean over
  the global batch and makes "stop now" decisions (non-finite loss, Ctrl-C) the same on
  every rank, so no rank ever waits in a collective the others skipped;
- end of epoch and of evaluation (:meth:`reduce_metrics`): metric counters are summed over
  ranks, so ``accuracy`` is the accuracy on all the data, not on rank 0's shard;
- checkpoints: only rank 0 writes; the checkpoint records the world size, the per-rank batch
  size and the sampler seed, so a run can resume on a different number of ranks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from glassnet.data.loader import DataLoader, DistributedSampler
from glassnet.distributed import comm
from glassnet.distributed.ddp import DistributedDataParallel

__all__ = ["DistributedFit", "ShardSampler", "reduce_metric_state", "resume_loader_state"]

# Metric attributes that are sums over samples, so the global value is the sum over ranks.
_ADDITIVE = ("total", "count", "correct")


class ShardSampler:
    """Indices ``rank, rank + R, rank + 2R, ...`` below ``num_samples``: no padding, no shuffle.

    For evaluation, where ranks may process different numbers of batches (metrics are
    reduced once at the end) and every sample must count exactly once.

    Example:
        >>> list(ShardSampler(5, num_replicas=2, rank=1))
        [1, 3]
    """

    def __init__(self, num_samples: int, num_replicas: int, rank: int):
        self.num_samples, self.num_replicas, self.rank = num_samples, num_replicas, rank

    def __len__(self) -> int:
        return len(range(self.rank, self.num_samples, self.num_replicas))

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.num_samples, self.num_replicas))


def reduce_metric_state(metric: Any) -> None:
    """Sum a metric's counters over all ranks, in place (then ``result()`` is global).

    Handles glassnet's metrics: the counters ``total``, ``count``, ``correct`` and the
    confusion ``matrix`` (padded to the largest class count seen on any rank). A custom
    metric can define ``all_reduce(comm)`` to reduce its own state.
    """
    if comm.world_size() == 1:
        return
    sync = getattr(metric, "sync", None)
    if callable(sync):  # device sums not read yet
        sync()
    custom = getattr(metric, "all_reduce", None)
    if callable(custom):
        custom(comm)
        return
    names = [n for n in _ADDITIVE if isinstance(getattr(metric, n, None), (int, float))]
    if names:
        values = np.array([float(getattr(metric, n)) for n in names], dtype=np.float64)
        comm.all_reduce(values)
        for n, v in zip(names, values):
            setattr(metric, n, int(round(v)) if isinstance(getattr(metric, n), int) else float(v))
    matrix = getattr(metric, "matrix", None)
    if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
        size = comm.all_reduce(int(matrix.shape[0]), op="max")
        grown = np.zeros((size, size), dtype=np.int64)
        grown[: matrix.shape[0], : matrix.shape[1]] = matrix
        metric.matrix = comm.all_reduce(grown)
        seen = getattr(metric, "_seen", None)
        if isinstance(seen, np.ndarray):
            flags = np.zeros(size, dtype=np.int64)
            flags[: seen.size] = seen
            metric._seen = comm.all_reduce(flags, op="max").astype(bool)


def _sampler_seed() -> int:
    """A seed drawn on rank 0 from glassnet's global RNG and shared with every rank."""
    from glassnet.backend import get_rng

    seed = int(get_rng().integers(2**31)) if comm.rank() == 0 else 0
    return int(comm.broadcast_object(seed))


class DistributedFit:
    """The distributed side of one ``fit`` call (see the module docstring).

    Args:
        model: the user's model; it is not wrapped, the gradient hooks are attached to its
            parameters and removed by :meth:`close`.
        bucket_cap_mb: gradient bucket size for :class:`DistributedDataParallel`.
    """

    def __init__(self, model, bucket_cap_mb: float = 25.0):
        comm.init()
        self.model = model
        self.rank, self.world_size = comm.rank(), comm.world_size()
        self.bucket_cap_mb = bucket_cap_mb
        self.seed = _sampler_seed()
        self.sampler: DistributedSampler | None = None
        self.batch_size: int | None = None
        self.ddp: DistributedDataParallel | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- data -----------------------------------------------------------------------------------
    def train_loader(self, loader: DataLoader, shuffle: bool) -> DataLoader:
        """``loader`` rebuilt to read this rank's shard (its batch size is per rank)."""
        sampler = loader._sampler  # the one the user gave (loader.sampler has the default)
        self.batch_size = loader.batch_size
        if isinstance(sampler, DistributedSampler):
            self.sampler = sampler
            return loader
        if sampler is not None:
            raise ValueError(
                "fit(distributed=True) got a DataLoader with its own sampler; give it a "
                "glassnet.data.DistributedSampler (or no sampler) so each rank reads a shard"
            )
        self.sampler = DistributedSampler(
            len(loader.dataset), self.world_size, self.rank, shuffle=shuffle or loader.shuffle,
            seed=self.seed,
        )  # fmt: skip
        return self._rebuild(loader, self.sampler)

    def eval_loader(self, loader: DataLoader | None) -> DataLoader | None:
        """``loader`` reading every ``world_size``-th sample from this rank's index."""
        if loader is None or self.world_size == 1:
            return loader
        return self._rebuild(loader, ShardSampler(len(loader.dataset), self.world_size, self.rank))

    @staticmethod
    def _rebuild(loader: DataLoader, sampler) -> DataLoader:
        return DataLoader(
            loader.dataset, batch_size=loader.batch_size, drop_last=loader.drop_last,
            collate_fn=loader.collate_fn, prefetch=loader.prefetch, sampler=sampler,
        )  # fmt: skip

    # -- the loop's calls -----------------------------------------------------------------------
    def start(self) -> None:
        """Broadcast rank 0's weights and attach the gradient hooks (after any resume)."""
        self.ddp = DistributedDataParallel(self.model, bucket_cap_mb=self.bucket_cap_mb)

    def close(self) -> None:
        """Detach the gradient hooks from the model."""
        if self.ddp is not None:
            self.ddp.remove_hooks()
            self.ddp = None

    def agree_step(self, state, loss: float, reg: float, size: int) -> tuple[float, float]:
        """Global mean loss and regularization of this step; share the interrupt flag."""
        if self.world_size == 1:
            return loss, reg
        finite = math.isfinite(loss + reg)
        values = np.array(
            [loss * size if finite else 0.0, reg * size if finite else 0.0, size,
             0.0 if finite else 1.0, float(state.interrupt_requested)],
            dtype=np.float64,
        )  # fmt: skip
        comm.all_reduce(values)
        state.interrupt_requested = bool(values[4])
        if values[3]:  # some rank's loss is not finite: every rank stops before the update
            return (loss if not finite else math.nan), reg
        return float(values[0] / values[2]), float(values[1] / values[2])

    def end_epoch(self, metrics: list) -> None:
        """Reduce the epoch's training metrics and average buffers (BatchNorm statistics)."""
        self.reduce_metrics(metrics)
        if self.ddp is not None:
            self.ddp.sync_buffers()

    def reduce_metrics(self, metrics: list) -> None:
        for metric in metrics:
            reduce_metric_state(metric)

    def checkpoint_info(self) -> dict:
        """What a checkpoint records so it can resume on any number of ranks."""
        return {
            "world_size": self.world_size,
            "batch_size": self.batch_size,
            "sampler_seed": self.seed,
        }


def resume_loader_state(metadata: dict, state) -> dict | None:
    """The saved data-loader state, adapted to this run's world size and batch size.

    Epoch-end checkpoints resume anywhere unchanged. Mid-epoch ones (Ctrl-C) store how many
    batches each rank had taken; that is turned into global samples
    (``batches * batch_size * world_size``) and back into batches of this run, rounded down,
    so no sample of the epoch is skipped. A distributed run also takes back the sampler seed
    so the data order continues as before.
    """
    loader_state = metadata.get("loader_state")
    info = metadata.get("distributed") or {}
    helper = getattr(state, "distributed", None)
    loader = state.train_loader
    if helper is not None and helper.sampler is not None and "sampler_seed" in info:
        helper.seed = helper.sampler.seed = int(info["sampler_seed"])
    if not loader_state or not loader_state.get("batches_done"):
        return loader_state
    saved_world = int(info.get("world_size", 1))
    saved_batch = int(info.get("batch_size") or loader.batch_size)
    world = helper.world_size if helper is not None else 1
    if (saved_world, saved_batch) == (world, loader.batch_size):
        return loader_state
    samples = int(loader_state["batches_done"]) * saved_batch * saved_world
    return dict(loader_state, batches_done=samples // (loader.batch_size * world))
