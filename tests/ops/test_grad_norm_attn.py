"""Gradchecks of the fused normalization ops and of scaled dot-product attention (with every
kind of mask, fully masked rows, broadcast batch axes, dropout and the weights helper)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(2)


def r(*shape, scale=1.0):
    return rng.standard_normal(shape) * scale


RM, RV = gn.tensor(r(4)), gn.tensor(rng.uniform(0.5, 2.0, 4))


def bn_eval(x, w, b):
    return F.batch_norm(x, RM, RV, w, b, training=False)


def bn_train(x, w, b):
    # fresh buffers each call: the check reruns forward many times
    rm, rv = gn.zeros(4, dtype="float64"), gn.ones(4, dtype="float64")
    return F.batch_norm(x, rm, rv, w, b, training=True)


MASK = rng.random((3, 5)) > 0.4
MASK[1] = False  # a fully masked query row: zeros out, zero gradients
MASK[0, 0] = MASK[2, 0] = True
BIAS = r(3, 5)
BIAS[0, 1] = -np.inf  # -inf in an additive mask forbids that key


def sdpa(**kw):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw)


def sdpa_dropout(q, k, v):
    gn.manual_seed(7)  # the same dropout mask on every rerun of forward
    return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)


Q, K, V = r(2, 3, 4), r(2, 5, 4), r(2, 5, 3)

CASES = [
    GradCase("layer_norm", lambda x: F.layer_norm(x, 5), [r(3, 5)], "plain"),
    GradCase(
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, (4, 5), w, b),
        [r(2, 4, 5, scale=3.0), r(4, 5), r(4, 5)],
        "affine-2axes",
    ),
    GradCase(
        "layer_norm",
        lambda x, w: F.layer_norm(x, 3, w),
        [r(3, 4).T + 100.0, r(3)],
        "noncontig-offset",
    ),
    GradCase("batch_norm", bn_train, [r(6, 4), r(4), r(4)], "train-2d"),
    GradCase("batch_norm", bn_train, [r(2, 4, 3, 2), r(4), r(4)], "train-4d"),
    GradCase("batch_norm", bn_eval, [r(2, 4, 3), r(4), r(4)], "eval"),
    GradCase(
        "batch_norm",
        lambda x: F.batch_norm(x, None, None, training=True),
        [r(5, 4, 2)],
        "no-running-no-affine",
    ),
    GradCase(
        "group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [r(2, 4, 3), r(4), r(4)], "g2"
    ),
    GradCase("group_norm", lambda x: F.group_norm(x, 4), [r(2, 4, 2, 2)], "instance"),
    GradCase("group_norm", lambda x, w: F.group_norm(x, 1, w), [r(3, 4), r(4)], "g1"),
    GradCase("scaled_dot_product_attention", sdpa(), [Q, K, V], "plain"),
    GradCase("scaled_dot_product_attention", sdpa(scale=0.7), [Q, K, V], "scale"),
    GradCase("scaled_dot_product_attention", sdpa(attn_mask=MASK), [Q, K, V], "bool-mask"),
    GradCase(
        "scaled_dot_product_attention",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [Q, K, V, BIAS],
        "float-mask-grad",
    ),
    GradCase(
        "scaled_dot_product_attention", sdpa(is_causal=True), [Q, K[:, :3], V[:, :3]], "causal"
    ),
    GradCase(
        "scaled_dot_product_attention",
        sdpa(is_causal=True),
        [r(3, 4), r(2, 4), r(2, 2)],
        "causal-L>S",  # row 0..1 see keys 0..i; row 2 sees both
    ),
    GradCase(
        "scaled_dot_product_attention",
        sdpa(),
        [r(2, 2, 3, 4), r(4, 4), r(2, 1, 4, 2)],
        "broadcast-batch",
    ),
    GradCase("scaled_dot_product_attention", sdpa_dropout, [Q, K, V], "dropout"),
    GradCase(
        "scaled_dot_product_attention",
        sdpa(),
        [r(2, 3, 4, scale=30.0), r(2, 5, 4, scale=30.0), V],
        "large-scores",
        atol=1e-4,
    ),
    GradCase(
        "softmax",
        lambda q, k: F.attention_weights(q, k, attn_mask=MASK),
        [Q, K],
        "attention_weights",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)
