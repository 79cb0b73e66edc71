"""``mpirun -n 2``: every failure of the CLI on any rank ends every rank within seconds and
shows the error once. Skipped (saying why) only where MPI is missing; .ci/run installs it."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glassnet.cli import main
from glassnet.distributed import mpirun_command

_missing = []
if shutil.which("mpirun") is None and shutil.which("mpiexec") is None:
    _missing.append(
        "no mpirun/mpiexec on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)"
    )
if importlib.util.find_spec("mpi4py") is None:
    _missing.append('mpi4py is not installed (pip install "glassnet[mpi]")')
pytestmark = pytest.mark.skipif(bool(_missing), reason="MPI tests skipped: " + "; ".join(_missing))

GLASSNET = [sys.executable, "-m", "glassnet"]
# a hang would wait for the 300 s collective timeout or a 3600 s barrier; "within seconds"
# allows for starting two Python processes under mpirun on a busy 2-core machine
LIMIT = 45


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _run(cmd: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=cwd,
                          env=_env(), check=False)  # fmt: skip
    return done, time.monotonic() - start


def _assert_fast_and_once(done, elapsed: float, error: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert output.count(error) == 1, output  # shown once, by the rank that failed
    assert "Traceback" not in output, output
    assert elapsed < LIMIT, f"took {elapsed:.1f} s:\n{output}"


def test_workers_resume_of_a_folder_without_config(tmp_path):
    """Rank 0 fails reading the run folder while rank 1 waits in a one-hour barrier."""
    empty = tmp_path / "empty"
    empty.mkdir()
    cmd = [*GLASSNET, "train", "--workers", "2", "--resume", str(empty), "--quiet"]
    done, elapsed = _run(cmd, tmp_path)
    _assert_fast_and_once(done, elapsed, "is not a glassnet run folder: it has no config.json")


def test_rank_0_failing_while_preparing_data(tmp_path):
    """Rank 0 prepares the data first; its failure there (a config whose statistics do not
    fit the data) stops rank 1, which waits for it."""
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(run), "--quiet", "--no-health"]) == 0
    config = json.loads((run / "config.json").read_text())
    config["preprocess"]["mean"] = [0.0] * 10
    (run / "config.json").write_text(json.dumps(config))
    cmd = [*GLASSNET, "train", "--workers", "2", "--resume", str(run), "--quiet"]
    done, elapsed = _run(cmd, tmp_path)
    # the run config's statistics are checked against the model when the folder is read
    _assert_fast_and_once(done, elapsed, "preprocess.mean has shape (10,), not the model's")


def test_rank_1_failing_while_rank_0_waits_in_a_collective(tmp_path):
    """Two different command lines (MPMD): rank 0 trains, rank 1's CLI catches an error and
    would once have returned exit code 2, leaving rank 0 in a collective for 300 s."""
    good = [*GLASSNET, "train", "--epochs", "1", "--out", str(tmp_path / "r"), "--quiet"]
    bad = [*GLASSNET, "train", "--resume", str(tmp_path / "missing"), "--quiet"]
    cmd = mpirun_command(1, good) + [":", "-n", "1", *bad]
    done, elapsed = _run(cmd, tmp_path)
    _assert_fast_and_once(done, elapsed, "missing is not a glassnet run folder")
    assert "rank 0 stopping because rank 1 failed" in done.stderr
