"""Two-rank tests: each launches ``mpirun -n 2 python dist_worker.py <scenario>`` in a subprocess.

They skip (with the reason) where mpirun or mpi4py is missing; ``.ci/run`` installs both.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from glassnet.distributed import mpirun_command

WORKER = Path(__file__).with_name("dist_worker.py")

_missing = []
if shutil.which("mpirun") is None and shutil.which("mpiexec") is None:
    _missing.append(
        "no mpirun/mpiexec on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)"
    )
if importlib.util.find_spec("mpi4py") is None:
    _missing.append('mpi4py is not installed (pip install "glassnet[mpi]")')
pytestmark = pytest.mark.skipif(bool(_missing), reason="MPI tests skipped: " + "; ".join(_missing))


def _load_worker():
    spec = importlib.util.spec_from_file_location("dist_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_mpi(scenario: str, tmp_path: Path, timeout: float = 60, ranks: int = 2, *args: str):
    """Run a worker scenario on ``ranks`` ranks; return (completed process, seconds, json)."""
    out = tmp_path / f"{scenario}.json"
    cmd = mpirun_command(ranks, [sys.executable, str(WORKER), scenario, str(out), *args])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if scenario == "timed_run":
        # A 3-second budget: loading glassnet[jit]'s compiled kernels (0.5-1 s per rank, more
        # on a loaded machine, 10 s when the cache is cold) would leave too few steps to compare.
        env["GLASSNET_JIT"] = "0"
    start = time.monotonic()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path, check=False
    )
    elapsed = time.monotonic() - start
    result = json.loads(out.read_text()) if out.exists() else None
    return proc, elapsed, result


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    proc, _, result = run_mpi("suite", tmp_path_factory.mktemp("suite"), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return result


def test_collectives_on_two_ranks(suite):
    assert suite["world_size"] == 2
    assert suite["sum_tensor"] == [3.0, 6.0]  # (1 + 2) * [1, 2]
    assert suite["max_int"] == [1, 10]
    assert suite["mean_number"] == 0.5
    assert suite["min_number"] == 5
    assert suite["broadcast"] == [1.0, 1.0, 1.0]  # from src = rank 1
    assert suite["object"] == {"from": 0, "list": [1, 2]}


def test_sharding_covers_each_sample_once_per_epoch(suite):
    for counts in suite["shard_counts"]:
        assert counts == [1] * 10  # every sample exactly once, across both ranks
    first, second = suite["shard_orders"]
    assert set(first[0]).isdisjoint(first[1])
    assert first != second  # set_epoch gives each epoch a new permutation


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_ranks_batch_b_match_one_process_batch_2b(suite, optimizer):
    worker = _load_worker()
    reference = worker.train(optimizer, batch=8, epochs=2, replicas=1, rank=0, ddp=False)
    got = suite[f"weights_{optimizer}"]
    assert got.keys() == reference.keys()
    for name in reference:
        np.testing.assert_allclose(got[name], reference[name], rtol=1e-5, atol=1e-6)
    # and it is not trivially equal: one rank alone with batch 4 ends elsewhere
    alone = worker.train(optimizer, batch=4, epochs=2, replicas=2, rank=0, ddp=False)
    assert max(np.abs(np.subtract(alone[k], got[k])).max() for k in got) > 1e-2


def test_ddp_averages_accumulated_grads_and_zero_fills_unused(suite):
    worker = _load_worker()
    x0, x1 = worker.worker_input(0), worker.worker_input(1)
    # loss = sum(x W^T + b): dL/dW[i, :] = sum_n x[n, :], dL/db[i] = N; three backwards
    mean_col = (x0.sum(0) + x1.sum(0)) / 2
    grads = suite["grads"]
    np.testing.assert_allclose(grads["used.weight"], 3 * np.tile(mean_col, (2, 1)))
    np.testing.assert_allclose(grads["used.bias"], [12.0, 12.0])
    np.testing.assert_allclose(grads["unused.weight"], np.zeros((2, 3)))


def test_ddp_on_a_device_all_reduces_device_buckets_without_host_copies(tmp_path):
    proc, _, got = run_mpi("sim", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    worker = _load_worker()
    x0, x1 = worker.worker_input(0), worker.worker_input(1)
    mean_col = (x0.sum(0) + x1.sum(0)) / 2
    assert got["transport"] == "mpi-device" and got["devices"] == ["sim"]
    assert got["transfers"] == 0  # the buckets never left the (simulated) device
    np.testing.assert_allclose(got["grads"]["weight"], np.tile(mean_col, (2, 1)))
    np.testing.assert_allclose(got["grads"]["bias"], [4.0, 4.0])
    assert "not CUDA-aware" not in proc.stderr


def test_exception_on_rank_1_stops_both_ranks_with_its_error(tmp_path):
    proc, elapsed, _ = run_mpi("fail", tmp_path, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert output.count("ValueError: boom from rank 1") == 1  # shown once, by rank 1
    assert "rank 0 stopping because rank 1 failed" in output
    assert "should not happen" not in output
    assert elapsed < 30, f"took {elapsed:.1f} s; rank 0's own timeout was 120 s"


def test_collective_timeout_names_rank_and_collective(tmp_path):
    proc, elapsed, _ = run_mpi("timeout", tmp_path, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "CollectiveTimeoutError: rank 0 of 2 waited" in output
    assert "in barrier" in output
    assert elapsed < 25, f"took {elapsed:.1f} s; rank 1 slept 30 s"


def test_time_budget_and_cosine_follow_rank_0s_clock(tmp_path):
    """Rank 1 starts a second after rank 0, yet both take the same learning rate at every
    step and stop after the same batch (else their collectives would no longer pair up and
    their weights would differ); the tuned global batch of 16 is split into 8 per rank."""
    proc, _, _ = run_mpi("timed_run", tmp_path, 90, 2, str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [json.loads((tmp_path / f"timed_run.json.rank{r}").read_text()) for r in (0, 1)]
    assert ranks[0]["stopped"] and ranks[1]["stopped"]
    assert len(ranks[0]["lrs"]) == len(ranks[1]["lrs"]) > 10
    assert ranks[0]["lrs"] == ranks[1]["lrs"]
    assert ranks[0]["digest"] == ranks[1]["digest"]
    assert set(ranks[0]["batch_sizes"]) == {8}
    lrs = ranks[0]["lrs"]
    assert lrs[:2] == pytest.approx([2e-3, 4e-3])  # warmup of 2 steps to the tuned 4e-3
    # cosine over the 3-second budget (the planned 1000 epochs are far away): falling, and
    # most of the way down to the floor (4e-4) by the last step
    assert all(b <= a for a, b in zip(lrs[1:], lrs[2:]))
    assert 4e-4 <= lrs[-1] < 1.5e-3
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["stopped_by_time_budget"]


def test_fit_resumes_across_rank_counts(tmp_path):
    """1 process (batch 8) -> 2 ranks (batch 4 each) and 2 ranks -> 1 process, via checkpoints:
    both continue exactly like one uninterrupted run (same global batches)."""
    worker = _load_worker()
    reference, ref_history = worker.fit_run(8, 2)
    one_rank_ckpt = str(tmp_path / "one.safetensors")
    two_rank_ckpt = str(tmp_path / "two.safetensors")
    worker.fit_run(8, 1, checkpoint=one_rank_ckpt)
    proc, _, result = run_mpi("fit", tmp_path, 120, 2, one_rank_ckpt, two_rank_ckpt)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if "safetensors" in p.name) == [
        "one.safetensors",
        "two.safetensors",
    ]  # rank 1 wrote nothing, no temporary file left behind
    resumed_on_one, history = worker.fit_run(8, 2, resume=two_rank_ckpt)
    for got in (result["weights"], resumed_on_one):
        for name in reference:
            np.testing.assert_allclose(got[name], reference[name], rtol=1e-5, atol=1e-6)
    # losses and validation metrics of the 2-rank epoch are reduced over both ranks
    for key in ("loss", "val_loss", "val_accuracy", "accuracy"):
        np.testing.assert_allclose(result["history"][key][-1], ref_history[key][-1], rtol=1e-5)
        np.testing.assert_allclose(history[key][-1], ref_history[key][-1], rtol=1e-5)


def test_cli_train_workers_runs_two_ranks(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "glassnet", "train", "--workers", "2", "--epochs", "1",
           "--out", str(run)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["epochs_completed"] == 1
    assert proc.stdout.count("Epoch 1/1") == 1  # only rank 0 reports
    assert proc.stdout.count("test accuracy") == 1
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",
        "checkpoint.safetensors", "config.json", "digests.jsonl", "manifest.json", "metrics.csv",
        "report.html", "report.json", "summary.json", "summary.txt",
    ]  # fmt: skip


def _docs_example() -> str:
    text = (Path(__file__).parents[2] / "docs" / "distributed.md").read_text()
    section = text.split("### A hand-written loop", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_docs_example_runs_on_two_ranks(tmp_path):
    import glassnet as gn

    script = tmp_path / "example.py"
    script.write_text(_docs_example())
    cmd = mpirun_command(2, [sys.executable, str(script)])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ranks 2: last loss") == 1
    model = gn.nn.Sequential(gn.nn.Linear(8, 32), gn.nn.ReLU(), gn.nn.Linear(32, 2))
    gn.load_checkpoint(
        tmp_path / "model.safetensors", model
    )  # bare-model names: no "module." prefix
