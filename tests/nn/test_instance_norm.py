"""InstanceNorm1d/2d/3d and F.instance_norm against the float64 formula (PyTorch's
semantics: biased statistics per sample and channel; running statistics averaged over the
batch with the unbiased variance, used in eval mode when tracked)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.testing import check_grad


def _reference(x, w=None, b=None, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * w.reshape(shape) + b.reshape(shape)
    return y


@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
def test_functional_matches_the_formula(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    got = F.instance_norm(gn.tensor(x), weight=gn.tensor(w), bias=gn.tensor(b)).numpy()
    np.testing.assert_allclose(got, _reference(x, w, b), rtol=1e-10, atol=1e-10)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal(3), rng.standard_normal(3)
    check_grad(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])


def test_running_statistics_update_and_eval_mode():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 6, 5)).astype(np.float32) * 2 + 0.5
    layer = nn.InstanceNorm2d(3, momentum=0.3, track_running_stats=True)
    out = layer(gn.tensor(x)).numpy()  # training: each sample's own statistics
    np.testing.assert_allclose(out, _reference(x.astype(np.float64)), atol=1e-5)
    mean = x.mean(axis=(2, 3)).mean(0)
    var = x.var(axis=(2, 3), ddof=1).mean(0)
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.3 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.7 + 0.3 * var, rtol=1e-5)
    layer.eval()  # now the running statistics normalize
    rm, rv = layer.running_mean.numpy(), layer.running_var.numpy()
    want = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5)
    np.testing.assert_allclose(layer(gn.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)
    assert sorted(layer.state_dict()) == ["num_batches_tracked", "running_mean", "running_var"]


def test_untracked_layer_uses_input_statistics_in_eval_mode_too():
    x = np.random.default_rng(3).standard_normal((2, 4, 9)).astype(np.float32)
    layer = nn.InstanceNorm1d(4, affine=True).eval()
    np.testing.assert_allclose(layer(gn.tensor(x)).numpy(), _reference(x), atol=1e-5)
    assert layer.running_mean is None and sorted(layer.state_dict()) == ["bias", "weight"]


def test_unbatched_inputs_and_clear_errors():
    x = np.random.default_rng(4).standard_normal((3, 4, 5)).astype(np.float32)
    got = nn.InstanceNorm2d(3)(gn.tensor(x)).numpy()
    np.testing.assert_allclose(got, _reference(x[None])[0], atol=1e-5)
    assert nn.InstanceNorm3d(2)(gn.randn(2, 3, 4, 5)).shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match="2 dims"):
        nn.InstanceNorm2d(3)(gn.randn(3, 5))
    with pytest.raises(ValueError, match="channels|3"):
        nn.InstanceNorm1d(3)(gn.randn(2, 4, 5))
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.instance_norm(gn.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(ValueError, match="unsqueeze"):
        F.instance_norm(gn.randn(3, 4))
