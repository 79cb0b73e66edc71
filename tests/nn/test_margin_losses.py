"""multi_margin_loss, multilabel_margin_loss and triplet_margin_with_distance_loss against
values recorded once from torch 2.13.0 (the tests never import torch), their formulas written
out in NumPy, and float64 finite differences."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet import nn
from glassnet.testing import check_grad

X = np.round(np.sin(np.arange(15)).reshape(3, 5), 3)


def test_multi_margin_matches_recorded_pytorch():
    x = gn.tensor(X, requires_grad=True)
    weight = gn.tensor([0.5, 1.0, 1.5, 2.0, 2.5], dtype=gn.float64)
    loss = F.multi_margin_loss(x, gn.tensor([1, 0, 4]), p=2, margin=0.8, weight=weight,
                               reduction="none")  # fmt: skip
    np.testing.assert_allclose(loss.numpy(), [0.1526848, 2.0292201, 0.0262205], atol=1e-7)
    loss.sum().backward()
    want = [[0.0, -0.3872, 0.3472, 0.04, 0.0], [-1.763, 0.296, 0.4832, 0.5496, 0.4342],
            [0.0, 0.0, 0.0, 0.229, -0.229]]  # fmt: skip
    np.testing.assert_allclose(x.grad.numpy(), want, atol=1e-7)


def test_multi_margin_is_the_hinge_formula_and_its_gradient():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 6)), np.array([0, 5, 2, 2])
    got = F.multi_margin_loss(gn.tensor(x), gn.tensor(y), reduction="none").numpy()
    hinge = np.maximum(0, 1.0 - x[np.arange(4), y][:, None] + x)
    hinge[np.arange(4), y] = 0
    np.testing.assert_allclose(got, hinge.sum(1) / 6, rtol=1e-12)
    single = F.multi_margin_loss(gn.tensor(x[1]), gn.tensor(5)).item()  # (C,) and a 0-d target
    assert single == pytest.approx(hinge[1].sum() / 6)
    check_grad(lambda a: F.multi_margin_loss(a, gn.tensor(y), p=2), [x])


def test_multilabel_margin_matches_recorded_pytorch():
    x = gn.tensor(X, requires_grad=True)
    target = gn.tensor([[3, 0, -1, 1, 2], [1, 1, 3, -1, 0], [-1, 0, 0, 0, 0]])
    loss = nn.MultiLabelMarginLoss(reduction="none")(x, target)
    # row 1 lists class 1 twice (counted twice, as PyTorch); row 2 has no target class
    np.testing.assert_allclose(loss.numpy(), [1.5126, 1.797, 0.0], atol=1e-7)
    loss.sum().backward()
    want = [[-0.6, 0.4, 0.4, -0.6, 0.4], [0.4, -1.2, 0.6, -0.4, 0.6], [0.0] * 5]
    np.testing.assert_allclose(x.grad.numpy(), want, atol=1e-7)
    target = gn.tensor([[3, 0, -1, 1, 2], [1, 1, 3, -1, 0], [-1, 0, 0, 0, 0]])
    check_grad(lambda a: F.multilabel_margin_loss(a, target), [X + 0.01])


def test_triplet_with_distance_defaults_to_the_triplet_margin_loss():
    rng = np.random.default_rng(1)
    a, p, n = (gn.tensor(rng.standard_normal((5, 3))) for _ in range(3))
    plain = F.triplet_margin_loss(a, p, n).item()
    assert F.triplet_margin_with_distance_loss(a, p, n).item() == pytest.approx(plain)

    def cosine(u, v):
        return 1 - F.cosine_similarity(u, v)

    loss = nn.TripletMarginWithDistanceLoss(distance_function=cosine, margin=0.5, swap=True)
    d_an = np.minimum(cosine(a, n).numpy(), cosine(p, n).numpy())
    want = np.maximum(cosine(a, p).numpy() - d_an + 0.5, 0).mean()
    assert loss(a, p, n).item() == pytest.approx(want)
    with pytest.raises(TypeError):
        nn.TripletMarginWithDistanceLoss(cosine)  # keyword-only, as PyTorch
    with pytest.raises(ValueError, match="greater than 0"):
        F.triplet_margin_with_distance_loss(a, p, n, margin=0.0)


def test_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(gn.ones(2, 3), gn.tensor([0, 1]), p=3)
    with pytest.raises(IndexError, match="out of range"):
        F.multi_margin_loss(gn.ones(2, 3), gn.tensor([0, 3]))
    with pytest.raises(ValueError, match="one class index per sample"):
        F.multi_margin_loss(gn.ones(2, 3), gn.tensor([0.0, 1.0]))
    assert list(nn.MultiMarginLoss(weight=gn.ones(3)).state_dict()) == ["weight"]
