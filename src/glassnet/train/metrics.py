"""Metrics: stateful objects that accumulate over batches (``update``), report a number
(``result``) and start over (``reset``), like Keras metrics.

Every metric works on NumPy arrays (Tensors are converted), so the numbers are independent of
the autograd graph. Classification metrics take ``y_pred`` as scores (logits or probabilities)
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


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return x.numpy()
    return np.asarray(x)


def _scores_and_labels(y_pred, y_true, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten (N, C) / (N, T, C) scores and (N,) / (N, T) labels to (M, C) and (M,)."""
    scores, labels = _to_numpy(y_pred), _to_numpy(y_true)
    if scores.ndim < 2 or labels.shape != scores.shape[:-1]:
        raise ValueError(
            f"{name}: got scores of shape {scores.shape} and targets of shape {labels.shape}; "
            "expected scores (N, C) with integer targets (N,) (or (N, T, C) with (N, T))"
        )
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

    def __init__(self) -> None:
        self.reset()

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

    def update(self, y_pred, y_true) -> None:
        scores, labels = _to_numpy(y_pred), _to_numpy(y_true)
        if scores.ndim == labels.ndim or (scores.ndim == 2 and scores.shape[-1] == 1):
            predicted = (scores.reshape(labels.shape) > self.threshold).astype(np.int64)
        else:
            scores, labels = _scores_and_labels(scores, labels, "Accuracy")
            predicted = scores.argmax(axis=-1)
        self.correct += int(np.sum(predicted == labels))
        self.count += int(labels.size)

    def result(self) -> float:
        return self.correct / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.correct, self.count = 0, 0


class TopKAccuracy(Metric):
    """Share of samples whose true class is among the ``k`` highest scores (ties favour the
    lower class index, as a stable sort does)."""

    def __init__(self, k: int = 5):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive int, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def update(self, y_pred, y_true) -> None:
        scores, labels = _scores_and_labels(y_pred, y_true, "TopKAccuracy")
        top = np.argsort(-scores, axis=-1, kind="stable")[:, : self.k]
        self.correct += int(np.sum(np.any(top == labels[:, None], axis=-1)))
        self.count += int(labels.size)

    def result(self) -> float:
        return self.correct / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.correct, self.count = 0, 0


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

    def update(self, y_pred, y_true) -> None:
        diff = _to_numpy(y_pred).astype(np.float64) - _to_numpy(y_true).astype(np.float64)
        self.total += float(np.abs(diff).sum())
        self.count += diff.size

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


class MeanSquaredError(MeanAbsoluteError):
    """``mean((y_pred - y_true)^2)`` over all elements of all batches."""

    name = "mse"

    def update(self, y_pred, y_true) -> None:
        diff = _to_numpy(y_pred).astype(np.float64) - _to_numpy(y_true).astype(np.float64)
        self.total += float(np.square(diff).sum())
        self.count += diff.size


class Perplexity(Metric):
    """``exp(mean cross-entropy)`` of logits against integer targets, over all tokens: the
    effective number of equally likely choices the model hesitates between (lower is better;
    a uniform guess over V symbols gives V). Uses a stable log-softmax
    ``z - max(z) - log(sum(exp(z - max(z))))``."""

    name = "perplexity"

    def update(self, y_pred, y_true) -> None:
        logits, labels = _scores_and_labels(y_pred, y_true, "Perplexity")
        z = logits.astype(np.float64)
        z = z - z.max(axis=-1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        self.total += float(-log_probs[np.arange(len(labels)), labels].sum())
        self.count += len(labels)

    def result(self) -> float:
        return float(np.exp(self.total / self.count)) if self.count else float("nan")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


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
