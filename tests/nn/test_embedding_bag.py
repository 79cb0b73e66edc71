"""F.embedding_bag / nn.EmbeddingBag against values recorded once from torch 2.13.0 (the tests
never import torch), the padded lookup it replaces, and float64 finite differences."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet import nn
from glassnet.testing import check_grad

W = np.round(np.sin(np.arange(18)).reshape(6, 3), 4)
IDS = [0, 2, 4, 5, 4, 3, 2, 1]
OFFSETS = [0, 2, 2, 5]  # bags [0, 2], [], [4, 5, 4], [3, 2, 1]; padding_idx=3 drops the 3

RECORDED = {  # output, then the gradient of (output * arange(12).reshape(4, 3)).sum()
    "sum": (
        [[-0.2794, 1.4985, 1.8987], [0.0, 0.0, 0.0], [-0.4229, 0.5525, 1.0198],
         [-0.1383, -0.0998, 0.0305]],
        [[0.0, 1.0, 2.0], [9.0, 10.0, 11.0], [9.0, 11.0, 13.0], [0.0, 0.0, 0.0],
         [12.0, 14.0, 16.0], [6.0, 7.0, 8.0]],
    ),
    "mean": (
        [[-0.1397, 0.74925, 0.94935], [0.0, 0.0, 0.0], [-0.140967, 0.184167, 0.339933],
         [-0.06915, -0.0499, 0.01525]],
        [[0.0, 0.5, 1.0], [4.5, 5.0, 5.5], [4.5, 5.5, 6.5], [0.0, 0.0, 0.0],
         [4.0, 4.666667, 5.333333], [2.0, 2.333333, 2.666667]],
    ),
    "max": (
        [[0.0, 0.8415, 0.9894], [0.0, 0.0, 0.0], [0.6503, 0.4202, 0.9906],
         [0.1411, 0.657, 0.9894]],
        [[0.0, 1.0, 0.0], [9.0, 0.0, 0.0], [0.0, 10.0, 13.0], [0.0, 0.0, 0.0],
         [0.0, 7.0, 8.0], [6.0, 0.0, 0.0]],
    ),
}  # fmt: skip


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_modes_with_offsets_empty_bags_and_padding_match_recorded_pytorch(mode):
    w = gn.tensor(W, requires_grad=True)
    out = F.embedding_bag(gn.tensor(IDS), w, gn.tensor(OFFSETS), mode=mode, padding_idx=3)
    (out * gn.arange(12.0, dtype=gn.float64).reshape(4, 3)).sum().backward()
    want_out, want_grad = RECORDED[mode]
    np.testing.assert_allclose(out.numpy(), want_out, atol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), want_grad, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_a_2d_batch_equals_the_padded_lookup_reduced(mode):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, (4, 5))
    bag = F.embedding_bag(gn.tensor(ids), gn.tensor(W), mode=mode).numpy()
    rows = W[ids]  # (4, 5, 3)
    want = {"sum": rows.sum(1), "mean": rows.mean(1), "max": rows.max(1)}[mode]
    np.testing.assert_allclose(bag, want, rtol=1e-12)
    last = F.embedding_bag(gn.tensor(ids.reshape(-1)), gn.tensor(W), gn.tensor([0, 5, 10, 15, 20]),
                           mode=mode, include_last_offset=True).numpy()  # fmt: skip
    np.testing.assert_allclose(last, want, rtol=1e-12)


def test_per_sample_weights_gradients_match_finite_differences():
    ids, offsets = gn.tensor([0, 2, 4, 5, 1]), gn.tensor([0, 2])

    def f(weight, sample):
        return (
            F.embedding_bag(ids, weight, offsets, mode="sum", per_sample_weights=sample) ** 2
        ).sum()

    check_grad(f, [W, np.array([0.5, -1.0, 2.0, 0.3, 1.5])])
    check_grad(lambda weight: (F.embedding_bag(ids, weight, offsets, mode="mean") ** 2).sum(), [W])


def test_errors_as_pytorch():
    w = gn.tensor(W)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(gn.tensor([[0, 1]]), w, gn.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(gn.tensor([0, 1]), w)
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(gn.tensor([0, 1]), w, gn.tensor([1]))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(gn.tensor([0, 1]), w, gn.tensor([0]), per_sample_weights=gn.ones(2))
    with pytest.raises(ValueError, match="max mode does not support"):
        F.embedding_bag(gn.tensor([0, 1]), w, gn.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(gn.tensor([0, 6]), w, gn.tensor([0]))
    with pytest.raises(ValueError, match="mode has to be one of"):
        nn.EmbeddingBag(3, 2, mode="median")


def test_the_module_trains_a_bag_of_words_classifier():
    gn.manual_seed(0)
    bag = nn.EmbeddingBag(10, 4, mode="mean")
    assert list(bag.state_dict()) == ["weight"] and repr(bag) == "EmbeddingBag(10, 4, mode='mean')"
    head = nn.Linear(4, 2)
    opt = gn.optim.SGD([*bag.parameters(), *head.parameters()], lr=0.5)
    ids, offsets = gn.tensor([1, 2, 3, 6, 7, 8, 1, 3, 7, 8]), gn.tensor([0, 3, 6, 8])
    labels = gn.tensor([0, 1, 0, 1])  # ids below 5 mean class 0
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(head(bag(ids, offsets)), labels)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    frozen = nn.EmbeddingBag.from_pretrained(gn.tensor(W), mode="sum")
    assert not frozen.weight.requires_grad
    np.testing.assert_allclose(frozen(gn.tensor([[0, 1]])).numpy(), [W[0] + W[1]], rtol=1e-12)
