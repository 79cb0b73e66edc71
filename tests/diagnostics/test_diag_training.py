"""Planted training faults: dead ReLUs, saturation, a learning rate of 10, a big model on 100
samples, a model that ignores its input, unseeded data order. Healthy runs get no alarm."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data.datasets import load_digits
from glassnet.diagnostics.doctor import doctor
from glassnet.diagnostics.health import HealthMonitor
from glassnet.diagnostics.lr_finder import lr_find
from glassnet.diagnostics.repro import StepDigester, diff_runs
from glassnet.diagnostics.verdicts import diagnose


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = load_digits()
    mean, std = x.mean(0), x.std(0) + 1e-6
    return (x - mean) / std, y, (xt - mean) / std, yt


def mlp(hidden=64, act=nn.ReLU, depth=1, seed=0):
    gn.manual_seed(seed)
    layers, n_in = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n_in, hidden), act()]
        n_in = hidden
    return nn.Sequential(*layers, nn.Linear(n_in, 10))


def train(model, x, y, epochs, lr, monitor=None, opt="sgd", batch=64, xv=None, yv=None, seed=0):
    opt = (
        optim.SGD(model.parameters(), lr=lr)
        if opt == "sgd"
        else optim.Adam(model.parameters(), lr=lr)
    )
    rng = np.random.default_rng(seed)
    history = {"loss": [], "val_loss": []}
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(x[idx])), gn.tensor(y[idx]))
            loss.backward()
            if monitor:
                monitor.after_backward()
                monitor.before_step()
            opt.step()
            if monitor:
                monitor.after_step()
            total += float(loss.item()) * len(idx)
        history["loss"].append(total / len(x))
        if xv is not None:
            with gn.no_grad():
                history["val_loss"].append(
                    float(F.cross_entropy(model(gn.tensor(xv)), gn.tensor(yv)).item())
                )
        if monitor:
            monitor.end_epoch(epoch + 1)
    return history


def test_dead_relu_layer_is_named_and_healthy_model_gets_no_alarm(digits):
    x, y, _, _ = digits
    healthy = mlp()
    monitor = HealthMonitor(healthy).start()
    train(healthy, x[:512], y[:512], 2, 0.05, monitor)
    monitor.stop()
    assert monitor.warnings == []
    assert 0 <= monitor.history[-1]["activations"]["1/relu"]["dead_fraction"] < 0.5

    broken = mlp(depth=2)
    with gn.no_grad():
        broken[2].bias.fill_(-50.0)  # planted: the second hidden layer never fires
    monitor = HealthMonitor(broken).start()
    train(broken, x[:512], y[:512], 2, 0.05, monitor)
    monitor.stop()
    dead = [w for w in monitor.warnings if w.kind == "dead_relu"]
    assert {w.layer for w in dead} == {"3"}  # the ReLU module after layer 2, dotted name "3"
    assert "100% of ReLUs are dead since epoch 1" in dead[-1].message


def test_deep_sigmoid_stack_reports_vanishing_gradients(digits):
    x, y, _, _ = digits
    model = mlp(hidden=32, act=nn.Sigmoid, depth=8)  # planted: 8 sigmoid layers, default init
    monitor = HealthMonitor(model).start()
    train(model, x[:256], y[:256], 1, 0.1, monitor)
    monitor.stop()
    vanishing = [w for w in monitor.warnings if w.kind == "vanishing"]
    assert [w.layer for w in vanishing] == ["0.weight"]
    flow = monitor.gradient_flow()
    assert flow[0][1] < flow[-1][1] * 1e-3  # first layer's mean |grad| << last layer's
    assert "gradient flow" in monitor.gradient_flow_text()


def test_unscaled_inputs_saturate_sigmoids(digits):
    x, y, _, _ = digits
    model = mlp(hidden=32, act=nn.Sigmoid, depth=1)
    monitor = HealthMonitor(model).start()
    train(model, x[:256] * 50.0, y[:256], 1, 0.01, monitor)  # planted: inputs 50x too large
    monitor.stop()
    saturated = [w for w in monitor.warnings if w.kind == "saturated"]
    assert [w.layer for w in saturated] == ["1"]
    assert "86% of sigmoid outputs are saturated since epoch 1" in saturated[0].message


def test_learning_rate_of_ten_is_diagnosed(digits):
    x, y, _, _ = digits
    model = mlp()
    monitor = HealthMonitor(model).start()
    with np.errstate(all="ignore"):
        history = train(model, x[:512], y[:512], 4, 10.0, monitor)
    monitor.stop()
    verdicts = diagnose(history)
    assert verdicts[0].kind == "lr_too_high"
    assert verdicts[0].remedies[0].startswith("lower the learning rate")
    assert any(w.kind == "update_high" for w in monitor.warnings)


def test_big_model_on_100_samples_overfits_and_healthy_run_does_not(digits):
    x, y, xt, yt = digits
    big = mlp(hidden=512, depth=2)
    history = train(big, x[:100], y[:100], 40, 1e-3, opt="adam", batch=100, xv=xt, yv=yt)
    verdict = diagnose(history)[0]
    assert verdict.kind == "overfitting"
    best = int(np.argmin(history["val_loss"]))
    assert verdict.since_epoch == best + 2

    small = mlp()
    history = train(small, x, y, 6, 0.1, xv=xt, yv=yt)
    assert [v.kind for v in diagnose(history)] == []


class IgnoresInput(nn.Module):
    """Planted fault: the output does not depend on the input."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 10)

    def forward(self, x):
        return self.body(x * 0.0)


