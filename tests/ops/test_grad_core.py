"""Gradchecks of the core ops (elementwise, activations, reductions, shape, matmul).

Every case runs forward, backward and central differences in float64; ``gradgrad`` cases
also check second derivatives through ``create_graph=True``.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.ops as ops
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(0)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def pos(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


NONCONTIG = r(4, 3).T  # a transposed (non-contiguous) view
# two-way ties: central differences see (1 + 0) / 2, the even split glassnet uses
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])

CASES = [
    # elementwise (with broadcasting, non-contiguous inputs and scalars)
    GradCase("add", lambda a, b: a + b, [r(2, 3), r(3)], "broadcast"),
    GradCase("add", lambda a, b: a + b, [NONCONTIG, r(3, 1)], "noncontig"),
    GradCase("sub", lambda a, b: a - b, [r(2, 1, 3), r(4, 1)], "broadcast"),
    GradCase("mul", lambda a, b: a * b, [r(2, 3), r(2, 3)]),
    GradCase("mul", lambda a: 3.0 * a * a, [r(3)], "scalar-reuse"),
    GradCase("div", lambda a, b: a / b, [r(2, 3), pos(3)]),
    GradCase("pow", lambda a, b: a**b, [pos(2, 3), r(2, 3)]),
    GradCase("xlogy", gn.xlogy, [r(2, 3), pos(3)], "broadcast"),
    GradCase("pow_scalar", lambda a: a**3, [r(4)]),
    GradCase("pow_scalar", lambda a: a**-0.5, [pos(4)], "fractional"),
    GradCase("neg", lambda a: -a, [r(3)]),
    GradCase("exp", gn.exp, [r(2, 3)]),
    GradCase("log", gn.log, [pos(2, 3)]),
    GradCase("log1p", gn.log1p, [pos(3)]),
    GradCase("sqrt", gn.sqrt, [pos(3)]),
    GradCase("abs", gn.abs, [np.array([-1.5, 0.7, 2.0])]),
    GradCase("sin", gn.sin, [r(3)]),
    GradCase("cos", gn.cos, [r(3)]),
    GradCase("maximum", gn.maximum, [r(2, 3), r(3)]),
    GradCase("minimum", gn.minimum, [r(2, 3), r(2, 3)]),
    GradCase("where", lambda a, b: gn.where(a > 0, a, b), [r(2, 3), r(2, 3)]),
    GradCase("clip", lambda a: gn.clip(a, -1.0, 1.0), [np.array([-1.7, -0.3, 0.4, 1.6])]),
    GradCase("cast", lambda a: a.astype("float32") * 2, [r(3)], eps=1e-2, atol=1e-4),
    GradCase("clone", lambda a: a.clone() * a, [r(3)]),
    GradCase("to_device", lambda a: ops.to_device(a, "cpu"), [r(3)]),
    # activations
    GradCase("relu", gn.ops.relu, [np.array([-1.0, -0.2, 0.3, 2.0])]),
    GradCase("leaky_relu", lambda a: ops.leaky_relu(a, 0.1), [r(5)]),
    GradCase("elu", ops.elu, [r(5)]),
    GradCase("gelu", ops.gelu, [r(5)], "erf"),
    GradCase("erf", gn.ops.erf, [r(5)]),
    GradCase("gelu", lambda a: ops.gelu(a, approximate="tanh"), [r(5)], "tanh"),
    GradCase("silu", ops.silu, [r(5)]),
    GradCase("sigmoid", gn.sigmoid, [r(5)]),
    GradCase("sigmoid", gn.sigmoid, [np.array([-30.0, 30.0])], "saturated"),
    GradCase("tanh", gn.tanh, [r(5)]),
    GradCase("softplus", ops.softplus, [r(5)]),
    GradCase("softmax", lambda a: gn.softmax(a, axis=-1), [r(2, 4)]),
    GradCase("softmax", lambda a: gn.softmax(a, axis=0), [r(3, 2) * 50], "large"),
    GradCase("log_softmax", lambda a: ops.log_softmax(a, axis=1), [r(2, 4)]),
    # reductions
    GradCase("sum", lambda a: a.sum(axis=1), [r(2, 3)]),
    GradCase("sum", lambda a: a.sum(axis=(0, 2), keepdims=True), [r(2, 3, 2)], "tuple-axis"),
    GradCase("mean", lambda a: a.mean(axis=0), [r(3, 2)]),
    GradCase("mean", lambda a: a.mean(), [NONCONTIG], "all-noncontig"),
    GradCase("var", lambda a: a.var(axis=1), [r(2, 4)]),
    GradCase("var", lambda a: ops.std(a, axis=0, correction=0), [r(4, 2)], "std-population"),
    GradCase("std_of_var", lambda a: ops.std(a, axis=1), [r(2, 4)]),
    # at a tie the first derivative jumps (the split changes when one side moves), so only the
    # first derivative is checked there; "max-all" and "min-no-ties" check the second
    GradCase("max", lambda a: a.amax(axis=1), [TIES], "ties", gradgrad=False),
    GradCase("max", lambda a: a.amax(), [r(3, 3)], "all"),
    GradCase("min", lambda a: a.amin(axis=0, keepdims=True), [TIES], "ties", gradgrad=False),
    GradCase("min", lambda a: a.amin(axis=0), [r(3, 2)], "no-ties"),
    GradCase("logsumexp", lambda a: gn.logsumexp(a, axis=-1), [r(2, 4)]),
    GradCase("logsumexp", lambda a: gn.logsumexp(a, axis=0), [r(3, 2) * 100], "large"),
    GradCase("prod", lambda a: a.prod(axis=1), [np.array([[1.5, 0.0, 2.0], [0.5, 3.0, -1.0]])]),
    # shape
    GradCase("reshape", lambda a: a.reshape(3, 2) * a.reshape(3, 2), [r(2, 3)]),
    GradCase("transpose", lambda a: a.T @ a, [r(2, 3)]),
    GradCase("transpose", lambda a: a.permute(2, 0, 1), [r(2, 3, 4)], "permute"),
    GradCase("broadcast_to", lambda a: a.expand(3, 2), [r(1, 2)]),
    GradCase("sum_to", lambda a: ops.sum_to(a, (1, 3)), [r(2, 3)]),
    GradCase(
        "concat", lambda a, b: gn.concat([a, b, a], axis=1), [r(2, 1), r(2, 3)], gradgrad=True
    ),
    GradCase("stack", lambda a, b: gn.stack([a, b], axis=1), [r(2, 3), r(2, 3)]),
    GradCase("pad", lambda a: gn.pad(a, ((1, 0), (2, 1)), value=1.0), [r(2, 2)]),
    GradCase("get_item", lambda a: a[1:, ::2], [r(3, 4)], "slices"),
    GradCase("get_item", lambda a: a[np.array([0, 2, 0, 0])], [r(3, 2)], "repeated"),
    GradCase("get_item", lambda a: a[a.detach() > 0], [r(3, 3)], "mask"),
    GradCase("get_item", lambda a: a[[0, 1], [1, 1]] * 2, [r(2, 2)], "pairs"),
    GradCase("linear_map", lambda a: a[np.array([1, 1, 0])] ** 2, [r(3)], "getitem-scatter"),
    GradCase(
        "take_along_axis", lambda a: gn.take_along_axis(a, np.array([[0, 0], [2, 1]]), 1), [r(2, 3)]
    ),  # fmt: skip
    # linear algebra
    GradCase("matmul", lambda a, b: a @ b, [r(2, 3), r(3, 4)]),
    GradCase("matmul", lambda a, b: a @ b, [r(2, 2, 3), r(3, 2)], "batched-broadcast"),
    GradCase("matmul", lambda a, b: a @ b, [r(3), r(3, 2)], "vector-left"),
    GradCase("matmul", lambda a, b: a @ b, [r(2, 4, 3), r(3)], "vector-right"),
    GradCase("matmul", lambda a, b: a @ b, [r(3), r(3)], "dot"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)
