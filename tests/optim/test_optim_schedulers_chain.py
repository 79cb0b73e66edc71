"""PyTorch's chainable scheduler semantics: each step() works from the group's current lr.

Expected values are hand-computed here: the recursive forms (lr * gamma, ratios of
consecutive factors) and products of closed forms when several schedulers share an optimizer.
"""

import json
import math
import warnings

import pytest

import glassnet as gn
from glassnet import optim
from glassnet.optim import lr_scheduler as S


def make_opt(lr=1.0, **kw):
    return optim.SGD([gn.nn.Parameter(gn.zeros(2))], lr=lr, **kw)


def lr_of(opt):
    return opt.param_groups[0]["lr"]


def test_manual_lr_change_is_kept_exponential():
    opt = make_opt(0.1)
    sched = S.ExponentialLR(opt, 0.9)
    opt.param_groups[0]["lr"] = 0.5
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.45])  # 0.5 * 0.9, not 0.1 * 0.9
    sched.step()
    assert lr_of(opt) == pytest.approx(0.5 * 0.9**2)


def test_manual_lr_change_is_kept_step_and_multistep():
    opt = make_opt(1.0)
    sched = S.StepLR(opt, step_size=3, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 0.2
    got = []
    for _ in range(5):  # epochs 2..6: halved at 3 and 6 only
        sched.step()
        got.append(lr_of(opt))
    assert got == pytest.approx([0.2, 0.1, 0.1, 0.1, 0.05])
    opt = make_opt(1.0)
    sched = S.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.1)
    sched.step()
    opt.param_groups[0]["lr"] = 3.0
    got = []
    for _ in range(4):  # epochs 2..5: x0.1 at 2, x0.01 at 4 (listed twice)
        sched.step()
        got.append(lr_of(opt))
    assert got == pytest.approx([0.3, 0.3, 0.003, 0.003])


def test_linear_lr_multiplies_by_ratio_of_factors():
    s, e_f, total = 0.25, 1.0, 4

    def factor(e):
        return s + (e_f - s) * min(e, total) / total

    opt = make_opt(2.0)
    sched = S.LinearLR(opt, start_factor=s, end_factor=e_f, total_iters=total)
    assert lr_of(opt) == pytest.approx(2.0 * s)
    opt.param_groups[0]["lr"] = 1.0  # manual change before epoch 1
    want = 1.0
    for e in range(1, 7):
        sched.step()
        if e <= total:
            want *= factor(e) / factor(e - 1)
        assert lr_of(opt) == pytest.approx(want)


def test_cosine_recursive_form_after_manual_change():
    t_max, eta = 6, 0.01
    opt = make_opt(0.2)
    sched = S.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta)
    sched.step()
    sched.step()
    opt.param_groups[0]["lr"] = 0.05
    want = 0.05
    for e in range(3, 6):
        sched.step()
        c = (1 + math.cos(math.pi * e / t_max)) / (1 + math.cos(math.pi * (e - 1) / t_max))
        want = eta + (want - eta) * c
        assert lr_of(opt) == pytest.approx(want)


def test_two_schedulers_on_one_optimizer_multiply():
    opt = make_opt(1.0)
    a, b = S.ExponentialLR(opt, 0.9), S.MultiStepLR(opt, [2], 0.1)
    got = []
    for _ in range(3):
        a.step()
        b.step()
        got.append(lr_of(opt))
    assert got == pytest.approx([0.9, 0.081, 0.0729])


def test_chained_warmup_and_cosine_is_product_of_closed_forms():
    s, total, t_max = 0.2, 5, 12
    opt = make_opt(1.0)
    warm = S.LinearLR(opt, s, total_iters=total)
    sched = S.ChainedScheduler([warm, S.CosineAnnealingLR(opt, t_max)])
    for e in range(t_max):
        lin = s + (1 - s) * min(e, total) / total
        cos = (1 + math.cos(math.pi * e / t_max)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(lin * cos), e
        sched.step()


def test_chained_scheduler_state_dict_and_errors():
    opt = make_opt(1.0)
    sched = S.ChainedScheduler([S.ConstantLR(opt, 0.5, 2), S.ExponentialLR(opt, 0.9)])
    for _ in range(3):
        sched.step()
    assert sched.get_last_lr() == pytest.approx([0.9**3])
    sd = json.loads(json.dumps(sched.state_dict()))
    assert set(sd) == {"_last_lr", "_schedulers"} and sd["_schedulers"][1]["last_epoch"] == 3
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="same optimizer"):
        S.ChainedScheduler([S.ExponentialLR(opt, 0.9), S.ExponentialLR(make_opt(), 0.9)])


