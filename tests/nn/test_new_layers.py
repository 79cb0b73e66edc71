"""RNNCell/LSTMCell/GRUCell and the encoder-decoder Transformer against PyTorch 2.13.

The constants were printed once by tests/porting/record_torch_layers.py: each layer built in
PyTorch (float64), every state_dict entry set, in PyTorch's key order, to
default_rng(seed).standard_normal(shape) * 0.3, then run on inputs drawn from the same rng.
Here the same weights are loaded through load_state_dict; these tests never import torch.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing.gradcheck import check_grad

TORCH_CELLS = {
    "RNNCell": (
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
        [
            -0.2674848575698,
            0.002464696973187,
            0.5752434580783,
            -0.6951679577709,
            -0.1736892234619,
            0.2663620368229,
            -0.678820765888,
            0.4845081825602,
        ],
    ),
    "RNNCell-relu": (
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
        [0.0, 0.1653035209943, 0.7422102920341, 0.0, 0.0, 0.252607955574, 0.0, 0.514396157097],
    ),
    "LSTMCell": (
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
        [
            0.2676668198244,
            0.1363654895111,
            -0.2396962640459,
            -0.06594731622094,
            0.2497309692191,
            0.1123087800441,
            -0.03522111638796,
            -0.2098211904915,
            0.6768765068752,
            0.3469135476663,
            -0.6251228349268,
            -0.2007241189259,
            0.42643756787,
            0.658178385018,
            -0.1505844275791,
            -0.3700230253199,
        ],
    ),
    "GRUCell": (
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"],
        [
            0.1180903699297,
            -0.3266798851044,
            -0.1021776464759,
            0.3021523345459,
            -0.0233145921301,
            -0.2676391643274,
            0.2094775757638,
            0.1789957152077,
        ],
    ),
    "GRUCell-nobias": (
        ["weight_ih", "weight_hh"],
        [
            0.07798271924291,
            -0.02201916937006,
            0.07767864519852,
            -0.08992601889464,
            -0.3160678148787,
            0.1733989216676,
            0.1790144623116,
            -0.05209127785722,
        ],
    ),
}
TORCH_TRANSFORMER_KEYS = [
    "encoder.layers.0.self_attn.in_proj_weight",
    "encoder.layers.0.self_attn.in_proj_bias",
    "encoder.layers.0.self_attn.out_proj.weight",
    "encoder.layers.0.self_attn.out_proj.bias",
    "encoder.layers.0.linear1.weight",
    "encoder.layers.0.linear1.bias",
    "encoder.layers.0.linear2.weight",
    "encoder.layers.0.linear2.bias",
    "encoder.layers.0.norm1.weight",
    "encoder.layers.0.norm1.bias",
    "encoder.layers.0.norm2.weight",
    "encoder.layers.0.norm2.bias",
    "encoder.norm.weight",
    "encoder.norm.bias",
    "decoder.layers.0.self_attn.in_proj_weight",
    "decoder.layers.0.self_attn.in_proj_bias",
    "decoder.layers.0.self_attn.out_proj.weight",
    "decoder.layers.0.self_attn.out_proj.bias",
    "decoder.layers.0.multihead_attn.in_proj_weight",
    "decoder.layers.0.multihead_attn.in_proj_bias",
    "decoder.layers.0.multihead_attn.out_proj.weight",
    "decoder.layers.0.multihead_attn.out_proj.bias",
    "decoder.layers.0.linear1.weight",
    "decoder.layers.0.linear1.bias",
    "decoder.layers.0.linear2.weight",
    "decoder.layers.0.linear2.bias",
    "decoder.layers.0.norm1.weight",
    "decoder.layers.0.norm1.bias",
    "decoder.layers.0.norm2.weight",
    "decoder.layers.0.norm2.bias",
    "decoder.layers.0.norm3.weight",
    "decoder.layers.0.norm3.bias",
    "decoder.layers.1.self_attn.in_proj_weight",
    "decoder.layers.1.self_attn.in_proj_bias",
    "decoder.layers.1.self_attn.out_proj.weight",
    "decoder.layers.1.self_attn.out_proj.bias",
    "decoder.layers.1.multihead_attn.in_proj_weight",
    "decoder.layers.1.multihead_attn.in_proj_bias",
    "decoder.layers.1.multihead_attn.out_proj.weight",
    "decoder.layers.1.multihead_attn.out_proj.bias",
    "decoder.layers.1.linear1.weight",
    "decoder.layers.1.linear1.bias",
    "decoder.layers.1.linear2.weight",
    "decoder.layers.1.linear2.bias",
    "decoder.layers.1.norm1.weight",
    "decoder.layers.1.norm1.bias",
    "decoder.layers.1.norm2.weight",
    "decoder.layers.1.norm2.bias",
    "decoder.layers.1.norm3.weight",
    "decoder.layers.1.norm3.bias",
    "decoder.norm.weight",
    "decoder.norm.bias",
]
TORCH_TRANSFORMER_POST = [
    -0.4323555310632,
    -0.6930786767772,
    -0.2003902667782,
    -0.5403086117557,
    -0.4288883997815,
    -0.6943472188423,
    -0.2029287863234,
    -0.5438545207684,
    -0.4355935998691,
    -0.6917119899205,
    -0.1981828810772,
    -0.5371871219392,
    -0.4301699571791,
    -0.6938257987991,
    -0.2020843834505,
    -0.5426861799644,
    -0.4322145663449,
    -0.6931292575487,
    -0.2004976614347,
    -0.5404599774073,
    -0.4273393720998,
    -0.6948801091906,
    -0.2040708710841,
    -0.5454320786383,
]
TORCH_TRANSFORMER_PRE = [
    0.6314152556734,
    -0.9618053026527,
    -0.3139960011909,
    -0.3069654132042,
    0.9580169973163,
    -0.5588128107361,
    -0.4303160783435,
    -0.07920137833631,
    0.9402165174091,
    -0.2371634301678,
    -0.4349219059964,
    0.1062493516839,
    0.618934717718,
    -0.2911256794966,
    -0.2062715004969,
    0.3135319858356,
    0.9019154890915,
    -0.651485743522,
    -0.4388408728073,
    -0.1865612845023,
    0.8829620183396,
    -0.6994450759359,
    -0.2964643761748,
    0.03837108638404,
]


def fill(module, keys, seed):
    assert list(module.state_dict()) == keys  # PyTorch's state_dict keys, in PyTorch's order
    rng = np.random.default_rng(seed)
    module.load_state_dict({k: rng.standard_normal(v.shape) * 0.3
                            for k, v in module.state_dict().items()})  # fmt: skip
    return rng


CELLS = {
    "RNNCell": lambda: nn.RNNCell(3, 4),
    "RNNCell-relu": lambda: nn.RNNCell(3, 4, nonlinearity="relu"),
    "LSTMCell": lambda: nn.LSTMCell(3, 4),
    "GRUCell": lambda: nn.GRUCell(3, 4),
    "GRUCell-nobias": lambda: nn.GRUCell(3, 4, bias=False),
}


@pytest.mark.parametrize("name", list(CELLS))
def test_cells_match_pytorch_over_three_steps(name):
    keys, expected = TORCH_CELLS[name]
    m = CELLS[name]().double()
    rng = fill(m, keys, 0)
    state = None
    for x in rng.standard_normal((3, 2, 3)):
        state = m(gn.tensor(x), state)
    flat = np.concatenate([s.numpy().ravel() for s in state]) if isinstance(state, tuple) else (
        state.numpy().ravel())  # fmt: skip
    np.testing.assert_allclose(flat, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck_input_state_and_parameters(name):
    m = CELLS[name]().double()
    names = list(m.state_dict())
    rng = np.random.default_rng(3)

    def fn(x, h, c, *params):
        for n, p in zip(names, params):
            m._parameters[n] = p
        out = m(x, (h, c)) if name == "LSTMCell" else m(x, h)
        return gn.concat([o.flatten() for o in out]) if isinstance(out, tuple) else out

    params = [p.numpy().copy() for p in m.state_dict().values()]
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    check_grad(fn, [x, h, c, *params], wrt=None if name == "LSTMCell" else [0, 1, 3, 4, 5, 6])


def test_cells_unbatched_and_errors():
    gn.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    x = gn.randn(3)
    h, c = cell(x)
    hb, cb = cell(x.unsqueeze(0))
    assert h.shape == (4,)
    np.testing.assert_allclose(h.numpy(), hb.numpy()[0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"LSTMCell\(input_size=3\) got input of shape"):
        cell(gn.randn(5, 2, 3))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        cell(gn.randn(2, 3), gn.zeros(2, 4))
    with pytest.raises(ValueError, match=r"GRUCell: hx has shape \(2, 5\); expected \(2, 4\)"):
        nn.GRUCell(3, 4)(gn.randn(2, 3), gn.zeros(2, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_pytorch_with_masks(norm_first):
    m = nn.Transformer(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                       dim_feedforward=6, dropout=0.0, norm_first=norm_first).double()  # fmt: skip
    rng = fill(m, TORCH_TRANSFORMER_KEYS, 1)
    src = gn.tensor(rng.standard_normal((5, 2, 4)))  # (S, N, E): sequence first by default
    tgt = gn.tensor(rng.standard_normal((3, 2, 4)))
    pad = gn.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2]))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype="float64")
    out = m(src, tgt, tgt_mask=mask, src_key_padding_mask=pad, memory_key_padding_mask=pad)
    expected = TORCH_TRANSFORMER_PRE if norm_first else TORCH_TRANSFORMER_POST
    assert out.shape == (3, 2, 4)
    np.testing.assert_allclose(out.numpy().ravel(), expected, rtol=1e-9, atol=1e-11)
    # batch_first=True on the same weights gives the same numbers, transposed
    mb = nn.Transformer(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                        dim_feedforward=6, dropout=0.0, norm_first=norm_first,
                        batch_first=True).double()  # fmt: skip
    mb.load_state_dict(m.state_dict())
    outb = mb(src.permute(1, 0, 2), tgt.permute(1, 0, 2), tgt_mask=mask,
              src_key_padding_mask=pad, memory_key_padding_mask=pad)  # fmt: skip
    np.testing.assert_allclose(outb.numpy().transpose(1, 0, 2), out.numpy(), rtol=1e-12)


def test_transformer_defaults_and_decoder_gradcheck():
    m = nn.Transformer(num_encoder_layers=1, num_decoder_layers=1)
    assert (m.d_model, m.nhead, m.batch_first) == (512, 8, False)
    dec = m.decoder.layers[0]
    assert dec.linear1.out_features == 2048 and dec.dropout.p == 0.1 and not dec.norm_first
    assert dec.norm3.eps == 1e-5
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double()
    names = list(layer.state_dict())
    rng = np.random.default_rng(5)
    params = [p.numpy() + rng.standard_normal(p.shape) * 0.3 for p in layer.state_dict().values()]

    def fn(tgt, memory, *ps):
        for name, p in zip(names, ps):
            owner = layer
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            owner._parameters[leaf] = p
        return layer(tgt, memory, tgt_is_causal=True)

    check_grad(fn, [rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2, 4)), *params],
               name="TransformerDecoderLayer")  # fmt: skip


def test_decoder_errors():
    layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
    with pytest.raises(ValueError, match=r"got memory of shape \(4, 2, 6\)"):
        layer(gn.randn(3, 2, 8), gn.randn(4, 2, 6))
    with pytest.raises(TypeError, match="decoder_layer must be a TransformerDecoderLayer"):
        nn.TransformerDecoder("layer", 2)
    with pytest.raises(ValueError, match="different batch sizes"):
        nn.Transformer(8, 2, 1, 1, 16)(gn.randn(5, 2, 8), gn.randn(3, 4, 8))
