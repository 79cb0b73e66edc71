"""The process group: MPI detection, collectives with timeouts, and all-ranks failure handling.

glassnet trains data-parallel on MPI through ``mpi4py`` (``pip install "glassnet[mpi]"``).
Every collective here is issued non-blocking (``Iallreduce``, ``Ibcast``, ``Ibarrier``) and
then polled, so that a wait can

- give up after a timeout (``init(timeout=...)`` or ``GLASSNET_DIST_TIMEOUT``, seconds) with
  a message naming this rank and the collective, then abort the whole job;
- notice that another rank failed (each rank's uncaught exception is sent to the others on a
  separate communicator before ``MPI_Abort``), and stop with that rank's error.

Run as a single process (no ``mpirun``) everything is a cheap no-op: ``rank() == 0``,
``world_size() == 1``, collectives return their input, and ``mpi4py`` is never imported.

Nothing is ever pickled: objects travel as JSON bytes (``broadcast_object``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

from glassnet.backend import to_device, xp_of
from glassnet.tensor import Tensor

__all__ = [
    "CollectiveTimeoutError",
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
    "launched_under_mpi",
    "rank",
    "world_size",
]

DEFAULT_TIMEOUT = 300.0
_ERROR_TAG = 7177  # on the private error communicator only
_LAUNCH_ENV = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")
_OPS = ("sum", "mean", "max", "min")


class CollectiveTimeoutError(RuntimeError):
    """A collective waited longer than the timeout (another rank hung, died or diverged)."""


class _World:
    """The state of this process's group; one instance, ``_W``."""

    def __init__(self) -> None:
        self.initialized = False
        self.mpi = None  # the mpi4py.MPI module, once imported
        self.comm = None
        self.err_comm = None  # a duplicate of comm that carries only failure notices
        self.rank = 0
        self.size = 1
        self.timeout = DEFAULT_TIMEOUT
        self.collectives = 0  # sequence number, printed in timeout messages
        self.aborting = False


_W = _World()


def available() -> bool:
    """True when ``mpi4py`` can be imported (it is not imported by this check)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def launched_under_mpi() -> bool:
    """True when this process was started by ``mpirun``/``mpiexec``/``srun`` (from the env)."""
    return any(key in os.environ for key in _LAUNCH_ENV)


def _env_timeout() -> float:
    raw = os.environ.get("GLASSNET_DIST_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"GLASSNET_DIST_TIMEOUT must be a number of seconds, got {raw!r}"
        ) from None
    if value <= 0:
        raise ValueError(f"GLASSNET_DIST_TIMEOUT must be > 0 seconds, got {value}")
    return value


def init(timeout: float | None = None) -> None:
    """Join the MPI job if this process was launched by MPI; otherwise do nothing.

    When to use it: first thing in a data-parallel script (``fit(distributed=True)`` and the
    ``glassnet train`` CLI call it for you). It is idempotent; :func:`rank` and
    :func:`world_size` call it on first use.

    Under MPI with more than one rank it also installs a ``sys.excepthook`` that, on an
    uncaught exception, prints the traceback tagged with the rank, tells every other rank
    (which then stop with ``rank k failed: <error>``) and calls ``MPI_Abort``, so a failure
    never leaves the other ranks hanging in a collective.

    Args:
        timeout: seconds a collective may wait for the other ranks before the job is aborted
            with a message naming the rank and the collective. Default: the environment
            variable ``GLASSNET_DIST_TIMEOUT`` or 300.

    Example:
        >>> import glassnet.distributed as dist
        >>> dist.init(); (dist.rank(), dist.world_size())   # a plain `python` process
        (0, 1)
    """
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(
                f"init(timeout=...) must be a positive number of seconds, got {timeout!r}"
            )
        _W.timeout = float(timeout)
    elif not _W.initialized:
        _W.timeout = _env_timeout()
    if _W.initialized:
        return
    _W.initialized = True
    if not launched_under_mpi():
        return
    if not available():
        size = os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE") or "?"
        if size == "1":
            return
        raise RuntimeError(
            f"this process was launched by MPI (world size {size}) but mpi4py is not installed; "
            'install it with `pip install "glassnet[mpi]"` (it needs an MPI library: on '
            "Debian/Ubuntu `apt-get install openmpi-bin libopenmpi-dev`)"
        )
    from mpi4py import MPI

    _W.mpi = MPI
    _W.comm = MPI.COMM_WORLD
    _W.rank, _W.size = _W.comm.Get_rank(), _W.comm.Get_size()
    if _W.size > 1:
        _W.err_comm = _W.comm.Dup()
        sys.excepthook = _excepthook


def is_initialized() -> bool:
    """True once :func:`init` has run (in any mode, including a single process)."""
    return _W.initialized


def _world() -> _World:
    if not _W.initialized:
        init()
    return _W


def rank() -> int:
    """This process's index in ``[0, world_size())``; 0 for a single process."""
    return _world().rank


