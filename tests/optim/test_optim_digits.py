"""Each optimizer trains a small MLP on the bundled digits to >= 95% test accuracy."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data.datasets import load_dataset


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = load_dataset("digits")
    mean, std = x.mean(0), x.std(0) + 0.1  # +0.1: some border pixels are always 0
    return ((x - mean) / std).astype(np.float32), y, ((xt - mean) / std).astype(np.float32), yt


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "SGD-nesterov-wd": lambda p: optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    ),
    "Adam": lambda p: optim.Adam(p, lr=3e-3),
    "AdamW": lambda p: optim.AdamW(p, lr=3e-3, weight_decay=1e-2),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.05),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_mlp_on_digits_reaches_95_percent(digits, name):
    x, y, xt, yt = digits
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = OPTIMIZERS[name](model.parameters())
    rng = np.random.default_rng(0)
    for _ in range(12):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(x[idx])), gn.tensor(y[idx]))
            loss.backward()
            opt.step()
    model.eval()
    with gn.no_grad():
        accuracy = (model(gn.tensor(xt)).numpy().argmax(axis=1) == yt).mean()
    assert accuracy >= 0.95, f"{name}: test accuracy {accuracy:.3f} after 12 epochs"
