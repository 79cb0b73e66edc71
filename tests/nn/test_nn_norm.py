"""BatchNorm / LayerNorm / GroupNorm layers against NumPy references: training statistics,
running-statistics updates (unbiased running variance), eval mode, state_dict names, errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

rng = np.random.default_rng(0)


def _bn_ref(x, gamma, beta, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * gamma.reshape(shape) + beta.reshape(shape), mu, x.var(axis=axes, ddof=1)


@pytest.mark.parametrize(
    "cls,shape",
    [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (4, 3, 2, 5))],
)
def test_batchnorm_training_and_running_update(cls, shape):
    bn = cls(3, momentum=0.2)
    with gn.no_grad():
        bn.weight.copy_(np.array([1.0, 2.0, 0.5], dtype=np.float32))
        bn.bias.copy_(np.array([0.0, -1.0, 3.0], dtype=np.float32))
    run_mean, run_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
        y = bn(gn.tensor(x)).numpy()
        ref, mu, unbiased = _bn_ref(x.astype(np.float64), bn.weight.numpy(), bn.bias.numpy(), 1e-5)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
        run_mean = 0.8 * run_mean + 0.2 * mu
        run_var = 0.8 * run_var + 0.2 * unbiased
        np.testing.assert_allclose(bn.running_mean.numpy(), run_mean, rtol=1e-5)
        np.testing.assert_allclose(bn.running_var.numpy(), run_var, rtol=1e-5)
        assert int(bn.num_batches_tracked.item()) == step + 1
    # eval: normalize with the running statistics, and leave them alone
    bn.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    view = (1, -1) + (1,) * (len(shape) - 2)
    ref = (x - run_mean.reshape(view)) / np.sqrt(run_var.reshape(view) + 1e-5)
    ref = ref * bn.weight.numpy().reshape(view) + bn.bias.numpy().reshape(view)
    np.testing.assert_allclose(bn(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), run_mean, rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 3


def test_batchnorm_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rng.standard_normal((6, 2)).astype(np.float32) + k for k in range(4)]
    for x in batches:
        bn(gn.tensor(x))
    np.testing.assert_allclose(
        bn.running_mean.numpy(), np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bn.running_var.numpy(), np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0),
        rtol=1e-5,
    )  # fmt: skip


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == []
    x = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    ref, _, _ = _bn_ref(x.astype(np.float64), np.ones(2), np.zeros(2), 1e-5)
    np.testing.assert_allclose(bn(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)


def test_batchnorm_state_dict_names_and_round_trip():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    ]  # fmt: skip
    assert bn.state_dict()["num_batches_tracked"].dtype == np.int64
    bn(gn.randn(3, 4, 2, 2) * 3)
    other = nn.BatchNorm2d(4)
    other.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(other.running_var.numpy(), bn.running_var.numpy())
    assert int(other.num_batches_tracked.item()) == 1
    x = gn.randn(2, 4, 3, 3)
    np.testing.assert_array_equal(other.eval()(x).numpy(), bn.eval()(x).numpy())
    assert repr(bn).startswith("BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True")


def test_batchnorm_float64_cast_keeps_counter_int():
    bn = nn.BatchNorm1d(2).to(dtype="float64")
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_batchnorm_errors_teach():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) .* 3 dims; expected \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(gn.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"expected \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(gn.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="axis 1 .* must be 3, got 5"):
        nn.BatchNorm1d(3)(gn.zeros(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel.*model.eval"):
        nn.BatchNorm1d(3)(gn.zeros(1, 3))
    assert nn.BatchNorm1d(3).eval()(gn.zeros(1, 3)).shape == (1, 3)
    with pytest.raises(TypeError, match="cast the input"):
        nn.BatchNorm1d(3)(gn.tensor([[1, 2, 3], [4, 5, 6]]))


def test_layernorm_matches_numpy():
    ln = nn.LayerNorm((2, 3), eps=1e-3)
    with gn.no_grad():
        ln.weight.copy_(rng.standard_normal((2, 3)).astype(np.float32))
        ln.bias.copy_(rng.standard_normal((2, 3)).astype(np.float32))
    x = rng.standard_normal((4, 5, 2, 3)).astype(np.float32)
    mu = x.mean(axis=(-2, -1), keepdims=True)
    var = x.var(axis=(-2, -1), keepdims=True)
    ref = (x - mu) / np.sqrt(var + 1e-3) * ln.weight.numpy() + ln.bias.numpy()
    np.testing.assert_allclose(ln(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)
    # same behaviour in eval
    np.testing.assert_allclose(ln.eval()(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)
    assert repr(ln) == "LayerNorm((2, 3), eps=0.001, elementwise_affine=True)"
    plain = nn.LayerNorm(3, elementwise_affine=False)
    assert list(plain.parameters()) == []
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"last 2 axes must be \(2, 3\)"):
        ln(gn.zeros(4, 3, 2))


def test_groupnorm_matches_numpy():
    gnorm = nn.GroupNorm(2, 6)
    with gn.no_grad():
        gnorm.weight.copy_(np.arange(1, 7, dtype=np.float32))
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    g = x.reshape(3, 2, 3, 4)
    ref = (g - g.mean(axis=(2, 3), keepdims=True)) / np.sqrt(
        g.var(axis=(2, 3), keepdims=True) + 1e-5
    )
    ref = ref.reshape(3, 6, 4) * np.arange(1, 7).reshape(1, 6, 1)
    np.testing.assert_allclose(gnorm(gn.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"divisible by num_groups \(4\); divisors of 6"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="axis 1 .* must be 6"):
        gnorm(gn.zeros(2, 4, 3))
