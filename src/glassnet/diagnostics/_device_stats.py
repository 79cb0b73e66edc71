"""Statistics of a batch computed where its arrays live (NumPy, CuPy or the sim device), and
read back to the host in one transfer: what lets ``glassnet.watch`` keep a run's evidence on
the device until an epoch ends."""

from __future__ import annotations

import numpy as np

from glassnet.backend.device import xp_of


def host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") else a)


def read(arrays: list) -> list:
    """Host copies (float64) of ``arrays``; device arrays travel in ONE transfer (concatenated
    on the device, then copied), NumPy arrays are not copied at all."""
    device = [a for a in arrays if hasattr(a, "get")]
    if not device:
        return [np.asarray(a, dtype=np.float64) for a in arrays]
    xp = xp_of(device[0])
    flat = host(xp.concatenate([a.reshape(-1).astype(xp.float64) for a in device]))
    out, offset = [], 0
    for a in arrays:
        if hasattr(a, "get"):
            out.append(flat[offset : offset + a.size].reshape(a.shape))
            offset += a.size
        else:
            out.append(np.asarray(a, dtype=np.float64))
    return out


def class_stats(scores, target, check: bool):
    """One vector, on the scores' device: [correct, counted, checked, scores look like
    probabilities, predictions per class (C), targets per class (C)]."""
    xp = xp_of(scores)
    classes = scores.shape[1]
    flat = xp.moveaxis(scores, 1, -1).reshape(-1, classes)
    pred = flat.argmax(axis=1)
    labels = xp.arange(classes)
    bins = (pred[:, None] == labels).sum(axis=0)
    zero = bins.sum() * 0
    correct = count = zero
    counts = bins * 0
    if target is not None and target.shape == scores.shape and target.dtype.kind == "f":
        target = target.argmax(axis=1)  # class probabilities: the most likely class
    if target is not None and target.size == pred.shape[0]:
        t = target.reshape(-1).astype(xp.int64)
        keep = (t >= 0) & (t < classes)
        correct, count = ((pred == t) & keep).sum(), keep.sum()
        counts = ((t[:, None] == labels) & keep[:, None]).sum(axis=0)
    checked = probs = zero
    if check:  # >= 0 and rows summing to 1 (np.allclose(sums, 1, atol=1e-3))
        sums = flat.sum(axis=1)
        probs = (flat.min() >= 0) & (abs(sums - 1.0).max() <= 1e-3 + 1e-5)
        checked = zero + 1
    head = xp.stack([correct, count, checked, probs]).astype(xp.float64)
    return xp.concatenate([head, bins.astype(xp.float64), counts.astype(xp.float64)])


def target_counts(target, classes: int):
    """How many targets of each class (0..classes-1; others ignored), on the target's device."""
    xp = xp_of(target)
    if target.ndim >= 2 and target.shape[1] == classes and target.dtype.kind == "f":
        target = target.argmax(axis=1)  # class probabilities: the most likely class
    t = target.reshape(-1).astype(xp.int64)
    keep = (t >= 0) & (t < classes)
    if xp is np:
        return np.bincount(t[keep], minlength=classes)
    return ((t[:, None] == xp.arange(classes)) & keep[:, None]).sum(axis=0)


def fold_inputs(stats: dict | None, batches: list) -> dict | None:
    """Fold the host ``(min, max, sum, sum of squares, size)`` of input ``batches`` into
    ``stats`` (batches, min, max, mean, std over every element seen)."""
    for v in batches:
        lo, hi, total, sumsq, n = (float(x) for x in v)
        s = stats or {"batches": 0, "min": np.inf, "max": -np.inf, "sum": 0.0, "sumsq": 0.0,
                      "n": 0}  # fmt: skip
        s["batches"] += 1
        s["min"], s["max"] = min(s["min"], lo), max(s["max"], hi)
        s["sum"], s["sumsq"], s["n"] = s["sum"] + total, s["sumsq"] + sumsq, s["n"] + n
        s["mean"] = s["sum"] / s["n"]
        s["std"] = max(s["sumsq"] / s["n"] - s["mean"] ** 2, 0.0) ** 0.5
        stats = s
    return stats


def initial_weights(named: list) -> tuple[list, dict]:
    """At the start, read in one transfer: the weight matrices (not the output layer)
    whose rows (units) are all identical, and std(W) * sqrt(fan_in) of each (about 0.58
    under the default init, uniform in +-1/sqrt(fan_in); 1.41 under He, 1 under LeCun: a
    layer far below 0.1 shrinks the signal at every layer, far above 10 blows it up)."""
    weights = [(n, p._data) for n, p in named
               if n.endswith("weight") and p.ndim >= 2 and p.shape[0] > 1]  # fmt: skip
    if not weights:
        return [], {}
    xp = xp_of(weights[0][1])
    values = []
    for _, w in weights:
        w = w.reshape(w.shape[0], -1).astype(xp.float64)
        values.append(xp.stack([(w == w[:1]).all(), w.std()]))
    found, scale = [], {}
    for i, ((name, w), (same, std)) in enumerate(zip(weights, read(values))):
        if same and i < len(weights) - 1:
            found.append(name)
        if std > 0:
            scale[name] = float(std * (w.size // w.shape[0]) ** 0.5)
    return found, scale


def row_prints(a):
    """One number per sample (row of ``a``), on its device: the row's dot product with fixed
    weights cos(2.4 k) + 0.5, so equal samples give equal prints and different ones (almost
    surely) different prints; a watch compares validation's prints with training's."""
    xp = xp_of(a)
    flat = a.reshape(a.shape[0], -1).astype(xp.float64)
    return flat @ (xp.cos(xp.arange(flat.shape[1], dtype=xp.float64) * 2.4) + 0.5)


def shared_share(train: np.ndarray, val: np.ndarray, rtol: float = 1e-6) -> tuple:
    """(share of ``val`` prints found among ``train`` prints, share of ``train`` prints that
    repeat within ``train``), matching to ``rtol`` of the prints' scale."""
    ref = np.sort(train)
    tol = rtol * (np.abs(ref).max() + 1e-12)
    repeats = float(np.mean(np.diff(ref) <= tol)) if ref.size > 1 else 0.0
    i = np.clip(np.searchsorted(ref, val), 1, ref.size - 1)
    near = np.minimum(np.abs(ref[i] - val), np.abs(ref[i - 1] - val))
    return float(np.mean(near <= tol)), repeats


def still_identical(params: dict, names: list) -> list:
    """Of the weight ``names`` (units identical at the start), those whose rows are still
    all equal now."""
    still = []
    for name in names:
        w = host(params[name]._data).reshape(params[name].shape[0], -1)
        if np.allclose(w, w[:1], rtol=1e-5, atol=1e-7):
            still.append(name)
    return still


def fold_target(w, target: np.ndarray) -> None:
    """Fold a host batch of regression targets into watch ``w``: a sample of them (what the
    output must reach), their distinct values, whether all are integers, and the first
    batch's variance and mean."""
    if w.target_sample.size < 4096:
        w.target_sample = np.concatenate([w.target_sample, target.reshape(-1)])
    if len(w.target_values) < 50:
        w.target_values.update(np.unique(target)[:50].tolist())
    w.target_integral &= bool(np.all(np.mod(target, 1) == 0))
    if w.target_var is None:
        w.target_var, w.target_mean = float(np.var(target)), float(np.mean(target))
