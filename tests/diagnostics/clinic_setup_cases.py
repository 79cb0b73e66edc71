"""More of the clinic's patients (session 8): broken setups that PyTorch and Keras users hit,
each written twice where the diagnosis applies to both, as ``model.fit`` and as a
hand-written loop under ``gn.watch``. ``test_clinic_setup.py`` holds them to the right first
finding, and the healthy look-alikes to no warning."""

from __future__ import annotations

import numpy as np
from clinic_cases import RowRNN, digits, fit, mlp

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.train.callbacks import Callback, LearningRateScheduler


def loop(model, opt, loss_fn=F.cross_entropy, x=None, y=None, xv=None, yv=None, epochs=3,
         batch_size=32, scheduler=None, max_norm=None):  # fmt: skip
    """A PyTorch-style loop: shuffled batches, zero_grad / backward / (clip) / step /
    (scheduler.step()) per batch, validation under no_grad in eval mode after each epoch."""
    d = digits()
    x = d["x"] if x is None else x
    y = d["y"] if y is None else y
    xv = d["xv"] if xv is None else xv
    yv = d["yv"] if yv is None else yv
    rng = np.random.default_rng(0)
    watch = gn.watch(model, opt)
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            model.train()
            order = rng.permutation(len(x))
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                opt.zero_grad()
                loss = loss_fn(model(gn.tensor(x[idx])), gn.tensor(y[idx]))
                loss.backward()
                if max_norm is not None:
                    gn.clip_grad_norm(model.parameters(), max_norm)
                opt.step()
                if scheduler is not None:
                    scheduler.step()  # (planted in some cases: a per-epoch schedule)
            model.eval()
            with gn.no_grad():
                loss_fn(model(gn.tensor(xv)), gn.tensor(yv))
    watch.stop()
    return watch.diagnosis()


