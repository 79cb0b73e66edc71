"""An MLP on the bundled digits, trained with a PyTorch-style loop.

``nn.Sequential`` holds the layers, ``optim.Adam`` the update rule, ``DataLoader`` the
shuffled mini-batches; the loop is the five lines every PyTorch user knows:
zero_grad, forward, loss, backward, step. ``model.eval()`` and ``gn.no_grad()`` for testing.

Run: python examples/mlp_digits.py   (about 3 s on 2 cores)
"""

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data import DataLoader
from glassnet.data.datasets import load_digits

gn.manual_seed(0)
(x_train, y_train), (x_test, y_test) = load_digits()
loader = DataLoader((x_train, y_train), batch_size=32, shuffle=True, seed=0)

model = nn.Sequential(
    nn.Linear(64, 128),
    nn.ReLU(),
    nn.Dropout(0.1),
    nn.Linear(128, 10),
)
print(model)
print(f"parameters: {model.num_parameters():,}")
optimizer = optim.Adam(model.parameters(), lr=3e-3)


def accuracy(x, y):
    model.eval()  # dropout off
    with gn.no_grad():
        predicted = model(gn.tensor(x)).numpy().argmax(axis=1)
    model.train()
    return (predicted == y).mean()


for epoch in range(1, 21):
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gn.tensor(xb)), gn.tensor(yb))
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(yb), count + len(yb)
    if epoch % 5 == 0:
        print(
            f"epoch {epoch:2d}  loss {total / count:.4f}  "
            f"train acc {accuracy(x_train, y_train):.3f}  test acc {accuracy(x_test, y_test):.3f}"
        )

print(f"test accuracy {accuracy(x_test, y_test):.3f}")
