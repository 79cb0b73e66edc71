"""In-place writes that autograd records, as PyTorch records them: ``outputs[t] = h`` into a
tensor that does not require grad (the seq2seq tutorials' decoder loop), ``buf.copy_(x)``,
``buf += x``, and in-place ops on intermediates (``att.masked_fill_(mask, -inf)``).

glassnet used to write the values and drop the graph: ``outputs`` stayed a constant, so a loss
over it had no gradient (or, added to another loss, silently lost this part).
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(11)


def r(*shape):
    return rng.uniform(-2.0, 2.0, size=shape)


def _rows(a, b):
    out = gn.zeros(3, 4, dtype=gn.float64)  # requires no grad: the writes put it in the graph
    out[1] = a * 2.0
    out[2, 1:3] = b
    return out * out


def _into_intermediate(a, b):
    h = a * 1.0
    h[0] = b  # dh/da is zero in row 0, dh/db the sum over the broadcast
    h[:, 1] = b[0]
    return h * a


def _copy(a):
    buf = gn.zeros(3, dtype=gn.float64)
    buf.copy_(a)
    return buf * a


_IMAGES = gn.tensor(r(2, 2, 5, 5))


def _conv_then_div_(w):
    # fast_neural_style's normalize_batch: batch.div_(255.0) on the transformer's output. A
    # convolution of an input that needs no gradient returns a NumPy view of the op's own
    # matrix product (no other tensor's storage); glassnet raised "a view of another tensor".
    y = gn.nn.functional.conv2d(_IMAGES, w, stride=2)
    y = y.div_(4.0)
    return y * y


def _max_pool_then_mul_(x):
    # max_pool2d keeps its output to route the gradient (not in the graph's saved arrays):
    # changing the output in place changed the routing, and the gradient was silently wrong
    y = gn.nn.functional.max_pool2d(x, 2)
    y.mul_(3.0)
    z = gn.nn.functional.max_pool2d(x, 3, stride=1, padding=1)
    z.add_(1.0)
    return (y * y).sum() + (z * z).sum() * z.mean()


def _copies_then_mul_(x):
    # pixel_shuffle and reshape of a transposed tensor copy (view ops that could not view):
    # their results are tensors of their own, written in place as in PyTorch (glassnet
    # raised "a view of another tensor")
    a = gn.nn.functional.pixel_shuffle(x, 2)
    a.mul_(2.0)
    b = x.transpose(1, 3).reshape(2, -1)
    b.add_(1.0)
    return a * a.sum() + (b * b).sum()


CASES = [
    GradCase("max_pool2d", _max_pool_then_mul_, [r(2, 2, 4, 4)], label="output-mul_"),
    GradCase("mul", _copies_then_mul_, [r(2, 4, 3, 3)], label="copying-views-mul_"),
    GradCase("div", _conv_then_div_, [r(3, 2, 3, 3)], label="conv-div_"),
    GradCase("set_item", _rows, [r(4), r(2)]),
    GradCase("set_item", _into_intermediate, [r(2, 3), r(3)], label="intermediate-broadcast"),
    GradCase("set_item", _copy, [r(3)], label="copy_"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)


def test_decoder_loop_writes_carry_the_gradient():
    x = gn.tensor([1.0, -2.0, 0.5], requires_grad=True)
    outputs = gn.zeros(3, 3)
    for t in range(1, 3):
        outputs[t] = x * t  # rows 1 and 2: x and 2x
    assert outputs.requires_grad
    outputs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])  # d(x + 2x)/dx
    np.testing.assert_allclose(outputs.detach().numpy()[2], [2.0, -4.0, 1.0])


def test_add_mul_and_masked_fill_in_place_are_recorded():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    buf = gn.zeros(3)
    buf += x  # buf = x
    buf.add_(x, alpha=2.0)  # 3x
    buf.mul_(x)  # 3x^2: needs the value before the write
    buf.masked_fill_(gn.tensor([False, True, False]), 0.0)
    buf.sum().backward()
    np.testing.assert_allclose(buf.detach().numpy(), [3.0, 0.0, 27.0])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 0.0, 18.0])  # 6x, 0 where filled


def test_values_used_before_the_write_raise_in_backward():
    a = gn.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2.0
    s = h * h  # saves h
    h[0] = a[1]
    with pytest.raises(RuntimeError, match="modified in place"):
        s.sum().backward()


def test_writing_a_graph_value_into_a_view_raises():
    a = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = gn.zeros(2, 3)
    row = base[0]
    with pytest.raises(ValueError, match="view of another tensor"):
        row[:] = a
    with pytest.raises(ValueError, match="view of another tensor"):
        base[1][:] = a


def test_writing_into_a_view_of_an_intermediate_raises():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 2.0
    for view in (h[0], h.t(), h.unsqueeze(0)):
        with pytest.raises(ValueError, match="view of another tensor"):
            view.div_(2.0)


@pytest.mark.parametrize(
    "change",
    [
        lambda y: y.__setitem__((slice(None), 0), y[:, 0] * 2.0),
        lambda y: y.sub_(y.mean(dim=1, keepdim=True)),
    ],
    ids=["set-from-itself", "sub_-own-mean"],
)
def test_a_value_computed_from_the_tensor_it_changes_raises(change):
    """y[:, 0] = y[:, 0] * 2 on an intermediate makes a cycle in glassnet's graph (which
    refers to tensors, not nodes): backward finished without reaching the leaves, and w.grad
    stayed None. Now it raises and says how to write it."""
    w = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = w * 1.0
    change(y)
    with pytest.raises(RuntimeError, match="cycle"):
        (y * y).sum().backward()
    z = w * 1.0
    out = z.clone()  # the way out: write into a copy
    out[:, 0] = z[:, 0] * 2.0
    (out * out).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[8.0, 4.0], [24.0, 8.0]])


def test_leaves_that_require_grad_still_raise():
    w = gn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 5.0
    with pytest.raises(RuntimeError, match="in-place"):
        w.copy_(gn.zeros(3))


def test_no_grad_writes_stay_plain():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    buf = gn.zeros(2)
    with gn.no_grad():
        buf[0] = x[1]
        buf.copy_(x)
    assert not buf.requires_grad and buf.grad_fn is None
    np.testing.assert_allclose(buf.numpy(), [1.0, 2.0])


def test_masked_scatter_and_put_in_place_are_recorded():
    src = gn.tensor([5.0, 7.0], requires_grad=True)
    buf = gn.zeros(3)
    buf.masked_scatter_(gn.tensor([True, False, True]), src)
    flat = gn.zeros(2, 2)
    flat.put_(gn.tensor([3, 0]), src)
    (buf * gn.tensor([1.0, 1.0, 10.0])).sum().add(flat[1, 1] * 100.0).backward()
    np.testing.assert_allclose(buf.detach().numpy(), [5.0, 0.0, 7.0])
    np.testing.assert_allclose(src.grad.numpy(), [1.0 + 100.0, 10.0])


def test_an_element_read_by_indexing_is_a_0d_array_tensor():
    t = gn.tensor([[3], [1], [4]], device="cpu")  # (gn.tensor of device tensors would copy)
    items = [t[i][0] for i in range(3)]  # the chatbot tutorial's LongTensor([[topi[i][0] ...]])
    assert not isinstance(items[0]._data, np.generic) and items[0].shape == ()
    np.testing.assert_array_equal(gn.tensor(items).numpy(), [3, 1, 4])
    np.testing.assert_array_equal(gn.LongTensor([items]).numpy(), [[3, 1, 4]])
    x = t[1, 0]
    x.add_(5)  # a 0-d view, as in PyTorch: the write reaches t (a NumPy scalar could not)
    assert x.item() == 6 and t[1, 0].item() == 6


def test_fill_and_zero_on_an_intermediate_are_recorded():
    """PyTorch records fill_/zero_ on an intermediate: the old values get a zero gradient, a
    0-d value that requires grad the summed gradient (glassnet raised)."""
    x = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    v = gn.tensor(np.array(0.5), requires_grad=True)
    h = x * 2
    h.fill_(v)
    (h * gn.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    np.testing.assert_array_equal(h.detach().numpy(), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    assert v.grad.item() == 6.0
    x.grad = None
    y = x * 3
    y.zero_()
    (y + x).sum().backward()  # only the direct path reaches x
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="in-place"):
        gn.tensor(np.array([1.0]), requires_grad=True).fill_(2.0)  # a leaf: PyTorch raises too