def world_size() -> int:
    """Number of processes in the job; 1 for a single process."""
    return _world().size


def is_main_process() -> bool:
    """True on rank 0: the rank that prints progress and writes checkpoints and reports."""
    return _world().rank == 0


# -- failure handling ----------------------------------------------------------------------


def _notify_and_abort(summary: str, grace: float = 0.5) -> None:
    """Send ``summary`` to every other rank, give them ``grace`` s to print it, then abort."""
    w = _W
    if w.aborting:
        return
    w.aborting = True
    if w.err_comm is not None:
        data = np.frombuffer(summary.encode("utf-8", "replace")[:8192], dtype=np.uint8)
        requests = [
            w.err_comm.Isend(data, dest=peer, tag=_ERROR_TAG)
            for peer in range(w.size)
            if peer != w.rank
        ]
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not w.mpi.Request.Testall(requests):
            time.sleep(0.005)
        time.sleep(max(0.0, deadline - time.monotonic()))
    sys.stderr.flush()
    sys.stdout.flush()
    if w.comm is not None:
        w.comm.Abort(1)
    os._exit(1)  # pragma: no cover - Abort does not return


def _excepthook(exc_type, exc, tb) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(
        f"[glassnet.distributed] rank {_W.rank} of {_W.size} raised an exception; aborting "
        f"all ranks:\n{text}"
    )
    sys.stderr.flush()
    last = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    _notify_and_abort(f"rank {_W.rank} failed: {last}")


def abort(message: str) -> None:
    """Stop every rank of the job now, printing ``message`` here and on the other ranks.

    A single process just raises ``SystemExit(1)`` after printing.
    """
    sys.stderr.write(f"[glassnet.distributed] rank {_W.rank} aborting the job: {message}\n")
    sys.stderr.flush()
    if _W.size == 1:
        raise SystemExit(1)
    _notify_and_abort(f"rank {_W.rank} aborted: {message}")


def _remote_failure() -> tuple[int, str] | None:
    """(source rank, summary) of a failure notice sent to this rank, or None."""
    w = _W
    MPI = w.mpi
    status = MPI.Status()
    if w.err_comm is None or not w.err_comm.Iprobe(
        source=MPI.ANY_SOURCE, tag=_ERROR_TAG, status=status
    ):
        return None
    buf = np.empty(status.Get_count(MPI.BYTE), dtype=np.uint8)
    w.err_comm.Recv(buf, source=status.Get_source(), tag=_ERROR_TAG)
    return status.Get_source(), buf.tobytes().decode("utf-8", "replace")


def _check_remote_failure() -> None:
    notice = _remote_failure()
    if notice is None:
        return
    # The failing rank printed its error; repeating it here would show it once per rank.
    sys.stderr.write(
        f"[glassnet.distributed] rank {_W.rank} stopping because rank {notice[0]} failed\n"
    )
    sys.stderr.flush()
    _W.aborting = True
    _W.comm.Abort(1)


