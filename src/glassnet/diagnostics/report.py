"""The run report: one self-contained HTML file that explains a training run.

It holds the loss and metric curves, the learning verdicts, health warnings, gradient flow,
a confusion matrix, sample predictions (as images for image data), the model summary and the
reproducibility manifest. Plots are PNGs drawn with matplotlib (``glassnet[plots]``) and
embedded as base64, so the file needs nothing else to view; without matplotlib the report
still renders every table and says how to get the plots.

A training run writes ``report.json`` (see :func:`report_data`); ``glassnet report RUN``
renders it to ``RUN/report.html`` with :func:`write_report`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os

import numpy as np


def report_data(
    *,
    history: dict,
    verdicts: list | None = None,
    health: list | None = None,
    gradient_flow: list | None = None,
    confusion: list | None = None,
    class_names: list | None = None,
    samples: dict | None = None,
    summary: str = "",
    manifest: dict | None = None,
    config: dict | None = None,
    test_metrics: dict | None = None,
    stop_reason: str | None = None,
) -> dict:
    """Collect a run's results into the JSON-safe dict that :func:`render_html` draws.

    Args:
        history: per-epoch lists, e.g. ``{"loss": [...], "val_loss": [...], "accuracy": ...}``.
        verdicts: strings from :func:`glassnet.diagnostics.verdicts.diagnose`.
        health: warning strings from the health monitor.
        gradient_flow: ``[(parameter, mean |grad|, max |grad|), ...]`` input to output.
        confusion: a C x C matrix of counts (rows: true class, columns: predicted).
        samples: ``{"images": N x H x W (or None), "true": [...], "pred": [...],
            "prob": [...]}`` a few test samples.
    """

    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, np.ndarray):
            return clean(v.tolist())
        if isinstance(v, (np.floating, float)):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v

    return clean(
        {
            "history": history,
            "verdicts": [str(v) for v in verdicts or []],
            "health": [str(w) for w in health or []],
            "gradient_flow": gradient_flow or [],
            "confusion": confusion,
            "class_names": class_names,
            "samples": samples,
            "summary": summary,
            "manifest": manifest or {},
            "config": config or {},
            "test_metrics": test_metrics or {},
            "stop_reason": stop_reason,
        }
    )


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return (
        "<img alt='plot' src='data:image/png;base64,"
        + base64.b64encode(buf.getvalue()).decode()
        + "'/>"
    )


def _plots(data: dict) -> dict:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    out = {}
    hist = data["history"]
    keys = [k for k in hist if not k.startswith("val_") and k not in ("lr", "epoch")]
    if keys:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.3), squeeze=False)
        for ax, k in zip(axes[0], keys):
            vals = hist[k]
            ax.plot(range(1, len(vals) + 1), vals, marker="o", label=f"train {k}")
            if f"val_{k}" in hist:
                v = hist[f"val_{k}"]
                ax.plot(range(1, len(v) + 1), v, marker="o", label=f"validation {k}")
            ax.set_xlabel("epoch")
            ax.set_title(k)
            ax.legend(fontsize=8)
        fig.tight_layout()
        out["curves"] = _png(fig)
    flow = data.get("gradient_flow") or []
    if flow:
        fig, ax = plt.subplots(figsize=(7, 3.3))
        names = [f[0] for f in flow]
        ax.bar(range(len(flow)), [f[2] for f in flow], alpha=0.4, label="max |grad|")
        ax.bar(range(len(flow)), [f[1] for f in flow], label="mean |grad|")
        ax.set_yscale("log")
        ax.set_xticks(range(len(flow)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title("gradient flow, input -> output")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["flow"] = _png(fig)
    samples = data.get("samples") or {}
    if samples.get("images"):
        imgs = np.asarray(samples["images"], dtype=float)
        n = min(len(imgs), 16)
        fig, axes = plt.subplots(2, (n + 1) // 2, figsize=(1.3 * ((n + 1) // 2), 3))
        for i, ax in enumerate(np.ravel(axes)):
            ax.axis("off")
            if i < n:
                img = imgs[i]
                ax.imshow(img if img.ndim == 2 else np.moveaxis(img, 0, -1).squeeze(), cmap="gray")
                ok = samples["true"][i] == samples["pred"][i]
                ax.set_title(
                    f"{samples['pred'][i]} ({samples['true'][i]})",
                    fontsize=8,
                    color="green" if ok else "red",
                )
        fig.suptitle("predicted (true)", fontsize=9)
        fig.tight_layout()
        out["samples"] = _png(fig)
    return out


def _table(rows, head) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return (
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + cells
        + "</table>"
    )


def _fmt(value, spec: str) -> str:
    """``format(value, spec)`` for numbers; NaN/inf (stored as None in JSON) show as 'nan'."""
    if value is None:
        return "nan"
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def render_html(data: dict, title: str = "glassnet run report") -> str:
    """Render report data (from :func:`report_data`) as one self-contained HTML page."""
    plots = _plots(data)
    esc = html.escape
    parts = [f"<h1>{esc(title)}</h1>"]
    if data.get("stop_reason"):
        parts.append(f"<p class='note'>{esc(str(data['stop_reason']))}</p>")
    if not plots:
        parts.append(
            "<p class='note'>Plots need matplotlib: <code>pip install "
            "'glassnet[plots]'</code>, then run <code>glassnet report RUN</code> "
            "again. The tables below hold the same numbers.</p>"
        )
    if data.get("test_metrics"):
        parts.append(
            "<h2>Test results</h2>"
            + _table(
                [
                    (k, _fmt(v, ".4f") if isinstance(v, float) or v is None else v)
                    for k, v in data["test_metrics"].items()
                ],
                ["metric", "value"],
            )
        )
    parts.append(
        "<h2>Verdicts</h2><ul>"
        + "".join(f"<li><pre>{esc(v)}</pre></li>" for v in data.get("verdicts") or ["(none)"])
        + "</ul>"
    )
    parts.append("<h2>Training curves</h2>" + plots.get("curves", ""))
    hist = data.get("history") or {}
    if hist:
        keys = list(hist)
        n = max(len(v) for v in hist.values())
        rows = [
            [e + 1]
            + [
                (f"{hist[k][e]:.4g}" if e < len(hist[k]) and hist[k][e] is not None else "")
                for k in keys
            ]
            for e in range(n)
        ]
        parts.append(
            "<details><summary>per-epoch numbers</summary>"
            + _table(rows, ["epoch"] + keys)
            + "</details>"
        )
    parts.append("<h2>Health</h2>")
    health = data.get("health") or []
    parts.append(
        "<ul>" + "".join(f"<li>{esc(w)}</li>" for w in health) + "</ul>"
        if health
        else "<p>No health warnings: no dead or saturated layers, update sizes in "
        "range, no vanishing or exploding gradients.</p>"
    )
    flow = data.get("gradient_flow") or []
    if flow:
        parts.append(
            "<h2>Gradient flow</h2>"
            + plots.get("flow", "")
            + _table(
                [(n, _fmt(m, ".3e"), _fmt(x, ".3e")) for n, m, x in flow],
                ["parameter (input -> output)", "mean |grad|", "max |grad|"],
            )
        )
    conf = data.get("confusion")
    if conf:
        names = data.get("class_names") or [str(i) for i in range(len(conf))]
        rows = [[names[i]] + list(r) for i, r in enumerate(conf)]
        parts.append(
            "<h2>Confusion matrix</h2><p>rows: true class, columns: predicted</p>"
            + _table(rows, ["true \\ pred"] + list(names))
        )
    samples = data.get("samples")
    if samples:
        parts.append("<h2>Sample predictions</h2>" + plots.get("samples", ""))
        rows = [
            (t, p, _fmt(pr, ".3f"))
            for t, p, pr in zip(
                samples.get("true", []), samples.get("pred", []), samples.get("prob", [])
            )
        ]
        parts.append(_table(rows, ["true", "predicted", "probability"]))
    if data.get("summary"):
        parts.append(f"<h2>Model</h2><pre>{esc(data['summary'])}</pre>")
    if data.get("config"):
        parts.append(
            "<h2>Configuration</h2>" + _table(sorted(data["config"].items()), ["option", "value"])
        )
    if data.get("manifest"):
        parts.append(
            "<h2>Reproducibility manifest</h2>"
            + _table(
                sorted(
                    (k, json.dumps(v) if isinstance(v, (dict, list)) else v)
                    for k, v in data["manifest"].items()
                ),
                ["key", "value"],
            )
        )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}"
        "th{background:#f3f3f3}pre{white-space:pre-wrap;margin:0}"
        ".note{background:#fff6d6;padding:.6em;border:1px solid #e8d48a}"
        "img{max-width:100%}h2{border-bottom:1px solid #ddd;padding-bottom:2px}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_report(run_dir: str, title: str | None = None) -> str:
    """Render ``run_dir/report.json`` to ``run_dir/report.html``; returns the HTML path."""
    src = os.path.join(run_dir, "report.json")
    if not os.path.exists(src):
        raise FileNotFoundError(
            f"{src} not found: is {run_dir!r} a glassnet run folder (made by glassnet train)?"
        )
    with open(src, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{src} is corrupt: {e}") from None
    out = os.path.join(run_dir, "report.html")
    page = render_html(data, title or f"glassnet run {os.path.basename(run_dir.rstrip('/'))}")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, out)
    return out
