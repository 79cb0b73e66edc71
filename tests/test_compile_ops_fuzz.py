"""gn.compile against eager, op by op: a replay gives eager's bits or the step runs eagerly.

Each case is a training step ``out = op(x * w, ...)``, ``loss = sum of (input * r) and
(out * r)``, ``backward()``, an SGD step, run on batches whose *values* change what a
value-dependent op computes: the first two (the captures) share masks, indices and the
positions of maxima; later ones move them, add ties and zeros, then nan and inf. A compiled
run must give the eager run's outputs, weights and gradients bit for bit, or not replay.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn

SHAPES = {"X": (4, 5), "Y": (4, 5), "S": (4, 4), "X4": (2, 3, 6, 6), "V": (5,)}


def _batches(n=6, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n):
        d = {}
        for k, shp in SHAPES.items():
            a = out[0][k] + 1e-3 * rng.standard_normal(shp) if b == 1 else rng.standard_normal(shp)
            if b == 3:  # ties and exact zeros
                a = np.round(a)
            if b == 5:  # nan and inf at new positions
                a.reshape(-1)[rng.choice(a.size, 2, replace=False)] = (np.nan, np.inf)
            d[k] = a.astype(np.float32)
        first = out[0] if b == 1 else None
        d["I"] = first["I"] if first else rng.integers(0, 4, (4, 5))
        d["C"] = first["C"] if first else rng.integers(0, 3, (4,))
        d["M"] = first["M"] if first else rng.random((4, 5)) < 0.5
        d["P"] = first["P"] if first else rng.random((4, 5)).astype(np.float32)
        if b == 4:  # a mask with another count of True entries
            d["M"] = np.zeros((4, 5), bool)
            d["M"][0] = True
        out.append(d)
    return out


BATCHES = _batches()
FIRST_I = gn.from_numpy(BATCHES[0]["I"].copy())


def _tensors(r):
    if isinstance(r, gn.Tensor):
        return [r]
    if isinstance(r, (tuple, list)):
        return [t for e in r for t in _tensors(e)]
    return []


def _run(fn, kinds, compiled):
    rng = np.random.default_rng(42)
    params = {
        k: nn.Parameter(gn.from_numpy((1 + 0.1 * rng.standard_normal(SHAPES[k])).astype("f4")))
        for k in kinds
        if k in SHAPES
    }
    rs = {k: gn.from_numpy(rng.standard_normal(SHAPES[k]).astype("f4")) for k in params}
    r_out = rng.standard_normal(4096).astype(np.float32)
    opt = gn.optim.SGD(list(params.values()), lr=0.01, momentum=0.9)

    def step(*args):
        opt.zero_grad()
        ins = [a * params[k] if k in params else a for k, a in zip(kinds, args)]
        outs = _tensors(fn(*ins))
        loss = sum((t * rs[k]).sum() for k, t in zip(kinds, ins) if k in params)
        for o in outs:
            if o.dtype.kind == "f" and o.requires_grad:
                loss = loss + (o * gn.from_numpy(r_out[: o.numel()].reshape(o.shape))).sum()
        loss.backward()
        opt.step()
        return (loss, *outs)

    step = gn.compile(step) if compiled else step
    gn.manual_seed(3)
    record = []
    for b in BATCHES:
        outs = _tensors(step(*[gn.from_numpy(np.array(b[k])) for k in kinds]))
        record.append(
            [o.numpy().copy() for o in outs]
            + [p.numpy().copy() for p in params.values()]
            + [p.grad.numpy().copy() for p in params.values()]
        )
    return record, step


def _branch(f):
    """``f``'s Python bool decides the step's arithmetic (x * 2 or x * 3)."""
    return lambda x, i: x * (2.0 if f(i) else 3.0)


CASES = {
    # value reads the step branches on: each replay would take the captured branch
    "equal_branch": (_branch(lambda i: gn.equal(i, FIRST_I)), "X I"),
    "allclose_branch": (_branch(lambda i: gn.allclose(i.float(), FIRST_I.float())), "X I"),
    # x[mask]: the result's length is the mask's count
    "getitem_mask": (lambda x, m: x[m], "X M"),
    "getitem_mask_tuple": (lambda x, m: x[m[:, 0], 1:], "X M"),
    "getitem_mask_broadcast": (lambda x, m: x[m].sum() * x, "X M"),
    # value-dependent ops that replay (recomputed from each call's tensors)
    "getitem_int": (lambda x, i: x[i[:, 0]], "X I"),
    "gather": (lambda x, i: x.gather(1, i), "X I"),
    "masked_fill": (lambda x, m: x.masked_fill(m, -1.5), "X M"),
    "where": (lambda x, m, y: gn.where(m, x, y), "X M Y"),
    "max_dim": (lambda x: gn.max(x, 1), "X"),
    "argmax": (lambda x: gn.argmax(x, 1), "X"),
    "median": (lambda x: gn.median(x), "X"),
    "amax": (lambda x: gn.amax(x, 1), "X"),
    "clamp": (lambda x, y: gn.clamp(x, min=y), "X Y"),
    "nan_to_num": (lambda x: gn.nan_to_num(x, nan=0.5, posinf=2.0), "X"),
    "nansum": (lambda x: gn.nansum(x, 1), "X"),
    "histc": (lambda x: gn.histc(x, bins=4) * x.sum(), "X"),
    "one_hot": (lambda x, c: x[:, :3] * F.one_hot(c, 3), "X C"),
    "cross_entropy": (lambda x, c: F.cross_entropy(x, c, ignore_index=1), "X C"),
    "bce": (lambda x, p: F.binary_cross_entropy(gn.sigmoid(x), p), "X P"),
    "heaviside": (lambda x, y: gn.heaviside(x, y), "X Y"),
    "count_nonzero": (lambda x: gn.count_nonzero(x.round(), 1).float() * x[:, 0], "X"),
    "cumprod": (lambda x: gn.cumprod(x.round(), 1), "X"),
    "det": (lambda s: gn.det(gn.nan_to_num(s)), "S"),
    "slogdet": (lambda s: gn.slogdet(gn.nan_to_num(s)), "S"),
    "normalize": (lambda x: F.normalize(x.round(), dim=1), "X"),
    "cdist": (lambda x, y: gn.cdist(x.round(), y.round()), "X Y"),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), "X4"),
    "pad_reflect": (lambda x: F.pad(x, (1, 1, 2, 0), mode="reflect"), "X4"),
    "local_response_norm": (lambda x: F.local_response_norm(x, 2), "X4"),
    "rms_norm": (lambda x: F.rms_norm(x, (5,)), "X"),
    "pow_int_tensor": (lambda x, i: x**i, "X I"),
    "promotion_0d_int": (lambda x, i: x * i[0, 0], "X I"),
    # random draws: each replay draws afresh, as the eager step does
    "dropout": (lambda x: F.dropout(x, 0.3), "X"),
    "dropout2d": (lambda x: F.dropout2d(x, 0.5), "X4"),
    "alpha_dropout": (lambda x: F.alpha_dropout(x, 0.3, training=True), "X"),
    "gumbel_softmax": (lambda x: F.gumbel_softmax(x, tau=0.5), "X"),
    "rand_like": (lambda x: x * gn.rand_like(x), "X"),
    "bernoulli": (lambda x, p: x * gn.bernoulli(p), "X P"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_compiled_step_matches_eager_or_runs_eagerly(name):
    fn, kinds = CASES[name]
    kinds = kinds.split()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        eager, _ = _run(fn, kinds, False)
        compiled, step = _run(fn, kinds, True)
    assert step.replays + step.eager_calls == len(BATCHES)
    for call, (a, b) in enumerate(zip(eager, compiled)):
        assert len(a) == len(b), (name, call)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and x.shape == y.shape, (name, call)
            assert x.tobytes() == y.tobytes(), (name, call, step.replays, step.reason)


@pytest.mark.parametrize("name", ["equal_branch", "allclose_branch", "getitem_mask"])
def test_value_dependent_steps_run_eagerly(name):
    """These steps cannot be replayed (a Python bool, a shape set by a mask): they run
    eagerly and say why."""
    fn, kinds = CASES[name]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _, step = _run(fn, kinds.split(), True)
    assert step.replays == 0
    assert "equal()" in step.reason or "bool()" in step.reason or "mask" in step.reason


def test_integer_index_and_multiplied_mask_steps_still_replay():
    for name in ("getitem_int", "masked_fill", "where", "dropout"):
        fn, kinds = CASES[name]
        with np.errstate(all="ignore"):
            _, step = _run(fn, kinds.split(), True)
        assert step.replays == len(BATCHES) - 2, (name, step.reason)


@pytest.mark.parametrize("op", ["mvlgamma", "cov_fweights"])
def test_a_replay_rejects_what_eager_rejects(op):
    """mvlgamma's domain (x > (p - 1) / 2) and cov's non-negative weights are value checks:
    a replayed step raises on the batch that eager mode rejects (it returned nan / a
    covariance from negative weights)."""
    w = nn.Parameter(gn.ones(4, 5))
    opt = gn.optim.SGD([w], lr=0.0)

    def step(x, f):
        opt.zero_grad()
        if op == "mvlgamma":
            loss = gn.mvlgamma(x * w, 2).sum()
        else:
            loss = gn.cov(x * w, fweights=f).sum()
        loss.backward()
        opt.step()
        return loss

    fast = gn.compile(step)
    x, f = gn.full((4, 5), 2.0), gn.tensor([1, 2, 1, 1, 3])
    for _ in range(3):
        fast(x + gn.rand(4, 5), f)
    assert fast.replays == 1
    bad = (gn.full((4, 5), 0.2), f) if op == "mvlgamma" else (x, gn.tensor([1, -2, 1, 1, 3]))
    with pytest.raises(ValueError, match="mvlgamma: all elements|cov: fweights"):
        step(*bad)
    with pytest.raises(ValueError, match="mvlgamma: all elements|cov: fweights"):
        fast(*bad)


def test_a_step_whose_gradients_hold_nan_still_replays_and_matches_eager():
    """A nan gradient left as backward wrote it is not a change between backward and step."""

    def make():
        w = gn.nn.Parameter(gn.tensor(np.array([0.5, -0.3, 2.0])))
        opt = gn.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = gn.lgamma(x * w).sum()  # lgamma'(0) is nan: the third gradient is nan
            loss.backward()
            opt.step()
            return loss

        return w, step

    (w_eager, eager), (w_comp, step) = make(), make()
    compiled = gn.compile(step)
    with np.errstate(all="ignore"):
        for x in ([1.0, 2.0, 0.0], [1.5, 0.7, 0.0], [0.3, 1.1, 0.0], [2.0, 3.0, 1.0]):
            a, b = eager(gn.tensor(np.array(x))), compiled(gn.tensor(np.array(x)))
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            np.testing.assert_array_equal(w_eager.numpy(), w_comp.numpy())
    assert compiled.replays >= 2, compiled.reason
