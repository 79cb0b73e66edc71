"""Gradchecks of the loss ops: every reduction, class weights, ignore_index, label smoothing,
probability targets, spatial (N, C, d) inputs, large logits and gradients w.r.t. targets."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(1)


def r(*shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def probs(*shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=1, keepdims=True)


IDX = gn.tensor(np.array([1, 0, -100, 4, 2]))  # one ignored sample
IDX_SPATIAL = gn.tensor(np.array([[0, 2, 1], [2, -100, 0]]))  # (N, d) for logits (N, C, d)
W5 = rng.uniform(0.5, 2.0, size=5)
W3 = rng.uniform(0.5, 2.0, size=3)
# logits of 1e4: the max subtraction keeps exp finite; the top two differ by 0.5
BIG = np.array([[1e4, 1e4 + 0.5, -1e4], [-1e4, 3.0, 1e4]])
BIG_IDX = gn.tensor(np.array([0, 1]))
# regression pairs kept away from the kinks (|d| = 0, delta, beta), where the loss is not smooth
D_IN = np.array([[0.3, -2.5, 1.7], [-0.4, 0.9, -3.1]])
D_TGT = np.array([[0.0, 0.1, -0.2], [0.5, 0.2, 0.4]])


def ce(**kw):
    return lambda x: F.cross_entropy(x, IDX, **kw)


CASES = [
    # cross_entropy with class indices
    GradCase("cross_entropy", ce(), [r(5, 5)], "mean"),
    GradCase("cross_entropy", ce(reduction="sum"), [r(5, 5)], "sum"),
    GradCase("cross_entropy", ce(reduction="none"), [r(5, 5)], "none"),
    GradCase("cross_entropy", ce(weight=W5), [r(5, 5)], "weight-ignore"),
    GradCase("cross_entropy", ce(label_smoothing=0.2), [r(5, 5)], "smoothing"),
    GradCase("cross_entropy", ce(weight=W5, label_smoothing=0.3), [r(5, 5)], "weight-smooth"),
    GradCase(
        "cross_entropy",
        ce(weight=W5, label_smoothing=0.1, reduction="none"),
        [r(5, 5)],
        "weight-smooth-none",
    ),
    GradCase(
        "cross_entropy",
        lambda x: F.cross_entropy(x, IDX_SPATIAL, weight=W3, label_smoothing=0.25),
        [r(2, 3, 3)],
        "spatial",
    ),
    GradCase(
        "cross_entropy",
        lambda x: F.cross_entropy(x, gn.tensor(np.array(2)), reduction="none"),
        [r(4)],
        "unbatched",
    ),
    GradCase("cross_entropy", lambda x: F.cross_entropy(x, BIG_IDX), [BIG], "logits-1e4"),
    GradCase("cross_entropy", ce(), [r(5, 5).T], "noncontig"),
    # cross_entropy with probability targets (also differentiated w.r.t. the target)
    GradCase("cross_entropy_probs", F.cross_entropy, [r(4, 3), probs(4, 3)], "mean"),
    GradCase(
        "cross_entropy_probs",
        lambda x, y: F.cross_entropy(x, y, weight=W3, label_smoothing=0.2, reduction="none"),
        [r(2, 3, 4), probs(2, 3, 4)],
        "weight-smooth-spatial",
    ),
    GradCase(
        "cross_entropy_probs",
        lambda x, y: F.cross_entropy(x, y, reduction="sum"),
        [BIG, probs(2, 3)],
        "logits-1e4",
    ),
    # nll_loss
    GradCase("nll_loss", lambda x: F.nll_loss(x, IDX), [r(5, 5)], "mean-ignore"),
    GradCase("nll_loss", lambda x: F.nll_loss(x, IDX, weight=W5), [r(5, 5)], "weight"),
    GradCase(
        "nll_loss",
        lambda x: F.nll_loss(x, IDX_SPATIAL, reduction="none"),
        [r(2, 3, 3)],
        "spatial-none",
    ),
    # regression losses
    GradCase("mse_loss", F.mse_loss, [r(2, 3), r(2, 3)], "mean"),
    GradCase(
        "mse_loss",
        lambda a, b: F.mse_loss(a, b, reduction="none"),
        [r(3, 2).T, r(2, 3)],
        "noncontig",
    ),
    GradCase(
        "mse_loss", lambda a, b: F.mse_loss(a, b, reduction="sum"), [r(2, 3), r(3)], "broadcast-t"
    ),
    GradCase("l1_loss", F.l1_loss, [D_IN, D_TGT], "mean"),
    GradCase("l1_loss", lambda a, b: F.l1_loss(a, b, reduction="none"), [D_IN, D_TGT], "none"),
    GradCase("huber_loss", F.huber_loss, [D_IN, D_TGT], "mean"),
    GradCase(
        "huber_loss", lambda a, b: F.huber_loss(a, b, "sum", delta=2.0), [D_IN, D_TGT], "delta2"
    ),
    GradCase("smooth_l1_loss", F.smooth_l1_loss, [D_IN, D_TGT], "mean"),
    GradCase(
        "smooth_l1_loss",
        lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.5),
        [D_IN, D_TGT],
        "beta",
    ),
    GradCase(
        "smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, beta=0.0), [D_IN, D_TGT], "beta0"
    ),
    # binary cross-entropy
    GradCase(
        "binary_cross_entropy",
        F.binary_cross_entropy,
        [rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))],
        "mean",
    ),
    GradCase(
        "binary_cross_entropy",
        lambda p, t: F.binary_cross_entropy(p, t, weight=W3[:, None] * np.ones(4), reduction="sum"),
        [rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))],
        "weight",
    ),
    GradCase(
        "binary_cross_entropy_with_logits",
        F.binary_cross_entropy_with_logits,
        [r(3, 4, scale=3.0), rng.uniform(0, 1, (3, 4))],
        "mean",
    ),
    GradCase(
        "binary_cross_entropy_with_logits",
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, weight=W3[:, None], pos_weight=np.array([0.5, 1.0, 2.0, 4.0]), reduction="none"
        ),
        [r(3, 4, scale=3.0), rng.uniform(0, 1, (3, 4))],
        "weight-pos_weight",
    ),
    GradCase(
        "binary_cross_entropy_with_logits",
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([3.0])),
        [np.array([-30.0, -1e4, 25.0, 1e4]), np.array([1.0, 0.0, 0.3, 1.0])],
        "large-logits",
    ),
    # KL divergence (input: log-probabilities)
    GradCase(
        "kl_div",
        lambda x, t: F.kl_div(x, t, reduction="batchmean"),
        [np.log(probs(3, 4)), probs(3, 4)],
        "batchmean",
    ),
    GradCase("kl_div", F.kl_div, [np.log(probs(3, 4)), probs(3, 4)], "mean"),
    GradCase(
        "kl_div",
        lambda x, t: F.kl_div(x, t, reduction="none", log_target=True),
        [np.log(probs(3, 4)), np.log(probs(3, 4))],
        "log_target",
    ),
    GradCase(
        "kl_div",
        lambda x: F.kl_div(x, gn.tensor(np.array([[0.0, 0.25, 0.75]])), reduction="sum"),
        [np.log(probs(1, 3))],
        "zero-target",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)
