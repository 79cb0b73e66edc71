"""Metrics against NumPy references written here (not against glassnet)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.train.metrics import (
    Accuracy,
    ConfusionMatrix,
    F1Score,
    MeanAbsoluteError,
    MeanMetric,
    MeanSquaredError,
    Perplexity,
    Precision,
    Recall,
    TopKAccuracy,
    get_metric,
)

RNG = np.random.default_rng(0)
SCORES = RNG.normal(size=(50, 4))
LABELS = RNG.integers(0, 4, size=50)
LABELS[:5] = 3  # make sure class 3 exists even if rarely predicted


def _in_batches(metric, scores, labels, size=7):
    for i in range(0, len(labels), size):
        metric.update(scores[i : i + size], labels[i : i + size])
    return metric.result()


def _reference_per_class(y_true, y_pred, n):
    precision, recall, f1 = [], [], []
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    for c in present:
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return np.mean(precision), np.mean(recall), np.mean(f1)


def test_accuracy_matches_numpy_over_batches():
    expected = np.mean(SCORES.argmax(1) == LABELS)
    assert _in_batches(Accuracy(), SCORES, LABELS) == pytest.approx(expected)


def test_accuracy_accepts_tensors_sequences_and_binary():
    acc = Accuracy()
    acc.update(gn.tensor(SCORES.reshape(5, 10, 4)), gn.tensor(LABELS.reshape(5, 10)))
    assert acc.result() == pytest.approx(np.mean(SCORES.argmax(1) == LABELS))
    binary = Accuracy()
    binary.update(np.array([0.9, 0.2, 0.6]), np.array([1, 1, 0]))
    assert binary.result() == pytest.approx(1 / 3)


def test_top_k_accuracy_matches_numpy():
    k = 2
    top = np.argsort(-SCORES, axis=1)[:, :k]
    expected = np.mean([LABELS[i] in top[i] for i in range(len(LABELS))])
    assert _in_batches(TopKAccuracy(k), SCORES, LABELS) == pytest.approx(expected)
    assert get_metric("top2_accuracy").k == 2


def test_precision_recall_f1_macro_match_reference():
    pred = SCORES.argmax(1)
    p, r, f = _reference_per_class(LABELS, pred, 4)
    assert _in_batches(Precision(), SCORES, LABELS) == pytest.approx(p)
    assert _in_batches(Recall(), SCORES, LABELS) == pytest.approx(r)
    assert _in_batches(F1Score(), SCORES, LABELS) == pytest.approx(f)


def test_confusion_matrix_counts():
    pred = SCORES.argmax(1)
    expected = np.zeros((4, 4), dtype=np.int64)
    for t, q in zip(LABELS, pred):
        expected[t, q] += 1
    np.testing.assert_array_equal(_in_batches(ConfusionMatrix(), SCORES, LABELS), expected)
    with pytest.raises(ValueError, match="num_classes"):
        ConfusionMatrix(num_classes=2).update(SCORES, LABELS)


def test_regression_metrics_and_mean():
    a, b = RNG.normal(size=(20, 3)), RNG.normal(size=(20, 3))
    assert _in_batches(MeanAbsoluteError(), a, b) == pytest.approx(np.mean(np.abs(a - b)))
    assert _in_batches(MeanSquaredError(), a, b) == pytest.approx(np.mean((a - b) ** 2))
    m = MeanMetric("loss")
    m.update(2.0, weight=1)
    m.update(5.0, weight=3)
    assert m.result() == pytest.approx((2 + 15) / 4)
    m.reset()
    assert np.isnan(m.result())


def test_perplexity_is_exp_of_mean_cross_entropy():
    z = SCORES - SCORES.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    expected = np.exp(-np.mean(logp[np.arange(len(LABELS)), LABELS]))
    assert _in_batches(Perplexity(), SCORES, LABELS) == pytest.approx(expected)
    uniform = Perplexity()
    uniform.update(np.zeros((3, 5)), np.array([0, 1, 2]))
    assert uniform.result() == pytest.approx(5.0)


def test_reset_and_errors():
    acc = Accuracy()
    acc.update(SCORES, LABELS)
    acc.reset()
    assert np.isnan(acc.result())
    with pytest.raises(ValueError, match="expected scores"):
        Accuracy().update(SCORES, LABELS[:10])
    with pytest.raises(ValueError, match="did you mean 'accuracy'"):
        get_metric("acuracy")
    with pytest.raises(TypeError):
        get_metric(3)