def test_a_history_alone_says_less_than_a_watched_run():
    # Two epochs of the Shakespeare char-transformer: the loss is still falling fast, which a
    # history shows; 57% accuracy alone says nothing without the number of classes.
    history = {"loss": [1.88, 1.40], "val_loss": [1.81, 1.71], "accuracy": [0.45, 0.57]}
    kinds = [v.kind for v in diagnose(history)]
    assert kinds == ["still_falling"]
    assert diagnose(history)[0].remedies == ["train for more epochs"]
    # a blow-up is named from the epoch losses, and the fix is the learning rate
    blown = diagnose({"loss": [2.3, 40.0, float("nan")]})
    assert blown[0].kind == "lr_too_high" and "non-finite at epoch 3" in blown[0].evidence[0]


def test_doctor_passes_a_healthy_setup_and_restores_the_model(digits):
    x, y, _, _ = digits
    model = mlp()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    report = doctor(model, x, y)
    assert report.ok, str(report)
    assert all(c.status == "pass" for c in report.checks), str(report)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_doctor_finds_planted_problems(digits):
    x, y, _, _ = digits
    report = doctor(IgnoresInput(), x, y)
    assert report["overfit one batch"].status == "fail"
    model = mlp()
    with gn.no_grad():
        model[2].weight.mul_(100.0)  # overconfident initial logits
    report = doctor(model, x * 100, y)
    assert report["input scale"].status == "warn"
    assert report["loss at init"].status == "warn" and "ln(10)" in report["loss at init"].message
    report = doctor(mlp(), x, np.full(len(y), 12))
    assert report["labels"].status == "fail" and "outputs 10 classes" in report["labels"].message
    bad = x.copy()
    bad[3, 5] = np.nan
    assert doctor(mlp(), bad, y)["data"].status == "fail"


def test_lr_find_suggests_a_sensible_rate_and_restores_the_model(digits):
    x, y, _, _ = digits
    model = mlp()
    before = model[0].weight.numpy().copy()
    result = lr_find(model, x, y, num_steps=80)
    assert 1e-4 <= result.suggestion <= 0.3
    assert min(result.losses) < result.losses[0]
    np.testing.assert_array_equal(model[0].weight.numpy(), before)


def _digest_run(x, y, seed_model, seed_data, steps=6):
    model = mlp(seed=seed_model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    digester = StepDigester(model)
    order = np.random.default_rng(seed_data).permutation(len(x))
    for step in range(steps):
        idx = order[step * 32 : (step + 1) * 32]
        opt.zero_grad()
        loss = F.cross_entropy(model(gn.tensor(x[idx])), gn.tensor(y[idx]))
        loss.backward()
        grads = {n: p.grad._data for n, p in model.named_parameters()}
        opt.step()
        digester.record(step, (x[idx], y[idx]), float(loss.item()), grads)
    return digester.records


def test_repro_diff_finds_the_first_divergence(digits, tmp_path):
    x, y, _, _ = digits
    a = _digest_run(x, y, 0, 0)
    assert diff_runs(a, _digest_run(x, y, 0, 0)) is None  # bit-identical on CPU
    # same data order for the first 32 * 6 samples? no: a different permutation -> step 0
    div = diff_runs(a, _digest_run(x, y, 0, 1))
    assert (div.step, div.kind) == (0, "data")
    div = diff_runs(a, _digest_run(x, y, 1, 0))  # different initial weights
    assert (div.step, div.kind) == (0, "loss")
    path = tmp_path / "digests.jsonl"
    digester = StepDigester(mlp())
    digester.records = a
    digester.write(str(path))
    assert diff_runs(str(tmp_path), a) is None
