"""gn.compile: replayed steps are bit-identical to eager steps; fallbacks run eagerly."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.backend import to_numpy


def _mlp(opt_name: str, dropout: float = 0.0):
    gn.manual_seed(0)
    layers = [nn.Linear(8, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    model = nn.Sequential(*layers, nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))
    params = model.parameters()
    if opt_name == "sgd":
        opt = gn.optim.SGD(params, lr=0.1, momentum=0.9)
    elif opt_name == "sgd_nesterov_wd":
        opt = gn.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)
    elif opt_name == "adam":
        opt = gn.optim.Adam(params, lr=1e-2)
    else:
        opt = gn.optim.AdamW(params, lr=1e-2, weight_decay=0.1)
    return model, opt, _train_step(model, opt)


def _train_step(model, opt):
    """A plain training step (cross-entropy, backward, optimizer step) for gn.compile."""

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _batches(n=8, batch=5, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (
            gn.from_numpy(rng.standard_normal((batch, 8)).astype(np.float32)),
            gn.from_numpy(rng.integers(0, 4, batch)),
        )
        for _ in range(n)
    ]


def _assert_same_state(m1, o1, m2, o2):
    for (name, p), (_, q) in zip(m1.named_parameters(), m2.named_parameters()):
        assert np.array_equal(p.numpy(), q.numpy()), name
        assert np.array_equal(p.grad.numpy(), q.grad.numpy()), name
        s1, s2 = o1.state[p], o2.state[q]
        assert s1.keys() == s2.keys()
        for k in s1:
            assert np.array_equal(to_numpy(s1[k]), to_numpy(s2[k])), (name, k)
    assert o1.step_count == o2.step_count


def _replay_matches_eager(build, batches):
    """Two fresh copies of ``build()``'s (params, step), one run eagerly and one compiled, on
    ``batches``: the same losses bit for bit, then the same parameters and gradients."""
    p1, eager = build()
    p2, step = build()
    fast = gn.compile(step)
    for x, y in batches:
        assert eager(x, y).numpy().tobytes() == fast(x, y).numpy().tobytes()
    for p, q in zip(p1, p2):
        assert np.array_equal(p.numpy(), q.numpy())
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())
    return fast


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("opt_name", ["sgd", "sgd_nesterov_wd", "adam", "adamw"])
def test_replay_bit_identical_to_eager(opt_name, flat):
    m1, o1, eager = _mlp(opt_name)
    m2, o2, step = _mlp(opt_name)
    fast = gn.compile(step, flat=flat)
    for x, y in _batches():
        a, b = eager(x, y), fast(x, y)
        assert a.numpy().tobytes() == b.numpy().tobytes()
    assert fast.replays == 6 and fast.eager_calls == 2 and fast.reason is None
    _assert_same_state(m1, o1, m2, o2)


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_flat_step_in_blocks_on_two_threads_bit_identical_to_eager(
    host_device, monkeypatch, block_counts, opt_name
):
    """The flat step runs the update in blocks (here of 50 elements, across parameter
    boundaries) spread over two threads: the same bits as eager's per-parameter step."""
    import glassnet._flat
    import glassnet.optim.fused
    from glassnet.backend import jit, parallel

    monkeypatch.setitem(jit._STATE, "native_off", True)  # the pool's path (no OpenMP)

    monkeypatch.setattr(glassnet._flat, "BLOCK", 50)
    monkeypatch.setattr(glassnet.optim.fused, "STEP_SPLIT_BLOCKS", 1)
    update_blocks = []

    def spy(n_items, fn, **kw):
        update_blocks.append(n_items)
        block_counts.clear()
        parallel.parallel_for(n_items, fn, **kw)
        update_blocks.append(max(block_counts, default=0))  # the pool's parts

    monkeypatch.setattr(glassnet._flat, "parallel_for", spy)
    previous = gn.get_num_threads()
    gn.set_num_threads(2)
    try:
        m1, o1, eager = _mlp(opt_name)
        m2, o2, step = _mlp(opt_name)
        fast = gn.compile(step)
        for x, y in _batches():
            a, b = eager(x, y), fast(x, y)
            assert a.numpy().tobytes() == b.numpy().tobytes()
    finally:
        gn.set_num_threads(previous)
    assert fast.replays == 6
    n_params = sum(p.numel() for p in m2.parameters())
    assert update_blocks[0] == -(-n_params // 50)  # blocks of 50 elements
    assert len(update_blocks) == 2 * 6 and min(update_blocks[1::2]) > 1  # on both threads
    _assert_same_state(m1, o1, m2, o2)


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_flat_step_as_one_kernel_on_openmp_threads_bit_identical_to_eager(
    host_device, native_launches, opt_name
):
    """Where the kernels run on OpenMP's threads, the flat step is one fused kernel over the
    whole flat buffer, split over both threads: the same bits as eager's per-parameter step
    (which takes the same kernel per parameter)."""
    launches = native_launches
    kernel = "sgd_momentum_range" if opt_name == "sgd" else "adam_range"
    previous = gn.get_num_threads()
    gn.set_num_threads(2)
    try:
        m1, o1, eager = _mlp(opt_name)
        m2, o2, step = _mlp(opt_name)
        n_params = sum(p.numel() for p in m2.parameters())
        fast = gn.compile(step)
        for x, y in _batches():
            a = eager(x, y)
            launches.clear()
            b = fast(x, y)
            assert a.numpy().tobytes() == b.numpy().tobytes()
            if fast.replays:  # one launch over the whole flat buffer, on both threads
                assert [r for r in launches if r[0] == kernel] == [(kernel, n_params, 2)]
    finally:
        gn.set_num_threads(previous)
    assert fast.replays == 6
    _assert_same_state(m1, o1, m2, o2)


def _written_in_place(monkeypatch):
    """Spy on the flat buffers' accumulate: per call, whether the op wrote the gradient into
    the parameter's flat view itself (grad_out) or it was copied there."""
    import glassnet._flat

    seen = []
    accumulate = glassnet._flat.FlatOptimizer.accumulate

    def spy(self, t, g):
        seen.append(g is self.grad_view(t))
        return accumulate(self, t, g)

    monkeypatch.setattr(glassnet._flat.FlatOptimizer, "accumulate", spy)
    return seen


def test_linear_weight_gradients_go_straight_into_the_flat_buffers(monkeypatch):
    m1, o1, eager = _mlp("sgd")
    m2, o2, step = _mlp("sgd")
    fast = gn.compile(step)
    seen = _written_in_place(monkeypatch)
    for x, y in _batches():
        assert eager(x, y).numpy().tobytes() == fast(x, y).numpy().tobytes()
    # per replay: the 3 weights written by their Linear op, the 3 biases copied
    assert fast.replays == 6 and seen.count(True) == 3 * 6 and seen.count(False) == 3 * 6
    _assert_same_state(m1, o1, m2, o2)


def test_a_weight_used_twice_sums_its_gradients_as_eager(monkeypatch):
    """A tied weight gets two contributions: none of them may overwrite the buffer."""

    def build():
        gn.manual_seed(0)
        layer, head = nn.Linear(8, 8), nn.Linear(8, 4)
        params = list(layer.parameters()) + list(head.parameters())
        opt = gn.optim.SGD(params, lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(head(F.relu(layer(F.relu(layer(x))))), y)
            loss.backward()
            opt.step()
            return loss

        return params, step

    seen = _written_in_place(monkeypatch)
    fast = _replay_matches_eager(build, _batches())
    assert fast.replays == 6 and seen.count(True) == 6  # only the head's weight, per replay


def test_a_step_of_small_products_switches_the_blas_count_once_per_replay(
    host_device, fake_openblas
):
    """The first replay switches OpenBLAS to one thread around each product; having seen
    only small products, the next ones switch once (backend.blas_region)."""
    from glassnet.backend import parallel

    calls = fake_openblas
    m1, o1, eager = _mlp("sgd")
    m2, o2, step = _mlp("sgd")
    fast = gn.compile(step)
    per_call = []
    for x, y in _batches(5):
        eager(x, y)
        calls.clear()
        fast(x, y)
        per_call.append(list(calls))
        assert parallel._get_blas_threads() == 2
    # 3 products forward, 5 backward: switched around each while capturing (eager) and in
    # the first replay; then once per replay
    assert per_call[2] == [1, 2] * 8 and per_call[3] == per_call[4] == [1, 2]
    _assert_same_state(m1, o1, m2, o2)


def test_a_tensor_used_four_times_gets_the_sum_of_its_gradients_as_eagerly():
    """The replay adds a third and fourth gradient part into the sum it made for the second
    (in place): the bits of eager's new arrays, and no array shared with another gradient."""

    def build():
        gn.manual_seed(0)
        lin, heads = nn.Linear(8, 8), [nn.Linear(8, 4) for _ in range(3)]
        params = list(lin.parameters()) + [p for h in heads for p in h.parameters()]
        opt = gn.optim.SGD(params, lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            h = F.relu(lin(x))
            z = heads[0](h) + heads[1](h) * heads[2](h) + h[:, :4]  # h used four times
            loss = F.cross_entropy(z, y)
            loss.backward()
            opt.step()
            return loss

        return params, step

    assert _replay_matches_eager(build, _batches()).replays == 6


@pytest.mark.parametrize("order", [0, 1, 2])
def test_a_gradient_part_shared_by_two_tensors_is_never_added_into(order):
    """An addition hands one array to both its inputs; a's other parts must not be added
    into it in place (b's gradient would change): the replay gives eager's gradients."""

    def build():
        gn.manual_seed(0)
        a, b = nn.Parameter(gn.randn(5)), nn.Parameter(gn.randn(5))
        w, v, u = gn.randn(5), gn.randn(5), gn.randn(5)
        opt = gn.optim.SGD([a, b], lr=0.1)

        def step(x, y):
            opt.zero_grad()
            terms = [lambda: ((a + b) * w * x).sum(), lambda: (a * v * x).sum()]
            terms.insert(order, lambda: (a * u * x).sum())
            terms = terms[order:] + terms[:order]
            loss = terms[0]() + terms[1]() + terms[2]()
            loss.backward()
            opt.step()
            return loss

        return (a, b), step

    # a sum of 0-d losses: NumPy scalars between the ops
    batches = [(gn.tensor(np.float32(1.0 + i)), gn.tensor(np.float32(0))) for i in range(5)]
    fast = _replay_matches_eager(build, batches)
    assert fast.replays == 3 and fast.reason is None


def test_a_loss_plus_a_penalty_replays():
    """loss + 0.01 * penalty adds two 0-d results: NumPy returns a scalar, which takes no
    weak reference (capture used to fail with a TypeError)."""

    def build():
        gn.manual_seed(0)
        model = nn.Linear(8, 4)
        opt = gn.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y) + 0.01 * (model.weight**2).sum()
            loss.backward()
            opt.step()
            return loss

        return list(model.parameters()), step

    fast = _replay_matches_eager(build, _batches())
    assert fast.replays == 6 and fast.reason is None


def test_flat_buffers_alias_parameters_and_state(host_device):  # inspects host memory
    model, opt, step = _mlp("adam")
    fast = gn.compile(step)
    for x, y in _batches(4):
        fast(x, y)
    params = list(model.parameters())
    bases = {p._data.base.__array_interface__["data"][0] for p in params}
    assert len(bases) == 1  # every parameter is a view of one buffer
    assert all(opt.state[p]["exp_avg"].base is not None for p in params)


def test_shape_change_falls_back_to_eager_and_returns():
    m1, o1, eager = _mlp("sgd")
    m2, o2, step = _mlp("sgd")
    fast = gn.compile(step)
    small = _batches(3, batch=3, seed=2)
    seq = _batches(4) + small[:1] + _batches(2, seed=3) + small[1:]
    for x, y in seq:
        assert eager(x, y).item() == fast(x, y).item()
    # batch 5: 2 captures + 4 replays; batch 3: captured twice (eager), then replayed once
    assert fast.replays == 5
    _assert_same_state(m1, o1, m2, o2)


def test_dropout_rng_inside_ops_replays_identically():
    m1, o1, eager = _mlp("adam", dropout=0.3)
    m2, o2, step = _mlp("adam", dropout=0.3)
    fast = gn.compile(step)
    gn.manual_seed(5)
    ref = [eager(x, y).item() for x, y in _batches()]
    gn.manual_seed(5)
    got = [fast(x, y).item() for x, y in _batches()]
    assert ref == got and fast.replays == 6
    _assert_same_state(m1, o1, m2, o2)


def test_embedding_indices_are_inputs_not_constants():
    def build():
        gn.manual_seed(0)
        emb, head = nn.Embedding(10, 6), nn.Linear(6, 10)
        opt = gn.optim.Adam(list(emb.parameters()) + list(head.parameters()), lr=1e-2)

        def step(idx, y):
            opt.zero_grad()
            loss = F.cross_entropy(head(emb(idx)).reshape(-1, 10), y.reshape(-1))
            loss.backward()
            opt.step()
            return loss

        return emb, step

    rng = np.random.default_rng(0)
    data = [(gn.from_numpy(rng.integers(0, 10, (2, 3))), gn.from_numpy(rng.integers(0, 10, (2, 3))))
            for _ in range(6)]  # fmt: skip
    (e1, eager), (e2, step) = build(), build()
    fast = gn.compile(step)
    assert [eager(*b).item() for b in data] == [fast(*b).item() for b in data]
    assert fast.replays == 4
    assert np.array_equal(e1.weight.numpy(), e2.weight.numpy())


def test_unreplayable_steps_run_eagerly_with_a_reason():
    m1, o1, _ = _mlp("sgd")
    m2, o2, _ = _mlp("sgd")

    def make(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            gn.clip_grad_norm(model.parameters(), 0.01)  # array code outside the ops
            opt.step()
            return loss

        return step

    eager, fast = make(m1, o1), gn.compile(make(m2, o2))
    for x, y in _batches(5):
        assert eager(x, y).item() == fast(x, y).item()
    assert fast.replays == 0 and "clip_grad_norm" in fast.reason
    _assert_same_state(m1, o1, m2, o2)


def test_returning_a_python_float_is_refused():
    _, _, step = _mlp("sgd")
    fast = gn.compile(lambda x, y: step(x, y).item())
    vals = [fast(x, y) for x, y in _batches(4)]
    assert all(isinstance(v, float) for v in vals)
    assert fast.replays == 0 and "loss.item()" in fast.reason


def test_state_dict_reload_drops_flat_buffers_but_stays_identical():
    m1, o1, eager = _mlp("adam")
    m2, o2, step = _mlp("adam")
    fast = gn.compile(step)
    batches = _batches()
    for x, y in batches[:4]:
        assert eager(x, y).item() == fast(x, y).item()
    o1.load_state_dict(o1.state_dict())
    o2.load_state_dict(o2.state_dict())  # new state arrays: no longer the flat views
    for x, y in batches[4:]:
        assert eager(x, y).item() == fast(x, y).item()
    _assert_same_state(m1, o1, m2, o2)


def test_compile_rejects_non_callables():
    with pytest.raises(TypeError, match="compile"):
        gn.compile(3)


def test_grads_set_to_none_by_hand_inside_the_step():
    """The bench_ops pattern: no optimizer, p.grad = None in the step, grads returned."""

    def build():
        gn.manual_seed(0)
        w = gn.nn.Parameter(gn.randn(8, 4))
        b = gn.nn.Parameter(gn.randn(4))

        def step(x):
            w.grad = b.grad = None
            h = gn.ops.relu(x @ w + b).sum()
            h.backward()
            return h

        return (w, b), step

    (p1, eager), (p2, step) = build(), build()
    fast = gn.compile(step)
    for x, _ in _batches(6):
        assert eager(x).item() == fast(x).item()
        for a, b in zip(p1, p2):
            assert np.array_equal(a.grad.numpy(), b.grad.numpy())
    assert fast.replays == 4


def test_gradients_accumulated_across_calls_are_not_replayed_wrongly():
    (m1, _, _), (m2, _, _) = _mlp("sgd"), _mlp("sgd")

    def make(model):
        def step(x, y):  # no zero_grad: .grad accumulates from call to call
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss

        return step

    eager, fast = make(m1), gn.compile(make(m2))
    for x, y in _batches(5):
        assert eager(x, y).item() == fast(x, y).item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())
    assert fast.replays == 0 and "backward" in fast.reason  # the two captures disagree


def test_step_may_return_parameter_gradients():
    def build():
        gn.manual_seed(0)
        w = gn.nn.Parameter(gn.randn(8, 4))

        def step(x):
            w.grad = None
            loss = (x @ w).tanh().sum()
            loss.backward()
            return loss, [w.grad]

        return step

    eager, fast = build(), gn.compile(build())
    for x, _ in _batches(5):
        (l1, (g1,)), (l2, (g2,)) = eager(x), fast(x)
        assert l1.item() == l2.item() and np.array_equal(g1.numpy(), g2.numpy())
    assert fast.replays == 3


def test_in_place_changes_such_as_batchnorm_running_stats_run_eagerly():
    def build():
        gn.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 4))
        opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, _train_step(model, opt)

    (m1, eager), (m2, step) = build(), build()
    fast = gn.compile(step)
    for x, y in _batches(5):
        assert eager(x, y).item() == fast(x, y).item()
    assert fast.replays == 0 and "in place" in fast.reason
    assert np.array_equal(m1[1].running_mean.numpy(), m2[1].running_mean.numpy())


