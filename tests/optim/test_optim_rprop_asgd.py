"""Rprop and ASGD: trajectories with closed forms (step sizes growing geometrically while the
sign holds, no move on a sign flip; ASGD's eta schedule and the average of the weights)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import to_device


def param(values):
    return gn.nn.Parameter(gn.tensor(np.array(values, dtype=np.float64)))


def test_rprop_grows_while_the_sign_holds_and_stands_still_on_a_flip():
    w = param([1.0, 1.0])
    opt = gn.optim.Rprop([w], lr=0.1, etas=(0.5, 1.2), step_sizes=(1e-6, 0.2))
    moves = []
    for g in ([1.0, 1.0], [1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [1.0, 2.0]):
        before = w.numpy().copy()
        w.grad = gn.tensor(np.array(g))
        opt.step()
        moves.append(w.numpy() - before)
    steps = [0.1, 0.12, 0.144, 0.1728, 0.2]  # x 1.2 each step, capped at 0.2
    np.testing.assert_allclose([m[0] for m in moves], [-s for s in steps])
    # second weight: +, +, flip (step x 0.5, no move, gradient forgotten), then a move with
    # the halved step (factor 1: no previous sign), then another flip: no move, step halved
    np.testing.assert_allclose([m[1] for m in moves], [-0.1, -0.12, 0.0, 0.06, 0.0])
    np.testing.assert_allclose(to_device(opt.state[w]["step_size"], "cpu"), [0.2, 0.03])


def test_rprop_maximize_and_validation():
    w = param([0.0])
    opt = gn.optim.Rprop([w], lr=0.5, maximize=True)
    w.grad = gn.tensor(np.array([3.0]))
    opt.step()
    assert w.item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="etas"):
        gn.optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="step_sizes"):
        gn.optim.Rprop([w], step_sizes=(1.0, 0.1))


def test_asgd_eta_schedule_and_weight_average():
    lr, lambd, alpha, t0 = 0.1, 0.01, 0.75, 2
    w = param([1.0])
    opt = gn.optim.ASGD([w], lr=lr, lambd=lambd, alpha=alpha, t0=t0)
    ws, eta = [], lr
    expected = 1.0
    for t in range(1, 8):
        w.grad = gn.tensor(np.array([0.5]))
        opt.step()
        expected = expected * (1 - lambd * eta) - eta * 0.5
        eta = lr / (1 + lambd * lr * t) ** alpha
        ws.append(expected)
        assert w.item() == pytest.approx(expected, rel=1e-12)
        assert opt.state[w]["eta"] == pytest.approx(eta, rel=1e-12)
    # step t averages with the mu of step t - 1, mu = 1 / max(1, t - t0): ax is the weight
    # until step t0 + 2, then the running mean of the weights from that step on
    np.testing.assert_allclose(
        to_device(opt.state[w]["ax"], "cpu"), [np.mean(ws[t0 + 1 :])], rtol=1e-12
    )


def test_asgd_weight_decay_adds_to_the_gradient():
    w = param([2.0])
    opt = gn.optim.ASGD([w], lr=0.1, lambd=0.0, weight_decay=0.5)
    w.grad = gn.tensor(np.array([0.0]))
    opt.step()
    assert w.item() == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)
