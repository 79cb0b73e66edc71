"""The fused optimizer step (optim/fused.py) against the per-parameter loop (``foreach=False``).

The per-parameter loop is the reference: it is the code every optimizer test checks against
PyTorch's formulas. The fused step must give the same bits (elementwise updates over blocks of
flat buffers), for every thread count, through checkpoints and with replaced parameters.
The fused step is a CPU path: every tensor here is made on the CPU, also when the suite runs on
the simulated device (where optimizers keep the per-parameter loop).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import get_default_device, jit, parallel, set_default_device
from glassnet.optim import fused

# Shapes that give blocks inside one parameter, blocks spanning several, a scalar-like one.
SHAPES = [(7, 13), (300,), (1,), (5, 4, 3), (2, 50)]

CASES = {
    "sgd": (gn.optim.SGD, {"lr": 0.1}, {"lr": 0.05, "weight_decay": 0.1}),
    "sgd-momentum": (gn.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1},
                     {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01}),
    "sgd-momentum-plain": (gn.optim.SGD, {"lr": 0.1, "momentum": 0.9},  # the fused kernel's
                           {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01}),
    "adam": (gn.optim.Adam, {"lr": 0.01}, {"lr": 0.1, "betas": (0.8, 0.9), "weight_decay": 0.1,
                                           "amsgrad": True}),
    "adamw": (gn.optim.AdamW, {"lr": 0.01, "maximize": True}, {"lr": 0.1, "eps": 1e-3}),
    "rmsprop": (gn.optim.RMSprop, {"lr": 0.01}, {"lr": 0.02, "momentum": 0.9, "centered": True,
                                                 "weight_decay": 0.1}),
    "adagrad": (gn.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}, {"lr": 0.2, "weight_decay": 0.1}),
}  # fmt: skip


@pytest.fixture(autouse=True)
def on_cpu():
    before = get_default_device()
    set_default_device("cpu")
    yield
    set_default_device(before)


def cpu(array):
    return gn.from_numpy(array).to("cpu")


def make(case: str, foreach, dtype=np.float32):
    cls, opts_a, opts_b = CASES[case]
    rng = np.random.default_rng(1)
    params = [gn.nn.Parameter(cpu(rng.standard_normal(s).astype(dtype))) for s in SHAPES]
    groups = [{"params": params[:3], **opts_a}, {"params": params[3:], **opts_b}]
    return params, cls(groups, foreach=foreach)


def train(params, opt, steps: int, seed: int = 2, skip=None) -> None:
    rng = np.random.default_rng(seed)
    for t in range(steps):
        for i, p in enumerate(params):
            g = rng.standard_normal(p.shape).astype(p.dtype)
            p.grad = None if (skip and skip(t, i)) else cpu(g)
        opt.step()


def assert_same(pa, oa, pb, ob) -> None:
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), strict=True)
        sa, sb = oa.state[a], ob.state[b]
        assert sorted(sa) == sorted(sb)
        for k in sa:
            np.testing.assert_array_equal(np.asarray(sa[k]), np.asarray(sb[k]), strict=True)


@pytest.fixture(params=[1, 3, 64])
def small_blocks(request, monkeypatch):
    """Blocks of a few elements, so that most cross parameter boundaries."""
    monkeypatch.setattr(fused, "BLOCK", request.param)
    return request.param


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_step_is_bit_identical_to_per_parameter_loop(case, small_blocks):
    pa, ref = make(case, foreach=False)
    pb, opt = make(case, foreach=None)
    train(pa, ref, 5)
    train(pb, opt, 5)
    assert not ref._fused and len(opt._fused) == 2  # both groups ran fused (steps 2 to 5)
    assert pb[0]._data.base is not None  # the parameters are views of the flat buffer
    assert_same(pa, ref, pb, opt)


@pytest.mark.parametrize("n_threads", [1, 2, 3, 4])
@pytest.mark.parametrize("case", ["adamw", "sgd-momentum", "rmsprop"])
def test_fused_step_is_bit_identical_for_any_thread_count(case, n_threads, monkeypatch):
    monkeypatch.setitem(jit._STATE, "native_off", True)  # the blocks on the pool
    monkeypatch.setattr(fused, "BLOCK", 16)
    monkeypatch.setattr(parallel, "MIN_BLOCK_ELEMENTS", 1)  # split even these small arrays
    monkeypatch.setattr(fused, "STEP_SPLIT_BLOCKS", 1)
    seen, calls = set(), []
    real = fused.parallel_for

    def spy(n_items, fn, **kwargs):
        def block(start, stop):
            seen.add(threading.get_ident())
            calls.append((start, stop))
            fn(start, stop)

        real(n_items, block, **kwargs)

    monkeypatch.setattr(fused, "parallel_for", spy)
    pa, ref = make(case, foreach=False)
    pb, opt = make(case, foreach=None)
    train(pa, ref, 4)
    with parallel.threads(n_threads):
        train(pb, opt, 4)
    # steps 2-4 fused: inline (one block per group) with one thread, split with more (up to
    # parallel.BLOCKS_PER_THREAD blocks per thread, taken first come first served, so a pool
    # thread may find none left: more than one thread is not promised)
    one_each = 3 * len(opt.param_groups)
    assert len(calls) == one_each if n_threads == 1 else len(calls) > one_each
    assert len(seen) == 1 if n_threads == 1 else len(seen) >= 1
    assert_same(pa, ref, pb, opt)


@pytest.mark.parametrize("case", ["adamw", "sgd-momentum-plain"])
def test_fused_step_as_one_kernel_on_openmp_threads(case, native_launches):
    """Where the kernels run on OpenMP's threads, a fused step of Adam(W) or SGD with
    momentum is one kernel launch over each group's whole flat buffer, split over the
    threads, with the per-parameter step's bits for any thread count."""
    launches = native_launches
    pa, ref = make(case, foreach=False)
    train(pa, ref, 4)
    for n_threads in (1, 2, 3):
        pb, opt = make(case, foreach=None)
        launches.clear()
        with parallel.threads(n_threads):
            train(pb, opt, 4)
        sizes = sorted(sum(p.numel() for p in g["params"]) for g in opt.param_groups)
        if n_threads > 1:  # steps 2-4: one launch per group, over its whole buffer
            whole = [(rows, blocks) for _, rows, blocks in launches if rows in sizes]
            assert sorted(rows for rows, _ in whole) == sorted(sizes * 3)
            assert min(blocks for _, blocks in whole) > 1
        assert_same(pa, ref, pb, opt)