# -- no process-wide patching: a capture in one thread, eager steps in another ------------------
def test_a_capture_in_one_thread_is_invisible_to_an_eager_step_in_another():
    import threading

    gn.manual_seed(0)
    model_a, model_b = gn.nn.Linear(4, 3), gn.nn.Linear(4, 3)
    opt_a = gn.optim.SGD(model_a.parameters(), lr=0.1)
    opt_b = gn.optim.SGD(model_b.parameters(), lr=0.1)
    x, y = gn.randn(8, 4), gn.randn(8, 3)

    def step_a(x, y):
        opt_a.zero_grad()
        loss = F.mse_loss(model_a(x), y)
        loss.backward()
        opt_a.step()
        return loss

    reference = gn.nn.Linear(4, 3)
    reference.load_state_dict(model_b.state_dict())
    ref_opt = gn.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(20):  # what the eager thread must compute, undisturbed
        ref_opt.zero_grad()
        F.mse_loss(reference(x), y).backward()
        ref_opt.step()

    fast = gn.compile(step_a)
    inside_capture = threading.Event()
    eager_done = threading.Event()
    errors, results = [], []

    def capturing():
        try:
            # ops inside this capture wait for the eager thread: both run at the same time
            def slow_step(x, y):
                out = step_a(x, y)
                inside_capture.set()
                eager_done.wait(10)
                return out

            slow = gn.compile(slow_step)
            for _ in range(3):  # the first capture overlaps the eager thread's 20 steps
                slow(x, y)
            results.append(slow)
            for _ in range(4):
                fast(x, y)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def eager():
        try:
            inside_capture.wait(10)
            with gn.no_grad():  # a no_grad block here must not switch off the other thread
                pass
            for _ in range(20):
                opt_b.zero_grad()
                F.mse_loss(model_b(x), y).backward()
                opt_b.step()
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            eager_done.set()

    threads = [threading.Thread(target=capturing), threading.Thread(target=eager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert fast.replays >= 2 and fast.reason is None
    # the overlapping capture recorded only its own thread's ops and backward: replayable
    (slow,) = results
    assert slow.reason is None and slow.replays >= 1
    # the eager thread's ops were not recorded into the capture and its steps were its own
    np.testing.assert_array_equal(model_b.weight.numpy(), reference.weight.numpy())


def test_grad_mode_is_per_thread():
    import threading

    seen = []
    with gn.no_grad():
        t = threading.Thread(target=lambda: seen.append(gn.is_grad_enabled()))
        t.start()
        t.join()
        assert not gn.is_grad_enabled()
    assert seen == [True]


def test_compile_accepts_a_module():
    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), gn.nn.Linear(4, 2))
    fast = gn.compile(model)
    x = gn.randn(5, 3)
    with gn.no_grad():
        outs = [fast(x) for _ in range(4)]
        expected = model(x)
    for out in outs:
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert fast._step.replays >= 1
    # with grad on, a compiled module stays in the graph (runs eagerly): same gradients
    loss = fast(x).sum()
    loss.backward()
    assert model[0].weight.grad is not None
    assert list(fast.parameters()) == list(model.parameters())


