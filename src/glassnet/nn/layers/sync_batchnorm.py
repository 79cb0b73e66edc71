"""``SyncBatchNorm``: batch normalization whose statistics cover the whole data-parallel batch
(every process's part), PyTorch's module and its ``convert_sync_batchnorm``."""

from __future__ import annotations

from glassnet.autograd.grad_mode import no_grad
from glassnet.nn.layers.norm import _BN_MATH, _BatchNorm
from glassnet.nn.module import Module
from glassnet.ops.normalization import _affine_args
from glassnet.ops.normalization_sync import SyncBatchNorm as _SyncBatchNormOp
from glassnet.tensor import Tensor

#: The processes' collective operations, registered by ``glassnet.distributed`` when it is
#: imported (the training layer sits above nn, so nn never imports it): ``active()`` is True
#: when a job of more than one process runs, ``sum(array)`` all-reduces in place.
COLLECTIVE: dict = {"active": lambda: False, "sum": None}


def _sum_over_processes(array):
    return COLLECTIVE["sum"](array)


def _synchronizing() -> bool:
    return COLLECTIVE["active"]()


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over (N, C, *) input whose batch statistics, in training, cover the
    batches of all the processes of a data-parallel job (``glassnet.distributed``), as if one
    process saw the whole batch: per channel, the sums behind the mean and variance are
    all-reduced in forward, and the two sums of the input gradient in backward. With one
    process (or none initialized), and in eval mode, it is ``BatchNorm`` exactly, as in
    PyTorch. Parameter gradients are each process's own (``DistributedDataParallel``
    averages them).

    Use ``nn.SyncBatchNorm.convert_sync_batchnorm(model)`` to swap every BatchNorm1d/2d/3d of
    a model for it (the same parameters and running statistics), before wrapping the model
    in ``DistributedDataParallel``.
    """

    __doc__ = (__doc__ or "") + _BN_MATH

    _ranks = tuple(range(2, 9))  # (N, C) and (N, C, *spatial)
    _layout = "(N, C, *)"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        if process_group is not None:
            raise NotImplementedError(
                "SyncBatchNorm: process groups are not supported by glassnet, which "
                "synchronizes over all the processes of the job; pass process_group=None"
            )
        self.process_group = None

    def _check_input(self, x: Tensor) -> None:
        if isinstance(x, Tensor) and x.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
        if isinstance(x, Tensor) and x.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        super()._check_input(x)

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and _synchronizing()):
            return super().forward(x)  # PyTorch falls back to batch_norm here too
        self._check_input(x)
        params, flags = _affine_args("SyncBatchNorm", self.weight, self.bias, (x.shape[1],))
        stats: dict = {}
        out = _SyncBatchNormOp.apply(
            x, *params, reduce=_sum_over_processes, eps=float(self.eps), stats=stats, **flags
        )
        factor = self._count_batch()
        if self.track_running_stats:
            with no_grad():
                count = stats["count"]
                unbiased = stats["var"] * (count / max(count - 1, 1))
                for buffer, value in (
                    (self.running_mean, stats["mean"]),
                    (self.running_var, unbiased),
                ):
                    buffer._data *= 1 - factor
                    buffer._data += factor * value.astype(buffer.dtype)
                    buffer._bump()
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm1d/2d/3d (at any depth) replaced by a SyncBatchNorm
        holding the same parameters and running statistics; returns the new root when the
        root itself is a BatchNorm (PyTorch's helper)."""
        result = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            result = cls(module.num_features, module.eps, module.momentum, module.affine,
                         module.track_running_stats, process_group)  # fmt: skip
            if module.affine:
                result.weight, result.bias = module.weight, module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(result, name, getattr(module, name))
            result.train(module.training)
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(result, name, converted)
        return result
