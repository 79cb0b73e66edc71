"""nn.utils.rnn: pad_sequence / unpad_sequence and packed sequences as PyTorch.

Expected values are written by hand or were recorded once from torch 2.13.0 (CPU); the tests
never import torch. Packed RNN runs are also checked against each sequence run alone (an
independent path: the padded forward on one unbatched sequence) and by finite differences.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn.utils import rnn
from glassnet.testing import check_grad


def test_pad_sequence_layouts_and_sides():
    a = gn.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    b = gn.tensor([[4.0, 4.0]])
    out = rnn.pad_sequence([a, b])
    assert out.shape == (3, 2, 2)  # (T, B, *) by default
    np.testing.assert_array_equal(out.numpy()[:, 1, 0], [4.0, 0.0, 0.0])
    first = rnn.pad_sequence([a, b], batch_first=True, padding_value=-1.0)
    np.testing.assert_array_equal(first.numpy()[1, :, 0], [4.0, -1.0, -1.0])
    left = rnn.pad_sequence([a, b], batch_first=True, padding_side="left")
    np.testing.assert_array_equal(left.numpy()[1, :, 0], [0.0, 0.0, 4.0])
    with pytest.raises(ValueError, match="only the first dim"):
        rnn.pad_sequence([a, gn.ones(2, 3)])
    with pytest.raises(ValueError, match="padding_side"):
        rnn.pad_sequence([a], padding_side="middle")


def test_pad_sequence_gradient_and_unpad_roundtrip():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)) for n in (4, 2, 3)]
    weights = rng.standard_normal((3, 4, 3))  # (B, T, *) weights on every padded slot

    def f(*xs):
        padded = rnn.pad_sequence(list(xs), batch_first=True, padding_value=0.5)
        return (padded * gn.tensor(weights)).sum()

    check_grad(f, seqs)
    padded = rnn.pad_sequence([gn.tensor(s) for s in seqs])
    back = rnn.unpad_sequence(padded, gn.tensor([4, 2, 3]))
    for got, want in zip(back, seqs):
        np.testing.assert_array_equal(got.numpy(), want)


# -- packed sequences ------------------------------------------------------------------------
X12 = np.arange(12.0, dtype=np.float32).reshape(4, 3, 1)  # (T, B, 1): x[t, b] = 3 t + b


def test_pack_padded_sequence_layout_as_pytorch():
    packed = rnn.pack_padded_sequence(gn.tensor(X12), [2, 4, 1], enforce_sorted=False)
    # recorded from torch: batch sorted by length (1, 0, 2), valid steps time-major
    assert packed.data.reshape(-1).tolist() == [1.0, 0.0, 2.0, 4.0, 3.0, 7.0, 10.0]
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.batch_sizes.dtype == gn.int64 and packed.batch_sizes.device.type == "cpu"
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    data, sizes, order, inverse = packed  # a named tuple, as PyTorch's
    assert data is packed.data and packed._fields[0] == "data"
    padded, lengths = rnn.pad_packed_sequence(packed, batch_first=True, total_length=5)
    assert lengths.tolist() == [2, 4, 1]
    assert padded.reshape(3, 5).tolist() == [
        [0.0, 3.0, 0.0, 0.0, 0.0],
        [1.0, 4.0, 7.0, 10.0, 0.0],
        [2.0, 0.0, 0.0, 0.0, 0.0],
    ]
    sorted_batch = rnn.pack_padded_sequence(gn.tensor(X12), gn.tensor([4, 2, 1]))
    assert sorted_batch.sorted_indices is None and sorted_batch.unsorted_indices is None
    assert sorted_batch.data.reshape(-1).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0]


def test_pack_sequence_roundtrip_and_conversions():
    seqs = [gn.tensor([1.0]), gn.tensor([2.0, 3.0, 4.0]), gn.tensor([5.0, 6.0])]
    packed = rnn.pack_sequence(seqs, enforce_sorted=False)
    assert packed.data.tolist() == [2.0, 5.0, 1.0, 3.0, 6.0, 4.0]
    assert [s.tolist() for s in rnn.unpack_sequence(packed)] == [s.tolist() for s in seqs]
    wide = packed.double()
    assert wide.data.dtype == gn.float64 and wide.batch_sizes is packed.batch_sizes
    assert packed.to(gn.float64).data.dtype == gn.float64 and not packed.is_cuda
    assert rnn.invert_permutation(gn.tensor([2, 0, 1])).tolist() == [1, 2, 0]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: rnn.pack_padded_sequence(gn.tensor(X12), [2, 4, 1]), RuntimeError, "sorted"),
        (lambda: rnn.pack_padded_sequence(gn.tensor(X12), [4, 2, 0]), RuntimeError, "> 0|<= 0"),
        (lambda: rnn.pack_padded_sequence(gn.tensor(X12), [4, 3]), RuntimeError, "batch_size"),
        (lambda: rnn.pack_padded_sequence(gn.tensor(X12), [5, 3, 1]), ValueError, "exceeds"),
        (
            lambda: rnn.pack_padded_sequence(gn.tensor(X12), gn.tensor([[4, 2, 1]])),
            RuntimeError,
            "1D CPU int64",
        ),
        (
            lambda: rnn.pad_packed_sequence(rnn.pack_sequence([gn.ones(3)]), total_length=2),
            ValueError,
            "total_length",
        ),
        (lambda: rnn.pad_packed_sequence(gn.ones(3)), TypeError, "PackedSequence"),
    ],
)
def test_packing_errors_as_pytorch(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_packed_lstm_matches_recorded_pytorch():
    m = nn.LSTM(2, 2, bidirectional=True)
    for i, (_, p) in enumerate(m.named_parameters()):
        p.data = gn.tensor(
            0.5 * np.sin(np.arange(p.numel()) + i).reshape(p.shape), dtype=gn.float32
        )
    x = gn.tensor(
        np.cos(np.arange(18) * 0.7).reshape(3, 3, 2).astype(np.float32), requires_grad=True
    )
    out, (h, c) = m(rnn.pack_padded_sequence(x, [3, 1, 2], enforce_sorted=False))
    padded, _ = rnn.pad_packed_sequence(out, batch_first=True, padding_value=-1.0)
    # recorded from torch 2.13.0: sequence 1 runs one step, sequence 2 two, each direction
    # reading only its valid steps; h_n / c_n in the batch's original order
    want_pad = [
        [[0.287635, 0.060814, -0.320448, -0.187997], [0.112453, 0.11838, -0.336908, -0.451245],
         [-0.05405, 0.128818, -0.272815, -0.352989]],
        [[0.061046, 0.150008, -0.218727, -0.273228], [-1.0] * 4, [-1.0] * 4],
        [[-0.156153, 0.083219, -0.385612, -0.446134], [0.158981, 0.199235, -0.142913, -0.135281],
         [-1.0] * 4],
    ]  # fmt: skip
    want_c = [
        [[-0.080448, 0.384168], [0.096599, 0.335643], [0.257236, 0.362751]],
        [[-0.922706, -0.364125], [-0.42975, -0.450877], [-0.673852, -0.732418]],
    ]
    want_grad = [
        [[0.533609, 0.473098], [0.746414, 0.442153], [0.422868, 0.249005]],
        [[0.598057, 0.385522], [0.0, 0.0], [0.738965, 0.50529]],
        [[0.568331, 0.33506], [0.0, 0.0], [0.0, 0.0]],
    ]
    np.testing.assert_allclose(padded.numpy(), want_pad, atol=2e-6)
    np.testing.assert_allclose(c.numpy(), want_c, atol=2e-6)
    np.testing.assert_allclose(h.numpy()[0], padded.numpy()[[0, 1, 2], [2, 0, 1], :2], atol=1e-7)
    (padded.sum() + h.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), want_grad, atol=2e-6)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_run_equals_each_sequence_run_alone(mode, batch_first):
    rng = np.random.default_rng(1)
    gn.manual_seed(0)
    layer = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = [3, 5, 1, 4]
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    h0 = rng.standard_normal((4, 4, 4)).astype(np.float32)
    hx = (gn.tensor(h0), gn.tensor(-h0)) if mode == "LSTM" else gn.tensor(h0)
    padded = rnn.pad_sequence([gn.tensor(s) for s in seqs], batch_first=batch_first)
    packed = rnn.pack_padded_sequence(padded, lengths, batch_first, enforce_sorted=False)
    out, state = layer(packed, hx)
    out_padded, _ = rnn.pad_packed_sequence(out, batch_first=True)
    for b, s in enumerate(seqs):  # the same layer on sequence b alone (unbatched input)
        one_hx = (
            (gn.tensor(h0[:, b]), gn.tensor(-h0[:, b])) if mode == "LSTM" else gn.tensor(h0[:, b])
        )
        alone, alone_state = layer(gn.tensor(s), one_hx)
        np.testing.assert_allclose(out_padded.numpy()[b, : len(s)], alone.numpy(), atol=1e-6)
        assert not out_padded.numpy()[b, len(s) :].any()
        for got, want in zip(
            state if mode == "LSTM" else [state], alone_state if mode == "LSTM" else [alone_state]
        ):
            np.testing.assert_allclose(got.numpy()[:, b], want.numpy(), atol=1e-6)


def test_packed_gru_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    gn.manual_seed(0)
    layer = nn.GRU(2, 3, bidirectional=True).double()
    weights = gn.tensor(rng.standard_normal((4, 3, 6)))  # on the padded output (T, B, 2H)

    def loss(x):
        out, h = layer(rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False))
        padded, _ = rnn.pad_packed_sequence(out)
        return (padded * weights).sum() + (h * h).sum()

    x = rng.standard_normal((4, 3, 2))
    check_grad(loss, [x])  # the input's gradient, through packing, both directions, unpacking
    w = layer.weight_hh_l0_reverse
    layer.zero_grad()
    loss(gn.tensor(x)).backward()
    analytic = w.grad.numpy().copy()
    eps = 1e-6
    for index in [(0, 0), (4, 1), (8, 2)]:  # the reverse direction's recurrent weights
        base = w.data.numpy().copy()
        values = []
        for step in (eps, -eps):
            moved = base.copy()
            moved[index] += step
            w.data = gn.tensor(moved)
            values.append(loss(gn.tensor(x)).item())
        w.data = gn.tensor(base)
        np.testing.assert_allclose(analytic[index], (values[0] - values[1]) / (2 * eps), rtol=1e-6)


# -- LSTM(proj_size=...) ----------------------------------------------------------------------
def test_projected_lstm_matches_recorded_pytorch():
    m = nn.LSTM(2, 3, proj_size=1, bidirectional=True)
    names = [name for name, _ in m.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert m.weight_hh_l0.shape == (12, 1) and m.weight_hr_l0_reverse.shape == (1, 3)
    for i, (_, p) in enumerate(m.named_parameters()):
        p.data = gn.tensor(
            0.5 * np.sin(np.arange(p.numel()) + i).reshape(p.shape), dtype=gn.float32
        )
    x = gn.tensor(
        np.cos(np.arange(12) * 0.7).reshape(3, 2, 2).astype(np.float32), requires_grad=True
    )
    out, (h, c) = m(x)
    # recorded from torch 2.13.0: h_t = W_hr (o * tanh(c_t)) has proj_size entries, c_t keeps H
    want_out = [
        [[-0.12328, -0.129447], [-0.001038, -0.022027]],
        [[-0.025657, 0.055604], [-0.014678, -0.022644]],
        [[-0.110873, -0.119682], [-0.03889, -0.09123]],
    ]
    want_c = [
        [[0.60873, 0.236214, -0.259952], [0.500446, 0.092624, -0.377684]],
        [[0.092643, 0.81, 0.255195], [0.65956, 0.503009, 0.164253]],
    ]
    want_grad = [
        [[-0.186508, -0.142046], [-0.087797, 0.017982]],
        [[0.023031, 0.044359], [-0.011947, -0.002999]],
        [[0.000785, 0.250009], [-0.009577, 0.260953]],
    ]
    np.testing.assert_allclose(out.numpy(), want_out, atol=2e-6)
    np.testing.assert_allclose(
        h.numpy(), [[[-0.110873], [-0.03889]], [[-0.129447], [-0.022027]]], atol=2e-6
    )
    np.testing.assert_allclose(c.numpy(), want_c, atol=2e-6)
    (out.sum() + c.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), want_grad, atol=2e-6)
    assert "proj_size=1" in repr(m)


def test_projected_lstm_errors_as_pytorch():
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="positive integer or zero"):
        nn.LSTM(2, 3, proj_size=-1)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(2, 3, proj_size=1)
    m = nn.LSTM(2, 3, proj_size=1)
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 2, 3\); expected \(1, 2, 1\)"):
        m(gn.zeros(4, 2, 2), (gn.zeros(1, 2, 3), gn.zeros(1, 2, 3)))


def test_projected_lstm_two_layers_packed_equals_each_sequence_alone():
    rng = np.random.default_rng(3)
    gn.manual_seed(1)
    m = nn.LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True, batch_first=True)
    lengths = [2, 5, 3]
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    padded = rnn.pad_sequence([gn.tensor(s) for s in seqs], batch_first=True)
    out, (h, c) = m(rnn.pack_padded_sequence(padded, lengths, True, enforce_sorted=False))
    out, _ = rnn.pad_packed_sequence(out, batch_first=True)
    assert out.shape == (3, 5, 4) and h.shape == (4, 3, 2) and c.shape == (4, 3, 4)
    for b, s in enumerate(seqs):
        alone, (h1, c1) = m(gn.tensor(s))
        np.testing.assert_allclose(out.numpy()[b, : len(s)], alone.numpy(), atol=1e-6)
        np.testing.assert_allclose(h.numpy()[:, b], h1.numpy(), atol=1e-6)
        np.testing.assert_allclose(c.numpy()[:, b], c1.numpy(), atol=1e-6)