def _compiled_classifier(loss: str):
    """A compiled step whose targets are an input: class indices (cross-entropy, NLL), token
    ids (embedding) or probabilities (binary cross-entropy)."""
    gn.manual_seed(0)
    emb, lin = nn.Embedding(10, 4), nn.Linear(4, 3)
    opt = gn.optim.SGD([*emb.parameters(), *lin.parameters()], lr=0.1)

    def step(ids, y):
        opt.zero_grad()
        out = lin(emb(ids))
        if loss == "cross_entropy":
            value = F.cross_entropy(out, y)
        elif loss == "nll":
            value = F.nll_loss(F.log_softmax(out, dim=1), y)
        else:
            value = F.binary_cross_entropy(gn.sigmoid(out[:, 0]), y)
        value.backward()
        opt.step()
        return value

    compiled = gn.compile(step)
    good = [np.array([0, 1, 2, k % 3]) for k in range(4)]
    for k, ids in enumerate(good):
        y = np.array([0, 1, 2, k % 3]) if loss != "bce" else np.array([0, 1, 0, 1], np.float32)
        compiled(gn.tensor(ids), gn.tensor(y))
    assert compiled.replays >= 1, compiled.reason
    return compiled


@pytest.mark.parametrize(
    "loss, ids, target, match",
    [
        ("cross_entropy", [0, 1, 2, 3], [-1, 0, 1, 2], "class index -1"),
        ("cross_entropy", [0, 1, 2, 3], [3, 0, 1, 2], "class index 3"),
        ("nll", [0, 1, 2, 3], [0, -2, 1, 2], "class index -2"),
        ("cross_entropy", [-1, 1, 2, 3], [0, 0, 1, 2], r"range over \[-1, 3\]"),
        ("cross_entropy", [0, 1, 2, 10], [0, 0, 1, 2], r"range over \[0, 10\]"),
    ],
)
def test_a_replay_rejects_the_indices_eager_mode_rejects(loss, ids, target, match):
    """A replay skips the op wrappers; their value checks run again (value_check), so a
    negative index is an error as in eager mode, not NumPy's count from the end."""
    compiled = _compiled_classifier(loss)
    replays = compiled.replays
    with pytest.raises(ValueError, match=match):
        compiled(gn.tensor(np.array(ids)), gn.tensor(np.array(target)))
    assert compiled.replays == replays + 1  # it was the replay that refused
    # and the program still runs on good data
    compiled(gn.tensor(np.array([0, 1, 2, 3])), gn.tensor(np.array([0, 1, 2, 0])))
    assert compiled.replays == replays + 2


