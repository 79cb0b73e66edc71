"""PyTorch's optimizer keyword options: maximize, foreach, fused, capturable, differentiable.

Expected values follow PyTorch's documented algorithms (torch.optim docs: "if maximize:
g_t <- -g_t" is the first line of every update), so with maximize=True one plain SGD step is
w + lr * g, and every optimizer's maximize step equals its ordinary step on the negated
gradient. Nothing here is computed by the code under test.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn

# PyTorch 2.x signatures: which keyword options each optimizer has (from the torch.optim docs).
FLAGS = {
    "SGD": {"foreach", "maximize", "differentiable", "fused"},
    "Adam": {"foreach", "maximize", "capturable", "differentiable", "fused"},
    "AdamW": {"foreach", "maximize", "capturable", "differentiable", "fused"},
    "Adagrad": {"foreach", "maximize", "differentiable", "fused"},
    "RMSprop": {"foreach", "maximize", "capturable", "differentiable"},
    "Adadelta": {"foreach", "maximize", "capturable", "differentiable"},
    "Adamax": {"foreach", "maximize", "capturable", "differentiable"},
    "NAdam": {"foreach", "maximize", "capturable", "differentiable"},
    "RAdam": {"foreach", "maximize", "capturable", "differentiable"},
}
ALL = {"foreach", "maximize", "capturable", "differentiable", "fused"}
OPTS = {"lr": 0.1}


def _param(values=(1.0, -2.0, 0.5)):
    return nn.Parameter(gn.tensor(np.array(values, dtype=np.float64)))


def test_sgd_maximize_moves_plus_lr_grad():
    w = _param()
    opt = gn.optim.SGD([w], lr=0.1, maximize=True)
    w.grad = gn.tensor(np.array([0.5, 1.0, -3.0]))
    opt.step()
    np.testing.assert_allclose(w.numpy(), [1.0 + 0.05, -2.0 + 0.1, 0.5 - 0.3], rtol=0, atol=1e-12)


def test_sgd_maximize_with_weight_decay_negates_grad_first():
    # PyTorch: g = -g; g = g + wd * w; w = w - lr * g  ->  w + lr * (g0 - wd * w)
    w = _param([2.0])
    opt = gn.optim.SGD([w], lr=0.1, weight_decay=0.5, maximize=True)
    w.grad = gn.tensor(np.array([1.0]))
    opt.step()
    np.testing.assert_allclose(w.numpy(), [2.0 + 0.1 * (1.0 - 0.5 * 2.0)], atol=1e-12)


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_maximize_equals_step_on_negated_gradient(name):
    cls = getattr(gn.optim, name)
    a, b = _param(), _param()
    grads = [np.array([0.3, -1.2, 2.0]), np.array([-0.7, 0.4, 1.1]), np.array([1.0, 1.0, -1.0])]
    opt_max = cls([a], maximize=True, weight_decay=0.1, **OPTS)
    opt_neg = cls([b], weight_decay=0.1, **OPTS)
    for g in grads:
        a.grad, b.grad = gn.tensor(g), gn.tensor(-g)
        opt_max.step()
        opt_neg.step()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), [1.0, -2.0, 0.5])  # it did move
    assert opt_max.param_groups[0]["maximize"] is True


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_foreach_fused_capturable_are_hints_with_no_effect(name):
    cls = getattr(gn.optim, name)
    hints = {k: True for k in FLAGS[name] & {"foreach", "fused", "capturable"}}
    a, b = _param(), _param()
    opt_a, opt_b = cls([a], **OPTS), cls([b], **OPTS, **hints)
    for g in (np.array([0.3, -1.2, 2.0]), np.array([-0.7, 0.4, 1.1])):
        a.grad, b.grad = gn.tensor(g), gn.tensor(g)
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    for key in FLAGS[name]:  # stored in every group, as PyTorch does
        assert key in opt_b.param_groups[0]
    assert opt_a.param_groups[0].get("foreach") is None


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_differentiable_true_raises_not_implemented(name):
    cls = getattr(gn.optim, name)
    cls([_param()], differentiable=False, **OPTS)  # PyTorch's default is accepted
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        cls([_param()], differentiable=True, **OPTS)
    opt = cls([_param()], **OPTS)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        opt.add_param_group({"params": [_param()], "differentiable": True})


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_options_pytorch_lacks_are_rejected(name):
    cls = getattr(gn.optim, name)
    for key in sorted(ALL - FLAGS[name]):
        with pytest.raises(TypeError, match=key):
            cls([_param()], **OPTS, **{key: True})


def test_lbfgs_takes_none_of_them():
    # PyTorch's LBFGS has no maximize/foreach/...: passing one is an error, not ignored.
    assert "maximize" not in inspect.signature(gn.optim.LBFGS).parameters
    with pytest.raises(TypeError):
        gn.optim.LBFGS([_param()], maximize=True)


def test_state_dict_round_trip_keeps_flags():
    w = _param()
    opt = gn.optim.Adam([w], lr=0.1, maximize=True, foreach=False)
    w.grad = gn.tensor(np.ones(3))
    opt.step()
    opt2 = gn.optim.Adam([_param()], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.param_groups[0]["maximize"] is True
    assert opt2.param_groups[0]["foreach"] is False


@pytest.mark.parametrize("flat", [True, False])
def test_compiled_step_maximizes_like_eager(flat):
    """gn.compile's replay (flat buffers or not) applies maximize exactly as the eager step."""

    def build():
        gn.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = gn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, maximize=True)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    rng = np.random.default_rng(0)
    x = gn.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))
    y = gn.from_numpy(rng.integers(0, 3, 6))
    m1, eager = build()
    m2, step = build()
    fast = gn.compile(step, flat=flat)
    losses = []
    for _ in range(5):
        a, b = eager(x, y), fast(x, y)
        assert a.numpy().tobytes() == b.numpy().tobytes()
        losses.append(float(a))
    assert fast.replays >= 1
    assert losses[-1] > losses[0]  # maximizing the loss makes it grow
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
