"""Metrics: stateful objects that accumulate over batches (``update``), report a number
(``result``) and start over (``reset``), like Keras metrics.

Every metric works on raw arrays (Tensors are unwrapped), so the numbers are independent of
the autograd graph. On a device (CuPy, or the simulated ``sim`` device) the counting metrics
(accuracy, top-k accuracy, MAE, MSE, perplexity) add each batch's sums *on the device*; the
host reads them once, when ``result()`` is called or when ``fit`` reads its log point (all
metrics and the loss in one transfer, see :func:`read_pending`). The confusion-matrix family
(confusion matrix, precision, recall, F1) grows with the classes it sees and reads the host
each batch. Classification metrics take ``y_pred`` as scores (logits or probabilities)
of shape (N, C) (or (N, T, C) for sequences, with targets (N, T)) and ``y_true`` as integer
class ids; regression metrics take any matching shapes.

>>> import numpy as np
>>> acc = Accuracy()
>>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
>>> acc.result()
0.5
"""

from __future__ import annotations

import difflib

import numpy as np

__all__ = [
    "METRICS",
    "Accuracy",
    "ConfusionMatrix",
    "F1Score",
    "MeanAbsoluteError",
    "MeanMetric",
    "MeanSquaredError",
    "Metric",
    "Perplexity",
    "Precision",
    "Recall",
    "TopKAccuracy",
    "get_metric",
]


def _raw(x):
    """The array behind a Tensor (kept on its device), or ``x`` itself."""
    return x._data if hasattr(x, "requires_grad") and hasattr(x, "_data") else x


def _on_device(x) -> bool:
    from glassnet.backend import xp_of

    raw = _raw(x)
    return (
        hasattr(raw, "shape")
        and not isinstance(raw, (np.ndarray, np.generic))
        and (xp_of(raw) is not np)
    )


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return x.numpy()
    return np.asarray(x)


def _check_shapes(scores, labels, name: str) -> None:
    if scores.ndim < 2 or tuple(labels.shape) != tuple(scores.shape[:-1]):
        raise ValueError(
            f"{name}: got scores of shape {tuple(scores.shape)} and targets of shape "
            f"{tuple(labels.shape)}; expected scores (N, C) with integer targets (N,) (or "
            "(N, T, C) with (N, T))"
        )