class StepEveryBatch(Callback):
    """A Keras user's per-batch scheduler callback (planted: the schedule is per epoch)."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def on_train_batch_end(self, batch, logs):
        self.scheduler.step()


# -- a per-epoch schedule stepped every batch ---------------------------------------------
def steplr_every_batch_loop():
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return loop(model, opt, scheduler=sched, epochs=4)


def exponential_every_batch_fit():
    model = mlp()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    return fit(model, opt, epochs=4, callbacks=[StepEveryBatch(sched)])


# -- gradient clipping far below the gradient's norm ---------------------------------------
def clip_1e_6_fit():
    model = mlp()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy",
                  metrics=["accuracy"], clip_grad_norm=1e-6)  # fmt: skip
    d = digits()
    with np.errstate(all="ignore"):
        history = model.fit(d["x"], d["y"], epochs=4, verbose=0, interrupt_checkpoint=None,
                            validation_data=(d["xv"], d["yv"]))  # fmt: skip
    return history.diagnosis


def clip_1e_6_loop():
    model = mlp()
    return loop(model, optim.SGD(model.parameters(), lr=0.1), max_norm=1e-6)


# -- regression targets around 1e5 ----------------------------------------------------------
def regression_targets(scale):
    d = digits()
    w = np.random.default_rng(0).normal(size=(64, 1)).astype(np.float32) * 0.1
    return {"y": (d["x"] @ w) * scale + scale, "yv": (d["xv"] @ w) * scale + scale}


def targets_1e5_fit():
    model = mlp(out=1)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    return fit(model, opt, epochs=5, loss="mse", **regression_targets(1e5))


def targets_1e5_loop():
    model = mlp(out=1)  # SGD blows up on them: still the targets' doing, not the rate's
    opt = optim.SGD(model.parameters(), lr=0.01)
    return loop(model, opt, loss_fn=F.mse_loss, **regression_targets(1e5))


# -- validation data not preprocessed like the training data --------------------------------
def validation_unnormalized_fit():
    d = digits()
    model = mlp()  # planted: x standardized, validation left as raw 0..16 pixels
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=4, xv=d["raw_v"] * 16)


def validation_unnormalized_loop():
    d = digits()
    model = mlp()
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=4, xv=d["raw_v"] * 16)


# -- a sigmoid before BCEWithLogitsLoss -----------------------------------------------------
def binary_targets():
    d = digits()
    return {"y": (d["y"] >= 5).astype(np.float32)[:, None],
            "yv": (d["yv"] >= 5).astype(np.float32)[:, None]}  # fmt: skip


def sigmoid_before_bce_with_logits_fit():
    model = nn.Sequential(mlp(out=1), nn.Sigmoid())
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=4,
               loss=F.binary_cross_entropy_with_logits, **binary_targets())  # fmt: skip


def sigmoid_before_bce_with_logits_loop():
    model = nn.Sequential(mlp(out=1), nn.Sigmoid())
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), loss_fn=nn.BCEWithLogitsLoss(),
                **binary_targets())  # fmt: skip


# -- labels shuffled apart from their images, a model too small to memorize them -------------
def labels_shuffled_fit():
    d = digits()
    y = np.random.default_rng(1).permutation(d["y"])
    model = mlp()
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=5, y=y)  # was: lr_find


def labels_shuffled_loop():
    d = digits()
    y = np.random.default_rng(1).permutation(d["y"])
    model = mlp()
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=5, y=y)  # was: lr_find


# -- validation on the training data ----------------------------------------------------------
def validation_is_training_fit():
    d = digits()
    model = mlp()  # planted: validation_data=(x_train, y_train)
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=4, xv=d["x"], yv=d["y"])


def validation_is_training_loop():
    d = digits()
    model = mlp()
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3, xv=d["x"], yv=d["y"])


# -- an output activation that cannot reach the targets -------------------------------------
def relu_output_negative_targets_loop():
    model = nn.Sequential(mlp(out=1), nn.ReLU())  # planted: targets mostly below 0
    r = regression_targets(1.0)
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), loss_fn=F.mse_loss,
                y=r["y"] - 3, yv=r["yv"] - 3)  # fmt: skip


def sigmoid_output_percent_targets_fit():
    model = nn.Sequential(mlp(out=1), nn.Sigmoid())  # planted: targets around 30, not in 0..1
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3, loss="mse",
               **regression_targets(30.0))  # fmt: skip


# -- batch norm over batches of 2 -----------------------------------------------------------
def bn_mlp():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))


def batch_norm_batches_of_2_fit():
    d = digits()
    model = bn_mlp()
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=2, batch_size=2,
               x=d["x"][:600], y=d["y"][:600])  # fmt: skip


def batch_norm_batches_of_2_loop():
    d = digits()
    model = bn_mlp()
    return loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=2, batch_size=2,
                x=d["x"][:600], y=d["y"][:600])  # fmt: skip


# -- an RNN whose recurrence explodes, in a hand-written loop -------------------------------
def exploding_rnn_loop():
    gn.manual_seed(0)
    model = RowRNN(nonlinearity="relu")
    with gn.no_grad():
        model.rnn.weight_hh_l0.copy_(gn.tensor(np.eye(64, dtype=np.float32) * 3.0))
    return loop(model, optim.SGD(model.parameters(), lr=0.01))


# -- optimizer.step() before loss.backward(); raw scores into nll_loss -----------------------
def step_before_backward_loop():
    d = digits()
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    watch = gn.watch(model, opt)
    for _ in range(2):
        for i in range(0, 640, 32):
            opt.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(d["x"][i : i + 32])),
                                   gn.tensor(d["y"][i : i + 32]))  # fmt: skip
            opt.step()  # planted: the step before its gradients
            loss.backward()
    watch.stop()
    return watch.diagnosis()


def nll_loss_on_logits_fit():
    model = mlp()  # planted: no log_softmax before nll_loss
    return fit(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3, loss=F.nll_loss)


def nll_loss_on_logits_loop():
    model = mlp()
    return loop(model, optim.SGD(model.parameters(), lr=0.05), loss_fn=nn.NLLLoss())


# -- healthy look-alikes: no warning allowed --------------------------------------------------
def one_hot(y):
    return np.eye(10, dtype=np.float32)[y]


def _hand_written_loss(out, target):
    return -(F.one_hot(target, 10) * F.log_softmax(out, dim=1)).sum(1).mean()


def train_accuracy_pass_then_validation_loop():
    """Evaluates on training batches (a 'train accuracy' pass) before the validation set:
    validation batches of new samples exist, so this is no leak."""
    d = digits()
    model = mlp()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    watch = gn.watch(model, opt)
    for _ in range(3):
        model.train()
        for i in range(0, 640, 32):
            opt.zero_grad()
            F.cross_entropy(model(gn.tensor(d["x"][i : i + 32])),
                            gn.tensor(d["y"][i : i + 32])).backward()  # fmt: skip
            opt.step()
        model.eval()
        with gn.no_grad():
            for i in range(0, 640, 128):
                F.cross_entropy(model(gn.tensor(d["x"][i : i + 128])),
                                gn.tensor(d["y"][i : i + 128]))  # fmt: skip
            F.cross_entropy(model(gn.tensor(d["xv"])), gn.tensor(d["yv"]))
    watch.stop()
    return watch.diagnosis()


def healthy_setups():
    """(name, diagnosis) of correct setups that look like the broken ones above."""
    d = digits()
    out = []
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = LearningRateScheduler(optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    out.append(("StepLR per epoch, fit", fit(model, opt, epochs=4, callbacks=[sched])))
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    cosine = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4 * 45)  # counted in batches
    out.append(("cosine per batch, loop", loop(model, opt, scheduler=cosine, epochs=4)))
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out.append(("clip 1.0, loop", loop(model, opt, max_norm=1.0)))
    model = mlp()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  loss="cross_entropy", metrics=["accuracy"], clip_grad_norm=1.0)  # fmt: skip
    history = model.fit(d["x"], d["y"], epochs=3, verbose=0, interrupt_checkpoint=None,
                        validation_data=(d["xv"], d["yv"]))  # fmt: skip
    out.append(("clip 1.0, fit", history.diagnosis))
    model = mlp(out=1)
    out.append(("unit-scale regression, loop", loop(
        model, optim.Adam(model.parameters(), lr=1e-3), loss_fn=F.mse_loss,
        **regression_targets(1.0))))  # fmt: skip
    model = mlp(out=1)
    out.append(("BCEWithLogitsLoss on logits, fit", fit(
        model, optim.Adam(model.parameters(), lr=1e-3), epochs=4,
        loss=F.binary_cross_entropy_with_logits, **binary_targets())))  # fmt: skip
    model = nn.Sequential(mlp(out=1), nn.Sigmoid())
    out.append(("sigmoid + BCELoss, loop", loop(
        model, optim.Adam(model.parameters(), lr=1e-3), loss_fn=nn.BCELoss(),
        **binary_targets())))  # fmt: skip
    for name, run in [("fit", lambda m, o, **k: fit(m, o, epochs=4, **k)), ("loop", loop)]:
        model = nn.Sequential(mlp(), nn.LogSoftmax(dim=1))
        out.append((f"log_softmax into CrossEntropyLoss, {name}", run(
            model, optim.Adam(model.parameters(), lr=1e-3))))  # fmt: skip
        model = mlp()
        out.append((f"one-hot probability targets, {name}", run(
            model, optim.Adam(model.parameters(), lr=1e-3), y=one_hot(d["y"]),
            yv=one_hot(d["yv"]))))  # fmt: skip
        model = mlp()
        kwargs = {"loss": _hand_written_loss} if name == "fit" else {"loss_fn": _hand_written_loss}
        out.append((f"hand-written loss, {name}", run(
            model, optim.Adam(model.parameters(), lr=1e-3), **kwargs)))  # fmt: skip
    model = mlp()
    out.append(("label smoothing, loop", loop(
        model, optim.Adam(model.parameters(), lr=1e-3),
        loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1))))  # fmt: skip
    model = nn.Sequential(mlp(out=1), nn.Sigmoid())
    y, yv = d["y"][:, None] / 9.0, d["yv"][:, None] / 9.0
    out.append(("sigmoid output, targets in 0..1, fit", fit(
        model, optim.Adam(model.parameters(), lr=3e-3), epochs=4, loss="mse",
        y=y.astype(np.float32), yv=yv.astype(np.float32))))  # fmt: skip
    out.append(("a train-accuracy pass before validation, loop",
                train_accuracy_pass_then_validation_loop()))  # fmt: skip
    model = bn_mlp()
    out.append(("batch norm, batches of 32, fit", fit(
        model, optim.Adam(model.parameters(), lr=1e-3), epochs=3)))  # fmt: skip
    return out