def test_a_replay_rejects_probabilities_outside_0_1():
    gn.manual_seed(0)
    lin = nn.Linear(3, 1)
    opt = gn.optim.SGD(lin.parameters(), lr=0.1)

    def step(x, shift, y):  # probabilities in [shift, shift + 0.5]: above 1 for shift 2
        opt.zero_grad()
        value = F.binary_cross_entropy(gn.sigmoid(lin(x)).reshape(-1) * 0.5 + shift, y)
        value.backward()
        opt.step()
        return value

    compiled = gn.compile(step)
    rng = np.random.default_rng(0)
    y = gn.tensor(np.array([0.0, 1.0, 0.0, 1.0], np.float32))
    for _ in range(3):
        compiled(gn.tensor(rng.random((4, 3), np.float32)), gn.tensor(np.float32(0.25)), y)
    assert compiled.replays >= 1, compiled.reason
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        compiled(gn.tensor(rng.random((4, 3), np.float32)), gn.tensor(np.float32(2.0)), y)


def test_a_replay_takes_ignore_index_as_eager_mode():
    compiled = _compiled_classifier("cross_entropy")
    ids, y = gn.tensor(np.array([0, 1, 2, 3])), gn.tensor(np.array([-100, 0, 1, 2]))
    value = compiled(ids, y)
    assert np.isfinite(value.item())


