"""``glassnet.nn.parallel``: PyTorch's module path, so scripts that import it run.

``DistributedDataParallel`` is glassnet's MPI data-parallel wrapper (see docs/distributed.md).
``DataParallel`` (one process driving several GPUs) is not supported: constructing it raises.
"""

from __future__ import annotations

__all__ = ["DataParallel"]  # and DistributedDataParallel, looked up on first use


class DataParallel:
    """Not supported: glassnet runs one device per process; use DistributedDataParallel."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        raise NotImplementedError(
            "nn.DataParallel is not supported by glassnet (one device per process); train the "
            "module directly, or use glassnet.nn.parallel.DistributedDataParallel with "
            "`glassnet train --workers N` / mpirun (docs/distributed.md)"
        )


def __getattr__(name: str):
    if name == "DistributedDataParallel":
        from glassnet.distributed import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'glassnet.nn.parallel' has no attribute {name!r}")
