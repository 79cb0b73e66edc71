"""Smoke run of benchmarks/bench_train.py (``--quick``, W1s, no PyTorch): every table is made,
each peer runs in its own process, and the correctness check holds (compiled bit-identical to
eager, the NumPy floor within float32 rounding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_train.py"


def test_bench_train_quick_smoke(tmp_path):
    out, md = tmp_path / "out.json", tmp_path / "tables.md"
    cmd = [sys.executable, str(BENCH), "--quick", "--workloads", "W1s", "--peers",
           "glassnet,compiled,numpy", "--sweep", "1", "--no-mem", "--json", str(out),
           "--markdown", str(md)]  # fmt: skip
    env = dict(os.environ, GLASSNET_TEST_DEVICE="")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    head = report["headline"]["W1s"]
    one = report["sweep"]["1"]["W1s"]
    assert set(head) == set(one) == {"glassnet", "compiled", "numpy"}
    for figs in (head, one):
        assert all(f["wall_ms"] > 0 and f["cpu_ms"] > 0 and f["steps"] >= 2 for f in figs.values())
        assert figs["compiled"]["losses"] == figs["glassnet"]["losses"]
        ref, floor = figs["glassnet"]["losses"], figs["numpy"]["losses"]
        assert len(ref) == 2
        assert all(abs(a - b) <= 1e-5 * abs(b) for a, b in zip(floor, ref))
        assert figs["compiled"]["replays"] >= 1
    tables = md.read_text()
    for title in ("Wall time per step at the default thread count",
                  "CPU time per step at one thread", "Thread sweep", "Targets"):  # fmt: skip
        assert f"### {title}" in tables
    assert "| W1s | compiled |" in tables and "bit-identical" in tables
