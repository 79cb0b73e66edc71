"""The plots of the run report (matplotlib, ``glassnet[plots]``), each returned as an embedded
PNG ``<img>`` tag, or left out when its data is missing.

- curves: one panel per metric (training and validation per epoch), a chance line on
  accuracy, a log scale when a blow-up would flatten the rest of the curve (max/min > 100);
- steps: the per-step training loss next to the per-epoch one, and the learning rate per step;
- layers: per-layer statistics over epochs (gradient flow as mean |grad| per parameter,
  update-to-weight ratios, activation mean and std, weight root mean square);
- samples: predictions drawn from the original pixels, mistakes first;
- compare: the curves of several runs overlaid (``glassnet report RUN_A RUN_B``).
"""

from __future__ import annotations

import base64
import io

import numpy as np


def pyplot():
    """matplotlib.pyplot with the Agg backend, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    pyplot().close(fig)
    return (
        "<img alt='plot' src='data:image/png;base64,"
        + base64.b64encode(buf.getvalue()).decode()
        + "'/>"
    )


def _values(xs) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in xs], dtype=float)


def _maybe_log(ax, *series) -> None:
    """Log scale when a blow-up (max/min over 100) would flatten the rest of the curve."""
    vals = np.concatenate([_values(s) for s in series if len(s)]) if series else np.array([])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size and vals.max() / max(vals.min(), 1e-300) > 100:
        ax.set_yscale("log")
        ax.set_title(ax.get_title() + " (log scale)", fontsize=10)


def curves(data: dict) -> str:
    plt = pyplot()
    hist = data.get("history") or {}
    keys = [k for k in hist if not k.startswith("val_") and k not in ("lr", "epoch")]
    if plt is None or not keys:
        return ""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.3), squeeze=False)
    for ax, k in zip(axes[0], keys):
        vals = _values(hist[k])
        ax.plot(range(1, len(vals) + 1), vals, marker="o", label=f"train {k}")
        val = _values(hist.get(f"val_{k}", []))
        if len(val):
            ax.plot(range(1, len(val) + 1), val, marker="o", label=f"validation {k}")
        ax.set_xlabel("epoch")
        ax.set_title(k)
        if "accuracy" in k and data.get("chance"):
            ax.axhline(data["chance"], color="gray", ls="--", lw=1, label="chance")
        if "loss" in k:
            _maybe_log(ax, vals, val)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return png(fig)


def steps(data: dict) -> str:
    plt = pyplot()
    st = data.get("steps") or {}
    loss, lr = _values(st.get("loss") or []), _values(st.get("lr") or [])
    if plt is None or not len(loss):
        return ""
    panels = 2 if len(lr) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.3), squeeze=False)
    ax = axes[0][0]
    ax.plot(range(1, len(loss) + 1), loss, lw=0.8, alpha=0.6, label="per step")
    ends = st.get("epoch_ends") or []
    epoch_loss = _values((data.get("history") or {}).get("loss", []))
    if len(ends) == len(epoch_loss) and len(ends):
        ax.plot(ends, epoch_loss, marker="o", label="epoch mean")
    ax.set_xlabel("step")
    ax.set_title("training loss")
    _maybe_log(ax, loss)
    ax.legend(fontsize=8)
    if len(lr):
        ax = axes[0][1]
        ax.plot(range(1, len(lr) + 1), lr)
        ax.set_xlabel("step")
        ax.set_title("learning rate")
        _maybe_log(ax, lr)
    fig.tight_layout()
    return png(fig)


def layers(data: dict) -> str:
    """Gradient flow, update ratios and activations per layer, one line per epoch or layer."""
    plt = pyplot()
    records = data.get("layers") or []
    if plt is None or not records:
        return ""
    fig, axes = plt.subplots(1, 4, figsize=(19, 3.6))
    names = [n for n in records[-1].get("grads", {}) if n.endswith("weight")]
    for i, rec in enumerate(records):  # gradient flow: one line per epoch, later darker
        vals = [rec.get("grads", {}).get(n, {}).get("mean_abs", np.nan) for n in names]
        alpha = 0.25 + 0.75 * (i + 1) / len(records)
        axes[0].plot(range(len(names)), vals, marker="o", alpha=alpha, label=f"epoch {i + 1}")
    axes[0].set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    axes[0].set_title("gradient flow: mean |grad|, input -> output")
    epochs = range(1, len(records) + 1)
    for name in records[-1].get("updates", {}):
        vals = [rec.get("updates", {}).get(name, np.nan) for rec in records]
        axes[1].plot(epochs, vals, marker="o", label=name)
    axes[1].axhline(1e-3, color="gray", ls="--", lw=1, label="about 1e-3 is healthy")
    axes[1].set_title("update / weight per step")
    axes[1].set_xlabel("epoch")
    for key in records[-1].get("activations", {}):
        mean = [rec.get("activations", {}).get(key, {}).get("mean", np.nan) for rec in records]
        std = [rec.get("activations", {}).get(key, {}).get("std", np.nan) for rec in records]
        line = axes[2].plot(epochs, mean, marker="o", label=f"{key} mean")[0]
        axes[2].plot(epochs, std, ls="--", color=line.get_color(), label=f"{key} std")
    axes[2].set_title("activations (mean, std)")
    axes[2].set_xlabel("epoch")
    for name in records[-1].get("weights", {}):
        vals = [rec.get("weights", {}).get(name, np.nan) for rec in records]
        axes[3].plot(epochs, vals, marker="o", label=name)
    axes[3].set_title("weights (root mean square)")
    axes[3].set_xlabel("epoch")
    for ax in axes[:2]:
        if _has_positive_data(ax):  # all-NaN series (a run gone NaN) cannot be log-scaled
            ax.set_yscale("log")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.tight_layout()
    return png(fig)


def _has_positive_data(ax) -> bool:
    lines = [ln for ln in ax.get_lines() if ln.get_label() != "about 1e-3 is healthy"]
    return any(_has_positive_data_values(ln.get_ydata()) for ln in lines)


def _has_positive_data_values(values) -> bool:
    """Whether a log scale can show ``values`` (some finite value > 0)."""
    y = np.asarray(values, dtype=float)
    return bool((np.isfinite(y) & (y > 0)).any())


def samples(data: dict) -> str:
    plt = pyplot()
    s = data.get("samples") or {}
    if plt is None or not s.get("images"):
        return ""
    imgs = np.asarray(s["images"], dtype=float)
    n = min(len(imgs), 16)
    cols = (n + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(1.3 * cols, 3), squeeze=False)
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if i < n:
            img = imgs[i]
            ax.imshow(img if img.ndim == 2 else np.moveaxis(img, 0, -1).squeeze(), cmap="gray")
            ok = s["true"][i] == s["pred"][i]
            ax.set_title(f"{s['pred'][i]} ({s['true'][i]})", fontsize=8,
                         color="green" if ok else "red")  # fmt: skip
    fig.suptitle("predicted (true); mistakes first, in red", fontsize=9)
    fig.tight_layout()
    return png(fig)


def compare(datas: list, names: list) -> str:
    plt = pyplot()
    keys: list = []
    for d in datas:
        keys += [k for k in d.get("history", {}) if k not in keys and k not in ("lr", "epoch")]
    if plt is None or not keys:
        return ""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for d, name in zip(datas, names):
            vals = _values(d.get("history", {}).get(k, []))
            if len(vals):
                ax.plot(range(1, len(vals) + 1), vals, marker="o", label=name)
        ax.set_title(k)
        ax.set_xlabel("epoch")
        if "loss" in k:
            _maybe_log(ax, *[_values(d.get("history", {}).get(k, [])) for d in datas])
        ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)
