"""Bad input to the core ops: each error is a ValueError/TypeError (or RuntimeError for misuse
of the autograd engine) that names the op and the shapes involved."""

import re

import numpy as np
import pytest

import glassnet as gn

X = gn.zeros(2, 3)
S = re.escape("(2, 3)")  # the shape every message below must name

CASES = [
    # (label, call, error type, pattern the message must match)
    (
        "add",
        lambda: X + gn.zeros(4),
        ValueError,
        rf"add: shapes {S} and \(4,\) cannot be broadcast",
    ),
    ("mul", lambda: X * gn.zeros(3, 2), ValueError, rf"mul: shapes {S} and \(3, 2\)"),
    ("sub-const", lambda: X - np.zeros(4), ValueError, rf"sub: shapes {S} and \(4,\)"),
    ("maximum", lambda: gn.maximum(X, gn.zeros(4)), ValueError, rf"maximum: shapes {S}"),
    ("where", lambda: gn.where(X > 0, X, gn.zeros(4)), ValueError, rf"where: shapes {S}.*\(4,\)"),
    ("where-cond", lambda: gn.where(X, X, X), TypeError, "where: cond must be a boolean"),
    ("matmul", lambda: X @ gn.zeros(2, 3), ValueError, rf"matmul: shapes {S} @ {S} do not align"),
    ("matmul-vec", lambda: X @ gn.zeros(2), ValueError, rf"matmul: shapes {S} @ \(2,\)"),
    ("matmul-0d", lambda: X @ gn.tensor(2.0), ValueError, r"matmul: .*at least 1 dim"),
    ("matmul-dtype", lambda: X @ gn.zeros(3, dtype="float64"), TypeError, "matmul: dtypes"),
    ("sum-axis", lambda: X.sum(axis=2), ValueError, rf"sum: axis 2 is out of range for .*{S}"),
    ("mean-axis", lambda: X.mean(axis=(0, -3)), ValueError, rf"mean: axis -3 .*{S}"),
    ("max-axis", lambda: X.max(axis=5), ValueError, rf"max: axis 5 .*{S}"),
    ("max-tuple", lambda: X.max(dim=(0, 1)), TypeError, "max: dim must be one int.*amax"),
    ("var-repeat", lambda: X.var(axis=(1, -1)), ValueError, rf"var: axis \(1, -1\) repeats.*{S}"),
    ("sum-axis-type", lambda: X.sum(axis="rows"), TypeError, "sum: axis must be an int"),
    ("sum-axis-float", lambda: X.sum(axis=1.0), TypeError, "sum: axis must be an int"),
    ("logsumexp", lambda: gn.logsumexp(X, axis=-4), ValueError, rf"logsumexp: axis -4 .*{S}"),
    ("argmax", lambda: X.argmax(axis=2), ValueError, rf"argmax: axis 2 .*{S}"),
    ("argmax-tuple", lambda: X.argmax(axis=(0, 1)), TypeError, "argmax: dim must be one int"),
    ("softmax", lambda: gn.softmax(X, axis=2), ValueError, rf"softmax: axis 2 .*{S}"),
    ("reshape", lambda: X.reshape(4, 2), ValueError, rf"reshape: .*shape {S} \(6 elements\)"),
    ("reshape-2x-1", lambda: X.reshape(-1, -1), ValueError, rf"reshape: .*{S}.*at most one"),
    ("reshape-infer", lambda: X.reshape(-1, 4), ValueError, rf"reshape: .*{S}.*\(-1, 4\)"),
    ("transpose", lambda: X.transpose(0, 2), ValueError, rf"transpose: axis 2 .*{S}"),
    ("transpose-perm", lambda: X.transpose((0, 0)), ValueError, rf"transpose: .*{S}"),
    ("permute", lambda: X.permute(0, 1, 2), ValueError, rf"permute: got 3 axes .*{S}"),
    ("squeeze", lambda: X.squeeze(2), ValueError, rf"squeeze: axis 2 .*{S}"),
    ("unsqueeze", lambda: X.unsqueeze(4), ValueError, rf"unsqueeze: axis 4 .*{S}"),
    ("expand", lambda: X.expand(4, 3, 3), ValueError, rf"expand: .*{S} to \(4, 3, 3\)"),
    ("broadcast_to", lambda: X.broadcast_to(3, 3), ValueError, rf"broadcast_to: .*{S}"),
    ("concat", lambda: gn.concat([X, gn.zeros(3, 3)], axis=1), ValueError, rf"concat: .*{S}"),
    ("concat-axis", lambda: gn.concat([X, X], axis=2), ValueError, rf"concat: axis 2 .*{S}"),
    ("stack", lambda: gn.stack([X, gn.zeros(3, 2)]), ValueError, rf"stack: .*\(3, 2\).*{S}"),
    ("stack-axis", lambda: gn.stack([X, X], axis=4), ValueError, rf"stack: axis 4 .*{S}"),
    ("split", lambda: gn.split(X, [1, 1], axis=1), ValueError, rf"split: sizes \[1, 1\] .*{S}"),
    ("pad", lambda: gn.pad(X, ((1, 1),)), ValueError, rf"pad: got 1 .*{S}"),
    (
        "gather",
        lambda: gn.take_along_axis(X, np.zeros(2, dtype=np.int64), 1),
        ValueError,
        rf"take_along_axis: indices of shape \(2,\) .*{S}",
    ),  # fmt: skip
    ("index", lambda: X[2], IndexError, rf"index 2 is invalid for a tensor of shape {S}"),
    ("clip", lambda: gn.clip(X), ValueError, "clip: give at least one of min and max"),
    ("item", lambda: X.item(), ValueError, rf"item\(\) needs a tensor with one element.*{S}"),
    (
        "int-grad",
        lambda: gn.tensor([1, 2], requires_grad=True),
        TypeError,
        "only floating-point tensors can require gradients, got dtype int64",
    ),  # fmt: skip
    (
        "int-zeros-grad",
        lambda: gn.zeros(2, dtype="int64", requires_grad=True),
        TypeError,
        "floating-point",
    ),  # fmt: skip
]


@pytest.mark.parametrize("label, call, error, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_a_clear_error(label, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_errors_are_not_raw_numpy_errors():
    # the message is glassnet's own (it names the op), not NumPy's "operands could not be..."
    with pytest.raises(ValueError) as info:
        X + gn.zeros(4)
    assert "operands could not be broadcast" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_backward_misuse_names_the_op_and_shape():
    w = gn.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar tensor \(the output of op 'mul', shape "):
        (w * 2).backward()
    with pytest.raises(ValueError, match=rf"shape \(3,\) for the output of op 'mul' of shape {S}"):
        (w * 2).backward(grad=np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        X.sum().backward()
