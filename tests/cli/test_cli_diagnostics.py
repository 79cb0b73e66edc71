"""The diagnostics through the command line and fit(): run files and report after training,
doctor, gradcheck, report, repro diff, --lr auto, health warnings and NaN detection in fit."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    paths = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        paths[name] = str(root / name)
        rc = main(["train", "--quiet", "--epochs", "2", "--seed", str(seed), "--out", paths[name]])
        assert rc == 0
    return paths


def test_train_writes_manifest_digests_and_a_report(runs):
    run = runs["a"]
    with open(f"{run}/report.json") as f:
        data = json.load(f)
    confusion = np.array(data["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 360  # the digits test set
    assert np.trace(confusion) / 360 == pytest.approx(data["test_metrics"]["accuracy"])
    assert len(data["history"]["loss"]) == 2
    assert data["verdicts"] and [f[0] for f in data["gradient_flow"]][0].endswith("weight")
    assert data["manifest"]["seed"] == 0
    with open(f"{run}/digests.jsonl") as f:
        lines = f.read().splitlines()
    assert len(lines) == 2 * 41  # 2 epochs of ceil(1293 / 32) steps (144 digits held out)
    with open(f"{run}/report.html") as f:
        assert "Confusion matrix" in f.read()


def test_repro_diff_same_seed_is_identical_and_other_seed_diverges(runs, capsys):
    assert main(["repro", "diff", runs["a"], runs["b"]]) == 0
    assert "identical at every recorded step" in capsys.readouterr().out
    assert main(["repro", "diff", runs["a"], runs["c"]]) == 1
    out = capsys.readouterr().out
    assert "manifest differs: seed: 0 vs 1" in out and "diverge at step 0: data" in out


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("digests.jsonl", '{"step": 0}\n', "line 1 is not a step record"),
        ("digests.jsonl", "[1, 2]\n", "line 1 is not a step record"),
        ("digests.jsonl", "5\n", "line 1 is not a step record"),
        (
            "digests.jsonl",
            '{"step": 0, "data": "a", "loss": 1, "grads": 5, "weights": {}}\n',
            "line 1 is not a step record",
        ),  # fmt: skip
        ("manifest.json", "{cut", "manifest.json is not JSON"),
        ("manifest.json", "[1]", "manifest.json must hold a JSON object"),
    ],
)
def test_repro_diff_of_an_edited_run_is_one_clear_line(runs, tmp_path, capsys, name, text,
                                                       message):  # fmt: skip
    """An edited or foreign digests.jsonl/manifest.json was a KeyError ("unexpected, please
    report"), a TypeError about list indices, or a JSON message without the file's name."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs["a"], run, ignore=shutil.ignore_patterns(".lock"))
    (run / name).write_text(text)
    assert main(["repro", "diff", runs["a"], str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "unexpected" not in err, err


def test_repro_diff_prints_a_tensor_name_from_the_digests_inert(runs, tmp_path, capsys):
    """The divergence names a tensor from digests.jsonl; a name holding an escape sequence
    reached the terminal raw."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs["a"], run, ignore=shutil.ignore_patterns(".lock"))
    lines = (run / "digests.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["grads"] = {"\x1b[2Jw": "0" * 8, **first["grads"]}
    (run / "digests.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert main(["repro", "diff", str(run), runs["a"]]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "grad in \\x1b[2Jw" in out


def test_report_command_rerenders_and_fails_clearly(runs, tmp_path, capsys):
    assert main(["report", runs["a"]]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "glassnet run folder" in err


def test_doctor_and_gradcheck_commands(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok]   overfit one batch" in out and "[FAIL]" not in out
    assert main(["gradcheck", "--samples", "4"]) == 0
    assert "all gradients match" in capsys.readouterr().out


def test_lr_auto_runs_a_range_test_first(tmp_path, capsys):
    rc = main(["train", "--quiet", "--epochs", "1", "--lr", "auto", "--out", str(tmp_path / "r")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "suggested lr" in out
    with open(tmp_path / "r" / "config.json") as f:
        lr = json.load(f)["run"]["lr"]
    assert 1e-5 < lr < 1.0 and lr != 1e-3  # the preset default was replaced


def _digits_mlp(bias=0.0):
    from glassnet.data.datasets import load_digits

    (x, y), _ = load_digits()
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    with gn.no_grad():
        model[0].bias.fill_(bias)
    model.compile(optimizer="sgd", loss="cross_entropy")
    return model, x, y


def test_fit_health_reports_a_planted_dead_layer_and_no_false_alarm():
    model, x, y = _digits_mlp(bias=-100.0)
    history = model.fit(x, y, epochs=1, verbose=0, health=True)
    assert any("1: 100% of ReLUs are dead" in w for w in history.health)
    model, x, y = _digits_mlp()
    assert model.fit(x, y, epochs=1, verbose=0, health=True).health == []


def test_fit_detect_anomaly_names_the_producing_op():
    class LogHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(64, 10)

        def forward(self, x):
            return gn.log(self.body(x))  # planted: log of negative scores

    from glassnet.data.datasets import load_digits

    (x, y), _ = load_digits()
    model = LogHead()
    model.compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(invalid="ignore"):
        model.fit(x, y, epochs=1, verbose=0, detect_anomaly=1)
    assert info.value.report.op == "log" and info.value.report.layer == "(model)"


def test_module_doctor_method():
    model, x, y = _digits_mlp()
    report = model.doctor(x, y)
    assert report.ok and report["loss at init"].status == "pass"
