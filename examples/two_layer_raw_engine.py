"""A two-layer network on the bundled digits with only tensors, autograd and manual SGD.

No nn, no optim: the weights are plain tensors with ``requires_grad=True``, the forward pass is
written out (``x @ W1 + b1``, ReLU, ``@ W2 + b2``), ``loss.backward()`` fills ``.grad`` and the
update is ``w -= lr * w.grad`` under ``no_grad``. This is everything a framework does for an
MLP, in 40 lines.

Run: python examples/two_layer_raw_engine.py   (about 2 s on 2 cores)
"""

import numpy as np

import glassnet as gn
import glassnet.functional as F
from glassnet.data.datasets import load_digits

gn.manual_seed(0)
(x_train, y_train), (x_test, y_test) = load_digits()  # (1437, 64) floats in [0, 1], labels 0..9
x_train, y_train = gn.tensor(x_train), gn.tensor(y_train)
x_test = gn.tensor(x_test)

hidden, lr, batch_size = 64, 0.5, 32
# He (Kaiming) initialization for the ReLU layer, Xavier-like for the output layer.
W1 = (gn.randn(64, hidden) * (2 / 64) ** 0.5).requires_grad_()
b1 = gn.zeros(hidden, requires_grad=True)
W2 = (gn.randn(hidden, 10) * (1 / hidden) ** 0.5).requires_grad_()
b2 = gn.zeros(10, requires_grad=True)
params = [W1, b1, W2, b2]


def forward(x):
    h = (x @ W1 + b1).relu()  # (N, 64) hidden activations
    return h @ W2 + b2  # (N, 10) logits


rng = np.random.default_rng(0)
for epoch in range(1, 21):
    order = rng.permutation(len(y_train))
    total = 0.0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        loss = F.cross_entropy(forward(x_train[idx]), y_train[idx])
        for p in params:
            p.grad = None  # gradients accumulate: drop last step's
        loss.backward()
        with gn.no_grad():  # the update itself must not be recorded in a graph
            for p in params:
                p -= lr * p.grad
        total += loss.item() * len(idx)
    if epoch % 4 == 0:
        print(f"epoch {epoch:2d}  train loss {total / len(order):.4f}")

with gn.no_grad():
    predictions = forward(x_test).numpy().argmax(axis=1)
accuracy = (predictions == y_test).mean()
print(f"test accuracy {accuracy:.3f}")
