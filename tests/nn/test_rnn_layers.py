"""RNN, LSTM and GRU: PyTorch names and shapes, forward against a step-by-step NumPy
reference, float64 gradchecks of the input, initial states and every parameter, and errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing import check_grad

rng = np.random.default_rng(0)


# -- an independent NumPy reference (PyTorch's documented equations, time-major) -------------
def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def ref_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of PyTorch's cell equations; gate blocks in PyTorch's order."""
    H = h.shape[-1]
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if mode in ("tanh", "relu"):
        a = gi + gh
        return (np.tanh(a) if mode == "tanh" else np.maximum(a, 0.0)), None
    if mode == "lstm":
        a = gi + gh
        i = sigmoid(a[:, 0:H])
        f = sigmoid(a[:, H : 2 * H])
        g = np.tanh(a[:, 2 * H : 3 * H])
        o = sigmoid(a[:, 3 * H : 4 * H])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    r = sigmoid(gi[:, 0:H] + gh[:, 0:H])
    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1.0 - z) * n + z * h, None


def ref_rnn(mode, params, x, num_layers, bidirectional, h0, c0=None):
    """x: (T, N, C) time-major. Returns output (T, N, D*H), h_n, c_n as (L*D, N, H)."""
    D = 2 if bidirectional else 1
    T = x.shape[0]
    layer_in = x
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = params["weight_ih" + sfx], params["weight_hh" + sfx]
            G = w_ih.shape[0]
            b_ih = params.get("bias_ih" + sfx, np.zeros(G))
            b_hh = params.get("bias_hh" + sfx, np.zeros(G))
            k = layer * D + d
            h, c = h0[k], (c0[k] if c0 is not None else None)
            ys = [None] * T
            for t in reversed(range(T)) if d else range(T):
                h, c = ref_cell(mode, layer_in[t], h, c, w_ih, w_hh, b_ih, b_hh)
                ys[t] = h
            outs.append(np.stack(ys))
            h_n.append(h)
            c_n.append(c)
        layer_in = np.concatenate(outs, axis=-1)
    return layer_in, np.stack(h_n), (np.stack(c_n) if c0 is not None else None)


def make(mode, *args, **kwargs):
    if mode in ("tanh", "relu"):
        return nn.RNN(*args, nonlinearity=mode, **kwargs)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[mode](*args, **kwargs)


def numpy_params(module):
    return {k: v.numpy().astype(np.float64) for k, v in module.state_dict().items()}


# -- names, shapes, init --------------------------------------------------------------------
def expected_keys(num_layers, bidirectional, bias):
    keys = []
    for layer in range(num_layers):
        for sfx in ("", "_reverse") if bidirectional else ("",):
            keys += [f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}"]
            if bias:
                keys += [f"bias_ih_l{layer}{sfx}", f"bias_hh_l{layer}{sfx}"]
    return keys


