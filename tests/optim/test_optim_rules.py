"""Golden values: every optimizer and option combination against its update rule written out
in NumPy here (PyTorch's documented formulas), over several steps on a fixed problem."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim

STEPS = 6


def grad_fn(w, t):
    """A fixed, state-dependent gradient sequence (so updates feed back into gradients)."""
    return np.cos(3.0 * w) + 0.5 * w + 0.1 * t - 0.2


def initial_weights():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal(5)]


# -- NumPy references: one function per optimizer, the documented formula line by line ------
def ref_sgd(w, g, st, t, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0,
            maximize=False):  # fmt: skip
    if maximize:
        g = -g
    g = g + weight_decay * w
    if momentum != 0:
        st["b"] = g.copy() if t == 1 else momentum * st["b"] + (1 - dampening) * g
        g = g + momentum * st["b"] if nesterov else st["b"]
    return w - lr * g


def ref_adam(w, g, st, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
             amsgrad=False, decoupled=False):  # fmt: skip
    b1, b2 = betas
    if decoupled:
        w = w * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * w
    st["m"] = b1 * st.get("m", 0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0) + (1 - b2) * g**2
    v = st["v"]
    if amsgrad:
        st["vmax"] = np.maximum(st.get("vmax", 0), st["v"])
        v = st["vmax"]
    mhat_step = lr / (1 - b1**t)
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
    return w - mhat_step * st["m"] / denom


def ref_adamw(w, g, st, t, **kw):
    kw.setdefault("weight_decay", 1e-2)
    return ref_adam(w, g, st, t, decoupled=True, **kw)


def ref_rmsprop(w, g, st, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                centered=False):  # fmt: skip
    g = g + weight_decay * w
    st["s"] = alpha * st.get("s", 0) + (1 - alpha) * g**2
    if centered:
        st["a"] = alpha * st.get("a", 0) + (1 - alpha) * g
        d = np.sqrt(st["s"] - st["a"] ** 2) + eps
    else:
        d = np.sqrt(st["s"]) + eps
    if momentum > 0:
        st["b"] = momentum * st.get("b", 0) + g / d
        return w - lr * st["b"]
    return w - lr * g / d


def ref_adagrad(w, g, st, t, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                eps=1e-10):  # fmt: skip
    g = g + weight_decay * w
    clr = lr / (1 + (t - 1) * lr_decay)
    st["s"] = st.get("s", initial_accumulator_value) + g**2
    return w - clr * g / (np.sqrt(st["s"]) + eps)


CASES = [
    (optim.SGD, ref_sgd, {"lr": 0.1}),
    (optim.SGD, ref_sgd, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, ref_sgd, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    (optim.SGD, ref_sgd, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    (optim.SGD, ref_sgd, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    (optim.SGD, ref_sgd, {"lr": 0.1, "weight_decay": 0.05, "maximize": True}),
    (optim.Adam, ref_adam, {}),
    (optim.Adam, ref_adam, {"lr": 0.05, "betas": (0.8, 0.9)}),
    (optim.Adam, ref_adam, {"lr": 0.05, "weight_decay": 0.1}),
    (optim.Adam, ref_adam, {"lr": 0.05, "amsgrad": True, "eps": 1e-3}),
    (optim.Adam, ref_adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.2}),
    (optim.AdamW, ref_adamw, {}),
    (optim.AdamW, ref_adamw, {"lr": 0.05, "weight_decay": 0.3}),
    (optim.AdamW, ref_adamw, {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    (optim.RMSprop, ref_rmsprop, {}),
    (optim.RMSprop, ref_rmsprop, {"lr": 0.01, "alpha": 0.9, "centered": True}),
    (optim.RMSprop, ref_rmsprop, {"lr": 0.01, "momentum": 0.9}),
    (
        optim.RMSprop,
        ref_rmsprop,
        {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    ),
    (optim.Adagrad, ref_adagrad, {}),
    (optim.Adagrad, ref_adagrad, {"lr": 0.1, "lr_decay": 0.1}),
    (
        optim.Adagrad,
        ref_adagrad,
        {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    ),
]


def _id(case):
    cls, _, kw = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def run_glassnet(cls, kw, steps, dtype="float64"):
    params = [gn.nn.Parameter(gn.tensor(w, dtype=dtype)) for w in initial_weights()]
    opt = cls(params, **kw)
    history = []
    for t in range(1, steps + 1):
        for p in params:
            p.grad = gn.tensor(grad_fn(p.numpy().astype(np.float64), t), dtype=dtype)
        opt.step()
        history.append([p.numpy().copy() for p in params])
    return history, opt, params


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_formula_over_several_steps(case):
    cls, ref, kw = case
    got, _, _ = run_glassnet(cls, kw, STEPS)
    ws = initial_weights()
    states = [{} for _ in ws]
    for t in range(1, STEPS + 1):
        ws = [ref(w, grad_fn(w, t), st, t, **kw) for w, st in zip(ws, states)]
        for g_arr, w in zip(got[t - 1], ws):
            np.testing.assert_allclose(g_arr, w, rtol=1e-12, atol=1e-12)
    # The weights really moved (a no-op optimizer would fail above only by luck).
    assert not np.allclose(ws[0], initial_weights()[0])


@pytest.mark.parametrize("case", CASES[::3], ids=_id)
def test_float32_parameters_stay_float32_and_close(case):
    cls, ref, kw = case
    got32, _, params = run_glassnet(cls, kw, 3, dtype="float32")
    got64, _, _ = run_glassnet(cls, kw, 3)
    assert all(p.dtype == np.float32 for p in params)
    np.testing.assert_allclose(got32[-1][0], got64[-1][0], rtol=1e-4, atol=1e-5)


def test_per_group_options_and_defaults_merge():
    a = gn.nn.Parameter(gn.tensor([1.0, 2.0], dtype="float64"))
    b = gn.nn.Parameter(gn.tensor([1.0, 2.0], dtype="float64"))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5
    for _ in range(2):
        a.grad = gn.tensor([1.0, 1.0], dtype="float64")
        b.grad = gn.tensor([1.0, 1.0], dtype="float64")
        opt.step()
    np.testing.assert_allclose(a.numpy(), [0.8, 1.8])  # 2 plain steps of 0.1
    np.testing.assert_allclose(b.numpy(), [1 - 0.5 - 0.5 * 1.9, 2 - 0.5 - 0.5 * 1.9])
    c = gn.nn.Parameter(gn.zeros(2))
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0 and opt.param_groups[2]["lr"] == 1.0


def test_params_without_grad_are_skipped_and_versions_bumped():
    a = gn.nn.Parameter(gn.tensor([1.0]))
    b = gn.nn.Parameter(gn.tensor([1.0]))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = gn.tensor([1.0])
    va, vb = a._version, b._version
    opt.step()
    assert b.numpy()[0] == 1.0 and b not in opt.state
    assert a.numpy()[0] != 1.0 and opt.state[a]["step"] == 1
    assert a._version == va + 1 and b._version == vb
    opt.zero_grad()
    assert a.grad is None


def test_step_runs_without_recording_a_graph_and_closure_returns_loss():
    w = gn.nn.Parameter(gn.tensor([2.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    assert w.numpy()[0] == pytest.approx(1.0)  # 2 - 0.25 * 4
    assert w.is_leaf and w.requires_grad


def test_update_ratios_only_when_tracking():
    named = [("layer.weight", gn.nn.Parameter(gn.tensor([3.0, 4.0], dtype="float64")))]
    opt = optim.SGD(named, lr=0.1)
    named[0][1].grad = gn.tensor([1.0, 0.0], dtype="float64")
    opt.step()
    assert opt.update_ratios == {}
    opt.track_update_ratios = True
    named[0][1].grad = gn.tensor([1.0, 0.0], dtype="float64")
    opt.step()
    # |dw| = 0.1, |w| before = |(2.9, 4)|
    assert opt.update_ratios["layer.weight"] == pytest.approx(0.1 / math.hypot(2.9, 4.0))
    anon = gn.nn.Parameter(gn.tensor([1.0]))
    opt2 = optim.SGD([anon], lr=0.5)
    opt2.track_update_ratios = True
    anon.grad = gn.tensor([1.0])
    opt2.step()
    assert opt2.update_ratios == {0: pytest.approx(0.5)}


def test_backward_then_step_end_to_end():
    w = gn.nn.Parameter(gn.tensor([1.0, -1.0], dtype="float64"))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    ref = np.array([1.0, -1.0])
    buf = None
    for _ in range(3):
        opt.zero_grad()
        (w**3).sum().backward()
        opt.step()
        g = 3 * ref**2
        buf = g if buf is None else 0.9 * buf + g
        ref = ref - 0.1 * buf
    np.testing.assert_allclose(w.numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr=-0.1"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda p: optim.Adam(p, betas=0.9), "pair"),
        (lambda p: optim.AdamW(p, eps=-1.0), "eps"),
        (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay"),
        (lambda p: optim.Adam([{"params": p, "learning_rate": 0.1}]), "unknown option"),
        (lambda p: optim.SGD(p + p, lr=0.1), "more than once"),
        (lambda p: optim.SGD([], lr=0.1), "empty"),
    ],
)
def test_invalid_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make([gn.nn.Parameter(gn.zeros(2))])


def test_bad_params_raise_type_error():
    p = gn.nn.Parameter(gn.zeros(2))
    with pytest.raises(TypeError, match=r"wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="glassnet Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(TypeError, match="one dict"):
        optim.Adam({"params": [p]})
    x = gn.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