def test_a_value_check_on_ids_made_inside_the_step_keeps_it_eager():
    """Ids built on the host inside the step are constants of the recording: a replay would
    check (and use) the first call's ids, so the step runs eagerly, and says why."""
    emb = nn.Embedding(10, 2)
    opt = gn.optim.SGD(emb.parameters(), lr=0.1)
    calls = []

    def step(x):
        calls.append(len(calls))
        opt.zero_grad()
        value = (emb(gn.tensor([len(calls) % 10])) * x).sum()
        value.backward()
        opt.step()
        return value

    compiled = gn.compile(step)
    for _ in range(4):
        compiled(gn.ones(1, 2))
    assert compiled.replays == 0
    assert "changes between calls" in compiled.reason


def _linear_step():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    opt = gn.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        value = F.cross_entropy(model(x), y)
        value.backward()
        opt.step()
        return value

    x = gn.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    return model, gn.compile(step), x, gn.tensor(np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("kind", ["forward", "pre", "global"])
def test_a_module_hook_runs_on_every_call_compiled_or_not(when, kind):
    """A replay runs recorded ops only: a step whose modules have hooks runs eagerly, whether
    the hook was there at capture or came after; removing it makes the step replay again."""
    model, compiled, x, y = _linear_step()
    calls = []
    register = {
        "forward": lambda: model[0].register_forward_hook(lambda m, i, o: calls.append(1)),
        "pre": lambda: model[2].register_forward_pre_hook(lambda m, i: calls.append(1)),
        "global": lambda: nn.register_module_forward_hook(lambda m, i, o: calls.append(1)),
    }[kind]
    handle = register() if when == "before" else None
    for _ in range(3):
        compiled(x, y)
    if handle is None:
        handle = register()
    calls.clear()
    for _ in range(4):
        compiled(x, y)
    assert len(calls) >= 4  # called in every one of the 4 calls
    assert "hook" in compiled.reason
    handle.remove()
    replays = compiled.replays
    for _ in range(4):
        compiled(x, y)
    assert compiled.replays > replays


def test_a_gradient_hook_on_a_weight_added_after_capture_is_honoured():
    model, compiled, x, y = _linear_step()
    for _ in range(3):
        compiled(x, y)
    assert compiled.replays >= 1
    before = model[2].bias.detach().numpy().copy()
    handle = model[2].bias.register_hook(lambda g: g * 0)  # freezes the bias
    for _ in range(3):
        compiled(x, y)
    np.testing.assert_array_equal(model[2].bias.numpy(), before)
    handle.remove()
    for _ in range(3):
        compiled(x, y)
    assert not np.array_equal(model[2].bias.numpy(), before)


def test_eval_and_train_modes_each_get_their_own_program():
    """A module's training flag is part of the program's key: after model.eval() a compiled
    function must not replay training-mode dropout (nor the reverse)."""
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5))
    compiled = gn.compile(lambda x: model(x))
    x = gn.ones(8, 6)
    for _ in range(3):
        compiled(x)
    assert compiled.replays >= 1
    model.eval()
    want = model(x).numpy()
    for _ in range(4):
        np.testing.assert_array_equal(compiled(x).numpy(), want)
    replays = compiled.replays
    model.train()
    out = compiled(x).numpy()
    assert compiled.replays == replays + 1  # the training program, kept
    assert (out == 0).any() and not np.array_equal(out, want)  # dropout is on again


