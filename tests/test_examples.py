"""Every script in examples/ runs to completion and prints what it is there to show.

Each script runs in a subprocess (as a user would run it) with a timeout. BLAS is limited to
one thread: the examples multiply small matrices, where OpenBLAS threads gain nothing, and on a
busy 2-core machine (pytest -n 2) their spin-waiting made a 3 s script take 30 s.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path, timeout: float = 60) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["TMPDIR"] = str(tmp_path)  # files the examples save go to this test's folder
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def number_after(label: str, text: str) -> float:
    match = re.search(re.escape(label) + r"\s+([0-9.]+)", text)
    assert match, f"no {label!r} in the output:\n{text}"
    return float(match.group(1))


def test_every_example_is_tested():
    tested = {"two_layer_raw_engine.py", "mlp_digits.py", "explain_backprop.py",
              "find_the_nan.py", "overfitting.py", "keras_style_fit.py"}  # fmt: skip
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_two_layer_raw_engine(tmp_path):
    out = run_example("two_layer_raw_engine.py", tmp_path)
    losses = [float(v) for v in re.findall(r"train loss ([0-9.]+)", out)]
    assert len(losses) == 5 and losses == sorted(losses, reverse=True), out
    assert number_after("test accuracy", out) > 0.94


def test_mlp_digits(tmp_path):
    out = run_example("mlp_digits.py", tmp_path)
    assert "parameters: 9,610" in out
    assert number_after("test accuracy", out) > 0.94


def test_explain_backprop(tmp_path):
    out = run_example("explain_backprop.py", tmp_path)
    assert "step 3: backward of 'sigmoid'" in out
    assert "chain rule matches autograd: True" in out
    saved = list(tmp_path.glob("glassnet-graph-*/graph.html"))
    assert len(saved) == 1 and "<svg" in saved[0].read_text(encoding="utf-8")


def test_find_the_nan(tmp_path):
    out = run_example("find_the_nan.py", tmp_path)
    assert "without help: loss = nan" in out
    assert "first produced in forward by op 'log'" in out
    assert "penalty = -gn.log(hidden).mean()" in out  # the user's own source line
    assert "after the fix" in out and "all gradients finite: True" in out


def test_overfitting(tmp_path):
    out = run_example("overfitting.py", tmp_path)
    sections = out.split("== ")[1:]
    assert len(sections) == 3
    plain, decay, decay_dropout = sections
    assert "overfitting: the model memorizes the training set (since epoch" in plain
    assert "fix 1: early stopping" in plain
    for regularized in (decay, decay_dropout):  # the gap stays; the loss no longer climbs
        assert "(since epoch" not in regularized
        assert "fix 1: more training data or augmentation" in regularized
    val = [number_after("val loss", s) for s in sections]
    assert val[1] < val[0] and val[2] < val[0], val  # regularization lowered held-out loss


def test_keras_style_fit(tmp_path):
    out = run_example("keras_style_fit.py", tmp_path)
    assert "Epoch 1/50" in out
    assert number_after("test accuracy", out) > 0.94
    assert "same predictions True" in out
