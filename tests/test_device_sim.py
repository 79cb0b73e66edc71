"""The strict simulated device and device discipline: mixed devices, implicit host
conversions, per-device random generators, checkpoints across devices, host-sync budgets."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.backend import (
    Device,
    DeviceMismatchError,
    get_rng,
    set_debug,
    to_device,
    to_numpy,
)
from glassnet.backend import debug as _debug
from glassnet.backend.sim import TRANSFERS, SimArray, sim_xp


@pytest.fixture
def no_debug_checks():
    """Debug mode at its default: value checks on CPU arrays only (the suite's sim mode turns
    them on everywhere)."""
    before = _debug._MODE
    set_debug(None)
    yield
    set_debug(before)


def _sim(values, **kw):
    return gn.tensor(values, device="sim", **kw)


# -- the strict array -------------------------------------------------------------------------
def test_sim_arrays_refuse_implicit_host_conversion_and_mixing():
    a = sim_xp.asarray(np.arange(3.0))
    assert isinstance(a, SimArray) and Device("sim").xp is sim_xp
    with pytest.raises(TypeError, match="implicit conversion of a 'sim' device array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="a host numpy.ndarray was mixed"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="a host numpy.ndarray was mixed"):
        np.concatenate([a, np.ones(3)])
    with pytest.raises(TypeError, match="cannot convert a tensor on sim"):
        np.asarray(_sim([1.0]))
    # NumPy's functions and ufuncs run on sim arrays and return sim arrays, as with CuPy
    assert isinstance(np.exp(a), SimArray) and isinstance(np.concatenate([a, a]), SimArray)
    assert isinstance(a.sum(), SimArray) and a.sum().ndim == 0  # 0-d, not a host scalar
    assert isinstance(sim_xp.zeros(2), SimArray)


def test_every_explicit_transfer_is_counted():
    a = sim_xp.asarray(np.arange(4.0))
    TRANSFERS.reset()
    b = a * 2 + 1
    assert TRANSFERS.count == 0
    assert b.get().tolist() == [1.0, 3.0, 5.0, 7.0]
    float(b[0]), bool(b[1] > 0), b[2].item(), to_device(b, "cpu"), _sim([1.0]).numpy()
    assert TRANSFERS.count == 6


# -- device discipline ------------------------------------------------------------------------
def test_ops_on_mixed_devices_name_each_input_and_the_fix():
    x, w = _sim([[1.0, 2.0]]), gn.tensor([[1.0], [2.0]], device="cpu")
    with pytest.raises(DeviceMismatchError, match=r"matmul: expected all inputs on one device, "
                       r"got input 0 \(shape \(1, 2\)\) on sim, input 1 \(shape \(2, 1\)\) on "
                       r"cpu; move them to one device first, e\.g\. x\.to\('sim'\)"):  # fmt: skip
        x @ w
    with pytest.raises(DeviceMismatchError, match="concat"):
        gn.cat([x, gn.tensor([[3.0, 4.0]], device="cpu"), x])
    assert isinstance(DeviceMismatchError("x"), ValueError)
    np.testing.assert_array_equal((x @ w.to("sim")).numpy(), [[5.0]])


def test_dropout_uses_one_generator_per_device_seeded_by_manual_seed():
    x = _sim(np.ones((50, 40), np.float32))
    gn.manual_seed(3)
    gen = get_rng("sim")
    TRANSFERS.reset()
    a = F.dropout(x, 0.5)
    b = F.dropout(x, 0.5)
    assert TRANSFERS.count == 0  # drawn on the device
    assert get_rng("sim") is gen  # the same generator: none made per call
    gn.manual_seed(3)
    assert get_rng("sim") is not gen  # reseeded
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a.numpy())  # same seed, same mask
    assert not np.array_equal(a.numpy(), b.numpy())


def test_device_generator_state_is_saved_and_restored():
    gn.manual_seed(1)
    x = _sim(np.ones((8, 8), np.float32))
    F.dropout(x, 0.5)
    state = gn.backend.get_rng_state()
    first = F.dropout(x, 0.5).numpy()
    F.dropout(x, 0.5)
    gn.backend.set_rng_state(state)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), first)


@pytest.mark.parametrize(("save_on", "load_on"), [("sim", "cpu"), ("cpu", "sim")])
def test_checkpoints_save_and_load_across_devices(tmp_path, save_on, load_on):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(save_on)
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    loss = F.cross_entropy(model(gn.randn(5, 3, device=save_on)),
                           gn.tensor([0, 1, 0, 1, 1], device=save_on))  # fmt: skip
    loss.backward()
    opt.step()
    gn.save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=1)
    gn.manual_seed(1)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(load_on)
    other_opt = gn.optim.Adam(other.parameters(), lr=0.01)
    gn.load_checkpoint(tmp_path / "c.safetensors", other, other_opt)
    for a, b in zip(model.parameters(), other.parameters()):
        assert b.device == load_on
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for pa, pb in zip(model.parameters(), other.parameters()):
        for k, v in opt.state[pa].items():
            np.testing.assert_array_equal(to_numpy(v), to_numpy(other_opt.state[pb][k]))


# -- host-sync budgets -------------------------------------------------------------------------
def _model_and_step(clip=False):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 4))
    model.to("sim")
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip:
            gn.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
        return loss

    return model, opt, step


def _batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(gn.tensor(rng.standard_normal((6, 8)).astype(np.float32), device="sim"),
             gn.tensor(rng.integers(0, 4, 6), device="sim")) for _ in range(n)]  # fmt: skip


def test_a_compiled_training_step_makes_no_host_transfer(no_debug_checks):
    # (clip_grad_norm inside a compiled step makes it run eagerly: gn.compile's rule; eager
    # clipping makes no transfer either, below)
    _, _, step = _model_and_step()
    fast = gn.compile(step)
    batches = _batches(6)
    for x, y in batches[:2]:  # the two capture calls
        fast(x, y)
    TRANSFERS.reset()
    TRANSFERS.record = True
    try:
        losses = [fast(x, y) for x, y in batches[2:]]
    finally:
        TRANSFERS.record = False
    assert fast.replays == 4 and fast.reason is None
    assert TRANSFERS.count == 0, TRANSFERS.log
    assert all(loss.device == "sim" for loss in losses)


def test_an_eager_step_with_clipping_makes_no_host_transfer(no_debug_checks):
    _, _, step = _model_and_step(clip=True)
    x, y = _batches(1)[0]
    step(x, y)
    TRANSFERS.reset()
    step(x, y)
    assert TRANSFERS.count == 0


def test_value_checks_run_on_devices_only_in_debug_mode(no_debug_checks):
    logits = _sim(np.zeros((2, 3), np.float32), requires_grad=True)
    bad = gn.tensor([0, 7], device="sim")
    TRANSFERS.reset()
    try:  # not checked: no sync. (A GPU would then read out of bounds; NumPy, under the sim
        F.cross_entropy(logits, bad)  # device, raises its own IndexError.)
    except IndexError as exc:
        assert "class index" not in str(exc)
    assert TRANSFERS.count == 0
    set_debug(True)
    with pytest.raises(ValueError, match="class index 7"):
        F.cross_entropy(logits, bad)
    with pytest.raises(ValueError, match="class index 7"):
        F.cross_entropy(logits.detach().to("cpu"), bad.to("cpu"))  # always on the CPU


def _fit_counting_reads(compile_options: dict, validate: bool, log_every: int):
    """fit an MLP on the sim device for 2 epochs of 12 batches with the host transfers
    counted (TRANSFERS); returns the History."""
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to("sim")
    model.compile(optimizer="adam", loss="cross_entropy", **compile_options)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = rng.integers(0, 4, 96)
    extra = {"validation_data": (x[:32], y[:32])} if validate else {}
    TRANSFERS.reset()
    TRANSFERS.record = True
    try:
        return model.fit(x, y, epochs=2, batch_size=8, verbose=0, health=False,
                         log_every=log_every, **extra)  # fmt: skip
    finally:
        TRANSFERS.record = False


@pytest.mark.parametrize("log_every", [1, 4, 50])
def test_fit_reads_the_loss_once_per_log_interval(no_debug_checks, log_every):
    history = _fit_counting_reads({"clip_grad_norm": 1.0}, False, log_every)
    batches = 12 * 2
    reads = sum(-(-12 // log_every) for _ in range(2))  # per epoch: every N steps + the last
    assert TRANSFERS.count <= reads, TRANSFERS.log
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert reads <= batches


def test_fit_on_a_device_reads_the_same_losses_as_step_by_step(no_debug_checks):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)

    def run(log_every):
        gn.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to("sim")
        model.compile(optimizer="sgd", loss="cross_entropy")
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0, health=False,
                      log_every=log_every, shuffle=False)  # fmt: skip
        return h.history["loss"]

    np.testing.assert_allclose(run(50), run(1), rtol=1e-6)


def test_fit_on_a_device_stops_at_the_log_point_after_a_nan(no_debug_checks, capsys):
    model = nn.Sequential(nn.Linear(2, 2)).to("sim")
    model.compile(optimizer=gn.optim.SGD(model.parameters(), lr=1e30), loss="mse")
    x = np.full((64, 2), 1e20, np.float32)
    with np.errstate(all="ignore"):
        history = model.fit(x, x, epochs=3, batch_size=8, verbose=0, health=False, log_every=4)
    err = capsys.readouterr().err
    assert "Stopping: the loss became" in err and "read every 4 steps" in err
    assert len(history.history.get("loss", [])) == 0  # stopped in the first epoch


# -- deterministic scatter on devices ---------------------------------------------------------
def test_embedding_gradient_on_a_device_uses_no_scatter_add(monkeypatch):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, (6, 50))
    ids[0, :40] = 3  # a long run of one id
    table = rng.standard_normal((7, 5)).astype(np.float32)
    g = rng.standard_normal((6, 50, 5)).astype(np.float32)
    seen = []
    original = SimArray.__array_ufunc__

    def spy(self, ufunc, method, *inputs, **kwargs):
        seen.append(method)
        return original(self, ufunc, method, *inputs, **kwargs)

    monkeypatch.setattr(SimArray, "__array_ufunc__", spy)
    grads = []
    for _ in range(2):
        w = gn.tensor(table, device="sim", requires_grad=True)
        F.embedding(gn.tensor(ids, device="sim"), w).backward(gn.tensor(g, device="sim"))
        grads.append(w.grad.numpy())
    assert "at" not in seen  # no ufunc.at: on a GPU that is an atomic scatter-add
    assert np.array_equal(grads[0], grads[1])
    expected = np.zeros((7, 5))
    np.add.at(expected, ids.reshape(-1), g.reshape(-1, 5).astype(np.float64))
    np.testing.assert_allclose(grads[0], expected, rtol=1e-5, atol=1e-5)


def test_a_watched_fit_adds_one_read_per_epoch_to_the_loss_reads(no_debug_checks):
    # the diagnosis watch (health=True or verbose) keeps its per-step values on the device and
    # reads them once per epoch, plus the initial weights once at the start
    def transfers(health):
        gn.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to("sim")
        model.compile(optimizer="adam", loss="cross_entropy")
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((400, 8)).astype(np.float32), rng.integers(0, 4, 400)
        TRANSFERS.reset()
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, health=health, log_every=25)
        return TRANSFERS.count

    loss_reads = 2 * 2  # 50 steps per epoch, read every 25
    assert transfers(False) == loss_reads
    assert transfers(True) == loss_reads + 2 + 1  # one per epoch, one at the start


def test_a_device_run_past_a_nan_still_writes_its_report(no_debug_checks, tmp_path, capsys):
    # on a device the loss is read every 50 steps, so training runs up to 49 steps on NaN
    # weights before it stops; the diagnosis and the HTML report must still be made
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to("sim")
    model.compile(optimizer=gn.optim.SGD(model.parameters(), lr=1e4), loss="cross_entropy",
                  metrics=["accuracy"])  # fmt: skip
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((480, 8)) * 10).astype(np.float32)
    y = rng.integers(0, 4, 480)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=3, batch_size=8, verbose=1, log_every=50,
                            validation_split=0.1)  # fmt: skip
        page = (tmp_path / "r.html").read_text() if history.report(tmp_path / "r.html") else ""
    steps = history.steps["loss"]
    assert len(steps) == 50 and not np.isfinite(steps[-1])  # ran past the NaN to the read
    assert "read every 50 steps" in history.stop_reason
    assert "Training stopped early" in page and "loss became nan" in page
    assert history.verdicts and "learning rate" in str(history.diagnosis)
    assert "Stopping: the loss became nan" in capsys.readouterr().err


def test_a_grad_scaler_step_reads_one_flag(no_debug_checks):
    model, opt, _ = _model_and_step()
    scaler = gn.amp.GradScaler("sim")
    x, y = _batches(1)[0]
    for _ in range(2):  # the second step is counted
        TRANSFERS.reset()
        opt.zero_grad()
        with gn.autocast("sim", dtype=gn.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
    assert TRANSFERS.count == 1  # were the gradients finite? (as PyTorch's)


def test_index_range_checks_on_a_device_wait_for_debug_mode(no_debug_checks):
    x = _sim(np.zeros((4, 3), np.float32))
    idx = gn.tensor([0, 3, 3], device="sim")
    src = _sim(np.ones((3, 3), np.float32))
    pooled, where = F.max_pool2d(_sim(np.arange(16.0).reshape(1, 1, 4, 4)), 2, return_indices=True)
    TRANSFERS.reset()
    gn.index_add(x, 0, idx, src)
    gn.scatter_add(x, 0, gn.tensor([[0, 3, 3]] * 3, device="sim").T, src)
    F.one_hot(idx, num_classes=4)
    F.max_unpool2d(pooled, where, 2)
    assert TRANSFERS.count == 0
    set_debug(True)
    with pytest.raises(IndexError, match="out of range"):
        gn.index_add(x, 0, gn.tensor([4], device="sim"), src[:1])


@pytest.mark.parametrize("log_every", [1, 5])
def test_fit_with_metrics_and_validation_keeps_the_read_budget(no_debug_checks, log_every):
    # The counting metrics are summed on the device and read in the same transfer as the
    # losses; validation adds one read per epoch (loss and metrics together).
    metrics = {"metrics": ["accuracy", "top2_accuracy", "perplexity"]}
    _fit_counting_reads(metrics, True, log_every)
    reads = 2 * (-(-12 // log_every) + 1)  # per epoch: the log points + one for validation
    assert TRANSFERS.count <= reads, TRANSFERS.log


def test_device_metrics_equal_the_cpu_metrics():
    # Same weights, same data, no shuffling: the logged accuracy, top-2 accuracy and
    # perplexity (train and validation) must match the CPU run's.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)

    def run(device, log_every):
        gn.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).to(device)
        model.compile(optimizer="sgd", loss="cross_entropy",
                      metrics=["accuracy", "top2_accuracy", "perplexity"])  # fmt: skip
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0, health=False, shuffle=False,
                      log_every=log_every, validation_data=(x[:20], y[:20]))  # fmt: skip
        return h.history

    cpu, sim = run("cpu", 1), run("sim", 3)
    for key in ("accuracy", "top2_accuracy", "perplexity", "val_accuracy", "val_perplexity",
                "val_loss", "loss"):  # fmt: skip
        np.testing.assert_allclose(sim[key], cpu[key], rtol=1e-6, err_msg=key)


def test_a_metric_updated_with_device_arrays_reads_once_at_result():
    from glassnet.train.metrics import Accuracy, MeanSquaredError

    rng = np.random.default_rng(2)
    scores = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(4)]
    labels = [rng.integers(0, 3, 5) for _ in range(4)]
    on_host, on_sim = Accuracy(), Accuracy()
    mse_host, mse_sim = MeanSquaredError(), MeanSquaredError()
    TRANSFERS.reset()
    for s, t in zip(scores, labels):
        on_host.update(s, t)
        mse_host.update(s[:, 0], t.astype(np.float32))
        on_sim.update(gn.tensor(s, device="sim"), gn.tensor(t, device="sim"))
        mse_sim.update(gn.tensor(s[:, 0], device="sim"), gn.tensor(t.astype(np.float32),
                                                                     device="sim"))  # fmt: skip
    assert TRANSFERS.count == 0  # nothing read while updating
    assert on_sim.result() == on_host.result()
    assert mse_sim.result() == pytest.approx(mse_host.result(), rel=1e-12)
    assert TRANSFERS.count == 2  # one read per metric's result()
