"""In-place random fills, ``div_(rounding_mode=)`` and the in-place shape changes (``t_``,
``unsqueeze_``, ...) on an intermediate tensor are recorded as PyTorch records them (glassnet
raised a RuntimeError). Expected values were recorded once from PyTorch 2.13; gradients are
checked against float64 finite differences.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, run_case

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
W = np.arange(1.0, 7.0)

FILLS = {
    "uniform_": lambda h: h.uniform_(),
    "normal_": lambda h: h.normal_(),
    "bernoulli_": lambda h: h.bernoulli_(0.3),
    "bernoulli_-tensor": lambda h: h.bernoulli_(gn.full((2, 3), 0.3, dtype=gn.float64)),
    "exponential_": lambda h: h.exponential_(),
    "geometric_": lambda h: h.geometric_(0.3),
    "cauchy_": lambda h: h.cauchy_(),
    "log_normal_": lambda h: h.log_normal_(),
    "random_": lambda h: h.random_(0, 10),
    "random_-to": lambda h: h.random_(10),
    "random_-full": lambda h: h.random_(),
}


@pytest.mark.parametrize("fill", FILLS.values(), ids=list(FILLS))
def test_a_random_fill_of_an_intermediate_is_recorded_with_zero_gradient(fill):
    """PyTorch: h = x * 2; h.uniform_() gives h a grad_fn (UniformBackward0), and the old
    values get a zero gradient (x.grad all zeros)."""
    x = gn.tensor(X, requires_grad=True)
    h = x * 2
    assert fill(h) is h
    assert h.requires_grad and h.grad_fn is not None and h.shape == (2, 3)
    assert not np.array_equal(h.detach().numpy(), X * 2)  # the draws replaced the values
    (h * gn.tensor(W.reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_random_fill_draws_follow_the_distribution_when_recorded():
    x = gn.tensor(np.zeros(4000), requires_grad=True)
    u = (x * 1.0).uniform_(2.0, 3.0).detach().numpy()
    assert u.min() >= 2.0 and u.max() < 3.0 and abs(u.mean() - 2.5) < 0.03
    r = (x * 1.0).random_(0, 10).detach().numpy()
    assert set(np.unique(r)) == set(range(10))


def test_bernoulli_with_a_probability_that_requires_grad():
    """PyTorch: the filled tensor then requires grad, and p gets a zero gradient."""
    t = gn.ones(2, 3, dtype=gn.float64)
    p = gn.full((2, 3), 0.5, dtype=gn.float64, requires_grad=True)
    t.bernoulli_(p)
    assert t.requires_grad
    t.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros((2, 3)))


def test_a_fill_after_an_op_saved_the_tensor_raises_in_backward():
    x = gn.tensor(X, requires_grad=True)
    h = x * 2
    y = h * h  # saves h
    h.normal_()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


@pytest.mark.parametrize("name", ["uniform_", "normal_", "random_", "t_", "unsqueeze_"])
def test_on_a_leaf_that_requires_grad_in_place_changes_still_raise(name):
    x = gn.tensor(X, requires_grad=True)
    args = (0,) if name == "unsqueeze_" else ()
    with pytest.raises(RuntimeError, match="in-place"):
        getattr(x, name)(*args)


def test_div_with_rounding_mode_on_an_intermediate():
    """PyTorch 2.13 values; the rounded quotient has zero gradient for both operands."""
    x = gn.tensor(X, requires_grad=True)
    other = gn.tensor(np.array([1.5, 2.0, 2.5]), requires_grad=True)
    h = x * 3
    h.div_(other, rounding_mode="floor")
    np.testing.assert_array_equal(h.detach().numpy(), [[2.0, 3.0, 3.0], [8.0, 7.0, 7.0]])
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(other.grad.numpy(), np.zeros(3))
    h = -x * 3
    h.div_(2.5, rounding_mode="trunc")
    np.testing.assert_array_equal(h.detach().numpy(), [[-1, -2, -3], [-4, -6, -7]])
    h = -x * 3
    h.div_(2.5, rounding_mode="floor")
    np.testing.assert_array_equal(h.detach().numpy(), [[-2, -3, -4], [-5, -6, -8]])
    assert h.requires_grad


def _in_place(method, *args):
    def fn(a):
        h = a * 1.5
        out = getattr(h, method)(*args)
        assert out is h
        return h * gn.tensor(np.arange(1.0, h.numel() + 1).reshape(h.shape))

    return fn


CASES = [
    GradCase("transpose", _in_place("t_"), [X], label="t_"),
    GradCase("transpose", _in_place("transpose_", 0, 1), [X], label="transpose_"),
    GradCase("transpose", _in_place("swapdims_", -1, 0), [X], label="swapdims_"),
    GradCase("transpose", _in_place("swapaxes_", 0, 1), [X], label="swapaxes_"),
    GradCase("reshape", _in_place("unsqueeze_", 1), [X], label="unsqueeze_"),
    GradCase("reshape", _in_place("squeeze_", 1), [X.reshape(2, 1, 3)], label="squeeze_"),
    GradCase("floor_divide", lambda a: (a * 3.0).div_(2.5, rounding_mode="floor"), [X + 0.17]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case, request):
    if case.op == "as_strided":  # a view of host memory by address: the CPU's
        request.getfixturevalue("host_device")
    run_case(case)


@pytest.mark.parametrize(
    "method, args, shape, grad",
    [  # PyTorch 2.13: h = x * 2; h.<method>(*args); (h * (arange(6) + 1).view(h.shape)).sum()
        ("t_", (), (3, 2), [[2, 6, 10], [4, 8, 12]]),
        ("transpose_", (0, 1), (3, 2), [[2, 6, 10], [4, 8, 12]]),
        ("swapdims_", (0, 1), (3, 2), [[2, 6, 10], [4, 8, 12]]),
        ("swapaxes_", (0, 1), (3, 2), [[2, 6, 10], [4, 8, 12]]),
        ("unsqueeze_", (0,), (1, 2, 3), [[2, 4, 6], [8, 10, 12]]),
        ("squeeze_", (), (2, 3), [[2, 4, 6], [8, 10, 12]]),
    ],
)
def test_shape_change_of_an_intermediate_matches_pytorch(method, args, shape, grad):
    x = gn.tensor(X, requires_grad=True)
    h = x * 2
    assert getattr(h, method)(*args) is h
    assert h.shape == shape and h.grad_fn is not None
    (h * gn.tensor(W.reshape(shape))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_shape_change_after_an_op_saved_the_tensor_raises_in_backward():
    x = gn.tensor(X, requires_grad=True)
    h = x * 2
    y = h * h
    h.t_()  # PyTorch: "... is at version 1; expected version 0"
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_resize_of_a_tensor_that_requires_grad_raises_as_pytorch():
    """PyTorch: "cannot resize variables that require grad", in grad mode or not."""
    x = gn.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot resize"):
        (x * 2).resize_(6)
    with gn.no_grad(), pytest.raises(RuntimeError, match="cannot resize"):
        x.resize_(2, 3)
    t = gn.tensor(X)
    assert t.resize_(3, 2).shape == (3, 2)


# -- as_strided / as_strided_ (glassnet had neither) -----------------------------------------
def _overlapping_windows(a):
    return (a * 1.5).as_strided((3, 2), (1, 1)) * gn.tensor(np.arange(1.0, 7.0).reshape(3, 2))


def _from_a_view(a):
    return (a * 1.0)[1:].as_strided((2, 2), (2, 1))


CASES += [
    GradCase("as_strided", _overlapping_windows, [np.arange(4.0) - 1.3], label="overlapping"),
    GradCase("as_strided", _from_a_view, [np.arange(6.0) * 0.7], label="view-offset"),
    GradCase("as_strided", _in_place("as_strided_", (3, 2), (1, 3)), [X], label="as_strided_"),
]


def test_as_strided_matches_pytorch(host_device):
    """PyTorch 2.13 values and gradients (the storage is the one x * 1 made)."""
    x = gn.tensor(np.arange(4.0), requires_grad=True)
    y = (x * 1).as_strided((3, 2), (1, 1))
    assert y.tolist() == [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    (y * gn.tensor(np.arange(1.0, 7.0).reshape(3, 2))).sum().backward()
    assert x.grad.tolist() == [1.0, 5.0, 9.0, 6.0]  # elements read twice add up
    x = gn.tensor(np.arange(6.0), requires_grad=True)
    y = (x * 1)[2:].as_strided((3,), (1,), 0)  # from the storage's start, before the view
    assert y.tolist() == [0.0, 1.0, 2.0]
    (y * gn.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 0.0, 0.0, 0.0]  # only the view's own elements
    t = gn.arange(6.0)
    assert gn.as_strided(t, (2, 2), (1, 2)).tolist() == [[0.0, 2.0], [1.0, 3.0]]
    assert t.as_strided_((2, 2), (1, 2)) is t and t.tolist() == [[0.0, 2.0], [1.0, 3.0]]
    with pytest.raises(ValueError, match="out of bounds"):
        gn.arange(4.0).as_strided((3,), (2,))
    with pytest.raises(ValueError, match="negative"):
        gn.arange(4.0).as_strided((3,), (-1,), 3)


def test_as_strided_in_place_on_an_intermediate_matches_pytorch(host_device):
    x = gn.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    h = (x * 1).clone()
    h.as_strided_((2, 2), (4, 1), 1)
    assert h.tolist() == [[1.0, 2.0], [5.0, 6.0]]
    (h * gn.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))).sum().backward()
    assert x.grad.tolist() == [[0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]]
