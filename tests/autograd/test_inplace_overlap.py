"""In-place writes into views whose elements overlap in memory (unfold, as_strided), as
PyTorch: arithmetic applies once per view element; partly overlapping operands raise."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import get_default_device, set_default_device


@pytest.fixture(autouse=True)
def _host():
    """Element-by-element writes through overlapping views run on NumPy arrays (on a device
    they raise NotImplementedError, tested last): these tests run on the CPU under any
    GLASSNET_TEST_DEVICE."""
    previous = get_default_device()
    set_default_device("cpu")
    yield
    set_default_device(previous)


def _windows(n=4, dtype="float32"):
    x = gn.zeros(n, dtype=dtype)
    return x, x.unfold(0, 2, 1)  # windows [0,1], [1,2], [2,3]: elements 1 and 2 seen twice


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda v: v.add_(1), [1, 2, 2, 1]),
        (lambda v: v.add_(gn.ones(3, 2), alpha=2), [2, 4, 4, 2]),
        (lambda v: v.__iadd__(1), [1, 2, 2, 1]),
        (lambda v: v.sub_(1), [-1, -2, -2, -1]),
        (lambda v: v.add_(1).mul_(3), [3, 18, 18, 3]),  # 2 * 3 * 3 for the shared ones
        (lambda v: v.add_(1).div_(2), [0.5, 0.5, 0.5, 0.5]),  # 2 / 2 / 2
        (lambda v: v.fill_(3), [3, 3, 3, 3]),
        (lambda v: v.copy_(gn.ones(3, 2)), [1, 1, 1, 1]),
        (lambda v: v.__setitem__(slice(0, 2), gn.tensor([[1.0, 2.0], [2.0, 4.0]])), [1, 2, 4, 0]),
    ],
)
def test_arithmetic_applies_once_per_view_element(op, expected):
    x, v = _windows()
    op(v)
    np.testing.assert_allclose(x.numpy(), expected)


def test_fold_by_accumulating_windows():
    # sum of overlapping windows written through an unfold view: np.add.at on the positions
    x = gn.zeros(6)
    w = np.arange(12.0).reshape(4, 3)
    x.unfold(0, 3, 1).add_(gn.tensor(w, dtype="float32"))
    ref = np.zeros(6)
    for i in range(4):
        ref[i : i + 3] += w[i]
    np.testing.assert_allclose(x.numpy(), ref)


@pytest.mark.parametrize(
    "op",
    [
        lambda v: v.copy_(gn.arange(6.0).reshape(3, 2)),  # element 1 would get 1 and 2
        lambda v: v.exp_(),
        lambda v: v.addcmul_(gn.ones(3, 2), gn.ones(3, 2)),
        lambda v: v.div_(2.0, rounding_mode="floor"),
    ],
)
def test_order_dependent_writes_raise(op):
    x, v = _windows()
    with pytest.raises(NotImplementedError, match="overlap in memory"):
        op(v)
    np.testing.assert_array_equal(x.numpy(), 0)


def test_random_fill_of_overlapping_view():
    x, v = _windows()
    v.uniform_(2.0, 3.0)
    assert ((x.numpy() >= 2) & (x.numpy() < 3)).all()


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x[1:].copy_(x[:-1]),
        lambda x: x[1:].add_(x[:-1]),
        lambda x: x[1:].mul_(x[:-1]),
        lambda x: x.__setitem__(slice(1, None), x[:-1]),
    ],
)
def test_partly_overlapping_operand_raises(op):
    x = gn.arange(5.0)
    with pytest.raises(RuntimeError, match="single memory location"):
        op(x)


def test_same_elements_operand_is_fine():
    x = gn.arange(5.0)
    x.add_(x)
    np.testing.assert_allclose(x.numpy(), [0, 2, 4, 6, 8])
    y = gn.arange(6.0)
    y[::2].mul_(y[::2])
    np.testing.assert_allclose(y.numpy(), [0, 1, 4, 3, 16, 5])


def test_int_view_refuses_a_float_result():
    x, v = _windows(dtype="int64")
    with pytest.raises(TypeError, match="can't be cast"):
        v.add_(1.5)


def test_a_device_array_refuses_the_overlapping_write_clearly():
    x = gn.zeros(4).to("sim")
    with pytest.raises(NotImplementedError, match="overlap in memory"):
        x.unfold(0, 2, 1).add_(1.0)
