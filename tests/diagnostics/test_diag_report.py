"""The HTML run report renders every section from real run data, with and without plots."""

import json

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
