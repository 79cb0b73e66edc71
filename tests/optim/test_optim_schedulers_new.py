"""The schedulers added for PyTorch parity: ConstantLR, MultiplicativeLR, PolynomialLR,
CyclicLR, CosineAnnealingWarmRestarts, and arguments PyTorch accepts. Expected values are
the formulas of PyTorch's documentation, computed here with plain Python."""

import math

import pytest

import glassnet as gn
from glassnet import optim
from glassnet.optim import lr_scheduler as S


def make_opt(lr=1.0, cls=optim.SGD, **kw):
    return cls([gn.nn.Parameter(gn.zeros(2))], lr=lr, **kw)


def trace(sched, n, key="lr"):
    out = []
    for _ in range(n):
        group = sched.optimizer.param_groups[0]
        out.append(group[key] if key != "beta1" else group["betas"][0])
        sched.optimizer.step()
        sched.step()
    return out


def test_constant_lr():
    got = trace(S.ConstantLR(make_opt(0.6), factor=0.5, total_iters=3), 6)
    assert got == pytest.approx([0.3, 0.3, 0.3, 0.6, 0.6, 0.6])
    with pytest.raises(ValueError, match="factor"):
        S.ConstantLR(make_opt(), factor=1.5)


def test_multiplicative_lr():
    got = trace(S.MultiplicativeLR(make_opt(1.0), lambda e: 1 / (e + 1)), 5)
    want, lr = [], 1.0
    for e in range(5):
        if e > 0:
            lr *= 1 / (e + 1)
        want.append(lr)
    assert got == pytest.approx(want)
    with pytest.raises(TypeError, match="function"):
        S.MultiplicativeLR(make_opt(), 0.5)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_lr(power):
    got = trace(S.PolynomialLR(make_opt(0.4), total_iters=5, power=power), 8)
    assert got == pytest.approx([0.4 * (1 - min(e, 5) / 5) ** power for e in range(8)])


def cyclic_ref(e, base, top, up, down, mode="triangular", gamma=1.0):
    total = up + down
    cycle = math.floor(1 + e / total)
    x = 1 + e / total - cycle
    r = up / total
    s = x / r if x <= r else (x - 1) / (r - 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**e}[mode]
    return base + (top - base) * s * scale, s * scale


@pytest.mark.parametrize(
    "mode, up, down, gamma",
    [("triangular", 3, 3, 1.0), ("triangular2", 2, 4, 1.0), ("exp_range", 4, 4, 0.9)],
)
def test_cyclic_lr_modes_with_momentum(mode, up, down, gamma):
    opt = make_opt(0.5, momentum=0.5)
    sched = S.CyclicLR(opt, 0.1, 1.0, up, down, mode=mode, gamma=gamma)
    lrs, moms = [], []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    refs = [cyclic_ref(e, 0.1, 1.0, up, down, mode, gamma) for e in range(20)]
    assert lrs == pytest.approx([r[0] for r in refs])
    assert moms == pytest.approx([0.9 - 0.1 * r[1] for r in refs])  # max 0.9, base 0.8


def test_cyclic_lr_adam_beta1_custom_scale_and_errors():
    opt = make_opt(cls=optim.Adam)
    sched = S.CyclicLR(opt, [0.01], 0.1, step_size_up=2, base_momentum=0.7, max_momentum=0.95)
    beta1 = trace(sched, 5, key="beta1")
    assert beta1 == pytest.approx([0.95, 0.825, 0.7, 0.825, 0.95])
    assert opt.param_groups[0]["betas"][1] == 0.999
    sched = S.CyclicLR(
        make_opt(),
        0.0,
        1.0,
        2,
        scale_fn=lambda x: 0.5,
        scale_mode="iterations",
        cycle_momentum=False,
    )
    assert trace(sched, 3) == pytest.approx([0.0, 0.25, 0.5])
    assert sched.state_dict()["_scale_fn_custom"] is None
    with pytest.raises(ValueError, match="mode"):
        S.CyclicLR(make_opt(), 0.1, 1.0, mode="sawtooth")
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.CyclicLR(make_opt(cls=optim.Adagrad), 0.1, 1.0)


def sgdr_ref(epoch, t0, mult, base, eta):
    t_i, t_cur = t0, epoch
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= mult
    return eta + (base - eta) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_cosine_warm_restarts(t_mult):
    sched = S.CosineAnnealingWarmRestarts(make_opt(0.5), T_0=3, T_mult=t_mult, eta_min=0.01)
    got = trace(sched, 30)
    assert got == pytest.approx([sgdr_ref(e, 3, t_mult, 0.5, 0.01) for e in range(30)])


def test_cosine_warm_restarts_fractional_epoch():
    opt = make_opt(1.0)
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    for epoch in [0.5, 1.75, 2.5, 5.9, 6.0, 13.0, 1.0]:
        sched.step(epoch)
        assert opt.param_groups[0]["lr"] == pytest.approx(sgdr_ref(epoch, 2, 2, 1.0, 0.0)), epoch
        assert sched.last_epoch == math.floor(epoch)
    with pytest.raises(ValueError, match="epoch"):
        sched.step(-1)
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(make_opt(), T_0=0)
    with pytest.raises(ValueError, match="T_mult"):
        S.CosineAnnealingWarmRestarts(make_opt(), T_0=2, T_mult=1.5)


def test_arguments_pytorch_accepts():
    # step_size as a float number of steps, gamma 0, LinearLR over 0 steps, T_max < 1.
    assert trace(S.StepLR(make_opt(), step_size=2.0, gamma=0.5), 5) == [1, 1, 0.5, 0.5, 0.25]
    assert trace(S.ExponentialLR(make_opt(), gamma=0.0), 3) == [1.0, 0.0, 0.0]
    assert trace(S.LinearLR(make_opt(), 0.5, total_iters=0), 3) == [0.5, 0.5, 0.5]
    assert trace(S.PolynomialLR(make_opt(), total_iters=0), 3) == [1.0, 1.0, 1.0]
    assert trace(S.CosineAnnealingLR(make_opt(), T_max=0.5), 3) == pytest.approx([1.0] * 3)
    with pytest.raises(ValueError, match="factor=0"):
        trace(S.ConstantLR(make_opt(), factor=0.0, total_iters=2), 3)
