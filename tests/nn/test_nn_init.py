"""nn.init: sample statistics against the documented variance formulas, gains, determinism."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.backend import get_rng
from glassnet.nn import init


def _big(*shape):
    return gn.zeros(*shape, dtype="float64")


@pytest.fixture(autouse=True)
def _seed():
    gn.manual_seed(1234)


def _assert_stats(w, mean, var, rel=0.03):
    a = w.numpy()
    n = a.size
    # the sample mean has standard error sqrt(var / n); allow 5 of them
    assert abs(a.mean() - mean) < 5 * math.sqrt(var / n) + 1e-12
    assert a.var() == pytest.approx(var, rel=rel)


def test_uniform_and_normal_moments():
    _assert_stats(init.uniform_(_big(400, 500), -2.0, 4.0), 1.0, 36 / 12)
    _assert_stats(init.normal_(_big(400, 500), 0.5, 3.0), 0.5, 9.0)


def test_constant_zeros_ones():
    assert np.all(init.constant_(_big(3, 4), 2.5).numpy() == 2.5)
    assert np.all(init.zeros_(gn.ones(5)).numpy() == 0)
    assert np.all(init.ones_(gn.zeros(2, 2)).numpy() == 1)


@pytest.mark.parametrize("shape", [(300, 700), (64, 32, 5, 5)])
def test_xavier_variance(shape):
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    var = 2.0 / (fan_in + fan_out)
    w = init.xavier_uniform_(_big(*shape), gain=2.0)
    _assert_stats(w, 0.0, 4 * var)
    bound = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w.numpy()).max() <= bound
    assert np.abs(w.numpy()).max() > 0.99 * bound
    _assert_stats(init.xavier_normal_(_big(*shape)), 0.0, var)


@pytest.mark.parametrize(
    "nonlinearity,a,mode,gain2",
    [
        ("relu", 0, "fan_in", 2.0),
        ("leaky_relu", 0.2, "fan_out", 2.0 / 1.04),
        ("leaky_relu", math.sqrt(5), "fan_in", 1.0 / 3),
        ("tanh", 0, "fan_in", 25.0 / 9),
        ("linear", 0, "fan_out", 1.0),
    ],
)
def test_kaiming_variance(nonlinearity, a, mode, gain2):
    shape = (200, 50, 3, 3)
    fan = (shape[1] if mode == "fan_in" else shape[0]) * 9
    w = init.kaiming_normal_(_big(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _assert_stats(w, 0.0, gain2 / fan)
    w = init.kaiming_uniform_(_big(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _assert_stats(w, 0.0, gain2 / fan)
    assert np.abs(w.numpy()).max() <= math.sqrt(3 * gain2 / fan)


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swishy'"):
        init.calculate_gain("swishy")


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2), (8, 8)])
def test_orthogonal(shape):
    w = init.orthogonal_(_big(*shape), gain=1.5).numpy().reshape(shape[0], -1)
    rows, cols = w.shape
    if rows <= cols:
        np.testing.assert_allclose(w @ w.T, 2.25 * np.eye(rows), atol=1e-10)
    else:
        np.testing.assert_allclose(w.T @ w, 2.25 * np.eye(cols), atol=1e-10)


def test_orthogonal_is_sign_corrected_qr():
    # with the sign correction R's diagonal is positive, so the same Gaussian draw yields
    # the unique QR factor with positive diag(R)
    gn.manual_seed(7)
    w = init.orthogonal_(_big(5, 5)).numpy()
    gn.manual_seed(7)
    a = get_rng().standard_normal((5, 5))
    r = w.T @ a  # a = w r with r upper triangular, positive diagonal
    assert np.allclose(np.tril(r, -1), 0, atol=1e-10)
    assert np.all(np.diag(r) > 0)


def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@pytest.mark.parametrize(
    "mean,std,a,b", [(0, 1, -2, 2), (1.0, 0.5, 0.0, 1.5), (0, 0.02, -0.04, 0.04)]
)
def test_trunc_normal_moments(mean, std, a, b):
    w = init.trunc_normal_(_big(500, 400), mean, std, a, b).numpy()
    assert w.min() >= a and w.max() <= b
    al, be = (a - mean) / std, (b - mean) / std
    z = _Phi(be) - _Phi(al)
    mu = mean + std * (_phi(al) - _phi(be)) / z
    var = std**2 * (1 + (al * _phi(al) - be * _phi(be)) / z - ((_phi(al) - _phi(be)) / z) ** 2)
    _assert_stats(gn.tensor(w), mu, var)


def test_same_seed_same_weights_and_float32_dtype_kept():
    gn.manual_seed(3)
    a = init.kaiming_uniform_(gn.zeros(4, 5)).numpy().copy()
    gn.manual_seed(3)
    b = init.kaiming_uniform_(gn.zeros(4, 5))
    assert b.dtype == np.float32
    np.testing.assert_array_equal(a, b.numpy())


def test_inplace_on_parameter_bumps_version_and_keeps_identity():
    p = nn.Parameter(gn.zeros(3, 4))
    data_id, version = id(p._data), p._version
    out = init.xavier_normal_(p)
    assert out is p and id(p._data) == data_id and p._version == version + 1
    assert p.requires_grad and np.any(p.numpy() != 0)


def test_errors_teach():
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(gn.zeros(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(gn.zeros(3, 3), mode="fanin")
    with pytest.raises(TypeError, match="floating-point"):
        init.normal_(gn.tensor([1, 2]))
    with pytest.raises(TypeError, match="glassnet Tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(ValueError, match="holds only"):
        init.trunc_normal_(gn.zeros(3), mean=0, std=1, a=10, b=11)