def test_batchnorm_put_back_in_training_mode_updates_its_statistics():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model.eval()
    compiled = gn.compile(lambda x: model(x))
    x = gn.tensor(np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32))
    for _ in range(3):
        compiled(x)
    assert compiled.replays >= 1
    model.train()
    before = model[1].running_mean.numpy().copy()
    compiled(x)
    assert not np.array_equal(model[1].running_mean.numpy(), before)


def test_autocast_is_part_of_the_key():
    """A step called under gn.autocast computes in the low precision, as eagerly; the float32
    program is not replayed there."""
    model, compiled, x, y = _linear_step()
    _, eager_step, _, _ = _linear_step()  # the same weights, run eagerly
    for _ in range(3):
        compiled(x, y)
        eager_step.fn(x, y)
    with gn.autocast("cpu", dtype=gn.float16):
        for _ in range(3):
            got, want = compiled(x, y), eager_step.fn(x, y)
            np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("change", ["layer", "weight", "no bias", "buffer", "delete"])
def test_a_replaced_layer_or_weight_is_used_after_capture(change):
    """A replay reads the weights the capture saw: assigning a new layer, weight or buffer to
    a module makes the compiled function capture again, so it computes what eager mode does."""
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    model[2].register_buffer("offset", gn.zeros(3))
    model[2].forward = lambda x, lin=model[2]: F.linear(x, lin.weight, lin.bias) + lin.offset
    compiled = gn.compile(lambda x: model(x))
    x = gn.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    for _ in range(3):
        compiled(x)
    assert compiled.replays >= 1
    if change == "layer":
        model[0] = nn.Linear(5, 4)
    elif change == "weight":
        model[2].weight = nn.Parameter(gn.ones(3, 4))
    elif change == "no bias":
        model[2].bias = None
    elif change == "buffer":
        model[2].offset = gn.ones(3)
    else:
        del model[2].bias
        model[2].bias = None
    for _ in range(3):
        np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())


def test_a_changed_layer_setting_is_used_after_capture():
    """dropout.p is an argument the capture recorded: changing it makes the step capture
    again (here p = 0: the output is the eager, undropped one)."""
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.5))
    compiled = gn.compile(lambda x: model(x))
    x = gn.ones(16, 5)
    for _ in range(3):
        compiled(x)
    model[1].p = 0.0
    for _ in range(3):
        np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())
    assert compiled.replays >= 2


@pytest.mark.parametrize("read", ["item", "bool", "float", "numpy", "weight"])
def test_a_step_that_branches_on_a_computed_value_stays_eager(read):
    """Python that reads a value the step computes (or a weight it trains) may branch on it;
    a replay would follow the captured branch whatever the value. Such a step runs eagerly,
    so flipping the branch computes what eager mode does."""
    gn.manual_seed(0)
    lin = nn.Linear(5, 3)
    sign = np.sign(lin.weight.numpy().sum(0)).astype(np.float32)
    positive = {
        "item": lambda out: out.sum().item() > 0,
        "bool": lambda out: bool(out.sum() > 0),
        "float": lambda out: float(out.sum()) > 0,
        "numpy": lambda out: out.sum().numpy() > 0,
        "weight": lambda out: lin.weight.sum().item() > 0,
    }[read]

    def fwd(x):
        out = lin(x)
        return out * 2 if positive(out) else out

    compiled = gn.compile(fwd)
    rng = np.random.default_rng(0)
    for _ in range(4):
        compiled(gn.tensor(sign * (5 + rng.random((4, 5), np.float32))))
    assert compiled.replays == 0
    assert "value in Python" in compiled.reason
    x = gn.tensor(-sign * (5 + rng.random((4, 5), np.float32)))
    np.testing.assert_array_equal(compiled(x).numpy(), fwd(x).numpy())


