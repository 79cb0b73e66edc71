"""The char-transformer preset on Shakespeare: tuned defaults, the per-step learning-rate
schedule, the time budget and their CLI options."""

import json
import math
import time

import pytest

from glassnet.cli import main
from glassnet.train.callbacks import Callback
from glassnet.train.runs import TUNED, RunConfig, StepSchedule, prepare_data, train_run


def test_shakespeare_char_transformer_resolves_to_the_tuned_values():
    config = RunConfig(dataset="shakespeare", model="char-transformer").resolved()
    tuned = TUNED[("shakespeare", "char-transformer")]
    assert config.schedule == "cosine" == tuned["schedule"]
    assert config.warmup_steps == tuned["warmup_steps"] > 0
    assert (config.epochs, config.batch_size, config.lr) == (
        tuned["epochs"], tuned["batch_size"], tuned["lr"],
    )  # fmt: skip
    assert config.model_options == {"dropout": 0.0} and config.stride == tuned["stride"] < 128
    assert 0 < config.max_minutes < 15
    # What the user chose wins; `--max-minutes 0` means no limit.
    mine = RunConfig(dataset="shakespeare", model="char_transformer", lr=5e-4, schedule="constant",
                     max_minutes=0.0, dropout=0.2).resolved()  # fmt: skip
    assert (mine.lr, mine.schedule, mine.max_minutes, mine.dropout) == (5e-4, "constant", 0.0, 0.2)
    # The tuned batch is global: each of R data-parallel ranks takes its share; a batch size
    # the user gives is per rank and stays.
    assert RunConfig(dataset="shakespeare", model="char-transformer").resolved(2).batch_size == (
        tuned["batch_size"] // 2
    )
    assert (
        RunConfig(dataset="shakespeare", model="char-transformer", batch_size=16)
        .resolved(2)
        .batch_size
        == 16
    )
    assert RunConfig(dataset="mnist1d", model="mlp").resolved(3).batch_size == 100 // 3
    # Elsewhere the defaults are unchanged: constant learning rate, no warmup, no time limit.
    other = RunConfig(dataset="shakespeare", model="char-lstm").resolved()
    assert (other.schedule, other.warmup_steps, other.max_minutes) == ("constant", 0, None)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'"):
        RunConfig(schedule="linear").resolved()


