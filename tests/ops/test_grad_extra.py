"""Gradchecks (float64, first and second derivatives) of the ops added for issue 16.

``CASES`` holds the registered ops (one Function each; the registry test requires a case);
``COMPOSED`` the ops built from other ops, checked the same way by name.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.testing import GradCase, check_grad, check_grad_grad, run_case

rng = np.random.default_rng(16)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def unit(*shape):
    return rng.uniform(-0.8, 0.8, size=shape)


def pos(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_integers(*shape):
    return np.floor(r(*shape) * 3) / 3 + 0.15  # never within 0.15 of an integer


WITH_ZEROS = np.array([[0.5, 0.0, 2.0, -1.5], [1.5, -0.7, 0.0, 0.0], [0.8, 1.2, -0.9, 1.1]])

CASES = [
    GradCase("expm1", gn.expm1, [r(2, 3)], gradgrad=True),
    GradCase("exp2", gn.exp2, [r(2, 3)], gradgrad=True),
    GradCase("log2", gn.log2, [pos(3)], gradgrad=True),
    GradCase("log10", gn.log10, [pos(3)], gradgrad=True),
    GradCase("tan", gn.tan, [unit(4)], gradgrad=True),
    GradCase("asin", gn.asin, [unit(4)], gradgrad=True),
    GradCase("acos", gn.acos, [unit(4)], gradgrad=True),
    GradCase("atan", gn.atan, [r(4)], gradgrad=True),
    GradCase("sinh", gn.sinh, [r(4)], gradgrad=True),
    GradCase("cosh", gn.cosh, [r(4)], gradgrad=True),
    GradCase("asinh", gn.asinh, [r(4)], gradgrad=True),
    GradCase("acosh", gn.acosh, [pos(4) + 1], gradgrad=True),
    GradCase("atanh", gn.atanh, [unit(4)], gradgrad=True),
    GradCase("erf", gn.erf, [r(2, 3)], gradgrad=True),
    GradCase("erfc", gn.erfc, [r(2, 3)], gradgrad=True),
    GradCase("erfinv", gn.erfinv, [unit(5)], gradgrad=True),
    GradCase("atan2", gn.atan2, [r(2, 3), r(3)], "broadcast", gradgrad=True),
    GradCase("hypot", gn.hypot, [r(2, 3), r(2, 3)], gradgrad=True),
    GradCase("floor", gn.floor, [away_from_integers(5)], gradgrad=True),
    GradCase("ceil", gn.ceil, [away_from_integers(5)], gradgrad=True),
    GradCase("trunc", gn.trunc, [away_from_integers(5)], gradgrad=True),
    GradCase("round", lambda a: gn.round(a * 0.9 + 0.2), [away_from_integers(5)], gradgrad=True),
    GradCase("sign", gn.sign, [np.array([-1.5, 0.3, 2.0])], gradgrad=True),
    GradCase("fmod", gn.fmod, [r(2, 3) * 3, np.array([0.7, -1.3, 1.9])], gradgrad=True),
    GradCase(
        "remainder", gn.remainder, [r(2, 3) * 3, np.array([0.7, -1.3, 1.9])], gradgrad=True
    ),  # fmt: skip
    GradCase(
        "floor_divide",
        gn.floor_divide,
        [np.array([2.3, -1.4]), np.array([0.7, 0.9])],
        gradgrad=True,
    ),  # fmt: skip
    GradCase("cumsum", lambda a: gn.cumsum(a, 1), [r(2, 4)], gradgrad=True),
    GradCase("cumsum", lambda a: gn.cumsum(a, -3), [r(3, 2, 2)], "first-axis"),
    GradCase("cumprod", lambda a: gn.cumprod(a, 1), [r(3, 4)], gradgrad=True),
    GradCase("cumprod", lambda a: gn.cumprod(a, 1), [WITH_ZEROS], "zeros", gradgrad=True),
    GradCase("cumprod", lambda a: gn.cumprod(a, 0), [WITH_ZEROS.T], "zeros-axis0"),
    GradCase("logcumsumexp", lambda a: gn.logcumsumexp(a, 1), [r(2, 5)], gradgrad=True),
    GradCase("logcumsumexp", lambda a: gn.logcumsumexp(a, 0), [r(4, 2) * 300], "large"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)


IDX = np.array([[0, 1, 2, 0], [2, 0, 0, 1]])
IMG = r(2, 2, 4, 5)
# ties are exact in float64 and kept out of the finite-difference step by their spacing
TIES = np.array([[1.0, 3.0, 3.0, 2.0, -1.0], [2.0, 2.0, 0.5, 5.0, 4.0]])

COMPOSED = {
    "logaddexp": (gn.logaddexp, [r(2, 3), r(3)]),
    "logaddexp-tie": (gn.logaddexp, [np.array([0.5, -1.0]), np.array([0.5, 2.0])]),
    "logaddexp2": (gn.logaddexp2, [r(3), r(3)]),
    "lerp": (gn.lerp, [r(3), r(3), unit(3)]),
    "reciprocal": (gn.reciprocal, [pos(3)]),
    "clamp_min": (lambda a, b: gn.clamp_min(a, b), [np.array([-1.0, 0.5, 2.0]), r(3) * 0 + 0.2]),
    "clamp_max": (lambda a: gn.clamp_max(a, 0.3), [np.array([-1.0, 0.5, 2.0])]),
    "frac": (gn.frac, [away_from_integers(4)]),
    "xlogy": (gn.xlogy, [r(3), pos(3)]),
    "logit": (lambda a: gn.logit(a, 0.1), [rng.uniform(0.2, 0.8, 4)]),
    "relu6": (F.relu6, [np.array([-1.0, 0.5, 5.5, 7.0])]),
    "hardtanh": (lambda a: F.hardtanh(a, -0.5, 1.5), [np.array([-1.0, 0.2, 1.0, 2.0])]),
    "hardsigmoid": (F.hardsigmoid, [np.array([-4.0, -1.0, 2.0, 4.0])]),
    "hardswish": (F.hardswish, [np.array([-4.0, -1.0, 2.0, 4.0])]),
    "mish": (F.mish, [r(5)]),
    "selu": (F.selu, [r(5)]),
    "celu": (lambda a: F.celu(a, 1.5), [r(5)]),
    "softsign": (F.softsign, [r(5)]),
    "logsigmoid": (F.logsigmoid, [r(5) * 10]),
    "softmin": (lambda a: F.softmin(a, 1), [r(2, 4)]),
    "glu": (lambda a: F.glu(a, 0), [r(4, 3)]),
    "prelu": (F.prelu, [r(2, 3, 2), pos(3) * 0.2]),
    "rrelu": (F.rrelu, [r(5)]),
    "threshold": (lambda a: F.threshold(a, 0.1, -2.0), [r(5)]),
    "softplus-threshold": (lambda a: F.softplus(a, 2.0, 1.0), [r(5)]),
    "softshrink": (F.softshrink, [np.array([-2.0, -0.2, 0.3, 1.0])]),
    "hardshrink": (F.hardshrink, [np.array([-2.0, -0.2, 0.3, 1.0])]),
    "tanhshrink": (F.tanhshrink, [r(4)]),
    "cummax": (lambda a: gn.cummax(a, 1).values, [r(2, 5)]),
    "cummin": (lambda a: gn.cummin(a, 0).values, [r(3, 2)]),
    "sort": (lambda a: gn.sort(a, 1, descending=True).values, [r(2, 5)]),
    "topk": (lambda a: gn.topk(a, 2, 0).values, [r(4, 3)]),
    "kthvalue": (lambda a: gn.kthvalue(a, 2, 1).values, [r(3, 4)]),
    "median": (lambda a: gn.median(a, 1).values, [r(3, 4)]),
    "median-all": (gn.median, [r(3, 4)]),
    # all values distinct: each occurs once, so the mode is the smallest (a tied mode would
    # stop being one under a finite-difference step)
    "mode": (lambda a: gn.mode(a, 1).values, [r(2, 4)]),
    "amax": (lambda a: gn.amax(a, (0, 1)), [r(2, 3)]),
    "amax-ties": (lambda a: gn.amax(a, (0, 1)), [TIES]),
    "aminmax": (lambda a: gn.aminmax(a, dim=1).max, [r(2, 3)]),
    "var_mean": (lambda a: gn.var_mean(a, 1, correction=0)[0], [r(2, 4)]),
    "std_mean": (lambda a: gn.std_mean(a, 0)[0], [r(3, 2)]),
    "flip": (lambda a: gn.flip(a, (0, 1)), [r(2, 3)]),
    "roll": (lambda a: gn.roll(a, (1, -1), (0, 1)), [r(2, 3)]),
    "rot90": (lambda a: gn.rot90(a, 3), [r(2, 3)]),
    "tril": (lambda a: gn.tril(a, -1), [r(3, 3)]),
    "triu": (lambda a: gn.triu(a, 1), [r(2, 3, 3)]),
    "diag": (lambda a: gn.diag(a, 1), [r(3)]),
    "diagonal": (lambda a: gn.diagonal(a, 1, 2, 0), [r(3, 2, 4)]),
    "diag_embed": (lambda a: gn.diag_embed(a, -1), [r(2, 3)]),
    "index_select": (lambda a: gn.index_select(a, 1, gn.tensor([2, 0, 2])), [r(2, 3)]),
    "masked_select": (lambda a: gn.masked_select(a, gn.tensor([True, False, True])), [r(2, 3)]),
    "masked_fill": (lambda a: gn.masked_fill(a, gn.tensor([[True], [False]]), 2.0), [r(2, 3)]),
    "take": (lambda a: gn.take(a, gn.tensor([[0, 5], [5, 3]])), [r(2, 3)]),
    "take_along_dim": (lambda a: gn.take_along_dim(a, gn.tensor([[1], [0]]), 1), [r(2, 3)]),
    "scatter": (lambda a, s: gn.scatter(a, 0, gn.tensor(IDX), s), [r(3, 4), r(2, 5)]),
    "scatter_add": (lambda a, s: gn.scatter_add(a, 0, gn.tensor(IDX), s), [r(3, 4), r(2, 4)]),
    "scatter_reduce-mean": (
        lambda a, s: gn.scatter_reduce(a, 0, gn.tensor(IDX), s, "mean"),
        [r(3, 4), r(2, 4)],
    ),
    "scatter_reduce-amax": (
        lambda a, s: gn.scatter_reduce(a, 0, gn.tensor(IDX), s, "amax", include_self=False),
        [r(3, 4), r(2, 4)],
    ),
    "index_add": (lambda a, s: gn.index_add(a, 1, gn.tensor([0, 2, 0]), s), [r(2, 3), r(2, 3)]),
    "index_copy": (lambda a, s: gn.index_copy(a, 0, gn.tensor([2, 0]), s), [r(3, 2), r(2, 2)]),
    "index_fill": (lambda a: gn.index_fill(a, 1, gn.tensor([1]), 0.5), [r(2, 3)]),
    "index_put-accumulate": (
        lambda a, v: gn.index_put(a, (gn.tensor([0, 2, 0]), gn.tensor([1, 1, 1])), v, True),
        [r(3, 2), r(3)],
    ),
    "index_put": (
        lambda a, v: gn.index_put(a, (gn.tensor([0, 2, 0]),), v),  # row 0 twice: last wins
        [r(3, 2), r(3, 2)],
    ),
    "chunk": (lambda a: gn.chunk(a, 2, 1)[1], [r(2, 3)]),
    "unbind": (lambda a: gn.unbind(a, 1)[2] * gn.unbind(a, 0)[0], [r(3, 3)]),
    "narrow": (lambda a: gn.narrow(a, 0, 1, 2), [r(3, 2)]),
    "movedim": (lambda a: gn.movedim(a, 0, -1), [r(2, 3, 4)]),
    "unflatten": (lambda a: gn.unflatten(a, 1, (2, -1)), [r(2, 4)]),
    "tile": (lambda a: gn.tile(a, (2, 1, 2)), [r(2, 3)]),
    "unfold-tensor": (lambda a: a.unfold(1, 3, 2), [r(2, 6)]),
    "meshgrid": (lambda a, b: gn.meshgrid(a, b)[0] * gn.meshgrid(a, b)[1], [r(3), r(2)]),
    "einsum": (lambda a, b: gn.einsum("bij,bkj->bik", a, b), [r(2, 2, 3), r(2, 4, 3)]),
    "einsum-trace": (lambda a: gn.einsum("ii", a), [r(3, 3)]),
    "einsum-ellipsis": (lambda a, b: gn.einsum("...ij,j->...i", a, b), [r(2, 3, 4), r(4)]),
    "tensordot": (lambda a, b: gn.tensordot(a, b, ([0], [1])), [r(2, 3), r(4, 2)]),
    "outer": (gn.outer, [r(3), r(2)]),
    "bmm": (gn.bmm, [r(2, 2, 3), r(2, 3, 2)]),
    "baddbmm": (
        lambda i, a, b: gn.baddbmm(i, a, b, beta=0.5, alpha=2.0),
        [r(2, 2, 2), r(2, 2, 3), r(2, 3, 2)],
    ),  # fmt: skip
    "addmm": (lambda i, a, b: gn.addmm(i, a, b), [r(2), r(3, 2), r(2, 2)]),
    "addmv": (lambda i, a, b: gn.addmv(i, a, b), [r(3), r(3, 2), r(2)]),
    "vector_norm": (lambda a: gn.ops.vector_norm(a, 3, 1), [r(2, 3)]),
    "vector_norm-inf": (lambda a: gn.ops.vector_norm(a, float("inf")), [r(2, 3)]),
    "matrix_norm": (lambda a: gn.ops.matrix_norm(a, -1), [r(2, 3)]),
    "norm": (lambda a: gn.norm(a, dim=0), [r(3, 2)]),
    "normalize": (lambda a: F.normalize(a, dim=1), [r(2, 3)]),
    "cosine_similarity": (F.cosine_similarity, [r(2, 3), r(2, 3)]),
    "pairwise_distance": (F.pairwise_distance, [r(2, 3), r(2, 3)]),
    "cdist": (gn.cdist, [r(3, 2), r(4, 2)]),
    "pdist": (F.pdist, [r(3, 2)]),
    "margin_ranking_loss": (
        lambda a, b: F.margin_ranking_loss(a, b, gn.tensor([1.0, -1.0, 1.0]), 0.1),
        [r(3), r(3)],
    ),  # fmt: skip
    "hinge_embedding_loss": (
        lambda a: F.hinge_embedding_loss(a, gn.tensor([1.0, -1.0, -1.0])),
        [np.array([0.3, 0.4, 1.6])],
    ),  # fmt: skip
    "soft_margin_loss": (lambda a: F.soft_margin_loss(a, gn.tensor([1.0, -1.0])), [r(2)]),
    "multilabel_soft_margin_loss": (
        lambda a: F.multilabel_soft_margin_loss(a, gn.tensor([[1.0, 0.0, 1.0]])),
        [r(1, 3)],
    ),
    "cosine_embedding_loss": (
        lambda a, b: F.cosine_embedding_loss(a, b, gn.tensor([1.0, -1.0])),
        [r(2, 3), r(2, 3)],
    ),
    "triplet_margin_loss": (F.triplet_margin_loss, [r(2, 3), r(2, 3), r(2, 3)]),
    "poisson_nll_loss": (
        lambda a: F.poisson_nll_loss(a, gn.tensor([0.0, 2.0, 3.0]), full=True),
        [r(3)],
    ),  # fmt: skip
    "gaussian_nll_loss": (
        lambda a, v: F.gaussian_nll_loss(a, gn.tensor([0.5, 1.0]), v),
        [r(2), pos(2)],
    ),  # fmt: skip
    "pad-reflect": (lambda a: F.pad(a, (2, 1, 1, 0), "reflect"), [r(1, 1, 3, 4)]),
    "pad-replicate": (lambda a: F.pad(a, (1, 2), "replicate"), [r(2, 3)]),
    "pad-circular": (lambda a: F.pad(a, (2, 1), "circular"), [r(2, 3)]),
    "interpolate-nearest": (lambda a: F.interpolate(a, scale_factor=2), [IMG]),
    "interpolate-bilinear": (lambda a: F.interpolate(a, (3, 7), mode="bilinear"), [IMG]),
    "interpolate-align": (
        lambda a: F.interpolate(a, (5, 3), mode="bilinear", align_corners=True),
        [IMG],
    ),
    "interpolate-bicubic": (lambda a: F.interpolate(a, (5, 6), mode="bicubic"), [IMG]),
    "pixel_shuffle": (lambda a: F.pixel_shuffle(a, 2), [r(1, 4, 2, 3)]),
    "pixel_unshuffle": (lambda a: F.pixel_unshuffle(a, 2), [r(1, 1, 4, 2)]),
    "unfold": (lambda a: F.unfold(a, 2, padding=1, stride=(1, 2)), [IMG]),
    "fold": (lambda a: F.fold(a, (3, 4), 2, stride=1), [r(1, 8, 6)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_op_first_and_second_derivatives(name):
    fn, inputs = COMPOSED[name]
    check_grad(fn, [np.array(a) for a in inputs], name=name)
    if name.endswith("-ties"):  # a tie-split gradient is a step: no second derivative there
        return
    check_grad_grad(fn, [np.array(a) for a in inputs], name=name)


VOL = r(1, 2, 3, 4, 3)
SEQ = r(2, 2, 5)

CONV_POOL = {
    "conv3d": (
        lambda a, w, b: gn.ops.conv3d(a, w, b, stride=(1, 2, 1), padding=1),
        [VOL, r(2, 2, 2, 2, 2), r(2)],
    ),  # fmt: skip
    "conv2d-unbatched": (lambda a, w: gn.ops.conv2d(a, w, padding=1), [IMG[0], r(3, 2, 3, 3)]),
    "conv_transpose1d": (
        lambda a, w: F.conv_transpose1d(a, w, stride=2, padding=1, output_padding=1),
        [SEQ, r(2, 3, 3)],
    ),  # fmt: skip
    "conv_transpose2d": (
        lambda a, w, b: F.conv_transpose2d(a, w, b, stride=2, groups=2),
        [IMG, r(2, 1, 2, 3), r(2)],
    ),  # fmt: skip
    "max_pool1d": (lambda a: F.max_pool1d(a, 3, 2, 1, ceil_mode=True), [SEQ]),
    "max_pool2d-dilation": (lambda a: F.max_pool2d(a, 2, 1, dilation=2), [IMG]),
    "max_pool3d": (lambda a: F.max_pool3d(a, 2, 1), [VOL]),
    "avg_pool1d": (lambda a: F.avg_pool1d(a, 2, 2, 1, count_include_pad=False), [SEQ]),
    "avg_pool2d-ceil": (lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True), [IMG]),
    "avg_pool3d": (lambda a: F.avg_pool3d(a, 2, divisor_override=3), [VOL]),
    "adaptive_max_pool2d": (lambda a: F.adaptive_max_pool2d(a, (3, 2)), [IMG]),
    "adaptive_avg_pool1d": (lambda a: F.adaptive_avg_pool1d(a, 3), [SEQ]),
    "max_unpool2d": (
        lambda a: F.max_unpool2d(*F.max_pool2d(a, 2, return_indices=True), 2, output_size=(4, 5)),
        [IMG],
    ),
}


@pytest.mark.parametrize("name", sorted(CONV_POOL))
def test_conv_and_pool_first_and_second_derivatives(name):
    fn, inputs = CONV_POOL[name]
    check_grad(fn, [np.array(a) for a in inputs], name=name)
    check_grad_grad(fn, [np.array(a) for a in inputs], name=name)
