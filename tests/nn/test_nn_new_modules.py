"""New PyTorch modules: channel/alpha dropout, BatchNorm3d, RMSNorm, LocalResponseNorm,
Bilinear. Forward values against NumPy formulas written here (PyTorch's documented math),
gradients against float64 finite differences."""

import math

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.testing import check_grad

RNG = np.random.default_rng(0)


def _seeded(fn):
    def run(*args):
        gn.manual_seed(3)  # the same mask on every finite-difference evaluation
        return fn(*args)

    return run


@pytest.mark.parametrize(
    ("fn", "shape", "kept"),
    [
        (F.dropout1d, (4, 16, 5), 2),
        (F.dropout1d, (16, 5), 1),  # unbatched (C, L)
        (F.dropout2d, (4, 16, 3, 3), 2),
        (F.dropout2d, (4, 16, 5), 2),  # PyTorch reads 3-D as (N, C, L)
        (F.dropout3d, (2, 16, 2, 2, 2), 2),
        (F.dropout3d, (16, 2, 2, 2), 1),  # unbatched (C, D, H, W)
    ],
)
def test_channel_dropout_zeros_whole_channels_and_scales(fn, shape, kept):
    gn.manual_seed(0)
    x = gn.ones(*shape)
    y = fn(x, 0.25).numpy()
    per_channel = y.reshape(*shape[:kept], -1)
    assert (per_channel == per_channel[..., :1]).all()  # one value per channel
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0 < (y == 0).mean() < 0.6
    assert fn(x, 0.25, training=False) is x
    assert not fn(x, 1.0).numpy().any()


def test_channel_dropout_rank_errors_and_module():
    with pytest.raises(ValueError, match="dropout1d"):
        F.dropout1d(gn.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="dropout3d"):
        F.dropout3d(gn.ones(2, 3, 4))
    with pytest.raises(ValueError):
        nn.Dropout2d(1.5)
    m = nn.Dropout2d(0.5)
    assert repr(m) == "Dropout2d(p=0.5, inplace=False)"
    x = gn.ones(2, 4, 3, 3)
    assert m.eval()(x) is x


def test_channel_dropout_gradient():
    x = RNG.standard_normal((3, 6, 4))
    check_grad(_seeded(lambda t: F.dropout1d(t, 0.4)), [x])
    check_grad(_seeded(lambda t: nn.Dropout3d(0.3)(t)), [RNG.standard_normal((2, 5, 2, 2, 2))])


def test_alpha_dropout_formula():
    p = 0.3
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha**2 * p + 1) * (1 - p))
    gn.manual_seed(1)
    x = RNG.standard_normal(20000)
    y = F.alpha_dropout(gn.tensor(x), p, training=True).numpy()
    dropped = np.isclose(y, a * alpha * (p - 1))
    kept = np.isclose(y, a * x + alpha * a * p)
    assert (dropped | kept).all() and abs(dropped.mean() - p) < 0.02
    xt = gn.tensor(x)
    assert F.alpha_dropout(xt, p) is xt  # PyTorch's default training=False
    gn.manual_seed(0)
    z = nn.AlphaDropout(0.2)(gn.tensor(RNG.standard_normal(200000))).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02  # self-normalizing
    check_grad(_seeded(lambda t: F.alpha_dropout(t, 0.4, True)), [RNG.standard_normal((5, 4))])


def test_feature_alpha_dropout_per_channel():
    gn.manual_seed(2)
    y = nn.FeatureAlphaDropout(0.5)(gn.zeros(4, 32, 6)).numpy()
    assert (y == y[..., :1]).all() and len(np.unique(y)) == 2
    check_grad(
        _seeded(lambda t: F.feature_alpha_dropout(t, 0.5, True)), [RNG.standard_normal((2, 3, 4))]
    )


def test_batchnorm3d_matches_formula():
    x = RNG.standard_normal((3, 2, 2, 3, 2))
    bn = nn.BatchNorm3d(2).double()
    y = bn(gn.tensor(x)).numpy()
    mu = x.mean(axis=(0, 2, 3, 4), keepdims=True)
    var = x.var(axis=(0, 2, 3, 4), keepdims=True)
    np.testing.assert_allclose(y, (x - mu) / np.sqrt(var + 1e-5), atol=1e-10)
    n = x.size // 2
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var.ravel() * n / (n - 1))
    with pytest.raises(ValueError, match="N, C, D, H, W"):
        bn(gn.ones(2, 2, 3, 3, dtype="float64"))
    assert list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    ]  # fmt: skip