@pytest.mark.parametrize("split_blocks, splits", [(None, False), (2, True)])
def test_a_step_splits_over_threads_only_from_step_split_blocks(
    monkeypatch, block_counts, split_blocks, splits
):
    """The default keeps small and mid-size steps on the calling thread (a split was
    measured slower); a step of at least twice STEP_SPLIT_BLOCKS blocks splits."""
    monkeypatch.setattr(fused, "BLOCK", 16)
    monkeypatch.setattr(parallel, "MIN_BLOCK_ELEMENTS", 1)
    if split_blocks is not None:
        monkeypatch.setattr(fused, "STEP_SPLIT_BLOCKS", split_blocks)
    pa, ref = make("sgd-momentum", foreach=False)
    pb, opt = make("sgd-momentum", foreach=None)
    n_blocks = max(-(-sum(p.numel() for p in g["params"]) // 16) for g in opt.param_groups)
    assert n_blocks < 2 * fused.STEP_SPLIT_BLOCKS or splits
    train(pa, ref, 1)
    train(pa, ref, 1)  # the same gradients twice, as below
    train(pb, opt, 1)
    with parallel.threads(2):
        block_counts.clear()
        train(pb, opt, 1)  # the second step: fused
    assert bool(block_counts) == splits
    assert_same(pa, ref, pb, opt)


def test_float64_and_state_dict_round_trip():
    pa, ref = make("adam", foreach=False, dtype=np.float64)
    pb, opt = make("adam", foreach=None, dtype=np.float64)
    train(pa, ref, 3)
    train(pb, opt, 3)
    saved = opt.state_dict()
    bufs = [b for g in opt._fused.values() for b in (g.param_buf, *g.state_bufs.values())]
    for st in saved["state"].values():  # copies, not views of the flat buffers
        assert not any(
            np.shares_memory(v, b) for v in st.values() if hasattr(v, "shape") for b in bufs
        )
    # a fresh optimizer on copies of the weights, resumed from the saved state
    pc = [gn.nn.Parameter(cpu(p.numpy().copy())) for p in pb]
    opt_c = type(opt)([{"params": pc[:3]}, {"params": pc[3:]}], foreach=None)
    opt_c.load_state_dict(saved)
    # and the same optimizer reloaded in place (its buffers are replaced, then rebuilt)
    opt.load_state_dict(saved)
    for params, o in ((pa, ref), (pb, opt), (pc, opt_c)):
        train(params, o, 3, seed=5)
    assert len(opt._fused) == 2 and len(opt_c._fused) == 2
    assert_same(pa, ref, pb, opt)
    assert_same(pa, ref, pc, opt_c)


def test_replaced_parameter_and_missing_gradient_fall_back_with_same_numbers():
    pa, ref = make("sgd-momentum", foreach=False)
    pb, opt = make("sgd-momentum", foreach=None)
    train(pa, ref, 3)
    train(pb, opt, 3)
    for ps in (pa, pb):  # p.data = ...: a new array that is not a view of the flat buffer
        ps[1].data = cpu(ps[1].numpy() * 0.5)
    skip = lambda t, i: t == 1 and i == 4  # noqa: E731 - one step with a parameter left out
    train(pa, ref, 4, seed=7, skip=skip)
    train(pb, opt, 4, seed=7, skip=skip)
    assert_same(pa, ref, pb, opt)
    assert pb[1]._data.base is not None  # rebuilt around the new array


def test_tracked_update_ratios_and_other_optimizers_use_the_loop():
    pb, opt = make("adam", foreach=None)
    opt.track_update_ratios = True
    train(pb, opt, 3)
    assert not opt._fused and len(opt.update_ratios) == len(SHAPES)
    params = [gn.nn.Parameter(cpu(np.ones(3, np.float32)))]
    adamax = gn.optim.Adamax(params)
    train(params, adamax, 3)
    assert not adamax.__dict__.get("_fused")


def test_a_subclass_with_its_own_update_is_not_fused_unless_it_says_so():
    class Clipped(gn.optim.Adam):  # not elementwise-checked by glassnet: the loop runs it
        def update(self, param, grad, state, group):
            super().update(param, np.clip(grad, -0.5, 0.5), state, group)

    class Declared(Clipped):
        elementwise = True

    results = []
    for cls in (Clipped, Declared):
        params = [gn.nn.Parameter(cpu(np.ones(n, np.float32))) for n in (40, 7)]
        opt = cls(params, lr=0.1)
        train(params, opt, 3)
        results.append([p.numpy() for p in params])
        assert bool(opt._fused) == (cls is Declared)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b, strict=True)