def _scores_and_labels(y_pred, y_true, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten (N, C) / (N, T, C) scores and (N,) / (N, T) labels to (M, C) and (M,)."""
    scores, labels = _to_numpy(y_pred), _to_numpy(y_true)
    _check_shapes(scores, labels, name)
    if labels.dtype.kind not in "iu":
        if labels.size and not np.all(labels == np.round(labels)):
            raise ValueError(f"{name}: targets must be integer class ids, got {labels.dtype}")
        labels = labels.astype(np.int64)
    return scores.reshape(-1, scores.shape[-1]), labels.reshape(-1)


class Metric:
    """Base class: subclasses define ``update``, ``result`` and ``reset``.

    ``name`` is the key used in logs and History (``val_`` is prefixed for validation).
    """

    name = "metric"
    _pending = None  # device sums of the batches since the last read (a list of arrays)

    def __init__(self) -> None:
        self.reset()

    def batch_sums(self, y_pred, y_true, xp):
        """This batch's sums as arrays of ``xp`` (computed where the data lives), to be added
        up over batches and folded in by :meth:`absorb`; None for a metric that needs the host
        (the default)."""
        return None

    def absorb(self, sums) -> None:  # pragma: no cover - interface, with batch_sums
        raise NotImplementedError

    def _update_on_device(self, y_pred, y_true) -> bool:
        """Add a device batch's sums on the device (no host read); False if not possible."""
        if not _on_device(y_pred):
            return False
        from glassnet.backend import xp_of

        raw = _raw(y_pred)
        sums = self.batch_sums(raw, _raw(y_true), xp_of(raw))
        if sums is None:
            return False
        if self._pending is None:
            self._pending = list(sums)
        else:
            self._pending = [a + b for a, b in zip(self._pending, sums)]
        return True

    def sync(self) -> None:
        """Fold the device sums into the host counters (one read); a no-op without any."""
        if self._pending is not None:
            read_pending([self])

    def update(self, y_pred, y_true) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def result(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetric(Metric):
    """Weighted running mean of values: ``sum(w_i * v_i) / sum(w_i)``. The loss metric uses it
    with ``weight = batch size``, so the epoch loss is the mean over samples, not batches.

    >>> m = MeanMetric("loss")
    >>> m.update(1.0, weight=3); m.update(3.0, weight=1); m.result()
    1.5
    """

    def __init__(self, name: str = "mean"):
        self.name = name
        super().__init__()

    def update(self, value, weight: float = 1.0) -> None:
        self.total += float(_to_numpy(value)) * float(weight)
        self.count += float(weight)

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0.0


class Accuracy(Metric):
    """Share of samples whose highest score is the true class: ``mean(argmax(y_pred) == y)``.

    Scores of shape (N,) or (N, 1) are read as binary probabilities/logits-free scores and
    thresholded at ``threshold``.
    """

    name = "accuracy"

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        super().__init__()

    def batch_sums(self, y_pred, y_true, xp):
        scores, labels = y_pred, y_true
        if scores.ndim == labels.ndim or (scores.ndim == 2 and scores.shape[-1] == 1):
            predicted = (scores.reshape(labels.shape) > self.threshold).astype(labels.dtype)
        else:
            _check_shapes(scores, labels, "Accuracy")
            predicted = scores.reshape(-1, scores.shape[-1]).argmax(axis=-1)
            labels = labels.reshape(-1)
        count = xp.asarray(float(labels.size))  # known from the shape: no read
        return [xp.sum(predicted == labels).astype(xp.float64), count]

    def absorb(self, sums) -> None:
        self.correct += int(round(float(sums[0])))
        self.count += int(round(float(sums[1])))

    def update(self, y_pred, y_true) -> None:
        if self._update_on_device(y_pred, y_true):
            return
        scores, labels = _to_numpy(y_pred), _to_numpy(y_true)
        if scores.ndim != labels.ndim and not (scores.ndim == 2 and scores.shape[-1] == 1):
            scores, labels = _scores_and_labels(scores, labels, "Accuracy")
        self.absorb([np.asarray(v) for v in self.batch_sums(scores, labels, np)])

    def result(self) -> float:
        self.sync()
        return self.correct / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.correct, self.count = 0, 0
        self._pending = None


class TopKAccuracy(Metric):
    """Share of samples whose true class is among the ``k`` highest scores (ties favour the
    lower class index, as a stable sort does)."""

    def __init__(self, k: int = 5):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive int, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def batch_sums(self, y_pred, y_true, xp):
        _check_shapes(y_pred, y_true, "TopKAccuracy")
        scores = y_pred.reshape(-1, y_pred.shape[-1])
        labels = y_true.reshape(-1)
        top = xp.argsort(-scores, axis=-1, kind="stable")[:, : self.k]
        hits = xp.sum(xp.any(top == labels[:, None], axis=-1)).astype(xp.float64)
        return [hits, xp.asarray(float(labels.size))]

    absorb = Accuracy.absorb

    def update(self, y_pred, y_true) -> None:
        if self._update_on_device(y_pred, y_true):
            return
        scores, labels = _scores_and_labels(y_pred, y_true, "TopKAccuracy")
        self.absorb([np.asarray(v) for v in self.batch_sums(scores, labels, np)])

    result = Accuracy.result
    reset = Accuracy.reset


class ConfusionMatrix(Metric):
    """Counts ``M[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    ``num_classes=None`` grows the matrix to the largest class seen. ``result()`` returns the
    int64 matrix (not a float), so it is left out of epoch logs.
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int | None = None):
        self.num_classes = num_classes
        super().__init__()

    def update(self, y_pred, y_true) -> None:
        scores, labels = _scores_and_labels(y_pred, y_true, type(self).__name__)
        predicted = scores.argmax(axis=-1)
        size = max(self.matrix.shape[0], scores.shape[-1], int(labels.max(initial=-1)) + 1)
        if self.num_classes is not None and size > self.num_classes:
            raise ValueError(
                f"{type(self).__name__}(num_classes={self.num_classes}) got {size} classes; "
                "raise num_classes or leave it None"
            )
        if size > self.matrix.shape[0]:
            grown = np.zeros((size, size), dtype=np.int64)
            n = self.matrix.shape[0]
            grown[:n, :n] = self.matrix
            self.matrix = grown
        np.add.at(self.matrix, (labels, predicted), 1)
        self.seen[np.unique(np.concatenate([labels, predicted]))] = True

    def result(self) -> np.ndarray:
        return self.matrix.copy()

    def reset(self) -> None:
        n = self.num_classes or 0
        self.matrix = np.zeros((n, n), dtype=np.int64)
        self._seen = np.zeros(n, dtype=bool)

    @property
    def seen(self) -> np.ndarray:
        # Classes that appeared as a target or a prediction (macro averages use these).
        if self._seen.shape[0] < self.matrix.shape[0]:
            grown = np.zeros(self.matrix.shape[0], dtype=bool)
            grown[: self._seen.shape[0]] = self._seen
            self._seen = grown
        return self._seen


def _per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true_pos = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    # A class never predicted has precision 0 (and never present, recall 0): scikit-learn's
    # zero_division=0 convention, so an empty class pulls the macro average down.
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
    return precision, recall


class Precision(ConfusionMatrix):
    """Macro precision: the mean over classes of ``TP_c / (TP_c + FP_c)``, over the classes
    that appear as a target or a prediction (0 for a class never predicted)."""

    name = "precision"

    def result(self) -> float:
        precision, _ = _per_class(self.matrix)
        return float(precision[self.seen].mean()) if self.seen.any() else float("nan")


class Recall(ConfusionMatrix):
    """Macro recall: the mean over classes of ``TP_c / (TP_c + FN_c)``."""

    name = "recall"

    def result(self) -> float:
        _, recall = _per_class(self.matrix)
        return float(recall[self.seen].mean()) if self.seen.any() else float("nan")


class F1Score(ConfusionMatrix):
    """Macro F1: the mean over classes of ``2 P_c R_c / (P_c + R_c)`` (0 where both are 0)."""

    name = "f1"

    def result(self) -> float:
        p, r = _per_class(self.matrix)
        denom = p + r
        f1 = np.divide(2 * p * r, denom, out=np.zeros_like(p), where=denom > 0)
        return float(f1[self.seen].mean()) if self.seen.any() else float("nan")


class MeanAbsoluteError(Metric):
    """``mean(|y_pred - y_true|)`` over all elements of all batches."""

    name = "mae"

    def _errors(self, diff, xp):
        return xp.abs(diff)

    def batch_sums(self, y_pred, y_true, xp):
        diff = y_pred.astype(xp.float64) - y_true.astype(xp.float64)
        return [self._errors(diff, xp).sum(), xp.asarray(float(diff.size))]

    def absorb(self, sums) -> None:
        self.total += float(sums[0])
        self.count += int(round(float(sums[1])))

    def update(self, y_pred, y_true) -> None:
        if self._update_on_device(y_pred, y_true):
            return
        sums = self.batch_sums(_to_numpy(y_pred), _to_numpy(y_true), np)
        self.absorb([np.asarray(v) for v in sums])

    def result(self) -> float:
        self.sync()
        return self.total / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0
        self._pending = None


class MeanSquaredError(MeanAbsoluteError):
    """``mean((y_pred - y_true)^2)`` over all elements of all batches."""

    name = "mse"

    def _errors(self, diff, xp):
        return xp.square(diff)


class Perplexity(Metric):
    """``exp(mean cross-entropy)`` of logits against integer targets, over all tokens: the
    effective number of equally likely choices the model hesitates between (lower is better;
    a uniform guess over V symbols gives V). Uses a stable log-softmax
    ``z - max(z) - log(sum(exp(z - max(z))))``."""

    name = "perplexity"

    def batch_sums(self, y_pred, y_true, xp):
        _check_shapes(y_pred, y_true, "Perplexity")
        z = y_pred.reshape(-1, y_pred.shape[-1]).astype(xp.float64)
        labels = y_true.reshape(-1).astype(xp.int64)
        z = z - z.max(axis=-1, keepdims=True)
        log_probs = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
        picked = xp.take_along_axis(log_probs, labels[:, None], axis=-1)
        return [-picked.sum(), xp.asarray(float(labels.size))]

    absorb = MeanAbsoluteError.absorb

    def update(self, y_pred, y_true) -> None:
        if self._update_on_device(y_pred, y_true):
            return
        logits, labels = _scores_and_labels(y_pred, y_true, "Perplexity")
        self.absorb([np.asarray(v) for v in self.batch_sums(logits, labels, np)])

    def result(self) -> float:
        self.sync()
        return float(np.exp(self.total / self.count)) if self.count else float("nan")

    reset = MeanAbsoluteError.reset


def read_pending(metrics: list, extra: list | None = None) -> list:
    """Read every metric's device sums, and the arrays in ``extra``, in ONE device-to-host
    transfer, fold the sums into the metrics' counters and return ``extra``'s host values.

    This is how ``fit`` keeps its host-sync budget on a device: the losses and all metrics of a
    logging interval come back together.
    """
    from glassnet.backend import to_numpy, xp_of

    extra = list(extra or [])
    owners = [m for m in metrics if m._pending is not None]
    parts = [a for m in owners for a in m._pending] + extra
    if not parts:
        return []
    xp = xp_of(parts[0])
    flat = to_numpy(xp.stack([xp.asarray(p, dtype=xp.float64).reshape(()) for p in parts]))
    at = 0
    for metric in owners:
        n = len(metric._pending)
        metric._pending = None
        metric.absorb(list(flat[at : at + n]))
        at += n
    return list(flat[at:])


METRICS = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "top5_accuracy": lambda: TopKAccuracy(5),
    "top_k_accuracy": TopKAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1": F1Score,
    "confusion_matrix": ConfusionMatrix,
    "mae": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "perplexity": Perplexity,
}


def get_metric(spec: str | Metric) -> Metric:
    """Return a fresh metric for a name in ``METRICS`` (``"top3_accuracy"`` also works), or
    ``spec`` itself when it is already a :class:`Metric`.

    >>> get_metric("top3_accuracy").k
    3
    """
    if isinstance(spec, Metric):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"metrics must be names or Metric objects, got {type(spec).__name__}; "
            f"use e.g. metrics=['accuracy']"
        )
    key = spec.strip().lower()
    if key.startswith("top") and key.endswith("_accuracy") and key[3:-9].isdigit():
        return TopKAccuracy(int(key[3:-9]))
    if key not in METRICS:
        close = difflib.get_close_matches(key, list(METRICS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown metric {spec!r}; available: {', '.join(METRICS)}{hint}")
    return METRICS[key]()
