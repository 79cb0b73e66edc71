"""How DistributedDataParallel moves gradient buckets between ranks: on the device or via host.

A bucket is one flat buffer holding the gradients of a few parameters. Where it lives decides
the cost of every step:

* ``host`` (CPU parameters, and the fallback): the buffer is a NumPy array; each gradient is
  copied into it (device-to-host for GPU parameters), reduced with MPI, and copied back.
* ``mpi-device`` (a CUDA-aware MPI, checked with ``mpi4py.MPI.Query_cuda_support()``): the
  buffer is a CuPy array; gradients are copied into it on the GPU, and MPI reads and writes
  device memory itself. The GPU stream is synchronized before each bucket's all-reduce (the
  gradients must be computed before MPI reads them). On the ``sim`` device this path runs with
  the simulated device's memory, so it is tested on a CPU.
* ``nccl`` (``cupy.cuda.nccl`` available, MPI not CUDA-aware): the buffer is a CuPy array and
  NCCL all-reduces it on the GPU stream, in order with the backward kernels (no wait at all);
  the communicator's id is broadcast over MPI once.

When the parameters are on a GPU but neither device transport is available, buckets fall back
to host copies and a notice says so once per process. ``GLASSNET_DDP_TRANSPORT`` (``host``,
``mpi-device`` or ``nccl``) forces a choice.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from glassnet.backend import Device
from glassnet.backend.device import nccl_module

TRANSPORTS = ("host", "mpi-device", "nccl")
_NOTICE = [False]  # the fallback notice was printed (once per process)


def choose_transport(device: Device, cuda_aware_mpi: bool, nccl: bool, forced: str | None = None):
    """The transport for buckets of parameters on ``device`` (see the module docstring).

    Returns ``(name, notice)``: ``notice`` is the one-time message to print when a GPU run
    falls back to host copies, else None.
    """
    if forced:
        if forced not in TRANSPORTS:
            raise ValueError(
                f"GLASSNET_DDP_TRANSPORT={forced!r}: expected one of {', '.join(TRANSPORTS)}"
            )
        return forced, None
    if device.type == "cpu":
        return "host", None
    if device.type == "sim":  # the simulated device: its memory is host memory MPI can read
        return "mpi-device", None
    if cuda_aware_mpi:
        return "mpi-device", None
    if nccl:
        return "nccl", None
    return "host", (
        "glassnet DistributedDataParallel: the parameters are on a GPU but MPI is not CUDA-aware "
        "and cupy.cuda.nccl is unavailable; gradients go through host memory (a device-to-host "
        "and a host-to-device copy per bucket per step). Install an MPI built with CUDA support "
        "or NCCL for CuPy to all-reduce on the GPU."
    )


def _cuda_aware_mpi() -> bool:  # pragma: no cover - depends on the MPI build
    try:
        from mpi4py import MPI

        return bool(MPI.Query_cuda_support())
    except Exception:
        return False


def _nccl_available() -> bool:
    return nccl_module() is not None


def make_transport(device: Device, comm_module):
    """The transport object for parameters on ``device`` (prints the fallback notice once)."""
    forced = os.environ.get("GLASSNET_DDP_TRANSPORT", "").strip() or None
    gpu = device.type == "cuda"
    name, notice = choose_transport(
        device,
        cuda_aware_mpi=gpu and _cuda_aware_mpi(),
        nccl=gpu and _nccl_available(),
        forced=forced,
    )
    if notice and not _NOTICE[0]:
        _NOTICE[0] = True
        print(notice, file=sys.stderr, flush=True)
    if name == "host":
        return HostTransport(comm_module)
    if name == "mpi-device":
        return MpiDeviceTransport(comm_module, device)
    return NcclTransport(comm_module, device)  # pragma: no cover - GPU only


class HostTransport:
    """Buckets in host memory, reduced with MPI."""

    name = "host"

    def __init__(self, comm_module):
        self.comm = comm_module

    def alloc(self, size: int, dtype) -> np.ndarray:
        return np.zeros(size, dtype=dtype)

    def fill(self, view, grad_data, previous=None) -> None:
        """``view[...] = grad (+ previous)``, copying device arrays to the host."""
        from glassnet.backend import to_device

        local = to_device(grad_data, "cpu")
        if previous is None:
            view[...] = local
        else:
            np.add(to_device(previous, "cpu"), local, out=view, casting="unsafe")

    def start(self, buffer):
        w = self.comm._W
        w.collectives += 1
        return w.comm.Iallreduce(w.mpi.IN_PLACE, buffer, op=w.mpi.SUM)

    def wait(self, request, what: str) -> None:
        self.comm._wait(request, what)

    def progress(self, requests) -> None:
        if requests:
            self.comm._W.mpi.Request.Testall(requests)

    def to_param(self, view, device):
        from glassnet.backend import to_device

        return to_device(view, device)


class MpiDeviceTransport(HostTransport):
    """Buckets in device memory, reduced by a CUDA-aware MPI reading device pointers (or, on
    the sim device, reading the simulated device's memory)."""

    name = "mpi-device"

    def __init__(self, comm_module, device: Device):
        super().__init__(comm_module)
        self.device = device
        self.xp = device.xp

    def alloc(self, size: int, dtype):
        return self.xp.zeros(size, dtype=dtype)

    def fill(self, view, grad_data, previous=None) -> None:
        if previous is None:
            view[...] = grad_data
        else:
            self.xp.add(previous, grad_data, out=view, casting="unsafe")

    def _raw(self, buffer):
        if self.device.type == "sim":
            return buffer._a  # the simulated device memory itself (no counted transfer)
        self.xp.cuda.get_current_stream().synchronize()  # pragma: no cover - GPU only
        return buffer  # pragma: no cover - mpi4py passes CuPy arrays' device pointers

    def start(self, buffer):
        w = self.comm._W
        w.collectives += 1
        return w.comm.Iallreduce(w.mpi.IN_PLACE, self._raw(buffer), op=w.mpi.SUM)

    def to_param(self, view, device):
        return view


class NcclTransport(MpiDeviceTransport):  # pragma: no cover - needs GPUs and NCCL
    """Buckets in device memory, all-reduced by NCCL on the current CUDA stream."""

    name = "nccl"

    def __init__(self, comm_module, device: Device):
        super().__init__(comm_module, device)
        nccl = self.nccl = nccl_module()
        uid = nccl.get_unique_id() if comm_module.rank() == 0 else None
        uid = comm_module.broadcast_object(uid, src=0)
        with self.xp.cuda.Device(device.index):
            self.nccl_comm = nccl.NcclCommunicator(
                comm_module.world_size(), uid, comm_module.rank()
            )

    _NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64"}

    def start(self, buffer):
        stream = self.xp.cuda.get_current_stream()
        kind = getattr(self.nccl, self._NCCL_TYPES[buffer.dtype.name])
        self.nccl_comm.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size, kind,
                                 self.nccl.NCCL_SUM, stream.ptr)  # fmt: skip
        return None  # ordered on the stream: nothing to wait for

    def wait(self, request, what: str) -> None:
        return None

    def progress(self, requests) -> None:
        return None