def _reference_lr(step, peak, warmup, total, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / (total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def test_step_schedule_warmup_then_cosine():
    sched = StepSchedule(1e-2, warmup=10, total=110, kind="cosine")
    for step in (0, 4, 9, 10, 35, 60, 85, 109, 110, 500):
        assert sched.lr_at(step) == pytest.approx(_reference_lr(step, 1e-2, 10, 110), rel=1e-12)
    assert sched.lr_at(60) == pytest.approx(0.55e-2)  # half-way: the mean of peak and floor
    assert StepSchedule(1e-2, warmup=4).lr_at(1) == pytest.approx(0.5e-2)  # constant + warmup
    assert StepSchedule(1e-2, warmup=4).lr_at(1000) == 1e-2
    # With a deadline the progress is the larger of steps and time: half the time used at
    # step 10 (no step progress yet) gives the half-way learning rate.
    timed = StepSchedule(1e-2, warmup=10, total=110, kind="cosine", start=100.0, deadline=200.0)
    assert timed.lr_at(10, now=150.0) == pytest.approx(0.55e-2)
    assert timed.lr_at(85, now=150.0) == pytest.approx(_reference_lr(85, 1e-2, 10, 110))
    assert timed.lr_at(11, now=300.0) == pytest.approx(1e-3)  # past the deadline: the floor
    with pytest.raises(ValueError, match="StepSchedule: kind must be one of"):
        StepSchedule(1e-2, kind="step")


class _Recorder(Callback):
    """Records the learning rate of each step; stops after ``batches`` steps."""

    def __init__(self, batches):
        self.batches, self.lrs = batches, []

    def on_train_batch_end(self, batch, logs):
        self.lrs.append(self.state.optimizer.param_groups[0]["lr"])
        if len(self.lrs) == self.batches:
            self.model.stop_training = True


def _tiny(**kw):
    # A 1-layer d_model 16 model on 16-character windows: a few batches take well under 1 s.
    return RunConfig(dataset="shakespeare", model="char-transformer", context_length=16,
                     model_options={"num_layers": 1, "d_model": 16, "dropout": 0.0},
                     max_minutes=0.0, **kw)  # fmt: skip


def test_tiny_shakespeare_run_follows_the_schedule(tmp_path):
    config = _tiny(epochs=2, batch_size=64, lr=4e-3, warmup_steps=4, stride=8)
    recorder = _Recorder(batches=6)
    summary = train_run(config, out=tmp_path / "run", verbose=0, callbacks=[recorder])
    assert recorder.lrs[:5] == pytest.approx([1e-3, 2e-3, 3e-3, 4e-3, 4e-3], rel=1e-12)
    data = prepare_data(config.resolved())
    windows = len(data.x_train)
    assert windows == (932702 - 16 - 1) // 8 + 1  # stride 8 on the training text
    assert len(data.x_val) == (103633 - 16 - 1) // 16 + 1  # validation windows never overlap
    steps = 2 * math.ceil(windows / 64)  # the cosine spans the planned steps of both epochs
    assert recorder.lrs[5] == pytest.approx(_reference_lr(5, 4e-3, 4, steps), rel=1e-12)
    assert recorder.lrs[5] < 4e-3
    assert summary["epochs_completed"] == 1 and not summary["stopped_by_time_budget"]
    assert summary["test_loss"] < math.log(76)  # better than uniform after 6 steps
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["run"]
    assert (saved["schedule"], saved["warmup_steps"]) == ("cosine", 4)


def test_time_budget_stops_after_the_current_batch_and_still_saves(tmp_path):
    config = _tiny(epochs=3, batch_size=64, lr=1e-3)
    config.max_minutes = 1e-6  # 60 us: already over when the first batch ends
    recorder = _Recorder(batches=10**9)
    start = time.perf_counter()
    summary = train_run(config, out=tmp_path / "run", verbose=0, callbacks=[recorder])
    assert time.perf_counter() - start < 30
    assert len(recorder.lrs) == 1 and summary["stopped_by_time_budget"]
    assert summary["epochs_completed"] == 1 and not summary["interrupted"]
    assert (tmp_path / "run" / "checkpoint.safetensors").is_file()
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 2  # header + 1


def test_cli_run_files_of_a_char_run(tmp_path):
    # What `glassnet train` writes at the end (manifest, digests, report) works for token
    # models too: the model summary cannot run them on float zeros and falls back to repr.
    from glassnet import cli_tools

    callbacks = cli_tools.run_callbacks(True, None)
    config = _tiny(epochs=1, batch_size=64, lr=1e-3)
    config.max_minutes = 1e-6
    train_run(config, out=tmp_path / "run", verbose=0, callbacks=callbacks,
              on_finish=cli_tools.write_run_files(callbacks, 0))  # fmt: skip
    for name in ("report.html", "report.json", "manifest.json", "summary.json"):
        assert (tmp_path / "run" / name).is_file(), name
    assert (
        "CharTransformer" in json.loads((tmp_path / "run" / "report.json").read_text())["summary"]
    )


def test_cli_schedule_and_max_minutes_reach_the_run_config(monkeypatch, tmp_path, capsys):
    import glassnet.train.runs as runs

    seen = {}

    def fake_train_run(config, **kw):
        seen["config"] = config
        return {"run_dir": str(tmp_path), "test_accuracy": 0.5, "test_loss": 1.0,
                "seconds": 0.1, "interrupted": False}  # fmt: skip

    monkeypatch.setattr(runs, "train_run", fake_train_run)
    argv = ["train", "--dataset", "shakespeare", "--model", "char-transformer", "--no-health",
            "--quiet", "--schedule", "constant", "--max-minutes", "2.5",
            "--stride", "64"]  # fmt: skip
    assert main(argv) == 0
    config = seen["config"]
    assert (config.schedule, config.max_minutes, config.stride) == ("constant", 2.5, 64)
    assert main(argv[:6] + ["--no-health", "--quiet"]) == 0
    config = seen["config"]
    assert (config.schedule, config.max_minutes, config.stride) == (None, None, None)  # preset's
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["train", "--max-minutes", "-1"])
    assert exc.value.code == 2
    assert "expected a number >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--schedule", "linear"])
    assert "invalid choice: 'linear'" in capsys.readouterr().err


