"""The HTML report of a ``fit`` run (``history.report(path)``, ``ReportCallback``): the
report of :mod:`glassnet.diagnostics.report` filled from what ``fit``'s watch kept on the
History (diagnosis, per-step losses and learning rates, per-layer statistics), plus held-out
predictions when a model and data are given. Imports nothing from ``glassnet.train``, so the
History can call it without an import cycle."""

from __future__ import annotations

import html

import numpy as np


def write_fit_report(history, path: str, model=None, x=None, y=None, title=None) -> str:
    """The HTML report of a ``fit`` run (what ``History.report`` writes)."""
    from glassnet.diagnostics.report import render_html, report_data

    confusion = samples = None
    if model is not None and x is not None and y is not None:
        confusion, samples = predictions_summary(model, np.asarray(x), np.asarray(y))
    summary = str(model.summary((1, *np.asarray(x).shape[1:]))) if x is not None and hasattr(
        model, "summary") else ""  # fmt: skip
    data = report_data(
        diagnosis=getattr(history, "diagnosis", None),
        steps=getattr(history, "steps", None),
        layers=getattr(history, "layers", None),
        chance=getattr(history, "chance", None),
        history=history.history,
        verdicts=getattr(history, "verdicts", None),
        health=getattr(history, "health", []),
        gradient_flow=getattr(history, "gradient_flow", None),
        confusion=confusion,
        samples=samples,
        summary=summary,
    )
    reason = getattr(history, "stop_reason", None)
    page = render_html(data, title or "glassnet training report")
    if reason:
        note = f"<p class='note'>Training stopped early: {html.escape(reason)}</p>"
        page = page.replace("</h1>", "</h1>" + note, 1)
    from glassnet._fs import atomic_write_text

    atomic_write_text(path, page)  # a unique temporary name: never follows a planted symlink
    return str(path)


def predictions_summary(model, x, y, raw=None, limit: int = 2000, show: int = 16):
    """(confusion matrix, samples) of a classifier on held-out data; the samples are the
    mistakes first, then correct ones, with images from ``raw`` (original pixels) or ``x``."""
    n = min(len(x), limit)
    logits = model.predict(x[:n], batch_size=256)
    if logits.ndim != 2:
        return None, None
    pred, true = logits.argmax(axis=1), y[:n].astype(np.int64).reshape(-1)
    c = logits.shape[1]
    keep = (true >= 0) & (true < c)
    confusion = np.bincount(true[keep] * c + pred[keep], minlength=c * c).reshape(c, c)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    order = np.concatenate([np.flatnonzero(pred != true), np.flatnonzero(pred == true)])[:show]
    source = raw if raw is not None else x
    samples = {
        "images": images_of(np.asarray(source[:n])[order]),
        "true": true[order],
        "pred": pred[order],
        "prob": p[order, pred[order]],
    }
    return confusion, samples


def images_of(x: np.ndarray):
    """Inputs as (N, H, W) or (N, C, H, W) images, or None when they are not images."""
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x[:, 0] if x.shape[1] == 1 else x
    if x.ndim == 3:
        return x
    side = int(round(np.sqrt(x.shape[-1]))) if x.ndim == 2 else 0
    return x.reshape(len(x), side, side) if side and side * side == x.shape[-1] else None
