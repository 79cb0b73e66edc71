"""``glassnet.optim.swa_utils`` against values recorded once from torch 2.13 (the same weights,
the same updates): SWALR's lr sequence, AveragedModel's averaged weights and buffers for
SWA / EMA / custom functions / use_buffers, its state_dict keys, and update_bn's statistics."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.optim import swa_utils as S

# Recorded from torch 2.13 with the script's scenarios below (float32 values to 9 digits).
TORCH = {
    "cos3": [
        [0.5, 0.1],
        [0.3875, 0.08],
        [0.1625, 0.04],
        [0.05, 0.02],
        [0.05, 0.02],
        [0.05, 0.02],
        [0.05, 0.02],
    ],
    "lin4": [[0.5], [0.3875], [0.275], [0.1625], [0.05], [0.05], [0.05]],
    "zero": [[0.05], [0.05], [0.05]],
    "swa": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.283771485, 0.215609401],
            [-0.0656874776, -0.147980124, 0.0150719285],
        ],
        "module.0.bias": [0.0335407257, -0.379870147],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [1.5, -3.0],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 10,
    },
    "ema_multi": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.62410599, 0.67536521],
            [0.0636771992, -0.548652887, -0.593301058],
        ],
        "module.0.bias": [0.636312008, 0.205708772],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [1.5, -3.0],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 10,
    },
    "ema_avg": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.320124865, 0.472133636],
            [-0.03662882, -0.352730811, -0.130883873],
        ],
        "module.0.bias": [0.172329366, -0.17961514],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [1.5, -3.0],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 10,
    },
    "swa_multi": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.283771485, 0.215609401],
            [-0.0656874701, -0.147980124, 0.0150719285],
        ],
        "module.0.bias": [0.0335407257, -0.379870176],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [1.5, -3.0],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 10,
    },
    "swa_buf": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.283771485, 0.215609401],
            [-0.0656874776, -0.147980124, 0.0150719285],
        ],
        "module.0.bias": [0.0335407257, -0.379870147],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [0.75, -1.5],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 4,
    },
    "ema_buf": {
        "n_averaged": 4,
        "module.0.weight": [
            [0.0, 0.62410599, 0.67536521],
            [0.0636771992, -0.548652887, -0.593301058],
        ],
        "module.0.bias": [0.636312008, 0.205708772],
        "module.1.weight": [1.0, 1.0],
        "module.1.bias": [0.0, 0.0],
        "module.1.running_mean": [0.280499995, -0.56099999],
        "module.1.running_var": [1.0, 1.0],
        "module.1.num_batches_tracked": 1,
    },
    "bn": [[0.608980656, -0.350025058], [0.216429755, 0.0997914076], 3, 0.1, False],
}


def _lrs(opt, sched, n=7):
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def test_swalr_lr_sequences_match_torch():
    w, v = gn.nn.Parameter(gn.zeros(2)), gn.nn.Parameter(gn.zeros(2))
    opt = gn.optim.SGD([{"params": [w], "lr": 0.5}, {"params": [v], "lr": 0.1}], lr=0.5)
    sched = S.SWALR(opt, [0.05, 0.02], anneal_epochs=3)
    np.testing.assert_allclose(_lrs(opt, sched), TORCH["cos3"], rtol=1e-12)
    assert [g["swa_lr"] for g in opt.param_groups] == [0.05, 0.02]
    opt = gn.optim.SGD([w], lr=0.5)
    sched = S.SWALR(opt, 0.05, anneal_epochs=4, anneal_strategy="linear")
    np.testing.assert_allclose(_lrs(opt, sched), TORCH["lin4"], rtol=1e-12)
    opt = gn.optim.SGD([w], lr=0.5)
    np.testing.assert_allclose(_lrs(opt, S.SWALR(opt, 0.05, anneal_epochs=0), 3), TORCH["zero"])


def test_swalr_state_dict_round_trip_and_errors():
    w = gn.nn.Parameter(gn.zeros(2))
    opt = gn.optim.SGD([w], lr=0.5)
    sched = S.SWALR(opt, 0.05, anneal_epochs=4, anneal_strategy="linear")
    sched.step()
    state = sched.state_dict()
    assert "anneal_func" not in state and "optimizer" not in state
    assert state["_anneal_strategy"] == "linear" and state["anneal_epochs"] == 4
    other = S.SWALR(gn.optim.SGD([w], lr=0.5), 0.05)
    other.load_state_dict(state)
    assert other.anneal_func(0.5) == 0.5  # linear again
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        S.SWALR(opt, 0.05, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        S.SWALR(opt, 0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        S.SWALR(opt, 0.05, anneal_epochs=2.0)
    with pytest.raises(ValueError, match="same length as optimizer.param_groups"):
        S.SWALR(opt, [0.05, 0.01])


def _make():
    return gn.nn.Sequential(gn.nn.Linear(3, 2), gn.nn.BatchNorm1d(2))


def _set_weights(m, k):
    with gn.no_grad():
        m[0].weight.copy_(
            gn.tensor(np.sin(np.arange(6.0) * (k + 1)).reshape(2, 3), dtype=gn.float32)
        )
        m[0].bias.copy_(gn.tensor(np.cos(np.arange(2.0) + k), dtype=gn.float32))
        m[1].running_mean.copy_(gn.tensor([k * 0.5, -k * 1.0], dtype=gn.float32))
        m[1].num_batches_tracked.fill_(3 * k + 1)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("swa", {}),
        ("ema_multi", {"multi_avg_fn": S.get_ema_multi_avg_fn(0.9)}),
        ("ema_avg", {"avg_fn": S.get_ema_avg_fn(0.75)}),
        ("swa_multi", {"multi_avg_fn": S.get_swa_multi_avg_fn()}),
        ("swa_buf", {"use_buffers": True}),
        ("ema_buf", {"multi_avg_fn": S.get_ema_multi_avg_fn(0.9), "use_buffers": True}),
    ],
)
def test_averaged_model_matches_torch(name, kwargs):
    model = _make()
    _set_weights(model, 0)
    avg = S.AveragedModel(model, **kwargs)
    assert avg.module is not model and avg.module[0].weight is not model[0].weight
    for k in range(4):
        _set_weights(model, k)
        avg.update_parameters(model)
    state = avg.state_dict()
    want = TORCH[name]
    assert list(state) == list(want)  # n_averaged first, then module.*, as PyTorch
    for key, value in want.items():
        got = state[key].numpy()
        if isinstance(value, int):
            assert got.dtype == np.int64 and int(got) == value, key
        else:
            np.testing.assert_allclose(got, value, rtol=2e-6, atol=1e-7, err_msg=key)
    x = gn.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=gn.float32)
    avg.eval()
    np.testing.assert_allclose(avg(x).numpy(), avg.module(x).numpy())  # forward delegates


def test_averaged_model_keeps_no_graph_and_rejects_two_functions():
    model = _make()
    avg = S.AveragedModel(model)
    avg.update_parameters(model)
    assert all(p.grad is None for p in avg.parameters())
    assert [n for n, _ in avg.named_buffers()][0] == "n_averaged"
    assert len(list(avg.parameters())) == 4  # the copy's parameters only
    with pytest.raises(ValueError, match="Only one of avg_fn and multi_avg_fn"):
        S.AveragedModel(model, avg_fn=S.get_swa_avg_fn(), multi_avg_fn=S.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match="Invalid decay value 1.5"):
        S.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="Invalid decay value -0.1"):
        S.get_ema_avg_fn(-0.1)


def test_update_bn_matches_torch_and_restores_state():
    model = _make()
    _set_weights(model, 1)
    model.eval()
    data = [
        gn.tensor(np.sin(np.arange(12.0) * 0.7 + b).reshape(4, 3), dtype=gn.float32)
        for b in range(3)
    ]
    S.update_bn([(x, gn.zeros(4)) for x in data], model)
    bn = model[1]
    mean, var, count, momentum, training = TORCH["bn"]
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-6)
    assert int(bn.num_batches_tracked) == count and bn.momentum == momentum
    assert model.training is training


def test_update_bn_leaves_instance_norm_and_bn_free_models_alone():
    model = gn.nn.Sequential(gn.nn.InstanceNorm1d(2, track_running_stats=True))
    with gn.no_grad():
        model[0].running_mean.fill_(5.0)
    S.update_bn([gn.ones(2, 2, 3)], model)
    assert model[0].running_mean.numpy().tolist() == [5.0, 5.0]
    S.update_bn([gn.ones(2, 3)], gn.nn.Linear(3, 1))  # no BatchNorm: nothing to do