def abort_job(message: str, show: str | None = None) -> bool:
    """Stop every rank of a multi-rank job now because this rank failed with ``message``.

    ``show`` (the error as the user should read it) is printed here, once for the whole
    job: a rank other than 0 first waits a moment for a notice from rank 0 and stays
    silent when rank 0 failed too (both usually fail the same way). The other ranks get
    the notice within milliseconds if they wait in a collective (they stop with a short
    line that does not repeat the error) and are ended by ``MPI_Abort`` otherwise.

    Returns False, doing nothing, in a single process or a one-rank job (the caller then
    reports the error itself); otherwise it does not return.
    """
    w = _world()
    if w.size == 1 or w.comm is None:
        return False
    if w.aborting:  # already on the way out (e.g. a second error while aborting)
        os._exit(1)
    if w.rank != 0 and show is not None:
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            if _remote_failure() is not None:
                show = None
                break
            time.sleep(0.01)
    if show is not None:
        sys.stderr.write(show.rstrip("\n") + "\n")
        sys.stderr.flush()
    _notify_and_abort(f"rank {w.rank} failed: {message}")
    return True  # pragma: no cover - _notify_and_abort does not return


def _wait(request, what: str, timeout: float | None = None) -> None:
    """Poll ``request`` until done, watching for other ranks' failures and the timeout."""
    w = _W
    if request.Test():
        return
    start = time.monotonic()
    deadline = start + (w.timeout if timeout is None else timeout)
    spins = 0
    while not request.Test():
        spins += 1
        if spins % 64 == 0:
            _check_remote_failure()
            now = time.monotonic()
            if now > deadline:
                message = (
                    f"rank {w.rank} of {w.size} waited {now - start:.1f} s in {what} (collective "
                    f"#{w.collectives}) and not every rank joined: another rank hung, died or "
                    "called a different collective; aborting the job. If some ranks are just "
                    "slow (e.g. loading data), raise the limit with "
                    "glassnet.distributed.init(timeout=...) or GLASSNET_DIST_TIMEOUT"
                )
                sys.stderr.write(f"[glassnet.distributed] CollectiveTimeoutError: {message}\n")
                sys.stderr.flush()
                _notify_and_abort(f"rank {w.rank} timed out in {what}", grace=0.5)
                raise CollectiveTimeoutError(message)  # pragma: no cover
            # Non-blocking collectives advance only inside MPI calls (no progress thread), so
            # poll often: spin for the first millisecond, then yield the core to other
            # processes between polls; after 0.1 s (a straggler or a hang) sleep 1 ms.
            waited = now - start
            if waited > 0.1:
                time.sleep(1e-3)
            elif waited > 1e-3:
                time.sleep(0)


# -- collectives ---------------------------------------------------------------------------


def _check_op(op: str, name: str) -> None:
    if op not in _OPS:
        raise ValueError(f"{name}: op must be one of {_OPS}, got {op!r}")


def _host_buffer(value: Any, name: str) -> tuple[np.ndarray, Any]:
    """(contiguous host array, how to write the result back) for a Tensor/array/number."""
    if isinstance(value, Tensor):
        return np.ascontiguousarray(to_device(value._data, "cpu")), value
    if isinstance(value, np.ndarray):
        return np.ascontiguousarray(value), value
    if type(value).__module__.startswith("cupy"):
        return np.ascontiguousarray(to_device(value, "cpu")), value
    if isinstance(value, (bool, int, float, np.number)):
        return np.array([value]), None
    raise TypeError(
        f"{name} expects a Tensor, a NumPy/CuPy array or a number, got {type(value).__name__}"
    )


def _write_back(host: np.ndarray, target: Any) -> Any:
    if target is None:
        return host[0].item()
    data = target._data if isinstance(target, Tensor) else target
    if data is not host:
        data[...] = xp_of(data).asarray(host).astype(data.dtype, copy=False)
    return target