def test_state_dict_keys_match_pytorch():
    # PyTorch: LSTM(5, 7, num_layers=2, bidirectional=True).state_dict().keys()
    torch_keys = [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
        "bias_hh_l1_reverse",
    ]  # fmt: skip
    lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    assert list(lstm.state_dict()) == torch_keys
    assert list(nn.GRU(5, 7, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    rnn = nn.RNN(5, 7, num_layers=3)
    assert list(rnn.state_dict()) == expected_keys(3, False, True)


@pytest.mark.parametrize("mode, gates", [("tanh", 1), ("relu", 1), ("lstm", 4), ("gru", 3)])
def test_parameter_shapes(mode, gates):
    m = make(mode, 5, 7, num_layers=2, bidirectional=True)
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    assert shapes["weight_ih_l0"] == (gates * 7, 5)
    assert shapes["weight_ih_l1_reverse"] == (gates * 7, 14)  # reads both directions
    assert shapes["weight_hh_l1"] == (gates * 7, 7)
    assert shapes["bias_hh_l0_reverse"] == (gates * 7,)


def test_default_init_is_uniform_one_over_sqrt_hidden():
    gn.manual_seed(0)
    m = nn.LSTM(30, 100)
    bound = 1 / np.sqrt(100)
    for name, p in m.named_parameters():
        v = p.numpy()
        assert v.dtype == np.float32
        assert np.abs(v).max() <= bound, name
        # U(-b, b): std b / sqrt(3); a weight of 12,000 draws lands within 3%
        assert abs(v.std() - bound / np.sqrt(3)) < 0.03 * bound / np.sqrt(3) + 2e-3, name
    gn.manual_seed(0)
    again = nn.LSTM(30, 100)
    np.testing.assert_array_equal(again.weight_hh_l0.numpy(), m.weight_hh_l0.numpy())


# -- forward numerics -----------------------------------------------------------------------
CONFIGS = [
    # mode, num_layers, bidirectional, bias, batch_first, with initial state
    ("tanh", 1, False, True, True, False),
    ("relu", 2, True, True, True, True),
    ("lstm", 1, False, True, True, True),
    ("lstm", 2, True, True, False, True),
    ("lstm", 2, False, False, True, False),
    ("gru", 1, False, True, True, True),
    ("gru", 2, True, True, True, True),
    ("gru", 1, True, False, False, False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c)))
def test_forward_matches_numpy_reference(config):
    mode, L, bidir, bias, batch_first, with_state = config
    T, N, C, H = 5, 3, 4, 6
    D = 2 if bidir else 1
    m = make(mode, C, H, num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidir)
    m.to(dtype="float64")
    x_tm = rng.standard_normal((T, N, C))
    h0 = rng.standard_normal((L * D, N, H)) if with_state else np.zeros((L * D, N, H))
    c0 = rng.standard_normal((L * D, N, H)) if with_state else np.zeros((L * D, N, H))
    out_ref, h_ref, c_ref = ref_rnn(
        mode, numpy_params(m), x_tm, L, bidir, h0, c0 if mode == "lstm" else None
    )
    x = gn.tensor(x_tm.transpose(1, 0, 2) if batch_first else x_tm)
    state = None
    if with_state:
        state = (gn.tensor(h0), gn.tensor(c0)) if mode == "lstm" else gn.tensor(h0)
    out, hn = m(x, state)
    if mode == "lstm":
        hn, cn = hn
        np.testing.assert_allclose(cn.numpy(), c_ref, rtol=1e-10, atol=1e-12)
    got = out.numpy().transpose(1, 0, 2) if batch_first else out.numpy()
    assert out.shape == ((N, T, D * H) if batch_first else (T, N, D * H))
    np.testing.assert_allclose(got, out_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hn.numpy(), h_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["tanh", "lstm", "gru"])
def test_unbatched_input_is_one_sequence(mode):
    m = make(mode, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = gn.randn(5, 3)
    state = None
    if mode == "lstm":
        state = (gn.randn(4, 4), gn.randn(4, 4))
    elif mode == "gru":
        state = gn.randn(4, 4)
    out, hn = m(x, state)
    batched_state = None
    if state is not None:
        batched_state = (
            tuple(s.unsqueeze(1) for s in state) if mode == "lstm" else state.unsqueeze(1)
        )
    out_b, hn_b = m(x.unsqueeze(0), batched_state)
    assert out.shape == (5, 8)
    np.testing.assert_allclose(out.numpy(), out_b.numpy()[0], rtol=1e-6)
    if mode == "lstm":
        assert hn[0].shape == hn[1].shape == (4, 4)
        np.testing.assert_allclose(hn[1].numpy(), hn_b[1].numpy()[:, 0], rtol=1e-6)
        hn, hn_b = hn[0], hn_b[0]
    assert hn.shape == (4, 4)
    np.testing.assert_allclose(hn.numpy(), hn_b.numpy()[:, 0], rtol=1e-6)


def test_float32_forward_close_to_float64_reference():
    m = nn.LSTM(4, 8, num_layers=2, batch_first=True)
    x = rng.standard_normal((2, 6, 4)).astype(np.float32)
    out, _ = m(gn.tensor(x))
    zeros = np.zeros((2, 2, 8))
    ref, _, _ = ref_rnn("lstm", numpy_params(m), x.transpose(1, 0, 2), 2, False, zeros, zeros)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_reproduces_outputs():
    a, b = nn.GRU(3, 5, num_layers=2), nn.GRU(3, 5, num_layers=2)
    b.load_state_dict(a.state_dict())
    x = gn.randn(2, 4, 3)
    np.testing.assert_array_equal(a(x)[0].numpy(), b(x)[0].numpy())


# -- gradients --------------------------------------------------------------------------------
def functional(module, names):
    """``fn(x, *states, *params)`` that runs ``module`` with the given tensors as parameters
    (check_grad perturbs its own float64 copies, so they must be swapped in)."""

    def fn(x, *rest):
        states, params = rest[: len(rest) - len(names)], rest[len(rest) - len(names) :]
        for name, p in zip(names, params):
            module._parameters[name] = p
        if not states:
            state = None
        elif len(states) == 2:
            state = tuple(states)
        else:
            state = states[0]
        out, hn = module(x, state)
        hn = hn if isinstance(hn, tuple) else (hn,)
        return gn.concat([out.flatten(), *[h.flatten() for h in hn]])

    return fn


GRAD_CONFIGS = [
    ("tanh", 2, True, True),
    ("relu", 1, False, True),
    ("lstm", 2, True, True),
    ("lstm", 1, False, False),
    ("gru", 2, True, True),
    ("gru", 1, False, False),
]


@pytest.mark.parametrize("config", GRAD_CONFIGS, ids=lambda c: "-".join(map(str, c)))
def test_gradcheck_input_states_and_every_parameter(config):
    mode, L, bidir, batch_first = config
    T, N, C, H = 3, 2, 2, 3
    D = 2 if bidir else 1
    m = make(mode, C, H, num_layers=L, bidirectional=bidir, batch_first=batch_first)
    m.to(dtype="float64")
    names = list(m.state_dict())
    x = rng.standard_normal((N, T, C) if batch_first else (T, N, C))
    states = [rng.standard_normal((L * D, N, H)) for _ in range(2 if mode == "lstm" else 1)]
    params = [p.numpy().copy() for p in m.state_dict().values()]
    if mode == "relu":  # keep pre-activations away from the kink at 0
        x = np.sign(x) * (np.abs(x) + 0.2)
    check_grad(functional(m, names), [x, *states, *params], name=f"{type(m).__name__}")


def test_gradcheck_without_initial_state():
    m = nn.GRU(2, 3).to(dtype="float64")
    names = list(m.state_dict())
    params = [p.numpy().copy() for p in m.state_dict().values()]
    check_grad(functional(m, names), [rng.standard_normal((2, 3, 2)), *params], name="GRU")


def test_backward_reaches_every_parameter():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, (h, c) = m(gn.randn(2, 5, 3))
    (out.sum() + h.sum() + c.sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.abs(p.grad.numpy()).sum() > 0, name


# -- errors -------------------------------------------------------------------------------------
def test_wrong_feature_size():
    with pytest.raises(ValueError, match=r"LSTM\(input_size=4\).*last axis must be 4"):
        nn.LSTM(4, 3)(gn.randn(2, 5, 3))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"GRU got input of shape \(2, 5, 4, 1\)"):
        nn.GRU(1, 3)(gn.randn(2, 5, 4, 1))
    with pytest.raises(ValueError, match="4 dims"):
        nn.RNN(1, 3)(gn.randn(2, 5, 4, 1))


def test_bad_initial_state_shape():
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 2, 3\); expected \(2, 2, 3\)"):
        nn.GRU(4, 3, num_layers=2, batch_first=True)(gn.randn(2, 5, 4), gn.zeros(1, 2, 3))
    with pytest.raises(ValueError, match=r"c0 has shape"):
        nn.LSTM(4, 3, batch_first=True)(gn.randn(2, 5, 4), (gn.zeros(1, 2, 3), gn.zeros(1, 3, 3)))
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        nn.LSTM(4, 3, batch_first=True)(gn.randn(2, 5, 4), gn.zeros(1, 2, 3))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.5)


