"""Regression for issue 13's silent trap: sequence layers default to ``batch_first=False``.

PyTorch's ``nn.RNN/LSTM/GRU/MultiheadAttention/TransformerEncoderLayer/TransformerDecoderLayer``
take (T, N, E) inputs unless ``batch_first=True`` (PyTorch docs, each class's signature). With a
batch-first default a PyTorch program's (T, N, E) input gave the right shape and wrong numbers.
Here a default-constructed layer must compute on (T, N, E) exactly what a ``batch_first=True``
copy with the same weights computes on the transposed (N, T, E) input.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

T, N, E = 5, 3, 4


def _pair(factory):
    gn.manual_seed(0)
    default = factory()
    batch_first = factory(batch_first=True)
    batch_first.load_state_dict(default.state_dict())
    return default.eval(), batch_first.eval()


def _first(out):
    return out[0] if isinstance(out, tuple) else out


LAYERS = {
    "RNN": lambda **kw: nn.RNN(E, 6, num_layers=2, **kw),
    "LSTM": lambda **kw: nn.LSTM(E, 6, bidirectional=True, **kw),
    "GRU": lambda **kw: nn.GRU(E, 6, **kw),
    "TransformerEncoderLayer": lambda **kw: nn.TransformerEncoderLayer(E, 2, 8, **kw),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_default_is_sequence_first_and_matches_batch_first_transposed(name):
    default, batch_first = _pair(LAYERS[name])
    assert default.batch_first is False
    x = gn.randn(T, N, E)
    seq_out = _first(default(x)).numpy()
    batch_out = _first(batch_first(x.permute(1, 0, 2))).numpy()
    assert seq_out.shape[:2] == (T, N)
    np.testing.assert_allclose(seq_out, batch_out.transpose(1, 0, 2), rtol=1e-6, atol=1e-6)
    # and the trap itself: reading (T, N, E) as batch-first gives other numbers
    wrong = _first(batch_first(x)).numpy()
    assert not np.allclose(seq_out, wrong, atol=1e-3)


def test_multihead_attention_default_is_sequence_first():
    default, batch_first = _pair(lambda **kw: nn.MultiheadAttention(E, 2, **kw))
    assert default.batch_first is False
    q, kv = gn.randn(T, N, E), gn.randn(T + 2, N, E)
    out, w = default(q, kv, kv)
    out_b, w_b = batch_first(q.permute(1, 0, 2), kv.permute(1, 0, 2), kv.permute(1, 0, 2))
    assert out.shape == (T, N, E) and w.shape == (N, T, T + 2)  # weights are batch-first
    np.testing.assert_allclose(out.numpy(), out_b.numpy().transpose(1, 0, 2), rtol=1e-6)
    np.testing.assert_allclose(w.numpy(), w_b.numpy(), rtol=1e-6)


def test_pytorch_signature_positions():
    # PyTorch: MultiheadAttention(embed_dim, num_heads, dropout, bias, add_bias_kv,
    # add_zero_attn, kdim, vdim, batch_first); LSTM(..., bidirectional, proj_size)
    m = nn.MultiheadAttention(4, 2, 0.0, True, False, False, 3, 5, True)
    assert (m.kdim, m.vdim, m.batch_first) == (3, 5, True)
    extra = nn.MultiheadAttention(4, 2, 0.0, True, True, True)  # add_bias_kv, add_zero_attn
    assert extra.bias_k.shape == (1, 1, 4) and extra.add_zero_attn
    lstm = nn.LSTM(4, 3, 1, True, False, 0.0, False, 2)  # proj_size is the 8th argument
    assert lstm.proj_size == 2 and lstm.weight_hr_l0.shape == (2, 3)
    layer = nn.TransformerEncoderLayer(8, 2)
    assert layer.linear1.out_features == 2048 and layer.dropout.p == 0.1
    assert layer.norm_first is False and layer.norm1.eps == 1e-5
    # TransformerEncoder(encoder_layer, num_layers, norm, enable_nested_tensor, mask_check)
    assert len(nn.TransformerEncoder(layer, 2, None, False, mask_check=False).layers) == 2
