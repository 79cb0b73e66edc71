"""Model gradcheck, graph rendering, explain and the backprop stepper on known cases."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.autograd.function import Function
from glassnet.backend import to_numpy


class WrongSquare(Function):
    """y = x^2;  dy/dx = 2x  (planted fault: backward returns x instead of 2x)"""

    def forward(self, x):
        return x * x

    def backward(self, ns, grad, x):
        return grad * x


class Net(nn.Module):
    def __init__(self, faulty=False, n=4):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = nn.Parameter(rng.standard_normal((n, 3)).astype(np.float32))
        self.w2 = nn.Parameter(rng.standard_normal((2, n)).astype(np.float32))
        self.faulty = faulty

    def forward(self, x):
        h = x @ self.w1.T
        h = WrongSquare.apply(h) if self.faulty else gn.tanh(h)
        return h @ self.w2.T


def test_model_gradcheck_passes_on_a_healthy_model_and_restores_it():
    model = Net()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    x = np.random.default_rng(1).standard_normal((5, 3))
    report = gn.gradcheck(model, x, lambda out: (out**2).mean())
    assert report.ok, str(report)
    assert [r.name for r in report.rows] == ["w1", "w2"]
    for k, v in model.state_dict().items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_model_gradcheck_names_the_parameter_behind_a_wrong_backward():
    model = Net(faulty=True)
    x = np.random.default_rng(1).standard_normal((5, 3))
    report = gn.gradcheck(model, x, lambda out: out.sum())
    assert not report.ok
    assert [r.name for r in report.failures] == ["w1"]  # w2 sits after the fault: still right
    assert "numerical" in report.failures[0].worst and "FAIL" in str(report)


def test_model_gradcheck_uses_directions_for_large_parameters():
    model = Net(n=40)
    x = np.random.default_rng(1).standard_normal((4, 3))
    report = gn.gradcheck(model, x, lambda out: out.mean(), max_elements=100)
    assert {r.mode for r in report.rows} == {"directional", "elementwise"}
    assert report.ok, str(report)


def test_check_grad_of_a_custom_function_names_input_element_and_derivatives():
    with pytest.raises(AssertionError) as info:
        gn.check_grad(WrongSquare, [np.array([1.0, 3.0])])
    msg = str(info.value)
    assert "wrong_square" in msg and "input 0" in msg and "element (0,)" in msg
    numerical = float(re.search(r"numerical  d/dx = ([-0-9.e]+)", msg).group(1))
    analytical = float(re.search(r"analytical d/dx = ([-0-9.e]+)", msg).group(1))
    assert numerical == pytest.approx(2 * analytical, rel=1e-5)  # the planted factor of 2


def test_graph_holds_values_gradients_and_formulas():
    x = gn.tensor([[1.0, -2.0]], requires_grad=True)
    w = gn.tensor([[0.5], [0.25]], requires_grad=True)
    loss = gn.tanh(x @ w).sum()
    g = gn.graph(loss, names={x: "x", w: "w"})
    ops = [n.op for n in g.nodes]
    assert ops == ["input", "input", "matmul", "tanh", "sum"]
    # gradients are computed without touching .grad, and equal what backward gives
    assert x.grad is None
    loss.backward()
    xnode = g.nodes[0]
    assert xnode.label == "x"
    assert xnode.grad["mean"] == pytest.approx(float(x.grad.numpy().mean()))
    assert "dy/dx = 1 - y^2" in g.nodes[3].formula
    html = g.to_html()
    assert html.count("<details") == 1 and "<svg" in html and "tanh" in html
    mermaid = g.to_mermaid()
    assert mermaid.startswith("flowchart TD") and "n2 --> n3" in mermaid


def test_graph_groups_nodes_by_layer(tmp_path):
    model = Net()
    with gn.record_layers():
        out = model(gn.tensor(np.ones((2, 3), dtype=np.float32))).sum()
    g = gn.graph(out, model=model)
    labels = {n.label for n in g.nodes if n.op == "parameter"}
    assert labels == {"w1", "w2"}
    assert {n.layer for n in g.nodes if n.op == "tanh"} == {"(model)"}
    path = g.save(str(tmp_path / "g.html"))
    with open(path) as f:
        assert f.read().startswith("<!doctype html>")
    with pytest.raises(ValueError, match="unknown extension"):
        g.save(str(tmp_path / "g.png"))


def test_graph_after_backward_says_how_to_fix():
    x = gn.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        gn.graph(y)


def test_explain_prints_math_for_ops_modules_and_rejects_unknown(capsys):
    gn.explain("sigmoid")
    out = capsys.readouterr().out
    assert "dy/dx = y (1 - y)" in out
    gn.explain(gn.ops.relu)
    assert "max(0, x)" in capsys.readouterr().out
    gn.explain("Linear")
    assert capsys.readouterr().out.startswith("Linear\n")  # the layer, not the 'linear' op
    gn.explain("Adam")
    assert "Adam" in capsys.readouterr().out
    with pytest.raises(ValueError, match="nothing named"):
        gn.explain("no_such_thing")


def test_backprop_stepper_shows_the_chain_rule_with_real_numbers():
    x = gn.tensor([0.5, -1.0], requires_grad=True)
    y = gn.tanh(x)
    loss = (y * 3.0).sum()
    steps = gn.backprop_steps(loss)
    assert [s.op for s in steps] == ["sum", "mul", "tanh"]
    tanh_step = steps[2]
    t = np.tanh(np.array([0.5, -1.0]))
    np.testing.assert_allclose(to_numpy(tanh_step.upstream), [3.0, 3.0])
    np.testing.assert_allclose(to_numpy(tanh_step.local[0]), 1 - t**2, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(tanh_step.downstream[0]), 3 * (1 - t**2), rtol=1e-5)
    assert x.grad is None  # the stepper does not touch .grad
    assert "upstream" in str(steps)