def test_reading_a_constant_inside_the_step_still_replays():
    scale = gn.tensor(3.0)  # made outside the step, never trained

    def fwd(x):
        y = x * scale  # an op reads the constant: it is a slot of the recording
        return y * float(scale)

    compiled = gn.compile(fwd)
    for k in range(4):
        np.testing.assert_array_equal(compiled(gn.ones(2) * k).numpy(), np.full(2, 9.0 * k))
    assert compiled.replays >= 1


def _eager_and_compiled(build):
    """Two copies of a step (same seed): one run eagerly, one compiled."""
    gn.manual_seed(0)
    eager = build()
    gn.manual_seed(0)
    return eager, gn.compile(build())


def _padding_mask_step():
    emb, lin = nn.Embedding(6, 4), nn.Linear(4, 6)
    opt = gn.optim.SGD([*emb.parameters(), *lin.parameters()], lr=0.1)

    def step(tokens, targets):
        opt.zero_grad()
        logits = lin(emb(tokens)).reshape(-1, 6)
        per_token = F.cross_entropy(logits, targets.reshape(-1), reduction="none")
        keep = (targets.reshape(-1) != 0).astype(gn.float32)  # 0 is padding
        loss = (per_token * keep).sum() / keep.sum()
        loss.backward()
        opt.step()
        return loss

    return step


def test_a_mask_computed_by_a_comparison_is_recomputed_on_replay():
    """A padding mask made by ``!=`` is recorded: batches without padding at capture, then a
    padded one, give the eager loss (a captured constant mask would stay all True)."""
    eager, compiled = _eager_and_compiled(_padding_mask_step)
    rng = np.random.default_rng(0)
    for k in range(5):
        tokens = gn.tensor(rng.integers(1, 6, (3, 4)))
        targets = rng.integers(1, 6, (3, 4))
        if k == 4:
            targets[:, 2:] = 0
        want = eager(tokens, gn.tensor(targets)).item()
        assert compiled(tokens, gn.tensor(targets)).item() == want
    assert compiled.replays >= 2


