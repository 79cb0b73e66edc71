"""Tests for the NumPy transforms."""

import numpy as np
import pytest

from glassnet.data.transforms import (
    Compose,
    Flatten,
    GaussianNoise,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Standardize,
    one_hot,
)


def test_normalize_per_channel():
    x = np.stack([np.full((2, 2), 3.0), np.full((2, 2), 10.0)])[None].astype(np.float32)
    out = Normalize(mean=[1.0, 2.0], std=[2.0, 4.0])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], 1.0)
    np.testing.assert_allclose(out[0, 1], 2.0)


def test_normalize_scalar_and_integer_input():
    out = Normalize(128, 64)(np.array([[0, 128, 256]], dtype=np.int64))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-2.0, 0.0, 2.0]])


def test_normalize_errors():
    with pytest.raises(ValueError, match="positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="mean has 2 values but std has 3"):
        Normalize([0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match=r"got input of shape \(1, 2, 4, 4\)"):
        Normalize([0, 0, 0], [1, 1, 1])(np.zeros((1, 2, 4, 4)))


def test_standardize_fit_then_apply():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 3.0, size=(1000, 4))
    s = Standardize().fit(train)
    z = s(train)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-12)
    test = rng.normal(5.0, 3.0, size=(10, 4))
    np.testing.assert_allclose(s(test), (test - train.mean(0)) / train.std(0))


def test_standardize_constant_feature_is_zero_not_nan():
    s = Standardize().fit(np.array([[1.0, 2.0], [1.0, 4.0]]))
    out = s(np.array([[1.0, 3.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.0]])


def test_standardize_errors():
    with pytest.raises(ValueError, match="before fit"):
        Standardize()(np.zeros((2, 3)))
    s = Standardize().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"fit on samples of shape \(3,\)"):
        s(np.zeros((2, 5)))


def test_one_hot():
    out = one_hot(np.array([1, 0, 3]), 4)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    np.testing.assert_array_equal(out.argmax(1), [1, 0, 3])
    np.testing.assert_array_equal(out.sum(1), 1.0)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="integer labels"):
        one_hot(np.array([0.0, 1.0]), 3)


def test_flatten():
    assert Flatten()(np.zeros((5, 3, 4, 4))).shape == (5, 48)
    with pytest.raises(ValueError, match="start_axis"):
        Flatten(start_axis=5)(np.zeros((2, 2)))


def test_random_crop_windows_come_from_padded_image():
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
    crop = RandomCrop(4, padding=1, seed=0)
    out = crop(x)
    assert out.shape == (2, 3, 4, 4) and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for n in range(2):
        matches = [
            (i, j)
            for i in range(5)
            for j in range(5)
            if np.array_equal(out[n], padded[n, :, i : i + 4, j : j + 4])
        ]
        assert matches, f"sample {n} is not a crop of its padded image"


def test_random_crop_is_seeded_and_varies():
    image = np.random.default_rng(1).normal(size=(1, 1, 8, 8))
    x = np.repeat(image, 200, axis=0)
    a = RandomCrop(8, padding=2, seed=5)(x)
    b = RandomCrop(8, padding=2, seed=5)(x)
    np.testing.assert_array_equal(a, b)
    distinct = {a[i].tobytes() for i in range(200)}
    assert len(distinct) > 15  # 25 possible offsets, drawn per image
    assert not np.array_equal(a, RandomCrop(8, padding=2, seed=6)(x))


def test_random_crop_errors():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        RandomCrop(2, seed=0)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="cannot crop"):
        RandomCrop(10, padding=1, seed=0)(np.zeros((1, 1, 4, 4)))


def test_random_horizontal_flip():
    x = np.arange(100 * 4, dtype=np.float32).reshape(100, 1, 1, 4)
    out = RandomHorizontalFlip(p=0.5, seed=0)(x)
    flipped = [np.array_equal(out[i], x[i, ..., ::-1]) for i in range(100)]
    kept = [np.array_equal(out[i], x[i]) for i in range(100)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 30 < sum(flipped) < 70
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0, seed=0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0, seed=0)(x), x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        RandomHorizontalFlip(p=2.0)


def test_gaussian_noise_statistics_and_seed():
    x = np.zeros((200, 50), dtype=np.float32)
    out = GaussianNoise(0.5, seed=0)(x)
    assert out.dtype == np.float32
    assert abs(out.std() - 0.5) < 0.02 and abs(out.mean()) < 0.02
    np.testing.assert_array_equal(out, GaussianNoise(0.5, seed=0)(x))
    with pytest.raises(ValueError, match=">= 0"):
        GaussianNoise(-1.0)


def test_compose_order_and_validation():
    pipeline = Compose([lambda x: x + 1, lambda x: x * 10])
    np.testing.assert_array_equal(pipeline(np.array([1.0])), [20.0])
    with pytest.raises(TypeError, match="item 1"):
        Compose([Flatten(), 3])
