"""The watch behind fit's diagnosis is cheap and device-friendly (issue 14, its cost): on the
strict simulated device (glassnet.backend.sim, which counts every transfer to the host) the
watch reads what it keeps on the device once per epoch, and sees the same run as on the CPU."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.backend.sim import TRANSFERS
from glassnet.data.datasets import load_digits

EPOCHS = 3


def _digits(n=320):
    (x, y), _ = load_digits()
    return x[:n], y[:n]


def _fit(device: str, **options):
    """fit a small MLP on 320 digits (10 steps an epoch, batch 32) on ``device``; returns the
    history and the transfers to the host that the whole fit made."""
    x, y = _digits()
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).to(device)
    model.compile(optimizer="adam", metrics=["accuracy"])
    TRANSFERS.reset()
    history = model.fit(x, y, epochs=EPOCHS, batch_size=32, validation_split=0.2,
                        interrupt_checkpoint=None, **{"verbose": 0, **options})  # fmt: skip
    return history, TRANSFERS.count


@pytest.mark.parametrize("health", [True, 1, False])
def test_fits_watch_makes_one_transfer_per_epoch_on_a_device(health):
    _, plain = _fit("sim", health=False)  # nothing watched: the loop's own transfers
    history, watched = _fit("sim", health=health, verbose=0)
    if health is False:
        history, watched = _fit("sim", health=False, verbose=1)  # the watch without health
    # one read of the initial weights (constant init, scale), then one per epoch end
    assert watched - plain <= 1 + EPOCHS, (watched, plain)
    assert len(history.steps["loss"]) == EPOCHS * 8  # 256 training samples, batch 32


def test_the_watch_on_a_device_sees_what_it_sees_on_the_cpu():
    on_cpu, _ = _fit("cpu")
    on_sim, _ = _fit("sim")
    np.testing.assert_allclose(on_sim.steps["loss"], on_cpu.steps["loss"], rtol=1e-6)
    np.testing.assert_allclose(on_sim.steps["grad_norm"], on_cpu.steps["grad_norm"], rtol=1e-5)
    assert on_sim.diagnosis.lines() == on_cpu.diagnosis.lines()
    assert on_sim.health == on_cpu.health
    flow_cpu, flow_sim = on_cpu.gradient_flow, on_sim.gradient_flow
    assert [n for n, *_ in flow_sim] == [n for n, *_ in flow_cpu]
    np.testing.assert_allclose([m for _, m, _ in flow_sim], [m for _, m, _ in flow_cpu], rtol=1e-5)


def test_a_hand_written_loop_on_a_device_is_read_only_when_asked():
    x, y = _digits(128)
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).to("sim")
    opt = optim.SGD(model.parameters(), lr=0.1)
    xs, ys = gn.tensor(x, device="sim"), gn.tensor(y, device="sim")

    def train(steps):
        for i in range(steps):
            sl = slice(32 * (i % 4), 32 * (i % 4 + 1))
            opt.zero_grad()
            F.cross_entropy(model(xs[sl]), ys[sl]).backward()
            opt.step()

    TRANSFERS.reset()
    train(12)
    plain = TRANSFERS.count  # what the ops themselves transfer (none, on a strict device)
    watch = gn.watch(model, opt)
    TRANSFERS.reset()
    train(12)
    assert TRANSFERS.count == plain  # 12 watched steps, nothing read yet
    assert len(watch.step_loss) == 12 and TRANSFERS.count == plain + 1  # read at once
    assert watch.grad_norm_steps[:3] == [0, 1, 2]  # every step of the first DENSE_STEPS
    assert all(np.isfinite(watch.step_loss)) and watch.steps == 12
    watch.stop()
    assert "nothing was trained" not in str(watch.diagnosis())


def test_sampled_steps_and_a_late_read_give_the_cpu_values():
    """The values a watch keeps and reads later are the values of each step: the loss of
    every step, in order, and the class counts of the first epoch (every batch)."""
    x, y = _digits(96)
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    opt = optim.SGD(model.parameters(), lr=0.05)
    watch = gn.watch(model, opt, health=False)
    losses = []
    for i in range(6):
        xb, yb = gn.tensor(x[16 * i : 16 * i + 16]), gn.tensor(y[16 * i : 16 * i + 16])
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    watch.stop()
    watch.diagnosis()
    assert watch.step_loss == losses
    np.testing.assert_array_equal(watch.class_counts, np.bincount(y[:96], minlength=10))
    assert watch.epochs[0]["predicted"].sum() == 16 * 2  # sampled: steps 0 and 4 of 6