def test_a_time_budgeted_single_process_run_suggests_workers(monkeypatch, tmp_path, capsys):
    import os

    import glassnet.train.runs as runs

    fake = {"run_dir": str(tmp_path), "test_accuracy": 0.5, "test_loss": 1.0, "seconds": 0.1,
            "interrupted": False}  # fmt: skip
    from glassnet.backend import mkl, parallel

    monkeypatch.setattr(runs, "train_run", lambda config, **kw: fake)
    # a busy 4-core machine: the preset's matrix products get 1 BLAS thread (glassnet train);
    # NumPy's BLAS multiplies (MKL's products run on glassnet's threads: no hint then)
    monkeypatch.setattr(mkl, "available", lambda: False)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    from glassnet import cli

    monkeypatch.setattr(cli, "_runnable_others", lambda: 2.0)  # and other jobs run now
    for var in parallel._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(parallel._state, "threads", 4)
    shakespeare = ["train", "--dataset", "shakespeare", "--model", "char-transformer",
                   "--no-health"]  # fmt: skip
    assert main(shakespeare) == 0
    assert "--workers 2 trains data-parallel on 2" in capsys.readouterr().out
    for argv in (["train", "--no-health"], [*shakespeare, "--max-minutes", "0"],
                 [*shakespeare, "--quiet"]):  # fmt: skip
        assert main(argv) == 0
        assert "--workers" not in capsys.readouterr().out, argv
    monkeypatch.setitem(parallel._state, "threads", 1)
    assert main(shakespeare) == 0
    assert "--workers" not in capsys.readouterr().out
    # an idle machine: every core for BLAS too, no note
    monkeypatch.setitem(parallel._state, "threads", 4)
    monkeypatch.setattr(parallel, "_get_blas_threads", lambda: 4)
    assert main(shakespeare) == 0
    assert "--workers" not in capsys.readouterr().out


def test_explicit_dropout_zero_switches_off_a_presets_own_dropout():
    from types import SimpleNamespace

    from glassnet import nn
    from glassnet.train.runs import RunConfig, _build

    data = SimpleNamespace(input_shape=(16,), num_classes=20, preprocess={"vocab": {}})
    rates = {}
    for dropout in (None, 0.0):
        config = RunConfig(dataset="other", model="char-transformer", dropout=dropout).resolved()
        model = _build(config, data)
        rates[dropout] = {m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    assert max(rates[None]) > 0  # the preset's own default (0.1)
    assert rates[0.0] == {0.0}


def test_tuned_optimizer_and_weight_decay_apply_unless_the_user_chose(monkeypatch):
    from glassnet.train import runs

    monkeypatch.setitem(runs.TUNED, ("digits", "mlp"), {"optimizer": "adamw", "weight_decay": 0.2})
    tuned = runs.RunConfig().resolved()
    assert (tuned.optimizer, tuned.weight_decay) == ("adamw", 0.2)
    mine = runs.RunConfig(optimizer="sgd", weight_decay=0.0).resolved()
    assert (mine.optimizer, mine.weight_decay) == ("sgd", 0.0)
    monkeypatch.delitem(runs.TUNED, ("digits", "mlp"))
    plain = runs.RunConfig().resolved()
    assert (plain.optimizer, plain.weight_decay) == ("adam", 0.0)
