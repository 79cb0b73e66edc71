"""Planted faults for detect_anomaly: it must name the op that produced the first NaN/Inf."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.autograd.function import Function


class Dense(nn.Module):
    def __init__(self, n_in, n_out, bias=0.0):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weight = nn.Parameter(rng.standard_normal((n_out, n_in)).astype(np.float32) * 0.5)
        self.bias = nn.Parameter(np.full(n_out, bias, dtype=np.float32))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class LogNet(nn.Module):
    """Planted fault: log of an activation that can be negative."""

    def __init__(self):
        super().__init__()
        self.hidden = Dense(4, 6)
        self.head = Dense(6, 2)

    def forward(self, x):
        h = gn.log(self.hidden(x))  # the bug: log of values that can be < 0
        return self.head(h)


class UnsafeRatio(Function):
    """y = a / b  (a custom op with no protection against b = 0)"""

    def forward(self, a, b):
        return a / b

    def backward(self, ns, grad, a, b):
        return grad / b, -grad * a / b**2


def test_names_the_op_layer_and_cause_of_a_log_of_negative_values():
    model = LogNet()
    x = gn.tensor(np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32))
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(invalid="ignore"):
        with gn.detect_anomaly():
            model(x).sum().backward()
    report = info.value.report
    assert report.op == "log"
    assert report.phase == "forward"
    assert report.kind == "nan"
    assert report.layer == "(model)" and report.layer_type == "LogNet"
    assert "negative" in report.cause
    assert "test_diag_anomaly.py" in report.source and "gn.log(" in report.source
    assert "negatives" in report.input_stats[0]


def test_names_the_producer_not_the_ops_that_propagate_it():
    x = gn.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(divide="ignore", invalid="ignore"):
        with gn.detect_anomaly():
            y = UnsafeRatio.apply(x * 0.0, x)  # 0/0 at index 1
            z = gn.exp(y) * 3 + 1  # propagates the nan; must not be blamed
            z.sum().backward()
    assert info.value.report.op == "unsafe_ratio"
    assert "0/0" in info.value.report.cause


def test_exp_overflow_is_explained():
    x = gn.tensor([10.0, 100.0])
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(over="ignore"):
        with gn.detect_anomaly():
            gn.exp(x)
    assert info.value.report.kind == "inf"
    assert "exp overflow" in info.value.report.cause


def test_backward_anomaly_names_the_op_and_its_layer():
    class SqrtNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Dense(3, 3)

        def forward(self, x):
            return gn.sqrt(gn.ops.relu(self.inner(x))).sum()

    model = SqrtNet()
    x = gn.tensor(np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32))
    model.inner.bias._data[:] = -100.0  # relu output exactly 0 -> d sqrt/dx = inf
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(divide="ignore", invalid="ignore"):
        with gn.detect_anomaly():
            model(x).backward()
    report = info.value.report
    assert report.phase == "backward"
    assert report.op == "sqrt"
    assert report.layer == "(model)"
    assert "derivative of sqrt at 0" in report.cause


def test_healthy_model_raises_nothing_and_hooks_are_removed():
    from glassnet.autograd import hooks

    model = LogNet()
    model.hidden.bias._data[:] = 50.0  # keeps the log argument positive
    x = gn.tensor(np.random.default_rng(2).uniform(0, 1, (8, 4)).astype(np.float32))
    with gn.detect_anomaly() as detector:
        model(x).sum().backward()
    assert detector.report is None
    assert hooks.FORWARD_HOOKS == [] and hooks.BACKWARD_HOOKS == []


def test_sampled_mode_checks_one_step_in_n_and_hints_at_learning_rate():
    detector = gn.AnomalyDetector(every=3)
    checked = []
    for step in range(6):
        x = gn.tensor([1.0, -1.0]) if step == 4 else gn.tensor([1.0, 2.0])
        with detector.step(), np.errstate(invalid="ignore"):
            gn.log(x)
        checked.append(detector.report is not None)
    assert not any(checked)  # step 4 holds the NaN but is not a sampled step (0 and 3 are)
    detector = gn.AnomalyDetector(every=1)
    for norm in (1.0, 1.2, 0.9, 250.0):
        detector.record_grad_norm(norm)
    with pytest.raises(gn.NonFiniteError) as info, np.errstate(over="ignore"), detector.step():
        gn.tensor([3e38]) * 10.0
    assert "learning-rate blow-up" in info.value.report.cause