def test_rms_norm_formula_eps_and_gradient():
    x = RNG.standard_normal((2, 3, 4))
    w = RNG.standard_normal((3, 4))
    y = F.rms_norm(gn.tensor(x), (3, 4), gn.tensor(w), eps=1e-3).numpy()
    ref = x / np.sqrt((x**2).mean(axis=(1, 2), keepdims=True) + 1e-3) * w
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    small = np.full((1, 2), 1e-5, np.float32)
    got = F.rms_norm(gn.tensor(small), (2,)).numpy()  # eps None: finfo(float32).eps
    np.testing.assert_allclose(got, small / np.sqrt(1e-10 + np.finfo(np.float32).eps), rtol=1e-5)
    norm = nn.RMSNorm([4], eps=1e-6)
    assert [n for n, _ in norm.named_parameters()] == ["weight"]
    assert not nn.RMSNorm(4, elementwise_affine=False).state_dict()
    check_grad(lambda t, g: F.rms_norm(t, (4,), g, 1e-3), [x, RNG.standard_normal(4)])
    with pytest.raises(ValueError, match="trailing"):
        F.rms_norm(gn.tensor(x), (3,))


def _lrn_reference(x, size, alpha, beta, k):
    c = x.shape[1]
    sq = x**2
    out = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        out[:, ch] = x[:, ch] / (k + alpha / size * sq[:, lo:hi].sum(axis=1)) ** beta
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm_formula(size):
    x = RNG.standard_normal((2, 5, 3, 2))
    y = nn.LocalResponseNorm(size, 0.5, 0.6, 2.0)(gn.tensor(x)).numpy()
    np.testing.assert_allclose(y, _lrn_reference(x, size, 0.5, 0.6, 2.0), rtol=1e-12)
    x3 = RNG.standard_normal((2, 4, 3))
    np.testing.assert_allclose(
        F.local_response_norm(gn.tensor(x3), size).numpy(),
        _lrn_reference(x3, size, 1e-4, 0.75, 1.0),
        rtol=1e-12,
    )
    check_grad(lambda t: F.local_response_norm(t, size, 0.5, 0.6, 2.0), [x])
    with pytest.raises(ValueError, match="3 or more"):
        F.local_response_norm(gn.ones(2, 3), 2)


def test_bilinear_formula_init_and_gradient():
    x1 = RNG.standard_normal((2, 3, 4))
    x2 = RNG.standard_normal((2, 3, 5))
    a = RNG.standard_normal((6, 4, 5))
    b = RNG.standard_normal(6)
    y = F.bilinear(gn.tensor(x1), gn.tensor(x2), gn.tensor(a), gn.tensor(b)).numpy()
    np.testing.assert_allclose(y, np.einsum("...i,oij,...j->...o", x1, a, x2) + b, rtol=1e-12)
    check_grad(F.bilinear, [x1, x2, a, b])
    layer = nn.Bilinear(400, 5, 30)
    bound = 1 / math.sqrt(400)
    assert layer.weight.shape == (30, 400, 5) and layer.bias.shape == (30,)
    w = layer.weight.numpy()
    assert abs(w).max() <= bound and abs(w).max() > 0.95 * bound
    assert abs(layer.bias.numpy()).max() <= bound
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    assert nn.Bilinear(2, 3, 4, dtype="float64").weight.dtype == np.float64
    with pytest.raises(ValueError, match="leading"):
        F.bilinear(gn.ones(2, 4), gn.ones(3, 5), gn.ones(6, 4, 5))


def test_compiled_step_draws_a_new_channel_mask_each_replay():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Dropout2d(0.5))
    compiled = gn.compile(lambda x: model(x) * 1.0)
    masks = []
    for i in range(5):
        x = gn.full((4, 16, 2, 2), float(i + 1))
        masks.append((compiled(x).numpy() != 0).tobytes())
    assert compiled.replays >= 1
    assert len(set(masks)) == 5  # no mask frozen into the program


def test_compiled_rms_norm_lrn_bilinear_match_eager():
    rng = np.random.default_rng(1)
    w = gn.tensor(rng.standard_normal((3, 4, 4)))
    step = gn.compile(
        lambda x: F.rms_norm(x, (4,)) + F.local_response_norm(x, 3) + F.bilinear(x, x, w)[..., :1]
    )
    for _ in range(4):
        x = gn.tensor(rng.standard_normal((2, 5, 4)))
        got = step(x).numpy()
        want = F.rms_norm(x, (4,)) + F.local_response_norm(x, 3) + F.bilinear(x, x, w)[..., :1]
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12)
    assert step.replays >= 1
