"""Module methods with PyTorch's meaning: zero_grad(set_to_none=), double/float/half,
register_buffer(persistent=). Expected behaviour from PyTorch's nn.Module documentation."""

import numpy as np

import glassnet as gn
from glassnet import nn


def _model():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    m = _model()
    m(gn.randn(5, 3)).sum().backward()
    grads = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    for p, g in zip(m.parameters(), grads):
        assert p.grad is g  # the same tensor, zeroed in place (PyTorch's behaviour)
        assert not p.grad.numpy().any()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_double_float_half_cast_float_parameters_and_buffers_only():
    m = _model().double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    bn = m[1]
    assert bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    assert m(gn.randn(5, 3, dtype="float64")).dtype == np.float64
    assert m.half() is m and m[0].weight.dtype == np.float16
    assert m.float()[2].bias.dtype == np.float32


def test_register_buffer_persistent_flag():
    m = nn.Module()
    m.register_buffer("kept", gn.ones(2))
    m.register_buffer("scratch", gn.zeros(3), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
    m.double()
    assert m.scratch.dtype == np.float64  # non-persistent buffers still move and cast
    m.load_state_dict({"kept": np.full(2, 5.0)})
    np.testing.assert_array_equal(m.kept.numpy(), [5.0, 5.0])
