"""``glassnet train --workers N``: start an MPI job on this machine running the same command.

The job is ``mpirun -n N <python> -m glassnet <args without --workers>``, plus what a
container or a laptop needs with Open MPI:

- ``--allow-run-as-root`` when running as root (containers), since Open MPI refuses otherwise;
- ``--oversubscribe`` so N may exceed the number of cores Open MPI counts;
- ``--bind-to none`` so each rank's BLAS threads are not pinned to a single core;
- ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` set to ``cores // N`` (when
  not already set), so N ranks do not fight over the cores.

MPICH and Intel MPI (``mpiexec`` from Hydra) need none of the Open MPI flags.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["launch", "mpirun_command", "strip_workers"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _find_launcher() -> str:
    for name in ("mpirun", "mpiexec"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(
        "--workers needs an MPI launcher (mpirun or mpiexec) on PATH and none was found; "
        "install MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`, conda: "
        '`conda install -c conda-forge openmpi mpi4py`) and `pip install "glassnet[mpi]"`'
    )


def _is_open_mpi(launcher: str) -> bool:
    try:
        out = subprocess.run(
            [launcher, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "open mpi" in (out.stdout + out.stderr).lower() or "open-rte" in out.stdout.lower()


def mpirun_command(workers: int, program: Sequence[str], launcher: str | None = None) -> list[str]:
    """The command line that runs ``program`` as ``workers`` MPI ranks on this machine.

    Args:
        workers: number of ranks (>= 1).
        program: the command each rank runs, e.g. ``[sys.executable, "-m", "glassnet", ...]``.
        launcher: path of ``mpirun``/``mpiexec``; found on PATH when None.

    Returns:
        The argument list, e.g. ``["mpirun", "-n", "2", "--allow-run-as-root",
        "--oversubscribe", "--bind-to", "none", "python", ...]``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive int, got {workers!r}")
    launcher = launcher or _find_launcher()
    cmd = [launcher, "-n", str(workers)]
    if _is_open_mpi(launcher):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd += ["--oversubscribe", "--bind-to", "none"]
    return cmd + list(program)


def strip_workers(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--workers N`` / ``--workers=N`` (what each rank runs).

    Example:
        >>> strip_workers(["train", "--workers", "2", "--epochs", "3"])
        ['train', '--epochs', '3']
    """
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def launch(workers: int, argv: Sequence[str], timeout: float | None = None) -> int:
    """Run ``python -m glassnet <argv>`` as ``workers`` MPI ranks here; return the exit code.

    The ranks inherit this process's environment (plus thread limits, see the module
    docstring); their output goes to this terminal. If any rank fails, the whole job stops
    and the exit code is non-zero.

    Args:
        workers: number of ranks.
        argv: the glassnet CLI arguments (``--workers`` is removed if present).
        timeout: seconds before the job is killed (None: no limit).
    """
    cmd = mpirun_command(workers, [sys.executable, "-m", "glassnet", *strip_workers(argv)])
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for var in _THREAD_VARS:
        env.setdefault(var, threads)
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    try:
        return subprocess.run(cmd, env=env, timeout=timeout, check=False).returncode
    except KeyboardInterrupt:
        return 130
