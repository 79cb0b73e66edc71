"""Optimizer state_dict round trips (through JSON + arrays) and convergence on convex problems."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.backend import to_numpy

CONFIGS = [
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    (optim.Adam, {"lr": 0.05, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
    (optim.Adadelta, {"lr": 0.5, "weight_decay": 1e-3}),
    (optim.Adamax, {"lr": 0.05}),
    (optim.NAdam, {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    (optim.RAdam, {"lr": 0.05, "betas": (0.9, 0.6)}),
]


def _ids(c):
    return c[0].__name__


def make_params():
    rng = np.random.default_rng(1)
    return [
        gn.nn.Parameter(gn.tensor(rng.standard_normal((4, 3)), dtype="float32")),
        gn.nn.Parameter(gn.tensor(rng.standard_normal(3), dtype="float32")),
    ]


def set_grads(params, t):
    for i, p in enumerate(params):
        w = p.numpy()
        p.grad = gn.tensor(np.sin(w * (i + 1)) + 0.01 * t, dtype="float32")


def to_checkpoint(sd):
    """Split a state_dict as a checkpoint writer would: arrays apart, the rest through JSON."""
    arrays, state = {}, {}
    for idx, st in sd["state"].items():
        state[str(idx)] = {}
        for k, v in st.items():
            if hasattr(v, "shape"):
                arrays[f"{idx}.{k}"] = np.array(to_numpy(v))
                state[str(idx)][k] = {"array": f"{idx}.{k}"}
            else:
                state[str(idx)][k] = v
    meta = json.loads(json.dumps({"state": state, "param_groups": sd["param_groups"]}))
    for st in meta["state"].values():
        for k, v in st.items():
            if isinstance(v, dict):
                st[k] = arrays[v["array"]]
    return meta


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_state_dict_round_trip_continues_identically(config):
    cls, kw = config
    params = make_params()
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": kw["lr"] / 2}], **kw)
    for t in range(3):
        set_grads(params, t)
        opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["state"][0]["step"] == 3
    checkpoint = to_checkpoint(sd)
    # A fresh model and optimizer, restored from the checkpoint.
    clones = [gn.nn.Parameter(gn.tensor(p.numpy().copy())) for p in params]
    opt2 = cls([{"params": clones[:1]}, {"params": clones[1:]}], **kw)
    opt2.load_state_dict(checkpoint)
    assert opt2.param_groups[1]["lr"] == kw["lr"] / 2
    assert opt2.step_count == 3
    for t in range(3, 6):
        set_grads(params, t)
        set_grads(clones, t)
        opt.step()
        opt2.step()
    for p, c in zip(params, clones):
        np.testing.assert_array_equal(p.numpy(), c.numpy())  # bit-identical


def test_state_dict_arrays_are_copies_and_betas_come_back_as_tuple():
    params = make_params()
    opt = optim.Adam(params, lr=0.1, betas=(0.8, 0.95))
    set_grads(params, 0)
    opt.step()
    sd = opt.state_dict()
    saved = to_numpy(sd["state"][0]["exp_avg"]).copy()
    set_grads(params, 1)
    opt.step()
    np.testing.assert_array_equal(to_numpy(sd["state"][0]["exp_avg"]), saved)
    opt.load_state_dict(json.loads(json.dumps({"state": {}, "param_groups": sd["param_groups"]})))
    assert opt.param_groups[0]["betas"] == (0.8, 0.95)


def test_load_state_dict_rejects_mismatches():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    set_grads(params, 0)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="groups"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="saved"):
        optim.Adam(params[:1]).load_state_dict(sd)
    swapped = [params[1], params[0]]
    with pytest.raises(ValueError, match="shape"):
        optim.Adam(swapped).load_state_dict(sd)


@pytest.mark.parametrize(
    "cls, kw, steps",
    [
        (optim.SGD, {"lr": 0.1}, 300),
        (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}, 200),
        (optim.Adam, {"lr": 0.05}, 400),
        (optim.AdamW, {"lr": 0.05, "weight_decay": 0.0}, 400),
        (optim.RMSprop, {"lr": 0.01, "centered": True}, 400),
        (optim.Adagrad, {"lr": 0.5}, 400),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_converges_on_least_squares(cls, kw, steps):
    """min_w ||A w - b||^2 / n: a well-conditioned convex problem with a known solution."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 5))
    w_star = rng.standard_normal(5)
    b = a @ w_star
    x, y = gn.tensor(a, dtype="float64"), gn.tensor(b, dtype="float64")
    w = gn.nn.Parameter(gn.zeros(5, dtype="float64"))
    opt = cls([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.numpy(), w_star, atol=2e-2)
