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

import html
import json
import os

import numpy as np


def report_data(
    *,
    diagnosis=None,
    steps: dict | None = None,
    layers: list | None = None,
    chance: float | None = None,
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
            "prob": [...]}`` a few test samples (mistakes first), images in original pixels.
        diagnosis: a :class:`~glassnet.diagnostics.diagnosis.Diagnosis` (ranked findings).
        steps: per-step ``{"loss": [...], "lr": [...], "grad_norm": [...], "epoch_ends":
            [step of each epoch's end]}``.
        layers: the health monitor's per-epoch records (gradients, updates, activations).
        chance: accuracy of guessing (1 / number of classes), drawn on the accuracy curve.
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
            "diagnosis": diagnosis_data(diagnosis),
            "steps": steps or {},
            "layers": layers or [],
            "chance": chance,
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


def diagnosis_data(diagnosis) -> dict | None:
    """A Diagnosis as JSON-safe data: its summary and each finding's parts."""
    if diagnosis is None or isinstance(diagnosis, dict):
        return diagnosis
    fields = ("problem", "title", "evidence", "remedies", "severity", "since_epoch", "layers")
    return {
        "summary": diagnosis.summary,
        "findings": [{k: getattr(f, k) for k in fields} for f in diagnosis.findings],
    }


def _plots(data: dict) -> dict:
    from glassnet.diagnostics import report_plots as rp

    plt = rp.pyplot()
    if plt is None:
        return {}
    out = {name: getattr(rp, name)(data) for name in ("curves", "steps", "layers", "samples")}
    flow = data.get("gradient_flow") or []
    if flow:
        fig, ax = plt.subplots(figsize=(7, 3.3))
        names = [f[0] for f in flow]
        top = [np.nan if f[2] is None else f[2] for f in flow]  # None: not finite
        mean = [np.nan if f[1] is None else f[1] for f in flow]
        ax.bar(range(len(flow)), top, alpha=0.4, label="max |grad|")
        ax.bar(range(len(flow)), mean, label="mean |grad|")
        if rp._has_positive_data_values(top + mean):
            ax.set_yscale("log")
        ax.set_xticks(range(len(flow)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title("gradient flow in the last epoch, input -> output")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["flow"] = rp.png(fig)
    return {k: v for k, v in out.items() if v}


def _diagnosis_html(data: dict) -> str:
    esc = html.escape
    diag = data.get("diagnosis")
    if not diag:
        return (
            "<h2>Verdicts</h2><ul>"
            + "".join(f"<li><pre>{esc(v)}</pre></li>" for v in data.get("verdicts") or ["(none)"])
            + "</ul>"
        )
    items = []
    for f in diag.get("findings") or []:
        since = f" (since epoch {f['since_epoch']})" if f.get("since_epoch") else ""
        note = " <small>(note)</small>" if f.get("severity") == "note" else ""
        evidence = "".join(f"<li>{esc(e)}</li>" for e in f.get("evidence") or [])
        fixes = "".join(f"<li>{esc(r)}</li>" for r in f.get("remedies") or [])
        items.append(
            f"<li><b>{esc(f['title'])}</b>{esc(since)}{note}<br>evidence:<ul>{evidence}</ul>"
            f"fixes, most likely first:<ol>{fixes}</ol></li>"
        )
    body = "<ol>" + "".join(items) + "</ol>" if items else "<p>No problems found.</p>"
    return f"<h2>Diagnosis</h2><p>{esc(diag.get('summary', ''))}</p>{body}"


_TEXT_ONLY = ("context_length", "stride")  # options of the character models only


def _applies(key: str, value, data: dict) -> bool:
    """Whether a config option says something about this run (set, and for its model)."""
    if value is None or value == {} or value == []:
        return False
    model = str((data.get("config") or {}).get("model", ""))
    return not (key in _TEXT_ONLY and not model.startswith("char"))


def _health_html(health: list) -> str:
    """Health warnings grouped by layer (parameters under their module)."""
    groups: dict = {}
    for w in health:
        head = w.split(":", 1)[0].removeprefix("layer ")
        layer = head.rsplit(".", 1)[0] if head.endswith(("weight", "bias")) else head
        groups.setdefault(layer, []).append(w)
    esc = html.escape
    return "<ul>" + "".join(
        f"<li>layer <b>{esc(layer)}</b><ul>" + "".join(f"<li>{esc(w)}</li>" for w in ws)
        + "</ul></li>" for layer, ws in groups.items()
    ) + "</ul>"  # fmt: skip


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


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;"
    "padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}"
    "th{background:#f3f3f3}pre{white-space:pre-wrap;margin:0}"
    ".note{background:#fff6d6;padding:.6em;border:1px solid #e8d48a}"
    "img{max-width:100%}h2{border-bottom:1px solid #ddd;padding-bottom:2px}"
)


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
    parts.append(_diagnosis_html(data))
    parts.append("<h2>Training curves</h2>" + plots.get("curves", "") + plots.get("steps", ""))
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
        _health_html(health)
        if health
        else "<p>No health warnings: no dead or saturated layers, update sizes in "
        "range, no vanishing or exploding gradients.</p>"
    )
    if plots.get("layers"):
        parts.append("<h2>Layers over epochs</h2>" + plots["layers"])
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
            "<h2>Configuration</h2>"
            + _table(
                sorted((k, v) for k, v in data["config"].items() if _applies(k, v, data)),
                ["option", "value"],
            )
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
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_report(run_dir: str, title: str | None = None) -> str:
    """Render ``run_dir/report.json`` to ``run_dir/report.html``; returns the HTML path.

    The page is written atomically under a fresh temporary name
    (:func:`glassnet._fs.atomic_write_text`): a fixed name such as ``report.html.tmp``,
    opened with ``open(.., "w")``, would follow a symlink planted in a run folder someone
    else made and overwrite the file it points to."""
    from glassnet._fs import atomic_write_text

    data = _load(run_dir)
    out = os.path.join(run_dir, "report.html")
    name = title or f"glassnet run {os.path.basename(run_dir.rstrip('/'))}"
    page = _rendered(render_html, [os.path.join(run_dir, "report.json")], data, name)
    atomic_write_text(out, page)
    return out


def _rendered(render, sources: list, *args) -> str:
    """``render(*args)``, with a report.json whose fields have the wrong types or lengths (a
    file edited by hand, or from another version) named in one ``ValueError`` instead of a
    ``KeyError``/``TypeError`` from deep inside the renderer."""
    try:
        return render(*args)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        why = " ".join(str(exc).split())[:200]
        raise ValueError(
            f"{' or '.join(sources)} does not hold a report glassnet can render "
            f"({type(exc).__name__}: {why}); the file was changed or comes from another "
            "version: train the run again (or resume it) to write a new one"
        ) from None


def render_compare(datas: list, names: list) -> str:
    """Several runs side by side: curves overlaid, final numbers, the options that differ, and
    each run's diagnosis."""
    from glassnet.diagnostics import report_plots as rp

    esc = html.escape
    parts = [f"<h1>glassnet runs compared: {esc(', '.join(names))}</h1>"]
    parts.append("<h2>Training curves</h2>" + rp.compare(datas, names))
    keys = sorted({k for d in datas for k in d.get("history", {})} - {"lr"})
    rows = []
    for k in keys:
        row = [k]
        for d in datas:
            vals = d.get("history", {}).get(k) or []
            row.append(_fmt(vals[-1], ".4g") if vals else "")
        rows.append(row)
    for k in sorted({k for d in datas for k in d.get("test_metrics", {})}):
        rows.append([f"test {k}"] + [_fmt(d.get("test_metrics", {}).get(k), ".4f") for d in datas])
    parts.append("<h2>Final numbers</h2>" + _table(rows, ["metric", *names]))
    options = sorted({k for d in datas for k in d.get("config", {})})
    differ = [
        [k] + [str(d.get("config", {}).get(k, "")) for d in datas]
        for k in options
        if len({json.dumps(d.get("config", {}).get(k), sort_keys=True) for d in datas}) > 1
    ]
    parts.append(
        "<h2>Options that differ</h2>"
        + (_table(differ, ["option", *names]) if differ else "<p>none: same configuration</p>")
    )
    parts.append("<h2>Diagnoses</h2>")
    for d, name in zip(datas, names):
        parts.append(f"<h3>{esc(name)}</h3>" + _diagnosis_html(d).replace("<h2>", "<h4>")
                     .replace("</h2>", "</h4>"))  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>glassnet runs compared</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )


def _fmt(value, spec: str) -> str:
    """``format(value, spec)`` for numbers; NaN/inf (stored as None in JSON) show as 'nan'."""
    if value is None:
        return "nan"
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def _load(run_dir: str) -> dict:
    """``run_dir/report.json``, parsed; one clear error for a missing, odd or corrupt file.

    Only a regular file is read: a FIFO or a device planted under that name (a link to
    ``/dev/zero``) would block or fill the memory."""
    src = os.path.join(run_dir, "report.json")
    if not os.path.lexists(src):
        raise FileNotFoundError(
            f"{src} not found: is {run_dir!r} a glassnet run folder (made by glassnet train)?"
        )
    if not os.path.isfile(src):
        raise ValueError(f"{src} is not a regular file; a run folder's report.json is one")
    with open(src, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"{src} is corrupt: {' '.join(str(e).split())[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{src} is corrupt: it holds a JSON {type(data).__name__}, not an object")
    return data


def write_compare(run_dirs: list, out: str) -> str:
    """Render the runs' ``report.json`` side by side into ``out`` (HTML); returns ``out``."""
    datas = [_load(r) for r in run_dirs]
    names = [os.path.basename(str(r).rstrip("/")) for r in run_dirs]
    from glassnet._fs import atomic_write_text

    sources = [os.path.join(r, "report.json") for r in run_dirs]
    atomic_write_text(out, _rendered(render_compare, sources, datas, names))
    return out
