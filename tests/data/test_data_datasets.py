"""Tests for the bundled and generated datasets and the registry."""

import gzip
import hashlib
import json
import shutil

import numpy as np
import pytest

from glassnet.data.datasets import (
    DATASETS,
    CharVocab,
    Mnist1dConfig,
    char_windows,
    load_dataset,
    load_digits,
    load_mnist1d,
    load_shakespeare,
    make_mnist1d,
)
from glassnet.data.datasets._bundled import BUNDLED_SHA256, FILES_DIR
from glassnet.data.datasets.mnist1d import _gaussian_filter, mnist1d_templates

# ----------------------------------------------------------------------------- digits


def test_bundled_files_match_their_checksums():
    for name, expected in BUNDLED_SHA256.items():
        assert hashlib.sha256((FILES_DIR / name).read_bytes()).hexdigest() == expected
    attribution = (FILES_DIR / "ATTRIBUTION.md").read_text()
    for name, expected in BUNDLED_SHA256.items():
        assert name in attribution and expected in attribution


def test_digits_shapes_ranges_and_split():
    (x, y), (xt, yt) = load_digits()
    assert x.shape == (1437, 64) and xt.shape == (360, 64)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(x * 16).tolist()) <= set(range(17))  # pixels were 0..16
    assert sorted(np.unique(y).tolist()) == list(range(10))
    # stratified: every class has 35..37 test images (360 of 1,797 is 20%)
    counts = np.bincount(yt, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    # train and test are disjoint and together are the whole file
    rows = {r.tobytes() + bytes([label]) for r, label in zip(x, y)}
    rows_test = {r.tobytes() + bytes([label]) for r, label in zip(xt, yt)}
    assert len(rows | rows_test) >= 1797 - 20  # a handful of exact duplicate images exist


def test_digits_split_is_fixed_and_seedable():
    (x1, y1), _ = load_digits()
    (x2, y2), _ = load_digits()
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    (x3, _), _ = load_digits(seed=1)
    assert not np.array_equal(x1, x3)


def test_digits_known_first_row_and_image_layout():
    with gzip.open(FILES_DIR / "digits.csv.gz", "rt") as f:
        first = np.array(f.readline().split(","), dtype=np.int64)
    (x, y), (xt, yt) = load_digits(flatten=False)
    assert x.shape == (1437, 1, 8, 8)
    all_x = np.concatenate([x, xt]).reshape(-1, 64)
    all_y = np.concatenate([y, yt])
    matches = np.flatnonzero((all_x * 16 == first[:64]).all(axis=1) & (all_y == first[64]))
    assert matches.size >= 1  # the file's first image, a zero, is in the dataset unchanged
    assert first[64] == 0


def test_digits_corrupt_or_missing_file(tmp_path):
    copy = tmp_path / "digits.csv.gz"
    shutil.copy(FILES_DIR / "digits.csv.gz", copy)
    load_digits(path=copy)  # an intact copy loads
    data = bytearray(copy.read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        load_digits(path=copy)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_digits(path=tmp_path / "nope.csv.gz")


# ----------------------------------------------------------------------------- mnist1d


@pytest.fixture(scope="module")
def mnist1d():
    return load_mnist1d()


def test_mnist1d_shapes_and_types(mnist1d):
    (x, y), (xt, yt) = mnist1d
    assert x.shape == (4000, 40) and xt.shape == (1000, 40)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert np.isfinite(x).all()


def test_mnist1d_label_balance(mnist1d):
    (_, y), (_, yt) = mnist1d
    total = np.bincount(np.concatenate([y, yt]), minlength=10)
    assert total.tolist() == [500] * 10  # 5,000 samples, 500 per class, then shuffled
    test_counts = np.bincount(yt, minlength=10)  # a random 20%: about 100 per class
    assert test_counts.min() > 70 and test_counts.max() < 130
    assert y[:50].tolist() != sorted(y[:50].tolist())


def test_mnist1d_value_statistics(mnist1d):
    (x, _), (xt, _) = mnist1d
    full = np.concatenate([x, xt]).astype(np.float64)
    assert abs(full.mean()) < 1e-6 and abs(full.std() - 1.0) < 1e-6  # normalised as a whole
    # the reference dataset's first training labels (mnist1d 0.0.2, make_dataset defaults)
    assert mnist1d[0][1][:20].tolist() == [
        2,
        6,
        4,
        5,
        6,
        6,
        6,
        0,
        3,
        1,
        6,
        9,
        4,
        3,
        4,
        5,
        1,
        9,
        0,
        3,
    ]
    np.testing.assert_allclose(
        x[0, :5], [-0.33200567, -0.47191037, -0.77869708, -1.00974083, -0.88235257], atol=1e-6
    )


def test_mnist1d_is_cached_and_returns_copies(mnist1d):
    (x, y), _ = mnist1d
    x[:] = 0
    y[:] = -1
    (x2, y2), _ = load_mnist1d()
    assert np.abs(x2).sum() > 0 and y2.min() == 0


def test_mnist1d_other_configs_are_deterministic():
    small = Mnist1dConfig(num_samples=200, seed=1)
    a, b = make_mnist1d(small), make_mnist1d(small)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert a["x"].shape == (160, 40) and a["x_test"].shape == (40, 40)
    c = make_mnist1d(Mnist1dConfig(num_samples=200, seed=2))
    assert not np.allclose(a["x"], c["x"])
    with pytest.raises(TypeError, match="Mnist1dConfig"):
        load_mnist1d(config={"num_samples": 10})


def test_mnist1d_templates_start_at_zero():
    t = mnist1d_templates()
    assert t.shape == (10, 12)
    np.testing.assert_array_equal(t[:, 0], 0.0)
    assert len({row.tobytes() for row in t}) == 10


def test_gaussian_filter_matches_reflect_definition():
    x = np.random.default_rng(0).normal(size=72)
    out = _gaussian_filter(x, 2.0)
    offsets = np.arange(-8, 9)
    w = np.exp(-0.5 * offsets**2 / 4.0)
    w /= w.sum()
    i = 3  # near the edge: index 3 + k < 0 reflects as -(3 + k) - 1
    neighbours = [x[j] if j >= 0 else x[-j - 1] for j in i + offsets]
    assert out.shape == x.shape
    assert abs(out[i] - np.dot(w, neighbours)) < 1e-12
    assert abs(out[40] - np.dot(w, x[32:49])) < 1e-12


# ----------------------------------------------------------------------------- shakespeare


def test_shakespeare_split_and_vocab():
    train, val, vocab = load_shakespeare()
    total = len(train) + len(val)
    assert total == 1_036_335
    assert abs(len(val) - total * 0.1) <= 1
    assert train.startswith("HAMLET") and "Let your indulgence set me free." in val
    assert "Gutenberg" not in train + val
    assert len(vocab) == 76 and set(train + val) == set(vocab.itos)
    ids = vocab.encode(val[:500])
    assert ids.dtype == np.int64 and vocab.decode(ids) == val[:500]


def test_char_vocab_roundtrip_and_errors():
    vocab = CharVocab.from_text("to be or not")
    assert vocab.itos == sorted(set("to be or not"))
    assert vocab.stoi["t"] == vocab.itos.index("t")
    restored = CharVocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored.itos == vocab.itos
    with pytest.raises(ValueError, match=r"\['z'\]"):
        vocab.encode("zoo")
    assert len(vocab) == 7
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        vocab.decode([7])
    with pytest.raises(ValueError, match="non-empty"):
        CharVocab("")


def test_char_windows_next_character_targets():
    ids = CharVocab("abcdefgh").encode("abcdefgh")
    x, y = char_windows(ids, context_length=3)
    assert x.shape == y.shape == (5, 3) and x.dtype == np.int64
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(x[:, 0], np.arange(5))
    np.testing.assert_array_equal(y[-1], [5, 6, 7])
    x2, y2 = char_windows(ids, context_length=3, stride=2)
    np.testing.assert_array_equal(x2[:, 0], [0, 2, 4])
    np.testing.assert_array_equal(y2[2], [5, 6, 7])
    assert not x.flags.writeable  # views, not copies


def test_char_windows_errors():
    with pytest.raises(ValueError, match="too short"):
        char_windows(np.arange(3), context_length=3)
    with pytest.raises(ValueError, match="1-D integer"):
        char_windows(np.zeros((2, 5), dtype=np.int64), 2)
    with pytest.raises(ValueError, match=">= 1"):
        char_windows(np.arange(10), 0)


def test_shakespeare_with_dataloader_fast_path():
    from glassnet.data.loader import DataLoader

    train, _, vocab = load_shakespeare()
    x, y = char_windows(vocab.encode(train[:10_000]), context_length=64)
    xb, yb = next(iter(DataLoader((x, y), batch_size=16, shuffle=True, seed=0)))
    assert xb.shape == yb.shape == (16, 64)
    np.testing.assert_array_equal(xb[:, 1:].numpy(), yb[:, :-1].numpy())
    assert xb.numpy().flags.writeable  # the batch is a copy, safe to modify


# ----------------------------------------------------------------------------- registry


def test_registry_lists_and_loads():
    assert set(DATASETS) == {
        "digits",
        "mnist1d",
        "mnist",
        "fashion_mnist",
        "cifar10",
        "shakespeare",
    }
    assert all(isinstance(d, str) and d for d in DATASETS.values())
    (x, _), _ = load_dataset("Digits", flatten=False)
    assert x.shape == (1437, 1, 8, 8)
    train, val, vocab = load_dataset("shakespeare")
    assert isinstance(train, str) and isinstance(vocab, CharVocab)


def test_registry_unknown_name_suggests():
    with pytest.raises(ValueError, match="Did you mean 'mnist1d'"):
        load_dataset("mnist_1d")
    with pytest.raises(ValueError, match="available: digits"):
        load_dataset("imagenet")
