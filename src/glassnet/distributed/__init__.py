"""Data-parallel training on MPI: process group, collectives and DistributedDataParallel.

Run a script under ``mpirun -n R`` (or ``glassnet train --workers R``); in a plain process
everything here is a no-op with ``rank() == 0`` and ``world_size() == 1``.
"""

from glassnet.data.loader import DistributedSampler
from glassnet.distributed.comm import (
    CollectiveTimeoutError,
    abort,
    abort_job,
    all_reduce,
    available,
    barrier,
    broadcast,
    broadcast_object,
    init,
    is_initialized,
    is_main_process,
    launched_under_mpi,
    rank,
    world_size,
)
from glassnet.distributed.ddp import DistributedDataParallel
from glassnet.distributed.launch import launch, mpirun_command

__all__ = [
    "CollectiveTimeoutError",
    "DistributedDataParallel",
    "DistributedSampler",
    "abort",
    "abort_job",
    "all_reduce",
    "available",
    "barrier",
    "broadcast",
    "broadcast_object",
    "init",
    "is_initialized",
    "is_main_process",
    "launch",
    "launched_under_mpi",
    "mpirun_command",
    "rank",
    "world_size",
]
