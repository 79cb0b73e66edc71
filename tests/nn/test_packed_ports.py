"""Packed sequences (pack_padded_sequence, pad_packed_sequence, RNNs on a PackedSequence)
against values recorded once with torch 2.13 and float64 finite differences: a second,
independent set of recorded cases (written by the porting work) beside test_nn_utils_rnn.py."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn.utils import rnn
from glassnet.testing import check_grad


def test_pack_padded_sequence_layout_as_pytorch():
    """torch 2.13: lengths [2, 3, 3, 1] (enforce_sorted=False) pack step by step in the
    stable descending order [1, 2, 0, 3]; batch_sizes [4, 3, 2]."""
    x = gn.arange(24.0).reshape(4, 3, 2)
    p = rnn.pack_padded_sequence(x, [2, 3, 3, 1], batch_first=True, enforce_sorted=False)
    assert isinstance(p, rnn.PackedSequence) and isinstance(p, tuple)
    assert p.data.shape == (9, 2)
    assert p.batch_sizes.tolist() == [4, 3, 2]
    assert p.sorted_indices.tolist() == [1, 2, 0, 3]
    assert p.unsorted_indices.tolist() == [2, 0, 1, 3]
    np.testing.assert_array_equal(p.data.numpy()[:, 0], [6, 12, 0, 18, 8, 14, 2, 10, 16])
    padded, lengths = rnn.pad_packed_sequence(p, batch_first=True)
    assert lengths.tolist() == [2, 3, 3, 1] and lengths.dtype == np.int64
    np.testing.assert_array_equal(
        padded.numpy()[:, :, 0], [[0, 2, 0], [6, 8, 10], [12, 14, 16], [18, 0, 0]]
    )
    padded, _ = rnn.pad_packed_sequence(p, padding_value=-1.0, total_length=5)
    assert padded.shape == (5, 4, 2)
    np.testing.assert_array_equal(padded.numpy()[:3, :, 0], [[0, 6, 12, 18], [2, 8, 14, -1],
                                                            [-1, 10, 16, -1]])  # fmt: skip
    sorted_p = rnn.pack_padded_sequence(x, [3, 3, 2, 1], batch_first=True)
    assert sorted_p.sorted_indices is None and sorted_p.unsorted_indices is None
    pairs = rnn.pack_sequence([gn.ones(2), gn.ones(3)], enforce_sorted=False)
    assert pairs.batch_sizes.tolist() == [2, 2, 1]
    back = rnn.unpack_sequence(rnn.pack_sequence([gn.ones(2, 1), gn.ones(3, 1) * 2], False))
    assert [b.numpy().ravel().tolist() for b in back] == [[1, 1], [2, 2, 2]]


def test_pack_padded_sequence_errors():
    x = gn.ones(4, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn.pack_padded_sequence(x, [2, 3, 3, 1], batch_first=True)
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn.pack_padded_sequence(x, [2, 3, 0, 1], batch_first=True, enforce_sorted=False)
    with pytest.raises(RuntimeError, match="batch_size=4"):  # PyTorch's error
        rnn.pack_padded_sequence(x, [2, 3, 3], batch_first=True, enforce_sorted=False)
    # PyTorch reads past the input here; glassnet says what is wrong
    with pytest.raises(ValueError, match="exceeds the input's 3 time steps"):
        rnn.pack_padded_sequence(x, [2, 3, 5, 1], batch_first=True, enforce_sorted=False)
    p = rnn.pack_padded_sequence(x, [2, 3, 3, 1], batch_first=True, enforce_sorted=False)
    with pytest.raises(ValueError, match="total_length=2"):
        rnn.pad_packed_sequence(p, total_length=2)
    with pytest.raises(TypeError, match="PackedSequence"):
        rnn.pad_packed_sequence(gn.ones(3))


# torch 2.13, float64: a 2-layer bidirectional RNN (3 -> 4, batch_first) with parameter i set to
# 0.5 cos(0.7 k + i), x = sin(0.37 k) of shape (4, 5, 3), lengths [3, 5, 2, 5] packed with
# enforce_sorted=False, h0 = linspace(-1, 1, 64) (LSTM: c0 = 0); loss = sum(padded * cos(k)) +
# sum(h_n^2) with padded = pad_packed_sequence(out, batch_first=True, padding_value=0.5).
PACKED_RNN = {
    "LSTM": (
        [[-0.12978608644891731, -0.23905176547894172, -0.3108062682564465, 0.5, 0.5],
         [-0.10747957610264694, -0.22537959552326411, -0.26868828191599975, -0.27910981515803873,
          -0.2927147621540474],
         [-0.09517494737020867, -0.19596706380670995, 0.5, 0.5, 0.5],
         [-0.0730544699403394, -0.17147250291118168, -0.2561952508765551, -0.29219304844996075,
          -0.2880630221989179]],
        [[0.0295807069044904, -0.3124795165797423, -0.26165029349927343, -0.142509451243154],
         [0.19916555787521897, 0.11915758828649983, 0.06202705089722015, 0.07671227624749381],
         [0.005178000487297718, 0.06758046879469329, -0.0872652917973897, 0.07761196874458609],
         [-0.13569891012020363, -0.1578241455355342, -0.11125709545343175,
          -0.15387118041642775]],
        [[0.0291368064431736, 0.003487639933093298, 0.1539281163321467, 0.0, 0.0],
         [0.01291136351450238, 0.012996411658166474, 0.018271306322033068, -0.008517100648998938,
          0.03618709888553109],
         [-0.03161920232893656, -0.014717261815484392, 0.0, 0.0, 0.0],
         [-0.08127827381332119, 0.009428140960994258, 0.011729412427534513, 0.06199779843410382,
          0.1136805695422798]],
        [-0.00856112061762562, -0.004812871423180789, 0.004315856750950173, 0.006105722766486662],
    ),
    "GRU": (
        [[0.4641197564592029, 0.6401739247431383, 0.4927237635865992, 0.5, 0.5],
         [0.477237322281854, 0.6542624375959171, 0.7347919257409967, 0.6889009824899837,
          0.43173719505179725],
         [0.3761133269342536, 0.35612641996235816, 0.5, 0.5, 0.5],
         [0.4318387739413857, 0.44754467500377093, 0.42911039328571665, 0.4153803249696611,
          0.3199933654583452]],
        [[-0.5657547866119875, -0.44909705890809815, -0.6776612219077358, -0.199440546226258],
         [0.7574941290591753, 0.8102747748192077, 0.5099596151063654, 0.7119639784441472],
         [0.12434624947066862, -0.05756242916716542, 0.1456403555914231, 0.12267378219046753],
         [-0.124746859638875, -0.3018268531085436, -0.08409776519002654, -0.3837906530881228]],
        [[0.45157432666307357, 0.034058083954211615, 0.42001476835417206, 0.0, 0.0],
         [-0.23893225653878114, -0.058769831906805015, 0.21908524210522956, 0.005669054072866379,
          0.10283915246031335],
         [0.008987073179809402, -0.12685043462538026, 0.0, 0.0, 0.0],
         [-0.3591856734239908, 0.041355417764570385, -0.1850004162692442, 0.13413892085076684,
          0.028333647490231206]],
        [-0.004550144476348364, 0.013873712767391948, -0.002844037189100387,
         0.019670503914481795],
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_rnn_on_a_packed_sequence_matches_pytorch(kind):
    """Each sequence runs over its own length (the backward direction starts at its last
    step), h0 is read and h_n returned in the original batch order. glassnet raised
    NotImplementedError for packed sequences."""
    x = gn.tensor(np.sin(np.arange(60) * 0.37).reshape(4, 5, 3), requires_grad=True)
    m = getattr(gn.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    with gn.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(gn.tensor(np.cos(np.arange(p.numel()) * 0.7 + i).reshape(p.shape) * 0.5))
    packed = rnn.pack_padded_sequence(x, gn.tensor([3, 5, 2, 5]), batch_first=True,
                                      enforce_sorted=False)  # fmt: skip
    h0 = gn.tensor(np.linspace(-1, 1, 64).reshape(4, 4, 4))
    h0 = (h0, gn.zeros(4, 4, 4, dtype="float64")) if kind == "LSTM" else h0
    out, h = m(packed, h0)
    assert isinstance(out, rnn.PackedSequence) and out.data.shape == (15, 8)
    assert out.sorted_indices.tolist() == [1, 3, 0, 2]
    padded, lengths = rnn.pad_packed_sequence(out, batch_first=True, padding_value=0.5)
    assert lengths.tolist() == [3, 5, 2, 5]
    h_n = h[0] if kind == "LSTM" else h
    weights = gn.tensor(np.cos(np.arange(padded.numel())).reshape(padded.shape))
    ((padded * weights).sum() + (h_n**2).sum()).backward()
    want_out, want_h, want_dx, want_dw = PACKED_RNN[kind]
    np.testing.assert_allclose(padded.detach().numpy()[:, :, 0], want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy()[:, :, 1], want_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy()[:, :, 0], want_dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        m.weight_hh_l1_reverse.grad.numpy().ravel()[:4], want_dw, rtol=1e-9, atol=1e-12
    )


def test_packed_gradient_matches_finite_differences():
    m = gn.nn.GRU(2, 3, bidirectional=True).double()

    def f(x):
        packed = rnn.pack_padded_sequence(x, [3, 1, 2], enforce_sorted=False)
        out, h = m(packed)
        return rnn.pad_packed_sequence(out)[0].sum() + (h * h).sum()

    check_grad(f, [np.random.default_rng(1).standard_normal((3, 3, 2))])