def all_reduce(value: Any, op: str = "sum") -> Any:
    """Combine ``value`` across all ranks: every rank gets the same result.

    When to use it: averaging gradients or metrics by hand. Tensors and arrays are reduced
    in place (and returned); a number is returned reduced.

    Math: for ``op="sum"``, ``x <- sum_r x_r``; ``"mean"`` divides that by ``world_size()``;
    ``"max"``/``"min"`` take the elementwise extreme. Integer arrays stay integer under
    ``"sum"``, ``"max"`` and ``"min"``.

    Args:
        value: a Tensor, a NumPy/CuPy array or a Python number; same shape and dtype on
            every rank.
        op: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        ``value`` itself (Tensor/array), or the reduced number.

    Example:
        >>> import numpy as np, glassnet.distributed as dist
        >>> dist.all_reduce(np.array([1.0, 2.0]), op="mean")   # one process: unchanged
        array([1., 2.])
    """
    _check_op(op, "all_reduce")
    w = _world()
    host, target = _host_buffer(value, "all_reduce")
    if op == "mean" and target is not None and host.dtype.kind not in "fc":
        raise TypeError(
            f"all_reduce(op='mean') needs a float array, got dtype {host.dtype}; convert it "
            "with .astype('float32') or reduce with op='sum' and divide"
        )
    if w.size == 1:
        return float(host[0]) if op == "mean" and target is None else _write_back(host, target)
    MPI = w.mpi
    mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
    w.collectives += 1
    request = w.comm.Iallreduce(MPI.IN_PLACE, host, op=mpi_op)
    _wait(request, f"all_reduce({op}, {host.nbytes} bytes)")
    if op == "mean":
        host = host / w.size if target is None else host * host.dtype.type(1.0 / w.size)
    return _write_back(host, target)


def broadcast(value: Any, src: int = 0) -> Any:
    """Copy ``value`` from rank ``src`` to every rank (in place for Tensors and arrays).

    Args:
        value: a Tensor, a NumPy/CuPy array (same shape and dtype on every rank) or a number.
        src: the rank whose value everyone gets.

    Returns:
        ``value`` itself (Tensor/array, now holding ``src``'s data), or ``src``'s number.

    Example:
        >>> import glassnet.distributed as dist
        >>> dist.broadcast(3.5)
        3.5
    """
    w = _world()
    if not 0 <= src < w.size:
        raise ValueError(f"broadcast: src must lie in [0, {w.size}), got {src}")
    host, target = _host_buffer(value, "broadcast")
    if w.size > 1:
        w.collectives += 1
        _wait(w.comm.Ibcast(host, root=src), f"broadcast(src={src}, {host.nbytes} bytes)")
    return _write_back(host, target)


def broadcast_object(obj: Any = None, src: int = 0) -> Any:
    """Send a JSON-serialisable object from rank ``src`` to every rank (never pickle).

    Args:
        obj: the object on rank ``src`` (ignored elsewhere): dicts, lists, strings, numbers.
        src: the sending rank.

    Returns:
        ``src``'s object, decoded from JSON, on every rank.

    Example:
        >>> import glassnet.distributed as dist
        >>> dist.broadcast_object({"epoch": 3})
        {'epoch': 3}
    """
    w = _world()
    if w.size == 1:
        return json.loads(json.dumps(obj))
    payload = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8) if w.rank == src else None
    length = int(broadcast(np.array([0 if payload is None else payload.size], np.int64), src)[0])
    buf = payload.copy() if payload is not None else np.empty(length, dtype=np.uint8)
    broadcast(buf, src)
    return json.loads(buf.tobytes().decode())


def barrier(timeout: float | None = None) -> None:
    """Wait until every rank has reached this call (subject to the collective timeout).

    Args:
        timeout: seconds for this call only (e.g. while rank 0 downloads a dataset); None
            uses the timeout given to :func:`init`.

    Example:
        >>> import glassnet.distributed as dist
        >>> dist.barrier()   # returns at once in a single process
    """
    w = _world()
    if w.size > 1:
        w.collectives += 1
        _wait(w.comm.Ibarrier(), "barrier", timeout)


def _register_with_sync_batchnorm() -> None:
    """nn.SyncBatchNorm reduces its statistics through these (nn cannot import this layer)."""
    from glassnet.nn.layers import sync_batchnorm

    sync_batchnorm.COLLECTIVE.update(
        active=lambda: is_initialized() and world_size() > 1,
        sum=lambda array: all_reduce(array, op="sum"),
    )


_register_with_sync_batchnorm()
