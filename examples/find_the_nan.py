"""Find the op that made a NaN, with ``gn.detect_anomaly()``.

A small model on the bundled digits computes a "confidence penalty" with a planted bug:
``log(h)`` of a hidden activation that can be negative (tanh outputs lie in [-1, 1]). Without
help the loss is simply ``nan``. Under ``detect_anomaly`` glassnet stops at the first op that
*produced* a non-finite value and reports the op, the layer, the source line, input
statistics and the likely cause. The fix (``log`` of ``sigmoid``, or of ``softplus``) is then
checked.

Run: python examples/find_the_nan.py   (under 1 s)
"""

import numpy as np

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.data.datasets import load_digits

gn.manual_seed(0)
(x, y), _ = load_digits()
x, y = gn.tensor(x[:64]), gn.tensor(y[:64])
model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))


def loss_with_bug(model):
    hidden = model[1](model[0](x))  # tanh activations in [-1, 1]
    penalty = -gn.log(hidden).mean()  # BUG: log of negative numbers is nan
    return F.cross_entropy(model[2](hidden), y) + 0.01 * penalty


with np.errstate(invalid="ignore"):  # NumPy would warn; we want to see glassnet's report
    loss = loss_with_bug(model)
print(f"without help: loss = {loss.item()}")

try:
    with np.errstate(invalid="ignore"), gn.detect_anomaly(), gn.record_layers():
        loss_with_bug(model)
except gn.NonFiniteError as error:
    print("\ndetect_anomaly says:")
    print(error)


def loss_fixed(model):
    hidden = model[1](model[0](x))
    penalty = -gn.log(gn.sigmoid(hidden)).mean()  # sigmoid(h) > 0: the log is finite
    return F.cross_entropy(model[2](hidden), y) + 0.01 * penalty


with gn.detect_anomaly():
    loss = loss_fixed(model)
    loss.backward()
print(
    f"\nafter the fix: loss = {loss.item():.4f}, all gradients finite:",
    all(np.isfinite(p.grad.numpy()).all() for p in model.parameters()),
)
