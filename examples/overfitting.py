"""Overfitting on purpose, diagnosed in plain words, then fixed with weight decay and dropout.

A 26,000-parameter MLP trained on only 100 digits memorizes them (training loss near 0) while
the loss on 360 held-out digits climbs back up: the diagnosis ``fit`` makes says
"overfitting (since epoch N)" with the evidence and the remedies. The same model is then
trained with decoupled weight decay (AdamW), and with weight decay plus dropout, on the same
100 samples, and diagnosed again: the validation loss no longer climbs, but a 17-point gap
between training and validation accuracy stays, and with regularization already on, the
first remedy becomes more data.

Run: python examples/overfitting.py   (about 10 s on 2 cores)
"""

import glassnet as gn
from glassnet import nn, optim
from glassnet.data.datasets import load_digits
from glassnet.diagnostics.verdicts import describe

(x_train, y_train), (x_val, y_val) = load_digits()
x_train, y_train = x_train[:100], y_train[:100]  # a tiny training set: easy to memorize


def train(weight_decay: float, dropout: float, epochs: int = 60):
    gn.manual_seed(0)  # same initial weights and batches for every run
    model = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 10),
    )  # fmt: skip
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=weight_decay)
    model.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=50, validation_data=(x_val, y_val), verbose=0
    )
    return history


runs = [
    ("no regularization", 0.0, 0.0),
    ("weight decay 1.0", 1.0, 0.0),
    ("weight decay 0.5 + dropout 0.3", 0.5, 0.3),
]
for name, weight_decay, dropout in runs:
    history = train(weight_decay, dropout)
    h = history.history
    best = min(h["val_loss"])
    print(f"== {name} ({sum(1 for _ in h['loss'])} epochs on {len(y_train)} samples)")
    print(
        f"final: train loss {h['loss'][-1]:.4f}  train acc {h['accuracy'][-1]:.3f}  "
        f"val loss {h['val_loss'][-1]:.4f} (best {best:.4f})  val acc {h['val_accuracy'][-1]:.3f}"
    )
    print(describe(history.diagnosis.findings))
    print()
