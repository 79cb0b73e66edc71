"""Property-based tests (hypothesis): broadcasting, shape ops and reductions against NumPy.

Shapes, axes and slices are drawn at random; the reference is NumPy itself (forward) and a
NumPy un-broadcasting sum written here (gradients).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet as gn

SETTINGS = settings(max_examples=40, deadline=None)


def values(shape, seed, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def np_sum_to(g, shape):
    """The NumPy reference for un-broadcasting: sum the copies back into ``shape``."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


# forward and the local derivatives d out/d a, d out/d b (ties split evenly for max)
BINARY = {
    "add": (gn.ops.add, np.add, lambda a, b: (np.ones_like(a + b), np.ones_like(a + b))),
    "sub": (gn.ops.sub, np.subtract, lambda a, b: (np.ones_like(a - b), -np.ones_like(a - b))),
    "mul": (gn.ops.mul, np.multiply, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (gn.ops.div, np.divide, lambda a, b: (1 / b + 0 * a, -a / b**2)),
    "maximum": (
        gn.maximum,
        np.maximum,
        lambda a, b: ((a > b) + 0.5 * (a == b), (b > a) + 0.5 * (a == b)),
    ),
}

shape_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


@SETTINGS
@given(shapes=shape_pairs, op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_broadcasting_binary_ops_forward_and_grad(shapes, op, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    gn_fn, np_fn, local = BINARY[op]
    a = values(sa, seed)
    b = values(sb, seed + 1)
    if op == "div":  # keep denominators away from zero
        b = np.sign(b + 1e-9) * (0.5 + np.abs(b))
    if op == "maximum" and seed % 3 == 0 and a.size and b.size:
        b = np.broadcast_to(a.flat[0], sb).copy()  # plant ties
    ta = gn.tensor(a, requires_grad=True)
    tb = gn.tensor(b, requires_grad=True)
    out = gn_fn(ta, tb)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.numpy(), np_fn(a, b), rtol=1e-12)
    w = values(out_shape, seed + 2)
    out.backward(grad=w)
    da, db = local(np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape))
    assert ta.grad.shape == sa and tb.grad.shape == sb
    np.testing.assert_allclose(ta.grad.numpy(), np_sum_to(w * da, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), np_sum_to(w * db, sb), rtol=1e-10, atol=1e-12)


# -- shape ops --------------------------------------------------------------------------------
small_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


@SETTINGS
@given(shape=small_shapes, data=st.data())
def test_reshape_transpose_permute_squeeze_unsqueeze(shape, data):
    a = values(shape, 0)
    x = gn.tensor(a)
    # reshape: the same dims in another order, with a 1 inserted and maybe a -1
    dims = list(data.draw(st.permutations(shape)))
    dims.insert(data.draw(st.integers(0, len(dims))), 1)
    if data.draw(st.booleans()):
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    np.testing.assert_array_equal(x.reshape(*dims).numpy(), a.reshape(dims))
    perm = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(x.permute(*perm).numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.transpose(perm).numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.T.numpy(), a.T)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(x.unsqueeze(axis).numpy(), np.expand_dims(a, axis))
    np.testing.assert_array_equal(x.squeeze().numpy(), a.squeeze())
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones:
        ax = data.draw(st.sampled_from(ones))
        np.testing.assert_array_equal(x.squeeze(ax).numpy(), a.squeeze(ax))


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=4, max_side=4),
    seed=st.integers(0, 99),
)
def test_expand_and_broadcast_to(shapes, seed):
    (shape,), target = shapes.input_shapes, shapes.result_shape
    a = values(shape, seed)
    x = gn.tensor(a, requires_grad=True)
    y = x.expand(*target) if target else x.broadcast_to(target)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(a, target))
    w = values(target, seed + 1)
    y.backward(grad=w)
    np.testing.assert_allclose(x.grad.numpy(), np_sum_to(w, shape), rtol=1e-12)


@SETTINGS
@given(shape=small_shapes, n=st.integers(1, 3), data=st.data())
def test_concat_stack_split(shape, n, data):
    arrays = [values(shape, i) for i in range(n)]
    tensors = [gn.tensor(a) for a in arrays]
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_array_equal(gn.concat(tensors, axis=axis).numpy(),
                                  np.concatenate(arrays, axis=axis))  # fmt: skip
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(gn.stack(tensors, axis=new_axis).numpy(),
                                  np.stack(arrays, axis=new_axis))  # fmt: skip
    joined = np.concatenate(arrays, axis=axis)
    length = joined.shape[axis]
    size = data.draw(st.integers(1, length))
    pieces = gn.split(gn.tensor(joined), size, axis=axis)
    expected = np.split(joined, range(size, length, size), axis=axis)
    assert len(pieces) == len(expected)
    for p, e in zip(pieces, expected):
        np.testing.assert_array_equal(p.numpy(), e)


@SETTINGS
@given(shape=small_shapes, data=st.data())
def test_getitem_with_random_basic_indices(shape, data):
    a = values(shape, 1)
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    x = gn.tensor(a, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), a[index])
    w = values(y.shape, 2)
    y.backward(grad=w)
    expected = np.zeros(shape)
    expected[index] += w  # basic indices never repeat an element
    np.testing.assert_allclose(x.grad.numpy(), expected)


@SETTINGS
@given(shape=small_shapes, data=st.data())
def test_getitem_with_integer_arrays_accumulates_repeats(shape, data):
    a = values(shape, 3)
    idx = np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6)))
    x = gn.tensor(a, requires_grad=True)
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), a[idx])
    y.sum().backward()
    counts = np.bincount(idx, minlength=shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(counts, shape))


# -- reductions ------------------------------------------------------------------------------
def np_logsumexp(a, axis, keepdims):
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = {
    "sum": (lambda x, ax, k: x.sum(axis=ax, keepdims=k), lambda a, ax, k: a.sum(ax, keepdims=k)),
    "mean": (lambda x, ax, k: x.mean(axis=ax, keepdims=k), lambda a, ax, k: a.mean(ax, keepdims=k)),
    "max": (lambda x, ax, k: x.amax(axis=ax, keepdims=k), lambda a, ax, k: a.max(ax, keepdims=k)),
    "min": (lambda x, ax, k: x.amin(axis=ax, keepdims=k), lambda a, ax, k: a.min(ax, keepdims=k)),
    "var": (
        lambda x, ax, k: x.var(axis=ax, keepdims=k, correction=0),
        lambda a, ax, k: a.var(ax, keepdims=k),
    ),
    "logsumexp": (lambda x, ax, k: gn.logsumexp(x, axis=ax, keepdims=k), np_logsumexp),
}


@SETTINGS
@given(shape=small_shapes, name=st.sampled_from(sorted(REDUCTIONS)), keepdims=st.booleans(),
       data=st.data())  # fmt: skip
def test_reductions_with_random_axes_match_numpy(shape, name, keepdims, data):
    ndim = len(shape)
    axis = data.draw(
        st.none()
        | st.integers(-ndim, ndim - 1)
        | st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim).map(tuple)
    )
    gn_fn, np_fn = REDUCTIONS[name]
    a = values(shape, 5)
    x = gn.tensor(a, requires_grad=True)
    y = gn_fn(x, axis, keepdims)
    # An empty tuple of dims reduces over all of them, as in PyTorch (NumPy: none of them).
    expected = np.asarray(np_fn(a, None if axis == () else axis, keepdims))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    y.sum().backward()
    assert x.grad.shape == shape and np.isfinite(x.grad.numpy()).all()
