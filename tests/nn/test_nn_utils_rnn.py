"""nn.utils.rnn: pad_sequence / unpad_sequence as PyTorch (expected values written by hand),
packed sequences raising NotImplementedError that names the alternative."""

import numpy as np
import pytest

import glassnet as gn
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


@pytest.mark.parametrize(
    "call",
    [
        lambda: rnn.pack_padded_sequence(gn.ones(3, 2, 1), [3, 2]),
        lambda: rnn.pack_sequence([gn.ones(3), gn.ones(2)]),
        lambda: rnn.pad_packed_sequence(None),
        lambda: rnn.unpack_sequence(None),
        lambda: rnn.PackedSequence(gn.ones(3)),
    ],
)
def test_packed_sequences_raise_naming_pad_sequence(call):
    with pytest.raises(NotImplementedError, match="pad_sequence"):
        call()
    assert not isinstance(gn.ones(1), rnn.PackedSequence)
    assert gn.nn.utils.rnn is rnn
