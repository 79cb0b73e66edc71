"""TransformerEncoderLayer / TransformerEncoder: PyTorch key names, forward against a NumPy
reference (post-norm, pre-norm, relu/gelu, masks), float64 gradchecks, copies and errors."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing import check_grad

rng = np.random.default_rng(0)


# -- an independent NumPy reference -------------------------------------------------------------
def ref_layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def ref_gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def ref_self_attention(x, p, pre, num_heads, mask):
    """x (N, T, E); ``mask`` additive, broadcastable to (N, h, T, T)."""
    E = x.shape[-1]
    wq, wk, wv = np.split(p[pre + "self_attn.in_proj_weight"], 3)
    bq, bk, bv = np.split(p[pre + "self_attn.in_proj_bias"], 3)
    Q, K, V = x @ wq.T + bq, x @ wk.T + bk, x @ wv.T + bv
    N, T, d = x.shape[0], x.shape[1], E // num_heads
    heads = []
    for j in range(num_heads):
        c = slice(j * d, (j + 1) * d)
        s = Q[..., c] @ K[..., c].transpose(0, 2, 1) / np.sqrt(d)
        s = s + np.broadcast_to(mask, (N, num_heads, T, T))[:, j]
        a = np.exp(s - s.max(axis=-1, keepdims=True))
        a /= a.sum(axis=-1, keepdims=True)
        heads.append(a @ V[..., c])
    o = np.concatenate(heads, axis=-1)
    return o @ p[pre + "self_attn.out_proj.weight"].T + p[pre + "self_attn.out_proj.bias"]


def ref_encoder_layer(x, p, pre, num_heads, norm_first, act, mask, eps=1e-5):
    def norm(y, k):
        return ref_layer_norm(y, p[f"{pre}norm{k}.weight"], p[f"{pre}norm{k}.bias"], eps)

    def ff(y):
        hidden = act(y @ p[pre + "linear1.weight"].T + p[pre + "linear1.bias"])
        return hidden @ p[pre + "linear2.weight"].T + p[pre + "linear2.bias"]

    if norm_first:
        x = x + ref_self_attention(norm(x, 1), p, pre, num_heads, mask)
        return x + ff(norm(x, 2))
    x = norm(x + ref_self_attention(x, p, pre, num_heads, mask), 1)
    return norm(x + ff(x), 2)


def params64(m):
    return {k: v.numpy().astype(np.float64) for k, v in m.state_dict().items()}


def randomize(m, scale=0.5):
    """Nonzero biases and non-unit norms, so a wrong wiring cannot hide behind the init."""
    with gn.no_grad():
        for p in m.parameters():
            p.copy_(rng.standard_normal(p.shape) * scale)
    return m


# -- names --------------------------------------------------------------------------------------
LAYER_KEYS = [  # PyTorch: nn.TransformerEncoderLayer(8, 2).state_dict().keys()
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
    "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
    "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
]  # fmt: skip


def test_state_dict_keys_match_pytorch():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    assert list(layer.state_dict()) == LAYER_KEYS
    assert [name for name, _ in layer.named_children()] == [
        "self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2",
    ]  # fmt: skip
    encoder = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(8))
    expected = [f"layers.{i}.{k}" for i in range(3) for k in LAYER_KEYS]
    assert list(encoder.state_dict()) == expected + ["norm.weight", "norm.bias"]
    shapes = {k: v.shape for k, v in encoder.state_dict().items()}
    assert shapes["layers.2.linear1.weight"] == (16, 8)
    assert shapes["layers.0.self_attn.in_proj_weight"] == (24, 8)


def test_default_hyperparameters_follow_pytorch():
    layer = nn.TransformerEncoderLayer(8, 2)
    assert layer.linear1.weight.shape == (2048, 8)
    assert layer.dropout.p == layer.dropout1.p == layer.self_attn.dropout == 0.1
    assert layer.norm1.eps == 1e-5 and not layer.norm_first and not layer.batch_first
    assert not layer.self_attn.batch_first  # PyTorch's default: (T, N, E) inputs


# -- forward numerics ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "norm_first, activation, batch_first",
    [(False, "relu", True), (True, "gelu", True), (False, "gelu", False)],
)
def test_layer_matches_reference(norm_first, activation, batch_first):
    layer = nn.TransformerEncoderLayer(6, 3, dim_feedforward=10, activation=activation,
                                       norm_first=norm_first, batch_first=batch_first)  # fmt: skip
    layer = randomize(layer.to(dtype="float64")).eval()
    x = rng.standard_normal((2, 5, 6))
    pad = np.zeros((2, 5), dtype=bool)
    pad[1, 3:] = True
    src = gn.tensor(x if batch_first else x.transpose(1, 0, 2))
    out = layer(src, src_key_padding_mask=gn.tensor(pad), is_causal=True)
    causal = np.where(np.triu(np.ones((5, 5), dtype=bool), k=1), -np.inf, 0.0)
    mask = causal + np.where(pad, -np.inf, 0.0)[:, None, None, :]
    act = ref_gelu if activation == "gelu" else (lambda a: np.maximum(a, 0.0))
    ref = ref_encoder_layer(x, params64(layer), "", 3, norm_first, act, mask)
    got = out.numpy() if batch_first else out.numpy().transpose(1, 0, 2)
    # without SciPy, glassnet's erf is a fit with fractional error < 1.2e-7 (ops/activation)
    tol = 1e-6 if activation == "gelu" else 1e-9
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_float_src_mask_and_callable_activation():
    layer = nn.TransformerEncoderLayer(
        4, 2, dim_feedforward=8, activation=gn.tanh, batch_first=True
    )
    layer = randomize(layer.to(dtype="float64")).eval()
    x = rng.standard_normal((3, 4, 4))
    mask = rng.standard_normal((4, 4))
    out = layer(gn.tensor(x), src_mask=gn.tensor(mask))
    ref = ref_encoder_layer(x, params64(layer), "", 2, False, np.tanh, mask)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-9, atol=1e-10)


def test_encoder_stacks_layers_and_final_norm():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, batch_first=True)
    layer = randomize(layer.to(dtype="float64"))
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4).to(dtype="float64")).eval()
    randomize(encoder)  # the two copies now differ
    x = rng.standard_normal((2, 3, 4))
    mask = nn.TransformerEncoder.generate_square_subsequent_mask(3, dtype="float64")
    out = encoder(gn.tensor(x), mask=mask)
    p = params64(encoder)
    ref = x
    for i in range(2):
        ref = ref_encoder_layer(ref, p, f"layers.{i}.", 2, False, lambda a: np.maximum(a, 0),
                                mask.numpy())  # fmt: skip
    ref = ref_layer_norm(ref, p["norm.weight"], p["norm.bias"], 1e-5)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-9, atol=1e-10)


def test_generate_square_subsequent_mask():
    m = nn.TransformerEncoder.generate_square_subsequent_mask(4).numpy()
    assert m.dtype == np.float32
    np.testing.assert_array_equal(np.isinf(m), np.triu(np.ones((4, 4), dtype=bool), k=1))
    assert (m[np.tril_indices(4)] == 0).all() and (m[np.isinf(m)] < 0).all()


def test_dropout_only_in_training():
    gn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, batch_first=True)
    x = gn.randn(2, 5, 8)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


# -- copies -------------------------------------------------------------------------------------
def test_encoder_copies_are_independent_and_start_from_the_template():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8)
    encoder = nn.TransformerEncoder(layer, 2)
    template = layer.state_dict()
    for i in range(2):
        copy = encoder.layers[i]
        assert copy is not layer
        for k, v in copy.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), template[k].numpy())
    with gn.no_grad():
        encoder.layers[0].linear1.weight.fill_(7.0)
    assert not (encoder.layers[1].linear1.weight.numpy() == 7.0).any()
    assert not (layer.linear1.weight.numpy() == 7.0).any()
    assert len({id(p) for p in encoder.parameters()}) == 2 * len(LAYER_KEYS)


def test_copies_keep_dtype_and_mode_and_draw_no_random_numbers():
    gn.manual_seed(1)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8).to(dtype="float64").eval()
    after_layer = gn.randn(3).numpy()
    gn.manual_seed(1)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8).to(dtype="float64").eval()
    encoder = nn.TransformerEncoder(layer, 3)
    np.testing.assert_array_equal(gn.randn(3).numpy(), after_layer)
    assert all(p.dtype == np.float64 for p in encoder.parameters())
    assert not any(m.training for m in encoder.layers)


# -- gradients ----------------------------------------------------------------------------------
def functional(module, names):
    def fn(x, *params, **kw):
        for name, p in zip(names, params):
            owner = module
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            owner._parameters[leaf] = p
        return module(x, **kw)

    return fn


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck_layer_input_and_every_parameter(norm_first):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                       norm_first=norm_first).to(dtype="float64")  # fmt: skip
    names = list(layer.state_dict())
    params = [p.numpy() + rng.standard_normal(p.shape) * 0.3 for p in layer.state_dict().values()]
    pad = gn.tensor(np.array([[False, False, True], [False, False, False]]))
    x = rng.standard_normal((2, 3, 4))  # relu kinks: hit with probability ~0 at these sizes
    check_grad(functional(layer, names), [x, *params],
               params={"src_key_padding_mask": pad}, name="TransformerEncoderLayer")  # fmt: skip


def test_gradcheck_encoder_input_and_every_parameter():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu")
    encoder = nn.TransformerEncoder(layer.to(dtype="float64"), 2, norm=nn.LayerNorm(4))
    encoder.to(dtype="float64")
    names = list(encoder.state_dict())
    params = [p.numpy() + rng.standard_normal(p.shape) * 0.3 for p in encoder.state_dict().values()]
    check_grad(functional(encoder, names), [rng.standard_normal((2, 3, 4)), *params],
               params={"is_causal": True}, name="TransformerEncoder")  # fmt: skip


# -- errors -------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ValueError, match="embed_dim=6 is not divisible by num_heads=4"):
        nn.TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu'"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    with pytest.raises(ValueError, match=r"d_model=8\) got input of shape \(2, 5, 6\)"):
        layer(gn.randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"src_key_padding_mask|key_padding_mask has shape"):
        layer(gn.randn(2, 5, 8), src_key_padding_mask=gn.zeros(2, 4, dtype="bool"))
    with pytest.raises(ValueError, match="num_layers must be a positive int"):
        nn.TransformerEncoder(layer, 0)
    with pytest.raises(TypeError, match="_config"):
        nn.TransformerEncoder(nn.Linear(8, 8), 2)


# -- docs/sequence-models.md --------------------------------------------------------------------
def test_sequence_models_doc_examples_run_and_print_what_they_claim():
    import contextlib
    import io
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "sequence-models.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 5
    printed = []
    for block in blocks:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            # like doctest: run the project's own documentation examples
            exec(compile(block, str(page), "exec"), {"__name__": "__doc_example__"})
        printed.append(buffer.getvalue())
    assert printed[0].startswith("(4, 10, 32) (4, 4, 16) (4, 4, 16)")
    accuracy = float(re.search(r"accuracy (\d\.\d+)", printed[1]).group(1))
    assert accuracy >= 0.95
    assert printed[2].startswith("(2, 5, 16) (2, 5, 5)")
    assert printed[3].startswith("(8, 12, 32)")
