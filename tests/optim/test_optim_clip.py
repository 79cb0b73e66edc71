"""Gradient clipping against NumPy norms."""

import math

import numpy as np
import pytest

import glassnet as gn


def params_with(grads):
    ps = []
    for g in grads:
        p = gn.nn.Parameter(gn.zeros(*np.shape(g), dtype="float64"))
        p.grad = None if g is None else gn.tensor(np.array(g, dtype=np.float64))
        ps.append(p)
    return ps


GRADS = [np.arange(6.0).reshape(2, 3) - 2.5, np.array([3.0, -4.0]), None]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_clip_grad_norm_scales_to_max_norm(norm_type):
    ps = params_with(GRADS)
    flat = np.concatenate([g.ravel() for g in GRADS if g is not None])
    want = (
        np.max(np.abs(flat))
        if norm_type == math.inf
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    total = gn.clip_grad_norm(ps, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, gn.Tensor)
    assert float(total) == pytest.approx(want, rel=1e-12)
    coef = 1.0 / (want + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(), GRADS[0] * coef, rtol=1e-12)
    np.testing.assert_allclose(ps[1].grad.numpy(), GRADS[1] * coef, rtol=1e-12)
    assert ps[2].grad is None


def test_clip_grad_norm_leaves_small_grads_and_does_not_mutate_old_arrays():
    ps = params_with(GRADS)
    before = [p.grad for p in ps[:2]]
    total = gn.clip_grad_norm(ps, max_norm=100.0)
    assert float(total) == pytest.approx(math.sqrt(sum((g**2).sum() for g in GRADS[:2])))
    if ps[0].device.type == "cpu":
        assert ps[0].grad is before[0]  # untouched: nothing to clip
    else:  # on a device: multiplied by 1 (deciding would need a host sync), values unchanged
        np.testing.assert_array_equal(ps[0].grad.numpy(), before[0].numpy())
    old = ps[1].grad.numpy().copy()
    held = ps[1].grad
    gn.clip_grad_norm(ps, max_norm=0.5)
    assert ps[1].grad is not held
    np.testing.assert_array_equal(held.numpy(), old)  # the old gradient array is not scaled


def test_clip_grad_norm_float32_single_tensor_and_no_grads():
    p = gn.nn.Parameter(gn.zeros(2))
    p.grad = gn.tensor([30.0, 40.0])
    total = gn.clip_grad_norm(p, max_norm=5.0)
    assert float(total) == pytest.approx(50.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0], rtol=1e-5)
    q = gn.nn.Parameter(gn.zeros(2))
    assert float(gn.clip_grad_norm([q], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    ps = params_with([[1.0, 2.0], [np.nan, 1.0]])
    with pytest.raises(RuntimeError, match=r"parameters \[1\]"):
        gn.clip_grad_norm(ps, 1.0, error_if_nonfinite=True)
    total = gn.clip_grad_norm(ps, 1.0)
    assert math.isnan(float(total))
    with pytest.raises(ValueError, match="max_norm"):
        gn.clip_grad_norm(ps, 0.0)
    with pytest.raises(ValueError, match="norm_type"):
        gn.clip_grad_norm(ps, 1.0, norm_type=0.5)


def test_clip_grad_value():
    ps = params_with(GRADS)
    held = ps[0].grad.numpy().copy()
    gn.clip_grad_value(ps, 1.5)
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.clip(GRADS[0], -1.5, 1.5))
    np.testing.assert_array_equal(ps[1].grad.numpy(), [1.5, -1.5])
    np.testing.assert_array_equal(held, GRADS[0])
    with pytest.raises(ValueError, match="clip_value"):
        gn.clip_grad_value(ps, -1.0)
