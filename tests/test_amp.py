"""Mixed precision: autocast's per-op precision and GradScaler's dynamic loss scaling, on CPU
float16 (slow there, but the same code as on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.backend import get_default_device

DEV = lambda: get_default_device().type  # noqa: E731 - the suite's device type


def _mlp():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 3))


def test_autocast_runs_products_in_float16_and_the_rest_in_float32():
    m = _mlp()
    x, y = gn.randn(5, 4), gn.tensor([0, 1, 2, 0, 1])
    with gn.autocast(DEV(), dtype=gn.float16):
        assert gn.amp.is_autocast_enabled()
        h = m[0](x)
        out = m(x)
        loss = F.cross_entropy(out, y)
        probs = F.softmax(out, -1)
        total = out.sum()
        mm = x @ gn.randn(4, 2)
    assert not gn.amp.is_autocast_enabled()
    assert h.dtype == np.float16 and out.dtype == np.float16 and mm.dtype == np.float16
    assert loss.dtype == np.float32 and probs.dtype == np.float32 and total.dtype == np.float32
    loss.backward()  # the weights stay float32 and get float32 gradients (master weights)
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in m.parameters())
    # the float16 forward agrees with float32 to half precision
    np.testing.assert_allclose(out.numpy(), m(x).numpy(), rtol=2e-2, atol=2e-2)


def test_autocast_leaves_other_devices_and_disabled_blocks_alone():
    m = _mlp()
    x = gn.randn(2, 4)
    other = "cuda" if DEV() != "cuda" else "cpu"
    with gn.autocast(other, dtype=gn.float16):
        assert m(x).dtype == np.float32
    with gn.autocast(DEV(), dtype=gn.float16, enabled=False):
        assert m(x).dtype == np.float32

    @gn.autocast(DEV(), dtype=gn.float16)
    def forward(t):
        return m(t)

    assert forward(x).dtype == np.float16


def test_bfloat16_and_other_dtypes_are_refused_clearly():
    with pytest.raises(TypeError, match="bfloat16.*is not supported: NumPy and CuPy"):
        gn.autocast("cpu", dtype="bfloat16")
    with pytest.raises(TypeError, match="must be float16"):
        gn.autocast("cpu", dtype="float64")


def test_grad_scaler_has_pytorchs_defaults():
    s = gn.amp.GradScaler(DEV())
    # torch.amp.GradScaler's documented defaults
    assert s.get_scale() == 2.0**16 and s.get_growth_factor() == 2.0
    assert s.get_backoff_factor() == 0.5 and s.get_growth_interval() == 2000
    assert s.state_dict() == {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                              "growth_interval": 2000, "_growth_tracker": 0}  # fmt: skip


def _step(scaler, opt, p, grad_values):
    opt.zero_grad()
    # a loss whose gradient with respect to p is grad_values
    loss = (p * gn.tensor(grad_values)).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


def test_scale_grows_after_growth_interval_good_steps():
    p = nn.Parameter(gn.zeros(2))
    opt = gn.optim.SGD([p], lr=1.0)
    s = gn.amp.GradScaler(DEV(), init_scale=4.0, growth_interval=3)
    for expected in (4.0, 4.0, 8.0, 8.0, 8.0, 16.0):
        _step(s, opt, p, [1.0, 2.0])
        assert s.get_scale() == expected
    # six good steps, each unscaled exactly: p = -6 * g
    np.testing.assert_array_equal(p.numpy(), [-6.0, -12.0])


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_inf_or_nan_gradients_skip_the_step_and_back_off(bad):
    p = nn.Parameter(gn.zeros(2))
    opt = gn.optim.SGD([p], lr=1.0)
    s = gn.amp.GradScaler(DEV(), init_scale=8.0, growth_interval=2)
    _step(s, opt, p, [1.0, 1.0])  # good: tracker 1
    _step(s, opt, p, [bad, 1.0])  # skipped: p unchanged, scale halved, tracker reset
    np.testing.assert_array_equal(p.numpy(), [-1.0, -1.0])
    assert s.get_scale() == 4.0 and s.state_dict()["_growth_tracker"] == 0
    _step(s, opt, p, [1.0, 1.0])
    _step(s, opt, p, [1.0, 1.0])  # two good steps after the skip: growth
    assert s.get_scale() == 8.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the float16 overflow is the point
def test_overflow_in_float16_is_caught_by_the_scaler():
    # a scale so large that the float16 backward overflows: the step is skipped, S backs off
    m = _mlp()
    opt = gn.optim.SGD(m.parameters(), lr=0.1)
    before = [p.numpy().copy() for p in m.parameters()]
    s = gn.amp.GradScaler(DEV(), init_scale=2.0**40)
    with gn.autocast(DEV(), dtype=gn.float16):
        loss = F.cross_entropy(m(gn.randn(8, 4) * 100), gn.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    s.scale(loss).backward()
    s.step(opt)
    s.update()
    assert s.get_scale() == 2.0**39
    for p, b in zip(m.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)


def test_unscale_before_clipping_gives_the_true_gradients():
    p = nn.Parameter(gn.zeros(2))
    opt = gn.optim.SGD([p], lr=1.0)
    s = gn.amp.GradScaler(DEV(), init_scale=1024.0)
    s.scale((p * gn.tensor([3.0, 4.0])).sum()).backward()
    np.testing.assert_array_equal(p.grad.numpy(), [3072.0, 4096.0])
    s.unscale_(opt)
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, 4.0])
    total = gn.clip_grad_norm([p], max_norm=1.0)
    assert float(total) == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    with pytest.raises(RuntimeError, match="already called"):
        s.unscale_(opt)
    s.step(opt)  # does not unscale a second time
    s.update()
    np.testing.assert_allclose(p.numpy(), [-0.6, -0.8], rtol=1e-5)


def test_disabled_scaler_is_a_pass_through():
    p = nn.Parameter(gn.ones(1))
    opt = gn.optim.SGD([p], lr=1.0)
    s = gn.amp.GradScaler(DEV(), enabled=False)
    loss = (p * 2).sum()
    assert s.scale(loss) is loss and s.get_scale() == 1.0 and s.state_dict() == {}
    loss.backward()
    s.step(opt)
    s.update()
    np.testing.assert_array_equal(p.numpy(), [-1.0])


def test_scaler_state_round_trip_and_bad_arguments():
    s = gn.amp.GradScaler(DEV(), init_scale=16.0, growth_interval=5)
    t = gn.amp.GradScaler(DEV())
    t.load_state_dict(s.state_dict())
    assert t.state_dict() == s.state_dict()
    with pytest.raises(ValueError, match="backoff_factor"):
        gn.amp.GradScaler(DEV(), backoff_factor=2.0)
    with pytest.raises(ValueError, match="growth_interval"):
        gn.amp.GradScaler(DEV(), growth_interval=0)


def test_fit_mixed_precision_matches_float32_on_digits():
    from glassnet.data.datasets.digits import load_digits

    (xt, yt), (xv, yv) = load_digits()

    def accuracy(mixed):
        gn.manual_seed(0)
        m = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        m.compile(optimizer=gn.optim.Adam(m.parameters(), lr=3e-3), loss="cross_entropy",
                  metrics=["accuracy"])  # fmt: skip
        m.fit(xt, yt, epochs=12, batch_size=64, verbose=0, health=False, mixed_precision=mixed)
        return m.evaluate(xv, yv)["accuracy"]

    full, mixed = accuracy(False), accuracy(True)
    assert full > 0.9
    assert abs(full - mixed) <= 0.005  # within 0.5 percentage points of float32


def test_cli_train_amp_trains_in_mixed_precision(tmp_path, capsys):
    import json

    from glassnet.cli import main

    out = tmp_path / "run"
    assert main(["train", "--quiet", "--epochs", "1", "--amp", "--out", str(out)]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["run"]["mixed_precision"] is True
