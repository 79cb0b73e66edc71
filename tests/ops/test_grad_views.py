"""Gradchecks (float64, first and second derivatives) of the strided views diagonal and
Tensor.unfold, and of the composed ops added beside them (masked_scatter, put, the stacks)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(7)


def r(*shape):
    return rng.uniform(-2.0, 2.0, size=shape)


MASK = gn.tensor([[True, False, True], [False, True, True]])

CASES = [
    GradCase("diagonal", lambda a: gn.diagonal(a), [r(3, 3)]),
    GradCase("diagonal", lambda a: gn.diagonal(a, 1, 2, 0), [r(3, 2, 4)], label="offset-dims"),
    GradCase("diagonal", lambda a: a.diagonal(-1), [r(4, 3)], label="negative-offset"),
    GradCase("diagonal", lambda a: a.T.diagonal(), [r(3, 4)], label="non-contiguous"),
    GradCase("diagonal", lambda a: a.diagonal(5), [r(3, 3)], label="empty"),
    GradCase("unfold", lambda a: a.unfold(1, 3, 2), [r(2, 7)]),
    GradCase("unfold", lambda a: a.unfold(0, 2, 1), [r(5)], label="overlapping"),
    GradCase("unfold", lambda a: a.unfold(0, 2, 3), [r(7, 2)], label="gaps"),
    GradCase("unfold", lambda a: a.T.unfold(0, 2, 1) * 2.0, [r(3, 4)], label="non-contiguous"),
    GradCase("unfold", lambda a: a.unfold(-1, 0, 1), [r(2, 3)], label="empty-windows"),
]

COMPOSED = [
    ("masked_scatter", lambda a, s: a.masked_scatter(MASK, s), [r(2, 3), r(7)]),
    ("masked_scatter-bcast", lambda a, s: a.masked_scatter(MASK[0], s), [r(2, 3), r(5)]),
    ("put", lambda a, s: a.put(gn.tensor([1, -1, 3]), s), [r(2, 3), r(3)]),
    ("put-acc", lambda a, s: a.put(gn.tensor([1, 1]), s, accumulate=True), [r(2, 3), r(2)]),
    ("hstack", lambda a, b: gn.hstack([a, b]), [r(2, 3), r(2, 1)]),
    ("vstack", lambda a, b: gn.vstack([a, b]), [r(3), r(2, 3)]),
    ("dstack", lambda a, b: gn.dstack([a, b]), [r(2, 3), r(2, 3)]),
    ("column_stack", lambda a, b: gn.column_stack([a, b]), [r(2), r(2, 3)]),
    ("cat-legacy-empty", lambda a, b: gn.cat([a, b, a]), [r(2, 3), r(0)]),
    ("flip", lambda a: gn.flip(a, (0, 1)) * 1.0, [r(2, 3)]),
    ("rot90", lambda a: gn.rot90(a, 0), [r(2, 3)]),
    ("repeat-1", lambda a: a.repeat(1, 1), [r(2, 3)]),
    ("rsub", lambda a, b: gn.rsub(a, b, alpha=2), [r(3), r(3)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)


@pytest.mark.parametrize("name,fn,inputs", COMPOSED, ids=[c[0] for c in COMPOSED])
def test_composed_gradcheck(name, fn, inputs):
    run_case(GradCase(name, fn, inputs))
