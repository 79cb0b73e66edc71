"""0-d results of ops are writable 0-d arrays, as PyTorch's 0-d tensors.

NumPy's arithmetic on 0-d arrays returns immutable NumPy scalars; glassnet used to store them
as the tensor's data, so ``(one * -1).view(1)`` (the original WGAN's ``mone``), ``fill_``,
``clamp_``, ``x[...] = v`` on a 0-d result and ``w.grad.zero_()`` of a 0-d leaf raised.
"""

import numpy as np
import pytest

import glassnet as gn


def _zero_dim_result():
    return gn.tensor(1.0) * -1


def test_scalar_arithmetic_result_is_a_view_able_array():
    mone = _zero_dim_result()
    assert not isinstance(mone._data, np.generic) and mone.shape == ()  # an array, not a scalar
    v = mone.view(1)
    assert v.shape == (1,) and v.tolist() == [-1.0]
    mone.fill_(5.0)
    assert v.tolist() == [5.0]  # the view shares the storage


@pytest.mark.parametrize(
    "write, expected",
    [
        (lambda m: m.fill_(3.0), 3.0),
        (lambda m: m.zero_(), 0.0),
        (lambda m: m.copy_(gn.tensor(4.0)), 4.0),
        (lambda m: m.clamp_(0.0, 0.5), 0.0),
        (lambda m: m.__setitem__(..., 7.0), 7.0),
        (lambda m: m.masked_fill_(gn.tensor(True), 2.0), 2.0),
        (lambda m: m.exp_(), float(np.exp(np.float32(-1.0)))),
        (lambda m: m.lerp_(gn.tensor(3.0), 0.5), 1.0),
        (lambda m: m.data.clamp_(-0.01, 0.01), -0.01),
    ],
)
def test_in_place_writes_on_a_zero_dim_result(write, expected):
    m = _zero_dim_result()
    write(m)
    assert m.item() == pytest.approx(expected)


def test_zero_dim_leaf_gradient_can_be_zeroed():
    w = gn.tensor(1.0, requires_grad=True)
    (w * 3.0).exp().backward()
    assert w.grad.item() == pytest.approx(3.0 * np.exp(3.0), rel=1e-6)
    w.grad.zero_()
    assert w.grad.item() == 0.0


def test_zero_dim_parameter_trains_with_momentum_and_zero_grad():
    p = gn.nn.Parameter(gn.ones(()) * 0.5)
    opt = gn.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert p.item() == pytest.approx(0.5 - 0.1 * 1.0)
    assert p.grad.item() == 0.0
