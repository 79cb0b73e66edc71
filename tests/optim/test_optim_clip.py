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


def test_clip_grad_norm_nonfinite_raises_on_request():
    ps = params_with([[1.0, 2.0], [np.nan, 1.0]])
    with pytest.raises(RuntimeError, match=r"gradients \[1\]"):
        gn.clip_grad_norm(ps, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_nonfinite_scales_like_pytorch():
    # PyTorch: c = min(max_norm / (total + 1e-6), 1) is applied whatever the total is.
    # An infinite total gives c = 0 (inf * 0 = NaN); a NaN total makes every gradient NaN.
    ps = params_with([[np.inf, 1.0], [3.0, 4.0]])
    total = gn.clip_grad_norm(ps, 1.0)
    assert float(total) == math.inf
    np.testing.assert_array_equal(ps[0].grad.numpy(), [np.nan, 0.0])
    np.testing.assert_array_equal(ps[1].grad.numpy(), [0.0, 0.0])
    ps = params_with([[np.nan, 1.0], [3.0, 4.0]])
    assert math.isnan(float(gn.clip_grad_norm(ps, 1.0)))
    assert np.isnan(ps[0].grad.numpy()).all() and np.isnan(ps[1].grad.numpy()).all()


def test_clip_grad_norm_zero_and_negative_max_norm():
    ps = params_with([[3.0, -4.0]])
    assert float(gn.clip_grad_norm(ps, 0.0)) == pytest.approx(5.0)
    np.testing.assert_array_equal(ps[0].grad.numpy(), [0.0, 0.0])
    ps = params_with([[3.0, -4.0]])
    gn.clip_grad_norm(ps, -1.0)  # PyTorch multiplies by the negative coefficient
    np.testing.assert_allclose(ps[0].grad.numpy(), [-3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)])


NORM_GRADS = [np.array([1.0, -2.0, 0.0]), np.array([3.0, 0.5]), np.zeros(2)]


@pytest.mark.parametrize(
    "norm_type, want",
    [
        (0.5, np.sum(np.sqrt([1.0, 2.0, 3.0, 0.5])) ** 2),  # all elements together
        (0.0, 2.0),  # norm 0 of the per-tensor counts [2, 2, 0]: two tensors hold nonzeros
        (-math.inf, 0.0),  # the smallest |g| (the zero gradients)
        (-1.0, 0.0),  # (sum |g|^-1)^-1 with a zero element is 0
        (math.inf, 3.0),
    ],
)
def test_clip_grad_norm_any_norm_type(norm_type, want):
    ps = params_with(NORM_GRADS)
    total = gn.clip_grad_norm(ps, 1.0, norm_type=norm_type, foreach=True)
    assert float(total) == pytest.approx(want, rel=1e-12)
    coef = min(1.0 / (want + 1e-6), 1.0)
    for p, g in zip(ps, NORM_GRADS):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-12)


def test_get_total_norm_and_clip_grads_with_norm_both_paths():
    from glassnet.nn import utils

    assert utils.get_total_norm is gn.optim.clip.get_total_norm
    ps = params_with(GRADS)
    grads = [p.grad for p in ps if p.grad is not None]
    flat = np.concatenate([g.ravel() for g in GRADS if g is not None])
    total = utils.get_total_norm(grads, norm_type=3.0)
    assert float(total) == pytest.approx(np.sum(np.abs(flat) ** 3) ** (1 / 3), rel=1e-12)
    utils.clip_grads_with_norm_(ps, 2.0, total)
    np.testing.assert_allclose(ps[1].grad.numpy(), GRADS[1] * 2.0 / (float(total) + 1e-6))
    assert float(utils.get_total_norm([])) == 0.0
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.get_total_norm([gn.tensor([np.inf])], error_if_nonfinite=True)


def test_clip_grad_value():
    ps = params_with(GRADS)
    held = ps[0].grad.numpy().copy()
    gn.clip_grad_value(ps, 1.5)
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.clip(GRADS[0], -1.5, 1.5))
    np.testing.assert_array_equal(ps[1].grad.numpy(), [1.5, -1.5])
    np.testing.assert_array_equal(held, GRADS[0])
    # PyTorch clamps to min -c then max c: a negative c sets every element to c.
    gn.clip_grad_value(ps, -0.5, foreach=False)
    np.testing.assert_array_equal(ps[1].grad.numpy(), [-0.5, -0.5])
    q = params_with([[np.nan, 5.0]])
    gn.nn.utils.clip_grad_value_(q, 1.0)
    np.testing.assert_array_equal(q[0].grad.numpy(), [np.nan, 1.0])
