"""PyTorch's ``device=`` / ``dtype=`` constructor arguments on layers with parameters.

PyTorch's documented behaviour (nn.Module factory_kwargs): parameters and floating-point
buffers are created with ``dtype`` on ``device``; integer buffers (``num_batches_tracked``)
keep their dtype; layers without parameters (ReLU) do not take them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_linear_float64_pytorch_spelling():
    layer = nn.Linear(3, 4, device="cpu", dtype=gn.float64)
    assert layer.weight.dtype == gn.float64
    assert layer.bias.dtype == gn.float64
    x = np.random.default_rng(0).standard_normal((2, 3))
    out = layer(gn.tensor(x, device="cpu"))  # on the layer's device (the suite may run on sim)
    assert out.dtype == gn.float64
    w, b = layer.weight.numpy(), layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), x @ w.T + b, rtol=1e-14, atol=1e-14)
    assert "dtype" in inspect.signature(nn.Linear).parameters


# (constructor, input shape, forward kwargs): a representative set of PyTorch layers.
LAYERS = [
    (lambda **k: nn.Linear(3, 4, **k), (2, 3)),
    (lambda **k: nn.Conv1d(2, 3, 3, **k), (2, 2, 7)),
    (lambda **k: nn.Conv2d(2, 3, 3, padding=1, **k), (2, 2, 5, 5)),
    (lambda **k: nn.Conv3d(1, 2, 2, **k), (1, 1, 3, 3, 3)),
    (lambda **k: nn.ConvTranspose2d(2, 3, 2, **k), (1, 2, 3, 3)),
    (lambda **k: nn.BatchNorm1d(3, **k), (4, 3)),
    (lambda **k: nn.BatchNorm2d(3, **k), (2, 3, 4, 4)),
    (lambda **k: nn.LayerNorm(5, **k), (2, 5)),
    (lambda **k: nn.GroupNorm(2, 4, **k), (2, 4, 3)),
    (lambda **k: nn.PReLU(**k), (2, 3)),
    (lambda **k: nn.RNN(3, 4, **k), (5, 2, 3)),
    (lambda **k: nn.LSTM(3, 4, num_layers=2, **k), (5, 2, 3)),
    (lambda **k: nn.GRU(3, 4, bidirectional=True, **k), (5, 2, 3)),
    (lambda **k: nn.LSTMCell(3, 4, **k), (2, 3)),
    (lambda **k: nn.GRUCell(3, 4, **k), (2, 3)),
    (lambda **k: nn.RNNCell(3, 4, **k), (2, 3)),
    (lambda **k: nn.MultiheadAttention(8, 2, **k), (3, 2, 8)),
    (lambda **k: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **k),
     (3, 2, 8)),
]  # fmt: skip


def _forward(layer, shape, dtype):
    device = next(iter(layer.parameters())).device  # the input goes where the layer is
    x = gn.tensor(np.random.default_rng(1).standard_normal(shape).astype(dtype), device=device)
    if isinstance(layer, nn.MultiheadAttention):
        return layer(x, x, x)[0]
    out = layer(x)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_float64_layers_create_and_forward_in_float64(index):
    make, shape = LAYERS[index]
    gn.manual_seed(0)
    layer = make(device="cpu", dtype=gn.float64)
    params = list(layer.parameters())
    assert params and all(p.dtype == gn.float64 for p in params)
    for buf in layer.buffers():
        assert buf.dtype == (gn.float64 if buf.dtype.kind == "f" else gn.int64)
    out = _forward(layer, shape, np.float64)
    assert out.dtype == gn.float64
    # Same numbers as the default (float32) layer cast with .double(), the PyTorch equivalent.
    gn.manual_seed(0)
    ref = make().double().to("cpu")
    for p, q in zip(layer.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    np.testing.assert_array_equal(out.numpy(), _forward(ref, shape, np.float64).numpy())


def test_float64_layer_gradients_match_finite_differences():
    gn.manual_seed(0)
    layer = nn.Linear(3, 2, dtype="float64")
    x = gn.tensor(np.random.default_rng(2).standard_normal((4, 3)))
    (layer(x) ** 2).sum().backward()
    w = layer.weight.numpy().copy()
    grad = layer.weight.grad.numpy()
    eps = 1e-6
    for i in range(2):
        for j in range(3):
            plus, minus = w.copy(), w.copy()
            plus[i, j] += eps
            minus[i, j] -= eps
            b = layer.bias.numpy()
            xn = x.numpy()
            fd = (((xn @ plus.T + b) ** 2).sum() - ((xn @ minus.T + b) ** 2).sum()) / (2 * eps)
            assert abs(fd - grad[i, j]) < 1e-6


def test_embedding_and_batchnorm_buffers():
    emb = nn.Embedding(10, 4, dtype=gn.float64)
    assert emb.weight.dtype == gn.float64
    assert emb(gn.tensor(np.array([1, 2]))).dtype == gn.float64
    bn = nn.BatchNorm1d(3, dtype=gn.float64)
    assert bn.running_mean.dtype == gn.float64 and bn.running_var.dtype == gn.float64
    assert bn.num_batches_tracked.dtype.kind == "i"  # integer buffers keep their dtype


def test_transformer_and_decoder_layer():
    t = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16, dropout=0.0, dtype=gn.float64)  # fmt: skip
    assert all(p.dtype == gn.float64 for p in t.parameters())
    src = gn.tensor(np.random.default_rng(3).standard_normal((4, 2, 8)))
    assert t(src, src).dtype == gn.float64
    d = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dtype="float64")
    assert all(p.dtype == gn.float64 for p in d.parameters())


def test_dtype_spellings_and_default():
    for spelling in (gn.float64, "float64", np.float64, gn.double):
        assert nn.Linear(2, 2, dtype=spelling).weight.dtype == gn.float64
    assert nn.Linear(2, 2, dtype=None, device=None).weight.dtype == gn.float32
    assert nn.Linear(2, 2, device=gn.device("cpu")).weight.device == gn.device("cpu")


def test_lazy_linear_applies_dtype_when_built():
    layer = nn.Linear(out_features=4, dtype=gn.float64)
    out = layer(gn.tensor(np.ones((2, 3))))
    assert layer.weight.dtype == gn.float64 and out.dtype == gn.float64


def test_non_float_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="Linear: dtype=int64 is not a floating-point dtype"):
        nn.Linear(2, 2, dtype=gn.int64)


def test_unavailable_device_is_the_usual_clear_error():
    if gn.cuda.is_available():
        pytest.skip("a GPU is available here: cuda is not an unavailable device")
    with pytest.raises(RuntimeError, match="device='cpu'"):
        nn.Linear(2, 2, device="cuda")


def test_layers_without_parameters_do_not_take_them():
    with pytest.raises(TypeError):  # as PyTorch: nn.ReLU(dtype=...) is a TypeError
        nn.ReLU(dtype=gn.float64)


def test_user_subclass_forwards_factory_kwargs():
    class MyLinear(nn.Linear):
        def __init__(self, n, **factory):
            super().__init__(n, n, **factory)

    assert MyLinear(3, dtype=gn.float64).weight.dtype == gn.float64


@pytest.mark.gpu
@pytest.mark.skipif(not gn.cuda_available(), reason="needs CuPy and an NVIDIA GPU")
def test_device_cuda_puts_parameters_on_the_gpu():
    gn.manual_seed(0)
    layer = nn.Linear(3, 4, device="cuda", dtype=gn.float64)
    assert layer.weight.device.type == "cuda" and layer.bias.device.type == "cuda"
    assert layer.weight.dtype == gn.float64
    gn.manual_seed(0)
    ref = nn.Linear(3, 4).double()
    np.testing.assert_array_equal(layer.weight.numpy(), ref.weight.numpy())
    out = layer(gn.tensor(np.ones((2, 3))).to("cuda"))
    np.testing.assert_allclose(out.numpy(), ref(gn.tensor(np.ones((2, 3)))).numpy(), rtol=1e-12)
