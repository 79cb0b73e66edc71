"""Dropout, Embedding, pooling, Flatten/Unflatten and activation modules: forward against NumPy,
train/eval behaviour, init, repr, and errors."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

rng = np.random.default_rng(0)


def test_dropout_train_statistics_and_eval_identity():
    gn.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = gn.ones(200, 500)
    y = drop(x).numpy()
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.005)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps E[y] = x
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x).numpy(), x.numpy())
    assert repr(drop) == "Dropout(p=0.3, inplace=False)"


def test_dropout_seeded_masks_repeat_and_p_edges():
    x = gn.ones(50)
    gn.manual_seed(5)
    a = nn.Dropout(0.5)(x).numpy()
    gn.manual_seed(5)
    b = nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    assert np.all(nn.Dropout(1.0)(x).numpy() == 0)
    with pytest.raises(ValueError, match=r"probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_embedding_lookup_init_and_padding():
    gn.manual_seed(0)
    emb = nn.Embedding(1000, 64, padding_idx=-1)
    assert emb.padding_idx == 999 and repr(emb) == "Embedding(1000, 64, padding_idx=999)"
    w = emb.weight.numpy()
    np.testing.assert_array_equal(w[999], 0)
    assert abs(w[:999].mean()) < 0.01 and w[:999].var() == pytest.approx(1.0, rel=0.02)
    ids = np.array([[3, 999, 3], [0, 10, 998]])
    np.testing.assert_array_equal(emb(gn.tensor(ids)).numpy(), w[ids])


def test_embedding_errors_teach(value_checks):  # the id range is a value check
    emb = nn.Embedding(10, 4)
    with pytest.raises(TypeError, match=r"integer ids; cast the ids with x.long\(\)"):
        emb(gn.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"range over \[1, 12\].*rows 0..9.*num_embeddings"):
        emb(gn.tensor([1, 12]))
    with pytest.raises(ValueError, match=r"range over \[-1, 2\]"):
        emb(gn.tensor([-1, 2]))
    with pytest.raises(ValueError, match="padding_idx must be in -10..9"):
        nn.Embedding(10, 4, padding_idx=10)


def _pool_ref(x, k, s, pad, fn, fill):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    ho = (xp.shape[2] - k) // s + 1
    wo = (xp.shape[3] - k) // s + 1
    out = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = fn(xp[:, :, i * s : i * s + k, j * s : j * s + k], axis=(2, 3))
    return out


def test_pools_match_numpy():
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    y = nn.MaxPool2d(3, stride=2, padding=1)(gn.tensor(x)).numpy()
    np.testing.assert_allclose(y, _pool_ref(x, 3, 2, 1, np.max, -np.inf), rtol=1e-6)
    y = nn.AvgPool2d(2)(gn.tensor(x)).numpy()
    np.testing.assert_allclose(y, _pool_ref(x, 2, 2, 0, np.mean, 0.0), rtol=1e-5)
    y = nn.AvgPool2d(3, stride=1, padding=1)(gn.tensor(x)).numpy()  # padded zeros counted
    np.testing.assert_allclose(y, _pool_ref(x, 3, 1, 1, np.mean, 0.0), rtol=1e-5, atol=1e-6)
    y = nn.AdaptiveAvgPool2d(1)(gn.tensor(x)).numpy()
    np.testing.assert_allclose(y, x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)
    y = nn.AdaptiveAvgPool2d((None, 2))(gn.tensor(x)).numpy()
    ref = np.stack([x[..., 0:3].mean(-1), x[..., 3:6].mean(-1)], axis=-1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_pool_repr_and_errors():
    assert repr(nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), "
        "ceil_mode=False)"
    )
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    with pytest.raises(ValueError, match=r"2 dims; expected \(N, C, H, W\)"):
        nn.MaxPool2d(2)(gn.zeros(8, 8))
    with pytest.raises(ValueError, match="smaller than the window"):
        nn.AvgPool2d(4)(gn.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="padding must be between 0 and kernel_size // 2"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        nn.AdaptiveAvgPool2d(0)


def test_flatten_unflatten():
    x = gn.tensor(rng.standard_normal((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(nn.Flatten()(x).numpy(), x.numpy().reshape(2, 60))
    y = nn.Unflatten(1, (3, -1))(nn.Flatten()(x))
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(2, 3, 20))
    with pytest.raises(ValueError, match="axes must exist"):
        nn.Flatten(start_dim=2, end_dim=1)(x)
    with pytest.raises(ValueError, match=r"60 elements, which cannot be split into \(7, 8\)"):
        nn.Unflatten(1, (7, 8))(nn.Flatten()(x))


def _erf(v):
    return np.vectorize(math.erf)(v)


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    (
        nn.GELU("tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    ),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True))),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=[repr(a[0]) for a in ACTIVATIONS])
def test_activation_modules_match_numpy(layer, ref):
    x = rng.standard_normal((4, 6)) * 3
    np.testing.assert_allclose(layer(gn.tensor(x)).numpy(), ref(x), rtol=1e-6, atol=1e-7)


def test_activation_repr_and_errors():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match=r"Softmax\(dim=2\) got input of shape \(3, 4\)"):
        nn.Softmax(dim=2)(gn.zeros(3, 4))
    with pytest.raises(TypeError, match=r"ReLU\(\) got input of dtype int64"):
        nn.ReLU()(gn.tensor([1, 2]))
