"""The clinic's patients: broken trainings (and healthy ones) built on the bundled digits.

Each case trains a real model with the real tools in about a second and returns the
:class:`~glassnet.diagnostics.diagnosis.Diagnosis`; ``tests/diagnostics/test_clinic.py``
holds each one to the right first finding and first remedy.
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data.datasets import load_digits

_DATA: dict = {}


def digits():
    """Standardized digits: (x, y) training (1,437) and (xv, yv) validation (360)."""
    if not _DATA:
        (x, y), (xv, yv) = load_digits()
        mean, std = x.mean(0), x.std(0) + 1e-6
        _DATA.update(x=(x - mean) / std, y=y, xv=(xv - mean) / std, yv=yv, raw=x, raw_v=xv)
    return _DATA


def mlp(hidden=64, depth=1, act=nn.ReLU, out=10, seed=0):
    gn.manual_seed(seed)
    layers, n_in = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n_in, hidden), act()]
        n_in = hidden
    return nn.Sequential(*layers, nn.Linear(n_in, out))


def fit(model, optimizer, epochs=5, loss="cross_entropy", x=None, y=None, xv=None, yv=None,
        batch_size=32, **kwargs):  # fmt: skip
    d = digits()
    x = d["x"] if x is None else x
    y = d["y"] if y is None else y
    xv = d["xv"] if xv is None else xv
    yv = d["yv"] if yv is None else yv
    classify = callable(loss) or "cross" in loss  # a hand-written loss here is a classifier's
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if classify else [])
    options = dict(epochs=epochs, batch_size=batch_size, verbose=0, interrupt_checkpoint=None)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, validation_data=(xv, yv), **options, **kwargs)
    return history.diagnosis


# -- the table --------------------------------------------------------------------
def adam_lr_1():
    model = mlp()
    return fit(model, optim.Adam(model.parameters(), lr=1.0), epochs=3)


def sgd_lr_5():
    model = mlp()
    return fit(model, optim.SGD(model.parameters(), lr=5.0), epochs=3)


def relu_killed_by_lr():
    model = mlp(hidden=64, depth=2)  # SGD with momentum at 1000x its usual 0.01
    return fit(model, optim.SGD(model.parameters(), lr=10.0, momentum=0.9), epochs=3)


def shuffled_labels():
    d = digits()
    y = np.random.default_rng(1).permutation(d["y"])[:600]  # planted: labels of other images
    model = mlp(hidden=256)
    return fit(model, optim.Adam(model.parameters(), lr=3e-3), epochs=10, x=d["x"][:600], y=y)


def deep_sigmoid():
    model = mlp(hidden=32, depth=10, act=nn.Sigmoid)
    return fit(model, optim.SGD(model.parameters(), lr=0.1), epochs=4)


def zero_init():
    model = mlp()
    with gn.no_grad():
        for p in model.parameters():
            p.fill_(0.0)
    return fit(model, optim.SGD(model.parameters(), lr=0.1), epochs=4)


def softmax_before_cross_entropy():
    model = nn.Sequential(mlp(), nn.Softmax(dim=1))  # planted: probabilities into the loss
    return fit(model, optim.Adam(model.parameters(), lr=1e-2), epochs=5)


def no_zero_grad(steps=40):
    d = digits()
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.01)
    watch = gn.watch(model, opt)
    with np.errstate(all="ignore"):
        for i in range(steps):
            idx = slice(32 * i, 32 * (i + 1))
            loss = F.cross_entropy(model(gn.tensor(d["x"][idx])), gn.tensor(d["y"][idx]))
            loss.backward()  # planted: no optimizer.zero_grad()
            opt.step()
    watch.stop()
    return watch.diagnosis()


def inputs_0_255():
    d = digits()
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return fit(model, opt, epochs=3, x=d["raw"] * 255, xv=d["raw_v"] * 255)


def overfitting():
    d = digits()
    model = mlp(hidden=256)  # planted: a big model on 120 samples
    opt = optim.Adam(model.parameters(), lr=3e-3)
    return fit(model, opt, epochs=25, x=d["x"][:120], y=d["y"][:120], batch_size=32)


# -- more of our own ------------------------------------------------------------------------
def class_labels_with_mse():
    d = digits()
    model = mlp(out=1)  # planted: digit classes regressed as numbers
    y, yv = d["y"][:, None].astype(np.float32), d["yv"][:, None].astype(np.float32)
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3, loss="mse", y=y, yv=yv)


def model_too_small():
    gn.manual_seed(0)  # planted: a 2-unit bottleneck for 10 classes
    model = nn.Sequential(nn.Linear(64, 2), nn.Tanh(), nn.Linear(2, 10))
    return fit(model, optim.Adam(model.parameters(), lr=1e-2), epochs=8)


def lr_too_low():
    model = mlp()
    return fit(model, optim.SGD(model.parameters(), lr=1e-5), epochs=4)


class RowRNN(nn.Module):
    """Reads an 8x8 digit row by row (8 steps of 8 pixels); classifies from the last state."""

    def __init__(self, hidden=64, nonlinearity="tanh", cell="rnn"):
        super().__init__()
        if cell == "gru":
            self.rnn = nn.GRU(8, hidden, batch_first=True)
        else:
            self.rnn = nn.RNN(8, hidden, nonlinearity=nonlinearity, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], 8, 8))
        return self.head(out[:, -1])


def exploding_rnn():
    gn.manual_seed(0)
    model = RowRNN(nonlinearity="relu")
    with gn.no_grad():  # planted: recurrent weights with spectral radius about 3
        w = model.rnn.weight_hh_l0
        w.copy_(gn.tensor(np.eye(64, dtype=np.float32) * 3.0))
    return fit(model, optim.SGD(model.parameters(), lr=0.01), epochs=3)


def dead_from_negative_bias():
    model = mlp(hidden=64, depth=2)
    with gn.no_grad():
        model[2].bias.fill_(-20.0)  # planted: the second hidden layer never fires
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3)


def cnn(seed=0):
    gn.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    )  # fmt: skip


def cnn_unnormalized():
    d = digits()
    model = cnn()  # planted: raw 0..255 pixels into a CNN with SGD
    x, xv = d["raw"].reshape(-1, 1, 8, 8) * 255, d["raw_v"].reshape(-1, 1, 8, 8) * 255
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return fit(model, opt, epochs=2, x=x, xv=xv)


# -- healthy runs: no warning allowed -------------------------------------------------------
def healthy_mlp():
    model = mlp()
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=5)


def healthy_cnn():
    d = digits()
    model = cnn()
    x, xv = d["x"].reshape(-1, 1, 8, 8), d["xv"].reshape(-1, 1, 8, 8)
    return fit(model, optim.Adam(model.parameters(), lr=3e-3), epochs=4, x=x, xv=xv)


def healthy_rnn():
    gn.manual_seed(0)
    model = RowRNN(cell="gru")
    return fit(model, optim.Adam(model.parameters(), lr=3e-3), epochs=4)


# -- more broken trainings, found by trying the diagnosis on what learners do --------------
def heavy_dropout():
    gn.manual_seed(0)  # planted: dropout 0.9 on the only hidden layer
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.9), nn.Linear(64, 10))
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=6)


def noisy_training_labels():
    d = digits()
    rng = np.random.default_rng(0)  # planted: half of the training labels replaced at random
    y = np.where(rng.random(len(d["y"])) < 0.5, d["y"], rng.integers(0, 10, len(d["y"])))
    model = mlp()
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=8, y=y)


def tiny_init():
    model = mlp(depth=4)
    with gn.no_grad():  # planted: every weight 100x smaller than the default init
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                p.mul_(0.01)
    return fit(model, optim.SGD(model.parameters(), lr=0.1), epochs=4)


def slow_sgd():
    model = mlp()  # planted: plain SGD at 0.003 for 4 epochs: still far from done
    return fit(model, optim.SGD(model.parameters(), lr=3e-3), epochs=4)


def overconfident_init():
    model = mlp()
    with gn.no_grad():
        model[2].weight.mul_(50.0)  # planted: output layer 50x the default scale
    return fit(model, optim.SGD(model.parameters(), lr=0.05), epochs=4)


# -- more healthy runs ----------------------------------------------------------------------
def healthy_variants():
    """(name, diagnosis) of healthy setups unlike the three above."""
    d = digits()
    out = []
    for name, make, opt, kw in [
        ("sgd momentum", lambda: mlp(), lambda p: optim.SGD(p, lr=0.01, momentum=0.9), {}),
        ("tanh", lambda: mlp(act=nn.Tanh), lambda p: optim.Adam(p, lr=1e-3), {}),
        ("batchnorm", lambda: nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                            nn.Linear(64, 10)),
         lambda p: optim.Adam(p, lr=1e-3), {}),
        ("dropout 0.3", lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.3),
                                              nn.Linear(128, 10)),
         lambda p: optim.Adam(p, lr=1e-3), {}),
        ("one epoch", lambda: mlp(), lambda p: optim.Adam(p, lr=1e-3), {"epochs": 1}),
        ("raw 0..1 pixels", lambda: mlp(), lambda p: optim.Adam(p, lr=1e-3),
         {"x": d["raw"], "xv": d["raw_v"]}),
    ]:  # fmt: skip
        gn.manual_seed(0)
        model = make()
        out.append((name, fit(model, opt(model.parameters()), **{"epochs": 4, **kw})))
    w = np.random.default_rng(0).normal(size=(64, 1)).astype(np.float32) * 0.1
    model = mlp(out=1)
    out.append(("regression", fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=5,
                                  loss="mse", y=d["x"] @ w, yv=d["xv"] @ w)))  # fmt: skip
    return out


# -- the loop's wiring and the optimizer's settings (tried on setups the rules had not seen) --
def hand_loop(model, opt, epochs=2, zero_grad_after_backward=False, train_each_epoch=True,
              validate_with_grad=False):  # fmt: skip
    """A hand-written loop under gn.watch, validating after each epoch in eval mode."""
    d = digits()
    watch = gn.watch(model, opt)
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            if train_each_epoch:
                model.train()
            for i in range(0, 640, 32):
                xb, yb = gn.tensor(d["x"][i : i + 32]), gn.tensor(d["y"][i : i + 32])
                if not zero_grad_after_backward:
                    opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                if zero_grad_after_backward:
                    opt.zero_grad()  # planted: the gradients are gone before the step
                opt.step()
            model.eval()
            with gn.set_grad_enabled(validate_with_grad):
                F.cross_entropy(model(gn.tensor(d["xv"])), gn.tensor(d["yv"]))
    watch.stop()
    return watch.diagnosis()


def zero_grad_between_backward_and_step():
    model = mlp()
    return hand_loop(model, optim.SGD(model.parameters(), lr=0.1), zero_grad_after_backward=True)


def bn_dropout_mlp():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(64, 10))  # fmt: skip


def eval_mode_forever():
    model = bn_dropout_mlp()  # planted: model.eval() for validation, never model.train() again
    return hand_loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3,
                     train_each_epoch=False)  # fmt: skip


def params_not_in_optimizer():
    model = mlp(depth=2)  # planted: only the first layer is given to the optimizer
    return fit(model, optim.Adam(model[0].parameters(), lr=1e-3), epochs=4)


def frozen_weights():
    model = mlp(depth=2)
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            p.requires_grad_(False)  # planted: meant for the backbone, hit every layer
    trainable = [p for p in model.parameters() if p.requires_grad]
    return fit(model, optim.Adam(trainable, lr=1e-3), epochs=4)


def sgd_weight_decay_5():
    model = mlp()  # planted: weight_decay=5 (5e-4 meant)
    return fit(model, optim.SGD(model.parameters(), lr=0.1, weight_decay=5.0), epochs=4)


def adamw_weight_decay_100():
    model = mlp()  # planted: weight_decay=100
    return fit(model, optim.AdamW(model.parameters(), lr=1e-3, weight_decay=100.0), epochs=4)


def init_20x_too_large():
    model = mlp(depth=3)
    with gn.no_grad():  # planted: every weight 20x the default init
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                p.mul_(20.0)
    return fit(model, optim.SGD(model.parameters(), lr=0.01), epochs=4)


def summed_loss_big_batch():
    model = mlp()  # planted: reduction="sum" over batches of 256 with SGD
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.05),
                  loss=lambda out, y: F.cross_entropy(out, y, reduction="sum"),
                  metrics=["accuracy"])  # fmt: skip
    d = digits()
    with np.errstate(all="ignore"):
        history = model.fit(d["x"], d["y"], epochs=3, batch_size=256, verbose=0,
                            validation_data=(d["xv"], d["yv"]),
                            interrupt_checkpoint=None)  # fmt: skip
    return history.diagnosis


# -- broken trainings that once got no or the wrong diagnosis (probe: scratch p4) -------------
def sorted_by_label():
    d = digits()
    order = np.argsort(d["y"], kind="stable")  # planted: data sorted by label, never shuffled
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.05)
    return fit(model, opt, epochs=3, x=d["x"][order], y=d["y"][order], shuffle=False)  # was: none


def deep_tanh_sgd():
    model = mlp(hidden=32, depth=8, act=nn.Tanh)  # planted: 8 tanh layers, default init
    return fit(model, optim.SGD(model.parameters(), lr=0.01), epochs=4)  # was: lr too low


def log_of_softmax():
    model = mlp()

    def loss(out, target):  # planted: log(softmax) by hand; a sharp softmax underflows to 0
        p = F.softmax(out * 30.0, dim=1)
        return -(F.one_hot(target, 10) * gn.log(p)).sum(1).mean()

    # log_every=1: on a device too the loss is read at every step, so fit stops before the
    # first bad update and can replay the batch that made the NaN
    return fit(model, optim.SGD(model.parameters(), lr=0.5), epochs=2, loss=loss, log_every=1)
