"""Learning-rate schedulers against closed-form values computed here (each scheduler alone
on its optimizer, where PyTorch's chainable steps reproduce the closed form)."""

import json
import math

import pytest

import glassnet as gn
from glassnet import optim
from glassnet.optim import lr_scheduler as S


def make_opt(lr=1.0, cls=optim.SGD, **kw):
    return cls([gn.nn.Parameter(gn.zeros(2))], lr=lr, **kw)


def trace(sched, n):
    """lr in use at steps 0..n-1 (read before each scheduler step, as a training loop does)."""
    out = []
    for _ in range(n):
        out.append(sched.optimizer.param_groups[0]["lr"])
        assert sched.get_last_lr()[0] == out[-1]
        sched.optimizer.step()
        sched.step()
    return out


def test_importable_both_ways():
    import glassnet.optim.lr_scheduler as mod

    assert mod is S and gn.optim.lr_scheduler.StepLR is S.StepLR
    assert issubclass(S.LinearWarmup, S.LinearLR)


def test_step_lr():
    got = trace(S.StepLR(make_opt(0.5), step_size=3, gamma=0.5), 10)
    assert got == pytest.approx([0.5 * 0.5 ** (e // 3) for e in range(10)])


def test_multistep_lr():
    got = trace(S.MultiStepLR(make_opt(), milestones=[6, 2], gamma=0.1), 9)
    assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


def test_exponential_lr():
    got = trace(S.ExponentialLR(make_opt(0.3), gamma=0.9), 7)
    assert got == pytest.approx([0.3 * 0.9**e for e in range(7)])


def test_cosine_annealing_closed_form():
    t_max, eta_min, base = 10, 0.01, 0.2
    got = trace(S.CosineAnnealingLR(make_opt(base), T_max=t_max, eta_min=eta_min), 15)
    want = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2 for e in range(15)]
    assert got == pytest.approx(want)
    assert got[10] == pytest.approx(eta_min)


def test_linear_lr_and_warmup():
    got = trace(S.LinearLR(make_opt(2.0), start_factor=0.25, end_factor=0.75, total_iters=4), 7)
    want = [2.0 * (0.25 + 0.5 * min(e, 4) / 4) for e in range(7)]
    assert got == pytest.approx(want)
    warm = trace(S.LinearWarmup(make_opt(1.0), warmup_steps=5, start_factor=0.1), 8)
    assert warm == pytest.approx([0.1 + 0.9 * min(e, 5) / 5 for e in range(8)])


def test_lambda_lr_per_group():
    a, b = gn.nn.Parameter(gn.zeros(1)), gn.nn.Parameter(gn.zeros(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
    sched = S.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 2.0**-e])
    for _ in range(3):
        sched.step()
    assert sched.get_last_lr() == pytest.approx([1 / 4, 0.5 * 2.0**-3])


def onecycle_reference(step, total, max_lr, pct=0.3, div=25.0, final_div=1e4):
    initial = max_lr / div
    low = initial / final_div
    up_end = pct * total - 1

    def cos(a, b, f):
        return b + (a - b) / 2 * (math.cos(math.pi * f) + 1)

    if step <= up_end:
        return cos(initial, max_lr, step / up_end)
    return cos(max_lr, low, (step - up_end) / (total - 1 - up_end))


def test_one_cycle_lr_and_momentum():
    opt = make_opt(0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=20)
    got, moms = [], []
    for _ in range(20):
        got.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        sched.step()
    assert got == pytest.approx([onecycle_reference(e, 20, 1.0) for e in range(20)])
    assert got[0] == pytest.approx(1.0 / 25) and max(got) == pytest.approx(1.0)
    assert got[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85)
    assert moms[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="total_steps"):
        for _ in range(3):
            sched.step()


def test_one_cycle_cycles_adam_beta1_and_three_phase():
    opt = make_opt(cls=optim.Adam, lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=10, three_phase=True)
    lrs = trace(sched, 20)
    assert opt.param_groups[0]["betas"][1] == 0.999
    assert lrs[0] == pytest.approx(0.02) and lrs[5] == pytest.approx(0.5)  # peak at pT - 1
    assert lrs[10] == pytest.approx(0.02)  # back to the start at 2pT - 2
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.OneCycleLR(make_opt(cls=optim.Adagrad), max_lr=1.0, total_steps=5)


def test_sequential_warmup_then_cosine():
    opt = make_opt(1.0)
    warm = S.LinearWarmup(opt, warmup_steps=3, start_factor=0.25)
    cos = S.CosineAnnealingLR(opt, T_max=4)
    sched = S.SequentialLR(opt, [warm, cos], milestones=[3])
    got = trace(sched, 8)
    want = [0.25, 0.5, 0.75] + [(1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert got == pytest.approx(want)


def test_scheduler_state_dict_resumes():
    opt = make_opt(1.0)
    sched = S.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    saved = json.loads(json.dumps(sched.state_dict()))
    opt_sd = opt.state_dict()
    opt2 = make_opt(1.0)
    opt2.load_state_dict(opt_sd)
    sched2 = S.CosineAnnealingLR(opt2, T_max=10, last_epoch=saved["last_epoch"])
    sched2.load_state_dict(saved)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == pytest.approx(sched.get_last_lr())
    assert sched2.last_epoch == 5
    with pytest.raises(KeyError, match="initial_lr"):  # PyTorch raises KeyError here
        S.StepLR(make_opt(), step_size=2, last_epoch=3)


def test_reduce_on_plateau_patience_threshold_cooldown_min_lr():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    # 1.0 is best; 0.99995 is not a relative improvement of 1e-4; then plateau.
    for metric in [1.0, 0.99995, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    # bad epochs 1, 2, 3 > patience -> halve at the 4th; 1 cooldown epoch; 3 more bad -> halve.
    assert lrs[:8] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    # Epoch 8 (0.5) improved: counting restarts, 3 bad epochs later the lr halves again.
    assert lrs[8:] == [0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    for _ in range(10):
        sched.step(1.0)
    assert sched.get_last_lr() == [0.2]  # floored at min_lr


def test_reduce_on_plateau_max_mode_abs_threshold():
    opt = make_opt(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    sched.step(0.5)
    sched.step(0.55)  # not better by more than 0.1 -> reduce (patience 0)
    assert sched.get_last_lr() == pytest.approx([0.1])
    sched.step(0.7)
    assert sched.get_last_lr() == pytest.approx([0.1]) and sched.best == 0.7
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda o: S.StepLR(o, step_size=0), "step_size"),
        (lambda o: S.CosineAnnealingLR(o, T_max=0), "T_max"),
        (lambda o: S.LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: S.LinearWarmup(o, warmup_steps=0), "int >= 1"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0), "total_steps"),
    ],
)
def test_invalid_scheduler_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make(make_opt())