@pytest.mark.parametrize("variant", ["argmax", "clamp", "detach", "elu", "hardtanh", "any"])
def test_steps_with_no_grad_results_replay_as_eager(variant):
    def build():
        lin = nn.Linear(5, 3)
        opt = gn.optim.SGD(lin.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            out = lin(x)
            if variant == "clamp":
                out = out.clamp(-0.2, 0.3)
            elif variant == "detach":
                out = out + out.detach() ** 2
            elif variant == "elu":
                out = F.elu(out)
            elif variant == "hardtanh":
                out = F.hardtanh(out, -0.3, 0.2)
            loss = F.cross_entropy(out, y)
            loss.backward()
            opt.step()
            extra = out.argmax(1) == y if variant == "argmax" else (out > 0).any(1)
            return loss, extra

        return step

    eager, compiled = _eager_and_compiled(build)
    rng = np.random.default_rng(1)
    for _ in range(6):
        x = gn.tensor(rng.standard_normal((8, 5)).astype(np.float32))
        y = gn.tensor(rng.integers(0, 3, 8))
        (la, ea), (lb, eb) = eager(x, y), compiled(x, y)
        np.testing.assert_array_equal(lb.numpy(), la.numpy())
        np.testing.assert_array_equal(eb.numpy(), ea.numpy())
    assert compiled.replays >= 3, compiled.reason


def test_nan_to_num_replaces_a_nan_that_first_appears_after_capture():
    def build():
        return lambda x: gn.nan_to_num(x * 2.0, nan=-1.0)

    _, compiled = _eager_and_compiled(build)
    for k in range(3):
        compiled(gn.ones(4) * (k + 1))
    assert compiled.replays >= 1, compiled.reason
    x = np.ones(4, np.float32)
    x[1], x[2] = np.nan, np.inf
    got = compiled(gn.tensor(x)).numpy()
    assert got[1] == -1.0 and got[2] == np.finfo(np.float32).max


@pytest.mark.parametrize("pick", ["sort", "topk", "nonzero"])
def test_a_step_that_selects_by_value_runs_eagerly(pick):
    def fwd(x):
        if pick == "sort":
            return x.sort(dim=0).values * 2
        if pick == "topk":
            return x.topk(2).values * 2
        return gn.nonzero(x > 0)

    compiled = gn.compile(fwd)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = gn.tensor(rng.standard_normal(6).astype(np.float32))
        np.testing.assert_array_equal(compiled(x).numpy(), fwd(x).numpy())
    assert compiled.replays == 0
    assert "replay cannot compute" in compiled.reason or "shape" in compiled.reason


@pytest.mark.parametrize("op", ["index_select", "gather", "scatter_add", "take"])
def test_an_index_from_the_data_is_never_a_stale_constant(op):
    """Index ops compute coordinates from their index tensor in the wrapper: with the index an
    input, every call gives eager's result (the first two calls had equal indices)."""

    def fwd(x, idx):
        if op == "index_select":
            return x.index_select(0, idx) * 2
        if op == "gather":
            return x.gather(1, idx[:, None]) * 2
        if op == "scatter_add":
            return gn.zeros(4, 3).scatter_add(0, idx[:, None].expand(-1, 3), x) * 2
        return gn.take(x, idx) * 2

    compiled = gn.compile(fwd)
    rng = np.random.default_rng(0)
    for k in range(5):
        x = gn.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        idx = gn.tensor(np.array([0, 1, 2, 1]) if k < 2 else rng.integers(0, 3, 4))
        np.testing.assert_array_equal(compiled(x, idx).numpy(), fwd(x, idx).numpy())


@pytest.mark.parametrize("draw", ["randn_like", "rand", "randint", "bernoulli"])
def test_random_draws_in_a_step_replay_as_eager(draw):
    """A draw inside the step (a VAE's reparameterization noise) is recorded: every replay
    draws afresh at the eager step's point of the generator, so the bits match eager."""

    def build():
        lin = nn.Linear(4, 4)
        opt = gn.optim.SGD(lin.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            h = lin(x)
            if draw == "randn_like":
                h = h + gn.randn_like(h) * 0.1
            elif draw == "rand":
                h = h * gn.rand(8, 4)
            elif draw == "randint":
                h = h * gn.randint(0, 3, (8, 1)).astype(gn.float32)
            else:
                h = h * gn.bernoulli(gn.full((8, 4), 0.7))
            loss = (h * h).mean()
            loss.backward()
            opt.step()
            return loss, h

        return step

    eager, compiled = _eager_and_compiled(build)
    xs = [gn.ones(8, 4) * (k + 1) for k in range(5)]
    gn.manual_seed(1)
    want = [eager(x)[1].numpy().copy() for x in xs]
    gn.manual_seed(1)
    got = [compiled(x)[1].numpy().copy() for x in xs]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert compiled.replays >= 2, compiled.reason


def test_normalize_and_norms_replay_as_eager():
    """vector_norm's scale (max |x|) is recorded: F.normalize in a compiled step replays."""

    def build():
        lin = nn.Linear(6, 4)
        opt = gn.optim.SGD(lin.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            z = F.normalize(lin(x), dim=1)
            loss = -(z @ z.T).mean() + lin.weight.norm(p=3) * 0.01
            loss.backward()
            opt.step()
            return loss

        return step

    eager, compiled = _eager_and_compiled(build)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = gn.tensor(rng.standard_normal((8, 6)).astype(np.float32))
        assert compiled(x).item() == eager(x).item()
    assert compiled.replays >= 2, compiled.reason


def test_a_bool_mask_promoted_to_float_is_recomputed_on_replay():
    """``loss * (y != 0)`` casts the bool mask in the wrapper: the cast is recorded too."""

    def fwd(x, y):
        return (x * (y != 0)).sum()

    compiled = gn.compile(fwd)
    rng = np.random.default_rng(0)
    for k in range(5):
        x = gn.tensor(rng.standard_normal(6).astype(np.float32))
        y = gn.tensor(np.ones(6, np.int64) if k < 3 else rng.integers(0, 2, 6))
        assert compiled(x, y).item() == fwd(x, y).item()
    assert compiled.replays >= 2, compiled.reason


class _PaddedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.att = nn.MultiheadAttention(8, 2, dropout=0.2, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, tokens, pad):
        h = self.emb(tokens)
        a, _ = self.att(h, h, h, key_padding_mask=pad)
        return self.out(a.mean(1))


def test_attention_with_a_padding_mask_and_dropout_replays_as_eager():
    """The padding mask (captured while no batch was padded) and attention dropout's draw are
    recorded: later padded batches replay with their own mask and fresh dropout."""

    def build():
        model = _PaddedAttention()
        opt = gn.optim.AdamW(model.parameters(), lr=0.01)

        def step(tokens, pad, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(tokens, pad), y)
            loss.backward()
            opt.step()
            return loss

        return step

    eager, compiled = _eager_and_compiled(build)
    rng = np.random.default_rng(0)
    for k in range(6):
        pad = np.zeros((4, 5), bool)
        pad[:, 5 - k % 3 :] = k >= 3
        batch = (gn.tensor(rng.integers(0, 10, (4, 5))), gn.tensor(pad))
        y = gn.tensor(rng.integers(0, 3, 4))
        gn.manual_seed(10 + k)
        want = eager(*batch, y).item()
        gn.manual_seed(10 + k)
        assert compiled(*batch, y).item() == want
    assert compiled.replays >= 3, compiled.reason


class _Remembers(nn.Module):
    """Keeps its last output, as models that expose attention maps do."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.last = None

    def forward(self, x):
        out = self.lin(x)
        self.last = out
        return out


def test_a_step_that_assigns_module_state_runs_eagerly_and_updates_it():
    model = _Remembers()
    compiled = gn.compile(lambda x: model(x) * 2)
    for k in range(5):
        x = gn.ones(4, 3) * k
        out = compiled(x)
        np.testing.assert_array_equal(model.last.numpy() * 2, out.numpy())
    assert compiled.replays == 0
    assert "assigns _Remembers.last" in compiled.reason


def test_a_loss_module_made_anew_in_every_call_still_replays():
    """Only the modules both captures called key a program: a criterion built inside the step
    (a new object each call) must not keep the step from replaying."""
    gn.manual_seed(0)
    lin = nn.Linear(5, 3)
    opt = gn.optim.SGD(lin.parameters(), lr=0.1)

    def step(x, y):
        criterion = nn.CrossEntropyLoss()
        opt.zero_grad()
        loss = criterion(lin(x), y)
        loss.backward()
        opt.step()
        return loss

    compiled = gn.compile(step)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = gn.tensor(rng.standard_normal((4, 5)).astype(np.float32))
        compiled(x, gn.tensor(rng.integers(0, 3, 4)))
    assert compiled.replays == 3, compiled.reason