def test_resume_with_last_epoch_keeps_current_lr():
    p = gn.nn.Parameter(gn.zeros(1))
    opt = optim.SGD([{"params": [p], "lr": 0.1, "initial_lr": 0.8}], lr=0.1)
    sched = S.ExponentialLR(opt, 0.5, last_epoch=3)
    assert sched.get_last_lr() == [0.1] and sched.last_epoch == 4 and sched.base_lrs == [0.8]
    sched.step()
    assert lr_of(opt) == pytest.approx(0.05)
    with pytest.raises(KeyError, match="initial_lr"):
        S.ExponentialLR(make_opt(), 0.5, last_epoch=3)


def test_step_with_epoch_uses_closed_form_and_warns():
    opt = make_opt(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.1)
    opt.param_groups[0]["lr"] = 7.0
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.last_epoch == 5 and lr_of(opt) == pytest.approx(0.1**2)
    opt = make_opt(2.0)
    sched = S.CosineAnnealingLR(opt, T_max=8, eta_min=0.5)
    with pytest.warns(UserWarning):
        sched.step(2)
    assert lr_of(opt) == pytest.approx(0.5 + 1.5 * (1 + math.cos(math.pi * 2 / 8)) / 2)


def test_get_lr_outside_step_warns():
    sched = S.ExponentialLR(make_opt(1.0), 0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # no warning from a normal step
    assert sched.get_last_lr() == [0.5]


def test_state_dict_keys_and_json_round_trip():
    opt = make_opt(1.0)
    sched = S.MultiStepLR(opt, [2, 2, 5], gamma=0.5)
    for _ in range(3):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd
    assert {"base_lrs", "last_epoch", "_step_count", "_last_lr", "milestones", "gamma"} <= set(sd)
    restored = json.loads(json.dumps(sd))
    opt2 = make_opt(1.0)
    opt2.load_state_dict(opt.state_dict())
    sched2 = S.MultiStepLR(opt2, [9], gamma=0.5, last_epoch=sd["last_epoch"])
    sched2.load_state_dict(restored)
    assert sched2.milestones == {2: 2, 5: 1}
    for _ in range(3):
        sched.step()
        sched2.step()
    assert sched.get_last_lr() == pytest.approx([0.125])  # 1 * 0.5**2 at 2, * 0.5 at 5
    assert sched2.get_last_lr() == pytest.approx([0.125])


def test_lambda_state_dict_saves_functions_as_none_and_objects_by_attributes():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, e):
            return self.rate**e

    p, q = gn.nn.Parameter(gn.zeros(1)), gn.nn.Parameter(gn.zeros(1))
    opt = optim.SGD([{"params": [p]}, {"params": [q]}], lr=1.0)
    sched = S.LambdaLR(opt, [lambda e: 1.0, Decay(0.5)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.5}]
    sd["lr_lambdas"][1]["rate"] = 0.25
    sched.load_state_dict(sd)
    sched.step()
    assert sched.get_last_lr() == pytest.approx([1.0, 0.25])
    assert sd["lr_lambdas"] == [None, {"rate": 0.25}]  # the caller's dict is left whole


def test_sequential_restarts_next_scheduler_at_milestone_after_manual_change():
    opt = make_opt(1.0)
    a, b = S.ConstantLR(opt, 0.5, total_iters=10), S.ExponentialLR(opt, 0.9)
    sched = S.SequentialLR(opt, [a, b], milestones=[3])
    assert lr_of(opt) == 0.5
    sched.step()
    opt.param_groups[0]["lr"] = 0.3  # kept by ConstantLR's chainable step
    sched.step()
    assert lr_of(opt) == pytest.approx(0.3)
    sched.step()  # milestone: ExponentialLR at epoch 0 (closed form) = initial lr
    assert lr_of(opt) == pytest.approx(1.0)
    sched.step()
    assert lr_of(opt) == pytest.approx(0.9)
    assert set(sched.state_dict()) == {"_milestones", "last_epoch", "_last_lr", "_schedulers"}


def test_scheduler_built_before_add_param_group_says_so():
    opt = make_opt(1.0)
    sched = S.LambdaLR(opt, lambda e: 1.0)
    opt.add_param_group({"params": [gn.nn.Parameter(gn.zeros(1))], "lr": 0.5})
    with pytest.raises(ValueError, match="add_param_group"):
        sched.step()


def test_plateau_acts_on_current_lr_and_follows_new_groups():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    opt.param_groups[0]["lr"] = 0.4
    sched.step(1.0)
    sched.step(1.0)
    assert sched.get_last_lr() == pytest.approx([0.2])
    opt.add_param_group({"params": [gn.nn.Parameter(gn.zeros(1))], "lr": 0.6})
    sched.step(1.0)
    assert sched.get_last_lr() == pytest.approx([0.1, 0.3]) and sched.min_lrs == [0.0, 0.0]
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [gn.nn.Parameter(gn.zeros(1))], "lr": 0.6})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="min_lrs"):
        sched.step(1.0)
