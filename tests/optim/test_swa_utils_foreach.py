"""torch.optim.swa_utils (AveragedModel with SWA / EMA averaging, update_bn, SWALR) and the
torch._foreach_* functions that EMA code and hand-written optimizers call: glassnet had
neither (AttributeError). Averages are checked against NumPy's formulas; SWALR against
values recorded once from PyTorch 2.13."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.optim.swa_utils import (
    SWALR,
    AveragedModel,
    get_ema_avg_fn,
    get_ema_multi_avg_fn,
    update_bn,
)

W = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, -2.0], [5.0, 1.0]]),
     np.array([[2.0, 2.0], [-1.0, 0.5]])]  # fmt: skip


def _model():
    m = nn.Sequential(nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2))
    return m


def _set(model, w, running_mean):
    with gn.no_grad():
        model[0].weight.copy_(gn.tensor(w, dtype=gn.float32))
        model[1].running_mean.copy_(gn.tensor(running_mean, dtype=gn.float32))


def test_swa_is_the_mean_of_the_weights_seen_and_copies_buffers():
    model = _model()
    swa = AveragedModel(model)
    for i, w in enumerate(W):
        _set(model, w, [i, -i])
        swa.update_parameters(model)
    np.testing.assert_allclose(swa.module[0].weight.numpy(), np.mean(W, axis=0), rtol=1e-6)
    np.testing.assert_allclose(swa.module[1].running_mean.numpy(), [2.0, -2.0])
    assert swa.n_averaged.item() == 3 and swa.n_averaged.dtype == gn.int64
    assert "n_averaged" in swa.state_dict() and "module.0.weight" in swa.state_dict()
    x = gn.tensor([[1.0, -1.0]])
    swa.eval(), model.eval()
    np.testing.assert_allclose(swa(x).numpy(), swa.module(x).numpy())


@pytest.mark.parametrize("how", ["multi", "single"])
def test_ema_and_averaged_buffers(how):
    model = _model()
    fn = {"multi": {"multi_avg_fn": get_ema_multi_avg_fn(0.9)},
          "single": {"avg_fn": get_ema_avg_fn(0.9)}}[how]  # fmt: skip
    ema = AveragedModel(model, use_buffers=True, **fn)
    want_w, want_b = None, None
    for i, w in enumerate(W):
        _set(model, w, [i, 2.0 * i])
        ema.update_parameters(model)
        b = np.array([i, 2.0 * i])
        want_w = w if want_w is None else 0.9 * want_w + 0.1 * w
        want_b = b if want_b is None else 0.9 * want_b + 0.1 * b
    np.testing.assert_allclose(ema.module[0].weight.numpy(), want_w, rtol=1e-6)
    np.testing.assert_allclose(ema.module[1].running_mean.numpy(), want_b, rtol=1e-6)


def test_averaging_functions_check_their_arguments():
    with pytest.raises(ValueError, match="decay"):
        get_ema_multi_avg_fn(1.5)
    with pytest.raises(AssertionError, match="Only one"):
        AveragedModel(_model(), avg_fn=get_ema_avg_fn(), multi_avg_fn=get_ema_multi_avg_fn())


def test_update_bn_recomputes_the_statistics_as_a_cumulative_average():
    model = _model()
    with gn.no_grad():
        model[0].weight.copy_(gn.eye(2))
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 2)).astype(np.float32) * (k + 1) for k in range(3)]
    model.eval()
    update_bn([(gn.tensor(b), 0) for b in batches], model)
    assert not model.training and model[1].momentum == 0.1
    mean = np.mean([b.mean(0) for b in batches], 0)
    var = np.mean([b.var(0, ddof=1) for b in batches], 0)
    np.testing.assert_allclose(model[1].running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(model[1].running_var.numpy(), var, rtol=1e-5)


@pytest.mark.parametrize(
    "strategy, epochs, want",
    [  # PyTorch 2.13: SGD(lr=0.5), SWALR(swa_lr=0.05), lr after construction and 6 steps
        ("cos", 3, [0.5, 0.3875, 0.1625, 0.05, 0.05, 0.05, 0.05]),
        ("linear", 4, [0.5, 0.3875, 0.275, 0.1625, 0.05, 0.05, 0.05]),
        ("cos", 0, [0.05] * 7),
    ],
)
def test_swalr_matches_pytorch(strategy, epochs, want):
    p = nn.Parameter(gn.zeros(1))
    opt = gn.optim.SGD([p], lr=0.5)
    sched = SWALR(opt, swa_lr=0.05, anneal_epochs=epochs, anneal_strategy=strategy)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        sched.step()
        got.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert gn.optim.swa_utils.SWALR is SWALR


def test_foreach_functions_loop_the_tensor_methods():
    a = [gn.tensor([1.0, 2.0]), gn.tensor([[3.0]])]
    b = [gn.tensor([5.0, 6.0]), gn.tensor([[-1.0]])]
    assert gn._foreach_lerp_(a, b, 0.25) is None
    np.testing.assert_allclose(a[0].numpy(), [2.0, 3.0])
    np.testing.assert_allclose(a[1].numpy(), [[2.0]])
    gn._foreach_mul_(a, 2.0)
    gn._foreach_add_(a, b, alpha=0.5)
    np.testing.assert_allclose(a[0].numpy(), [6.5, 9.0])
    np.testing.assert_allclose(a[1].numpy(), [[3.5]])
    gn._foreach_addcmul_(a, b, b, value=2.0)
    np.testing.assert_allclose(a[0].numpy(), [56.5, 81.0])
    gn._foreach_maximum_(a, [gn.tensor([60.0, 60.0]), gn.tensor([[0.0]])])
    np.testing.assert_allclose(a[0].numpy(), [60.0, 81.0])
    out = gn._foreach_sqrt(a)
    np.testing.assert_allclose(out[0].numpy(), np.sqrt([60.0, 81.0]))
    norms = gn._foreach_norm(b)
    np.testing.assert_allclose([n.item() for n in norms], [np.hypot(5, 6), 1.0], rtol=1e-6)
    gn._foreach_zero_(a)
    assert a[0].numpy().tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="one per tensor"):
        gn._foreach_add_(a, b[:1])