def test_input_errors_name_the_problem():
    with pytest.raises(TypeError, match="float64.*float32"):
        nn.RNN(3, 4)(gn.tensor(np.zeros((2, 5, 3))))
    with pytest.raises(TypeError, match="Tensor"):
        nn.RNN(3, 4)(np.zeros((2, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="empty"):
        nn.RNN(3, 4)(gn.zeros(2, 0, 3))


# -- inter-layer dropout ------------------------------------------------------------------------
def test_dropout_between_layers_only_in_training():
    gn.manual_seed(0)
    m = nn.LSTM(3, 16, num_layers=2, dropout=0.5)
    plain = nn.LSTM(3, 16, num_layers=2)
    plain.load_state_dict(m.state_dict())
    x = gn.randn(4, 6, 3)
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    assert not np.allclose(a, b)  # a fresh mask per call
    assert not np.allclose(a, plain(x)[0].numpy())
    m.eval()
    np.testing.assert_array_equal(m(x)[0].numpy(), plain(x)[0].numpy())


def test_dropout_never_touches_the_last_layer_output():
    m = nn.GRU(3, 8, num_layers=1, dropout=0.5)  # nothing between layers to drop
    x = gn.randn(2, 5, 3)
    np.testing.assert_array_equal(m(x)[0].numpy(), m(x)[0].numpy())


def test_initial_state_dtype_must_match_the_weights():
    with pytest.raises(TypeError, match=r"h0 is float64 on \w+ but the weights are float32"):
        nn.GRU(4, 3)(gn.randn(2, 5, 4), gn.tensor(np.zeros((1, 2, 3))))
