"""doctor and lr_find use what the model was compiled with (optimizer, its hyperparameters,
learning rate, loss), and each failed doctor check names its own cause and fix."""

import sys
from pathlib import Path

import glassnet as gn
from glassnet import nn, optim

sys.path.insert(0, str(Path(__file__).parent))
import clinic_cases as cases  # noqa: E402


def _doctor(model, optimizer):
    d = cases.digits()
    model.compile(optimizer=optimizer, loss="cross_entropy")
    return model.doctor(d["x"], d["y"])


def test_doctor_uses_the_compiled_learning_rate_and_fails_adam_at_lr_1():
    model = cases.mlp()
    compiled = optim.Adam(model.parameters(), lr=1.0)
    report = _doctor(model, compiled)
    check = report["learning rate"]
    assert check.status == "fail" and "Adam lr=1" in check.message
    assert "lower the learning rate (try 0.001" in check.fix
    assert not report.ok
    assert len(compiled.state) == 0  # the compiled optimizer itself never stepped


def test_doctor_passes_a_healthy_compiled_sgd_model():
    model = cases.mlp()
    report = _doctor(model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    assert report.ok, str(report)
    assert "SGD lr=0.05" in report["overfit one batch"].message


def test_each_failed_overfit_check_names_its_own_cause_and_fix():
    softmax = nn.Sequential(cases.mlp(), nn.Softmax(dim=1))
    check = _doctor(softmax, "adam")["overfit one batch"]
    assert check.status == "fail" and "softmax applied before cross_entropy" in check.message
    assert check.fix.startswith("remove the softmax")

    zero = cases.mlp()
    with gn.no_grad():
        for p in zero.parameters():
            p.fill_(0.0)
    check = _doctor(zero, "adam")["overfit one batch"]
    assert "constant weight initialization" in check.message
    assert check.fix.startswith("initialize weights randomly")

    slow = cases.mlp()
    report = _doctor(slow, optim.SGD(slow.parameters(), lr=1e-7))
    assert report["learning rate"].status == "warn"
    assert report["overfit one batch"].fix.startswith("raise the learning rate")


def test_lr_find_sweeps_the_compiled_optimizer_and_takes_every_optimizer_name():
    d = cases.digits()
    model = cases.mlp()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    result = gn.lr_find(model, d["x"], d["y"], num_steps=30)
    assert result.optimizer == "SGD(momentum=0.9)"
    for name, cls in (("adamw", "AdamW"), ("rmsprop", "RMSprop"), ("adagrad", "Adagrad")):
        result = gn.lr_find(model, d["x"], d["y"], optimizer=name, num_steps=20)
        assert result.optimizer.startswith(cls), result.optimizer
