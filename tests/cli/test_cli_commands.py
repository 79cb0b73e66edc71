"""The glassnet command: train end to end, evaluate, predict, sample, info, bad arguments."""

import json
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.data import load_digits
from glassnet.models import PRESETS, build_model, generate


def test_train_digits_end_to_end_and_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "4", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and f"Saved the run to {run}" in out
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",  # the run folder's lock (docs/checkpoints.md), released when train ends
        "checkpoint.safetensors", "config.json", "digests.jsonl", "manifest.json", "metrics.csv",
        "report.html", "report.json", "summary.json", "summary.txt",
    ]  # fmt: skip
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.9  # chance is 0.1
    assert len((run / "metrics.csv").read_text().splitlines()) == 5
    # The checkpoint loads back into the architecture config.json describes.
    config = json.loads((run / "config.json").read_text())
    model = build_model(**config["model"])
    ckpt = gn.load_checkpoint(run / "checkpoint.safetensors", model)
    assert ckpt.epoch == 4 and ckpt.metadata["config"]["preset"] == "mlp"
    # ... and reproduces the reported test accuracy.
    (_, _), (xt, yt) = load_digits(flatten=False)
    mean, std = (np.asarray(config["preprocess"][k], np.float32) for k in ("mean", "std"))
    xs = (xt - mean) / np.where(std < 1e-8, 1, std)
    accuracy = np.mean(model.predict(xs).argmax(1) == yt)
    assert accuracy == pytest.approx(summary["test_accuracy"])

    assert main(["evaluate", str(run)]) == 0
    assert f"accuracy: {summary['test_accuracy']:.4f}" in capsys.readouterr().out

    np.save(tmp_path / "x.npy", xt[:4])
    np.savetxt(tmp_path / "x.csv", xt[:4].reshape(4, -1), delimiter=",")
    expected = model.predict(xs[:4]).argmax(1)
    for name in ("x.npy", "x.csv"):
        assert main(["predict", str(run), str(tmp_path / name)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [int(line.split("class ")[1].split()[0]) for line in lines] == expected.tolist()

    # --resume continues the same run to more epochs.
    assert main(["train", "--resume", str(run), "--epochs", "6", "--quiet"]) == 0
    assert gn.load_checkpoint(run / "checkpoint.safetensors").epoch == 6
    assert len((run / "metrics.csv").read_text().splitlines()) == 7


def test_user_model_file(tmp_path, capsys):
    net = tmp_path / "net.py"
    net.write_text(
        "import glassnet as gn\n"
        "def build(input_shape, num_classes):\n"
        "    return gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(64, num_classes))\n"
    )
    run = tmp_path / "r"
    assert (
        main(["train", "--model", f"{net}:build", "--epochs", "2", "--out", str(run), "--quiet"])
        == 0
    )
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["preset"] == f"{net}:build"
    # A run folder never runs code: the user names their model file again.
    assert main(["evaluate", str(run)]) == 2
    assert "never runs code" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--model", f"{net}:build"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--lr", "abc"], "expected a number"),
        (["train", "--dataset", "nope"], "invalid choice"),
        (["train", "--model", "mlpp"], "did you mean 'mlp'"),
        (["train", "--model", "char-lstm"], "does not fit dataset"),
        (["train", "--dropout", "1.5"], "[0, 1)"),
        (["evaluate", "/no/such/run"], "no run folder"),
        (["predict"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit directly
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing half-made (no runs/ folder)


def test_predict_rejects_wrong_shapes(tmp_path, capsys):
    run = tmp_path / "run"
    main(["train", "--epochs", "1", "--out", str(run), "--quiet"])
    np.save(tmp_path / "bad.npy", np.zeros((2, 5)))
    assert main(["predict", str(run), str(tmp_path / "bad.npy")]) == 2
    assert "expected samples of 64 values" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "sample", "info"])
def test_every_command_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "example" in capsys.readouterr().out


def test_info_and_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "glassnet", "info"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    for field in ("glassnet", "numpy", "BLAS", "threads", "GPU"):
        assert field in done.stdout


def test_presets_build_for_their_shapes():
    shapes = {"mlp": (64,), "cnn": (40,), "gru": (40,), "lstm": (1, 8, 8), "transformer": (40,)}
    for preset, shape in shapes.items():
        model = build_model(preset, shape, 10)
        assert model(gn.zeros(2, *shape)).shape == (2, 10), preset
        rebuilt = build_model(**model.config)
        assert list(rebuilt.state_dict()) == list(model.state_dict())
    assert build_model("cnn", (1, 8, 8), 10)(gn.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert set(shapes) | {"char-lstm", "char-transformer"} == set(PRESETS)


@pytest.mark.parametrize("preset", ["char-lstm", "char-transformer"])
def test_char_models_and_generate(preset):
    from glassnet.data import CharVocab

    vocab = CharVocab("abc \n")
    options = {"num_layers": 1} if preset == "char-lstm" else {"num_layers": 1, "d_model": 16}
    model = build_model(preset, (12,), len(vocab), options)
    ids = gn.tensor(np.array([[0, 1, 2, 3] * 3]))
    assert model(ids).shape == (1, 12, len(vocab))
    text = generate(model, vocab, prompt="ab", length=20, temperature=1.0, seed=0)
    assert text.startswith("ab") and len(text) == 22 and set(text) <= set("abc \n")
    assert generate(model, vocab, "ab", 20, 1.0, seed=0) == text  # seeded


def test_build_model_runs_a_file_only_when_the_caller_says_the_user_named_it(tmp_path):
    marker = tmp_path / "ran"
    net = tmp_path / "net.py"
    net.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        "import glassnet as gn\n"
        "def build(input_shape, num_classes):\n"
        "    return gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(64, num_classes))\n"
    )
    with pytest.raises(ValueError, match="names Python code"):
        build_model(f"{net}:build", (64,), 10)  # e.g. a spec read from a config file
    assert not marker.exists()
    model = build_model(f"{net}:build", (64,), 10, run_user_code=True)
    assert marker.exists() and model(gn.zeros(2, 64)).shape == (2, 10)
