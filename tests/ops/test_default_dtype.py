"""``set_default_dtype`` as PyTorch's: what follows the default float dtype and what does not.

The expected dtypes were checked once against torch 2.13.0 with
``torch.set_default_dtype(torch.float64)``; the tests never import torch.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


@pytest.fixture
def float64_default():
    gn.set_default_dtype(gn.float64)
    try:
        yield
    finally:
        gn.set_default_dtype(gn.float32)


def test_new_floats_and_parameters_follow_the_default(float64_default):
    assert gn.get_default_dtype() == gn.float64
    made = [
        gn.tensor([1.0]), gn.zeros(2), gn.ones(2), gn.empty(2), gn.eye(2), gn.randn(2),
        gn.rand(2), gn.arange(0.0, 1.0, 0.5), gn.linspace(0, 1, 3), gn.full((2,), 1.5),
        gn.normal(0.0, 1.0, size=(2,)), gn.as_tensor([1.0]), gn.scalar_tensor(1.0),
        gn.tensor([1, 2]) * 1.5, gn.tensor([1, 2]) / 2, gn.sqrt(gn.tensor([4])),
    ]  # fmt: skip
    assert [t.dtype for t in made] == [gn.float64] * len(made)
    layers = [nn.Linear(2, 3), nn.Conv2d(1, 2, 3), nn.LSTM(2, 3), nn.Embedding(3, 2),
              nn.LayerNorm(3), nn.MultiheadAttention(4, 2), nn.PReLU()]  # fmt: skip
    for layer in layers:
        assert {p.dtype for p in layer.parameters()} == {gn.float64}, layer
    assert nn.BatchNorm1d(3).running_mean.dtype == gn.float64
    assert nn.Transformer.generate_square_subsequent_mask(3).dtype == gn.float64
    assert gn.tensor([1 + 2j]).dtype == gn.complex128


def test_what_keeps_its_dtype(float64_default):
    kept = {
        "int list": (gn.tensor([1]), gn.int64),
        "int arange": (gn.arange(3), gn.int64),
        "bool": (gn.tensor([True]), gn.bool),
        "numpy float32": (gn.tensor(np.ones(2, np.float32)), gn.float32),
        "from_numpy": (gn.from_numpy(np.ones(2, np.float32)), gn.float32),
        "float32 * Python float": (gn.ones(2, dtype=gn.float32) * 1.5, gn.float32),
        "float32 + 0-d default": (gn.ones(2, dtype=gn.float32) + gn.tensor(1.5), gn.float32),
        "zeros_like float32": (gn.zeros_like(gn.ones(2, dtype=gn.float32)), gn.float32),
        ".float()": (gn.tensor([1, 2]).float(), gn.float32),
    }
    for name, (t, dtype) in kept.items():
        assert t.dtype == dtype, name


def test_a_float64_model_trains_in_float64_and_the_default_comes_back(float64_default):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = gn.randn(8, 3)
    loss = ((model(x) - 1.0) ** 2).mean()
    loss.backward()
    assert loss.dtype == gn.float64
    assert all(p.grad.dtype == gn.float64 for p in model.parameters())


def test_the_default_is_float32_again_after_resetting():
    gn.set_default_dtype("float64")
    try:
        assert gn.zeros(1).dtype == gn.float64
    finally:
        gn.set_default_dtype(gn.float32)
    assert gn.zeros(1).dtype == gn.float32 and gn.tensor([1j]).dtype == gn.complex64
    gn.set_default_dtype(gn.float16)
    try:
        assert gn.tensor([0.5]).dtype == gn.float16
    finally:
        gn.set_default_dtype(gn.float32)


def test_python_complex_scalars_promote_as_pytorch():
    # torch: float32 * 1j -> complex64, float64 * 1j -> complex128, int64 * 1j -> complex64
    assert (gn.ones(2) * 1j).dtype == gn.complex64
    assert (gn.ones(2, dtype=gn.float64) * 1j).dtype == gn.complex128
    assert (gn.tensor([1, 2]) + (1 + 1j)).dtype == gn.complex64
    assert (gn.ones(2) * (1 + 2j)).tolist() == [1 + 2j, 1 + 2j]


def test_set_default_dtype_takes_dtypes_only():
    with pytest.raises(TypeError, match="must be a dtype"):
        gn.set_default_dtype(gn.zeros(2, dtype=gn.float64))  # torch: TypeError, not Tensor
    assert gn.get_default_dtype() == gn.float32
