"""``DistributedDataParallel``: average gradients across ranks while backward still runs.

How it works (the PyTorch DDP design, on MPI):

1. At construction rank 0's parameters and buffers are broadcast, so every rank starts equal.
2. Parameters are packed, in reverse registration order (roughly the order backward produces
   their gradients), into buckets of about ``bucket_cap_mb`` megabytes, one flat buffer per
   bucket: on the GPU when MPI is CUDA-aware or NCCL is available, else on the host (with a
   one-time notice for GPU parameters); see ``transport.py``.
3. A gradient hook on each parameter copies the parameter's local gradient into its slot as
   soon as backward computes it. When every slot of a bucket is filled, the bucket's
   non-blocking ``MPI_Iallreduce`` starts, while backward goes on computing earlier layers:
   communication overlaps computation. Buckets start strictly in index order, so every rank
   issues the same collectives in the same order.
4. When the last gradient arrives, all buckets are waited for (with the collective timeout)
   and every ``param.grad`` becomes the average over ranks:

       g_p <- (1 / R) * sum_{r=0}^{R-1} g_p^{(r)}

   With the loss a mean over each rank's batch of B, this is exactly the gradient of the mean
   loss over the global batch of R * B samples, so R ranks with batch B follow the same
   trajectory as one process with batch R * B (up to float rounding).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np

from glassnet.autograd.engine import topological_order
from glassnet.backend import to_device
from glassnet.distributed import comm
from glassnet.distributed.transport import make_transport
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """A flat buffer (on the host, or on the device: see transport.py) holding the gradients
    of a few parameters of one dtype."""

    __slots__ = ("index", "params", "offsets", "buffer", "ready", "filled", "request")

    def __init__(self, index: int, params: list, dtype: np.dtype, transport):
        self.index = index
        self.params = params
        self.offsets = []
        total = 0
        for p in params:
            self.offsets.append(total)
            total += p._data.size
        self.buffer = transport.alloc(total, dtype)
        self.ready = 0
        self.filled = [False] * len(params)
        self.request = None

    def view(self, slot: int):
        p, start = self.params[slot], self.offsets[slot]
        return self.buffer[start : start + p._data.size].reshape(p._data.shape)


class DistributedDataParallel(Module):
    """Wrap a model so that ``loss.backward()`` leaves gradients averaged over all ranks.

    When to use it: data-parallel training under ``mpirun -n R``. Give each rank a different
    shard of the data (:class:`~glassnet.data.DistributedSampler`), call the wrapper like the
    model, and step the optimizer as usual. In a single process it is a transparent wrapper.

    Math: after each backward, ``p.grad = (1/R) sum_r p.grad^{(r)}`` for every parameter ``p``
    (the mean over ranks of each rank's accumulated gradient); see the module docstring for the
    bucketed, overlapped schedule.

    Unlike PyTorch, ``state_dict()``/``load_state_dict()`` have no ``module.`` prefix: they are
    the wrapped model's, so checkpoints move freely between 1 and R ranks.

    Args:
        module: the model (an ``nn.Module``); identical architecture on every rank.
        bucket_cap_mb: target bucket size in megabytes (PyTorch default 25; see
            ``docs/distributed.md`` for the choice).
        broadcast_buffers: broadcast rank 0's buffers (e.g. BatchNorm running statistics)
            before every forward, as PyTorch does.
        find_unused_parameters: walk the graph after each forward and count parameters it
            does not reach as ready with a zero gradient. Needed when some parameters get no
            gradient in a step; costs one graph walk per step.

    Example:
        >>> import glassnet as gn, glassnet.distributed as dist
        >>> model = dist.DistributedDataParallel(gn.nn.Linear(3, 2))
        >>> model(gn.ones(4, 3)).sum().backward()   # one process: plain gradients
        >>> model.module.weight.grad.shape
        (2, 3)
    """

    def __init__(
        self,
        module: Module,
        bucket_cap_mb: float = 25.0,
        broadcast_buffers: bool = True,
        find_unused_parameters: bool = False,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}"
            )
        if not isinstance(bucket_cap_mb, (int, float)) or bucket_cap_mb <= 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be a positive number of "
                f"megabytes, got {bucket_cap_mb!r}"
            )
        self.module = module
        object.__setattr__(self, "bucket_cap_mb", float(bucket_cap_mb))
        object.__setattr__(self, "broadcast_buffers", bool(broadcast_buffers))
        object.__setattr__(self, "find_unused_parameters", bool(find_unused_parameters))
        object.__setattr__(self, "_sync_enabled", True)
        object.__setattr__(self, "_handles", [])
        object.__setattr__(self, "_buckets", [])
        object.__setattr__(self, "_slot_of", {})
        object.__setattr__(self, "_next_launch", 0)
        object.__setattr__(self, "_filled", 0)
        object.__setattr__(self, "_expected", 0)
        # Seconds the last backward waited for its all-reduces after its last gradient: the
        # communication that did not overlap with computation (plus any wait for slower ranks).
        object.__setattr__(self, "last_wait_seconds", 0.0)
        object.__setattr__(self, "_world", comm.world_size())
        object.__setattr__(self, "_has_buffers", any(b is not None for b in module.buffers()))
        if self._world > 1:
            self._broadcast_state(include_params=True)
            self._build_buckets()

    # -- setup ----------------------------------------------------------------------------------
    def _broadcast_state(self, include_params: bool) -> None:
        """Copy rank 0's parameters (optional) and buffers to every rank, one message per dtype."""
        tensors = [b for b in self.module.buffers() if b is not None]
        if include_params:
            tensors = [p for p in self.module.parameters()] + tensors
        by_dtype: dict[np.dtype, list[Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(np.dtype(t.dtype), []).append(t)
        for dtype, group in by_dtype.items():
            flat = np.concatenate([np.ravel(to_device(t._data, "cpu")) for t in group]).astype(
                dtype, copy=False
            )
            comm.broadcast(flat, src=0)
            start = 0
            for t in group:
                n = t._data.size
                t._data[...] = to_device(flat[start : start + n].reshape(t.shape), t.device)
                start += n

    def _build_buckets(self) -> None:
        cap = self.bucket_cap_mb * 2**20
        params = [p for p in self.module.parameters() if p.requires_grad]
        seen: set[int] = set()
        unique = []
        for p in params:  # tied weights appear once
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        current: list = []
        size = 0
        groups = []
        for p in reversed(unique):
            nbytes = p._data.size * np.dtype(p.dtype).itemsize
            if current and (size + nbytes > cap or current[0].dtype != p.dtype):
                groups.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            groups.append(current)
        device = unique[0].device if unique else "cpu"
        object.__setattr__(self, "_transport", make_transport(device, comm))
        for index, group in enumerate(groups):
            bucket = _Bucket(index, group, np.dtype(group[0].dtype), self._transport)
            self._buckets.append(bucket)
            for slot, p in enumerate(group):
                self._slot_of[id(p)] = (bucket, slot)
                self._handles.append(p.register_hook(self._make_hook(p, bucket, slot)))
        self._expected = len(unique)

    @property
    def bucket_sizes(self) -> list[int]:
        """Bytes of each gradient bucket, in launch order (empty in a single process)."""
        return [b.buffer.nbytes for b in self._buckets]

    # -- forward / backward ---------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._filled:
            self._unfinished_error()
        if self._world > 1 and self.broadcast_buffers and self.training and self._has_buffers:
            self._broadcast_state(include_params=False)
        out = self.module(*args, **kwargs)
        if self._world > 1 and self.find_unused_parameters and self._sync_enabled:
            self._mark_unused(out)
        return out

    def _mark_unused(self, out) -> None:
        roots = [
            t
            for t in (out if isinstance(out, (tuple, list)) else (out,))
            if isinstance(t, Tensor) and t.requires_grad
        ]
        reached: set[int] = set()
        for root in roots:
            reached.update(id(t) for t in topological_order(root))
        for bucket in self._buckets:
            for slot, p in enumerate(bucket.params):
                if id(p) not in reached:
                    if p.grad is None:
                        bucket.view(slot)[...] = 0
                    else:
                        self._transport.fill(bucket.view(slot), p.grad._data)
                    if self._slot_ready(bucket, slot):  # no parameter is reached at all
                        self._finish(None)

    def _make_hook(self, param: Tensor, bucket: _Bucket, slot: int):
        def hook(grad: Tensor):
            if not self._sync_enabled:
                return None
            if bucket.filled[slot]:  # its gradient already arrived: last backward unfinished
                self._unfinished_error()
            # The engine adds ``grad`` to ``param.grad`` after this hook; the bucket holds the
            # whole local gradient (earlier no_sync() steps included), which is what ranks
            # average.
            previous = None if param.grad is None else param.grad._data
            self._transport.fill(bucket.view(slot), grad._data, previous)
            if self._slot_ready(bucket, slot):
                return self._finish(param)
            return None

        return hook

    def _slot_ready(self, bucket: _Bucket, slot: int) -> bool:
        """Count one gradient in; launch full buckets in order. True when all have arrived."""
        bucket.filled[slot] = True
        bucket.ready += 1
        self._filled += 1
        buckets = self._buckets
        while self._next_launch < len(buckets) and buckets[self._next_launch].ready == len(
            buckets[self._next_launch].params
        ):
            b = buckets[self._next_launch]
            b.request = self._transport.start(b.buffer)
            self._next_launch += 1
        # Drive MPI's progress engine so launched reductions advance during backward.
        pending = [b.request for b in buckets[: self._next_launch] if b.request is not None]
        self._transport.progress(pending)
        return self._filled == self._expected

    def _finish(self, last_param: Tensor):
        """Wait for every bucket, then set each ``p.grad`` to the mean over ranks."""
        scale = 1.0 / self._world
        result = None
        start = time.perf_counter()
        for bucket in self._buckets:
            self._transport.wait(
                bucket.request,
                f"DistributedDataParallel gradient all_reduce "
                f"(bucket {bucket.index}, {bucket.buffer.nbytes} bytes)",
            )
            bucket.request = None
            if bucket.index == len(self._buckets) - 1:
                self.last_wait_seconds = time.perf_counter() - start
            bucket.buffer *= bucket.buffer.dtype.type(scale)
            for slot, p in enumerate(bucket.params):
                mean = self._transport.to_param(bucket.view(slot), p.device)
                if p is last_param:
                    # The engine will add the hook's return value to p.grad: clear p.grad so
                    # the result is exactly the mean.
                    p.grad = None
                    result = Tensor._make(mean, False)
                else:
                    p.grad = Tensor._make(mean.copy() if mean.base is not None else mean, False)
            bucket.ready = 0
            bucket.filled = [False] * len(bucket.params)
        self._filled = 0
        self._next_launch = 0
        return result

    def _unfinished_error(self) -> None:
        names = {id(p): name for name, p in self.module.named_parameters()}
        missing = [
            names.get(id(p), "?")
            for bucket in self._buckets
            for p, done in zip(bucket.params, bucket.filled)
            if not done
        ]
        raise RuntimeError(
            f"DistributedDataParallel: the previous backward produced no gradient for "
            f"{missing[:8]}, so the gradient all-reduce never finished. If some parameters "
            "are unused in a step, pass find_unused_parameters=True; if a backward was skipped "
            "on some rank, run it on every rank"
        )

    def sync_buffers(self, op: str = "mean") -> None:
        """All-reduce the float buffers (e.g. BatchNorm running statistics) across ranks.

        ``fit(distributed=True)`` calls it at the end of each epoch, so every rank evaluates
        and saves the same statistics: the mean of the ranks' running estimates.
        """
        if self._world == 1:
            return
        for b in self.module.buffers():
            if b is not None and np.dtype(b.dtype).kind == "f":
                comm.all_reduce(b, op=op)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this block backward only accumulates local gradients (no communication).

        Use it for gradient accumulation: the first backward outside the block averages the
        whole accumulated gradient across ranks.
        """
        previous = self._sync_enabled
        object.__setattr__(self, "_sync_enabled", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync_enabled", previous)

    # -- state: the wrapped model's, without a prefix ----------------------------------------
    def state_dict(self):
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict: bool = True):
        return self.module.load_state_dict(state_dict, strict=strict)

    def remove_hooks(self) -> None:
        """Detach the gradient hooks (the wrapped model is left as it was)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._buckets)}"
