"""``WeightedRandomSampler`` as ``torch.utils.data.WeightedRandomSampler``: index frequencies
follow the weights (checked with a chi-square bound), draws without replacement are distinct
and follow the sequential-draw law, seeding repeats the order, bad arguments raise."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils.data import DataLoader, TensorDataset, WeightedRandomSampler


def test_with_replacement_frequencies_follow_weights():
    weights = [1.0, 2.0, 3.0, 0.0, 4.0]
    gn.manual_seed(0)
    sampler = WeightedRandomSampler(weights, 40000)
    draws = list(sampler)
    assert len(sampler) == 40000 and len(draws) == 40000
    assert all(isinstance(i, int) for i in draws[:10])
    counts = np.bincount(draws, minlength=5)
    assert counts[3] == 0  # a zero weight is never drawn
    expected = 40000 * np.array([1, 2, 3, 4]) / 10
    chi2 = float((((counts[[0, 1, 2, 4]] - expected) ** 2) / expected).sum())
    assert chi2 < 16.3  # chi-square, 3 degrees of freedom, p = 0.001


def test_without_replacement_follows_sequential_draws():
    # P(first = i) = w_i / sum w; P(second = j | first = i) = w_j / (sum w - w_i).
    weights = np.array([1.0, 2.0, 7.0])
    sampler = WeightedRandomSampler(weights, 2, replacement=False)
    gn.manual_seed(1)
    pairs = [tuple(sampler) for _ in range(6000)]
    assert all(a != b for a, b in pairs)
    total = weights.sum()
    for (i, j), want in [((2, 1), 0.7 * 2 / 3), ((0, 2), 0.1 * 7 / 9), ((1, 0), 0.2 * 1 / 8)]:
        got = sum(p == (i, j) for p in pairs) / len(pairs)
        sd = np.sqrt(want * (1 - want) / len(pairs))
        assert abs(got - want) < 4 * sd, (i, j, got, want)
    assert total == 10.0
    full = WeightedRandomSampler([1.0, 0.0, 5.0, 2.0], 3, replacement=False)
    assert sorted(full) == [0, 2, 3]


def test_seeding_and_generator_repeat_the_order():
    sampler = WeightedRandomSampler(gn.tensor([0.5, 0.25, 0.25]), 50)
    gn.manual_seed(3)
    first = list(sampler)
    assert list(sampler) != first  # a new epoch is a new draw
    gn.manual_seed(3)
    assert list(sampler) == first  # re-seeding repeats it, as torch's global generator
    a = list(WeightedRandomSampler([1, 1, 1], 30, generator=gn.Generator().manual_seed(7)))
    b = list(WeightedRandomSampler([1, 1, 1], 30, generator=gn.Generator().manual_seed(7)))
    assert a == b
    assert sampler.weights.dtype == gn.float64  # PyTorch stores the weights as double
    assert sampler.num_samples == 50 and sampler.replacement is True


def test_in_a_dataloader():
    ds = TensorDataset(gn.arange(4).float())
    loader = DataLoader(ds, batch_size=5, sampler=WeightedRandomSampler([0, 0, 1, 0], 10))
    batches = [b[0].numpy().tolist() for b in loader]
    assert batches == [[2.0] * 5, [2.0] * 5]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1.0, 2.0], 0), {}, "num_samples should be a positive integer"),
        (([1.0, 2.0], 2.0), {}, "num_samples should be a positive integer"),
        (([1.0, 2.0], True), {}, "num_samples should be a positive integer"),
        (([1.0, 2.0], 2), {"replacement": 1}, "replacement should be a boolean"),
        (([[1.0, 2.0]], 2), {}, "weights should be a 1d sequence"),
        (([1.0, -2.0], 2), {}, "non-negative"),
        (([0.0, 0.0], 2), {}, "positive sum"),
        (([1.0, float("nan")], 2), {}, "finite"),
        (([1.0, 0.0, 2.0], 3), {"replacement": False}, "without replacement"),
    ],
)
def test_bad_arguments_raise(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        WeightedRandomSampler(*args, **kwargs)
