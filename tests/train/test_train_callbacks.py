"""Every callback, driven through fit, plus Ctrl-C handling in a subprocess."""

import csv
import io
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.train import (
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

from .test_train_fit import blobs, make_model


class Losses(gn.train.Callback):
    """Feed a scripted val_loss to the callbacks that watch it."""

    def __init__(self, values):
        self.values = list(values)

    def on_epoch_end(self, epoch, logs):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_stops_and_restores_best_weights():
    x, y = blobs()
    model = make_model()
    snapshots = []
    keep = LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append(model[0].weight.numpy().copy())
    )
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    scripted = Losses([1.0, 0.5, 0.6, 0.4001, 0.7, 0.8, 0.9, 1.0])
    history = model.fit(x, y, epochs=8, verbose=0, callbacks=[scripted, keep, es])
    # best at epoch 3 (0.4001); epochs 4 and 5 do not improve -> stop after epoch 5
    assert history.epoch == [0, 1, 2, 3, 4, 5] and es.stopped_epoch == 5 and es.best_epoch == 3
    np.testing.assert_array_equal(model[0].weight.numpy(), snapshots[3])


def test_early_stopping_min_delta_and_max_mode():
    es = EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=1)
    es.model = type("M", (), {"stop_training": False})()
    for epoch, acc in enumerate([0.5, 0.52, 0.53]):
        es.on_epoch_end(epoch, {"val_accuracy": acc})
    assert es.best == 0.5 and es.model.stop_training


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = blobs()
    model = make_model()
    template = str(tmp_path / "ckpt-{epoch:02d}.safetensors")
    best = ModelCheckpoint(template, save_best_only=True)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[Losses([3, 1, 2, 0.5, 4]), best])
    assert sorted(os.listdir(tmp_path)) == [
        "ckpt-01.safetensors", "ckpt-02.safetensors", "ckpt-04.safetensors"
    ]  # fmt: skip
    ckpt = gn.load_checkpoint(tmp_path / "ckpt-04.safetensors")
    assert ckpt.epoch == 4 and ckpt.metadata["metrics"]["val_loss"] == 0.5
    assert ckpt.metadata["loader_state"]["epoch"] == 4
    every = ModelCheckpoint(tmp_path / "last.safetensors")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[every])
    assert gn.load_checkpoint(every.last_path).epoch == 2


def test_learning_rate_scheduler_function_and_object():
    x, y = blobs(32)
    model = make_model(lr=0.1)
    seen = []
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[sched])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    model = make_model(lr=0.1)
    step = optim.lr_scheduler.StepLR(model._compiled.optimizer, step_size=1, gamma=0.1)
    watch = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
        model._compiled.optimizer.param_groups[0]["lr"]))  # fmt: skip
    model.fit(x, y, epochs=3, verbose=0, callbacks=[watch, LearningRateScheduler(step)])
    assert seen == pytest.approx([0.1, 0.01, 0.001])


def test_reduce_lr_on_plateau_callback():
    x, y = blobs(32)
    model = make_model(lr=0.1)
    plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[Losses([1, 1, 1, 1, 1]), plateau])
    lrs = [model._compiled.optimizer.param_groups[0]["lr"]]
    assert lrs[0] < 0.1 and history.history["lr"][0] == pytest.approx(0.1)


def test_csv_logger_writes_rows_and_appends(tmp_path):
    x, y = blobs(40)
    model = make_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert float(rows[2]["loss"]) < float(rows[0]["loss"])
    model.fit(
        x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path, append=True)]
    )
    assert len(list(csv.DictReader(path.read_text().splitlines()))) == 5


def test_terminate_on_nan_callback_on_epoch_logs():
    x, y = blobs(32)
    model = make_model()
    history = model.fit(x, y, epochs=5, verbose=0,
                        callbacks=[Losses([1.0, math.nan, 1, 1, 1]), TerminateOnNaN()])  # fmt: skip
    assert history.epoch == [0, 1]
    cb = TerminateOnNaN()
    cb.model = type("M", (), {"stop_training": False})()
    cb.on_train_batch_end(0, {"loss": math.inf})
    assert cb.model.stop_training


def test_lambda_callback_hook_order_and_bad_names():
    x, y = blobs(32)
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_begin=lambda e, logs: calls.append(f"e{e}"),
        on_train_batch_end=lambda b, logs: calls.append("b") if b == 0 else None,
        on_epoch_end=lambda e, logs: calls.append(f"/e{e}"),
        on_train_end=lambda logs: calls.append("end"),
    )
    make_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert calls == ["begin", "e0", "b", "/e0", "e1", "b", "/e1", "end"]
    with pytest.raises(TypeError, match="unknown hooks"):
        LambdaCallback(on_epoch_finish=print)


def test_progress_bar_plain_lines_when_not_a_tty_and_tqdm_on_a_tty():
    x, y = blobs(32)
    stream = io.StringIO()
    make_model().fit(x, y, epochs=2, verbose=1, callbacks=[ProgressBar(1, stream=stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "loss: " in lines[0]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    make_model().fit(x, y, epochs=1, batch_size=8, callbacks=[ProgressBar(1, stream=tty)])
    text = tty.getvalue()
    assert "Epoch 1/1" in text and "4/4" in text and "accuracy=" not in text and "loss:" in text


SIGINT_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import glassnet as gn
    from glassnet import nn
    from glassnet.train import LambdaCallback
    x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    model.compile("adam", "cross_entropy")
    def ready_after_first_epoch(epoch, logs):
        if epoch == 0:
            print("READY", flush=True)
    ready = LambdaCallback(on_epoch_end=ready_after_first_epoch)
    history = model.fit(x, y, epochs=100000, batch_size=8, verbose=0, callbacks=[ready],
                        interrupt_checkpoint=sys.argv[1])
    print("INTERRUPTED", history.interrupted, len(history.epoch), flush=True)
    """
)


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    script = tmp_path / "long_fit.py"
    script.write_text(SIGINT_SCRIPT)
    ckpt = tmp_path / "interrupted.safetensors"
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.startswith("INTERRUPTED True")
    assert "Resume with" in err and str(ckpt) in err
    saved = gn.load_checkpoint(ckpt)
    assert saved.epoch >= 1 and saved.metadata["loader_state"]["epoch"] >= 1
