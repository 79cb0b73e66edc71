"""compile / fit / evaluate / predict, non-finite losses, exact resume (in a new process)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet.data import DataLoader


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    x = (centers[y] + rng.normal(scale=0.6, size=(n, 2))).astype(np.float32)
    return x, y


def make_model(dropout=0.0, lr=0.02):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))
    model.compile(optim.Adam(model.parameters(), lr=lr), "cross_entropy", ["accuracy"])
    return model


def test_fit_learns_and_history_has_keras_keys():
    x, y = blobs()
    model = make_model()
    history = model.fit(x, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.epoch == list(range(15))
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.history["val_accuracy"][-1] > 0.9
    logs = model.evaluate(x, y)
    assert set(logs) == {"loss", "accuracy"} and logs["accuracy"] > 0.9
    # The reported accuracy is the accuracy of predict's argmax.
    assert logs["accuracy"] == pytest.approx(np.mean(model.predict(x).argmax(1) == y))


def test_predict_is_batched_in_eval_mode_without_graph():
    x, _ = blobs(50)
    model = make_model(dropout=0.5)
    out = model.predict(x, batch_size=7)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_array_equal(out, model.predict(x, batch_size=7))  # no dropout noise
    np.testing.assert_allclose(out, model.predict(x, batch_size=50), rtol=1e-5, atol=1e-6)
    assert model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())


def test_fit_accepts_dataset_and_loader_and_validation_data():
    x, y = blobs()
    model = make_model()
    loader = DataLoader((x, y), batch_size=10, shuffle=True, seed=1)
    history = model.fit(loader, epochs=3, validation_data=(x[:20], y[:20]), verbose=0)
    assert len(history.history["val_loss"]) == 3
    from glassnet.data import ArrayDataset

    history = model.fit(ArrayDataset(x, y), epochs=2, batch_size=30, verbose=0)
    assert len(history.history["loss"]) == 2


def test_fit_errors_are_clear():
    x, y = blobs()
    raw = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="not compiled"):
        raw.fit(x, y)
    model = make_model()
    with pytest.raises(ValueError, match="x has 120 samples but y has 3"):
        model.fit(x, y[:3], verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", "cross_entropyy")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile("adamm")


def test_string_optimizer_and_mse_loss():
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    gn.manual_seed(0)
    model = nn.Linear(3, 1)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 1e-3
    assert history.history["mae"][-1] < 0.05


def test_non_finite_loss_stops_with_epoch_and_batch(capsys):
    x, y = blobs()
    x[37] = np.nan  # sample 37 is in batch 3 of epoch 1 (no shuffling)
    model = make_model()
    before = model[0].weight.numpy().copy()
    history = model.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0, log_every=1)
    err = capsys.readouterr().err
    assert "epoch 1, batch 3" in err and "nan" in err
    assert history.epoch == []
    assert np.all(np.isfinite(model[0].weight.numpy()))  # the bad update never happened
    assert not np.array_equal(before, model[0].weight.numpy())  # batches 1-2 did train


def test_clip_grad_norm_option_limits_the_update():
    x, y = blobs(16)
    model = make_model()
    sgd = optim.SGD(model.parameters(), lr=1.0)
    model.compile(sgd, "cross_entropy", clip_grad_norm=1e-3)
    before = [p.numpy().copy() for p in model.parameters()]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    change = np.sqrt(sum(np.sum((p.numpy() - b) ** 2) for p, b in zip(model.parameters(), before)))
    assert change == pytest.approx(1e-3, rel=1e-2)  # lr 1 * clipped norm 1e-3


def test_mid_epoch_interrupt_checkpoint_resumes_bit_identically(tmp_path):
    x, y = blobs()
    straight = make_model(dropout=0.2)
    straight.fit(x, y, epochs=3, batch_size=16, verbose=0)

    model = make_model(dropout=0.2)
    path = tmp_path / "int.safetensors"

    def stop(batch, logs):  # what the Ctrl-C handler does, at epoch 2 batch 4
        if model._fit_state.epochs_done == 1 and batch == 3:
            model._fit_state.interrupt_requested = True

    grab = gn.train.LambdaCallback(on_train_begin=lambda logs: None, on_train_batch_end=stop)
    original = grab.set_context
    grab.set_context = lambda m, s: (original(m, s), setattr(m, "_fit_state", s))
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[grab],
                        interrupt_checkpoint=str(path))  # fmt: skip
    assert history.interrupted and path.exists()

    resumed = make_model(dropout=0.2)
    gn.manual_seed(99)  # resuming must not depend on the current RNG
    resumed.fit(x, y, epochs=3, batch_size=16, verbose=0, resume=path)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import glassnet as gn
    from glassnet import nn, optim
    from glassnet.train import ModelCheckpoint

    mode, folder = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 10)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1)
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    model.compile(optim.Adam(model.parameters(), lr=0.01), "cross_entropy", ["accuracy"])
    ckpt = folder + "/ckpt.safetensors"
    if mode == "straight":
        model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    elif mode == "first":
        model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[ModelCheckpoint(ckpt)])
    else:
        model.fit(x, y, epochs=4, batch_size=32, verbose=0, resume=ckpt)
    np.savez(folder + "/" + mode + ".npz", **{k: v.numpy() for k, v in model.state_dict().items()})
    """
)


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    for mode in ("straight", "first", "second"):
        done = subprocess.run([sys.executable, str(script), mode, str(tmp_path)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
    straight, second = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "second.npz")
    first = np.load(tmp_path / "first.npz")
    for key in straight.files:
        np.testing.assert_array_equal(straight[key], second[key], err_msg=key)
    assert not np.array_equal(straight["0.weight"], first["0.weight"])  # it did train on


def test_regularization_loss_is_reported_apart_from_the_data_loss():
    x, y = blobs(64)
    gn.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 8, kernel_regularizer=nn.regularizers.L2(0.1)), nn.ReLU(), nn.Linear(8, 3)
    )
    model.compile(optim.SGD(model.parameters(), lr=0.0), "cross_entropy")  # weights stay put
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    w = model[0].weight.numpy().astype(np.float64)
    assert history.history["regularization_loss"][0] == pytest.approx(0.1 * np.sum(w**2), rel=1e-5)
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x, y)["loss"], rel=1e-5)


@pytest.mark.parametrize(
    "name, state",
    [
        ("ModelCheckpoint", {}),
        ("ModelCheckpoint", {"best": "abc"}),
        ("EarlyStopping", {"best": 0.5}),
        ("EarlyStopping", {"best": 0.5, "best_epoch": "1", "wait": 0}),
    ],
)
def test_resume_with_a_callback_state_that_does_not_fit_is_one_value_error(tmp_path, name, state):
    """A checkpoint's callback state was handed to load_state_dict unchecked: a missing key
    was a KeyError, and a string 'best' failed only at the first comparison, an epoch later."""
    from glassnet.train import EarlyStopping, ModelCheckpoint

    x, y = blobs()
    model = make_model()
    path = gn.save_checkpoint(tmp_path / "c.safetensors", model, model._compiled.optimizer, epoch=1,
                              callbacks={name: state})  # fmt: skip
    callback = {
        "ModelCheckpoint": ModelCheckpoint(str(tmp_path / "next.safetensors"), "loss", True),
        "EarlyStopping": EarlyStopping("loss", patience=5),
    }[name]
    with pytest.raises(ValueError, match=f"saved state of the {name} callback") as info:
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, resume=path, callbacks=[callback])
    assert "\n" not in str(info.value)
