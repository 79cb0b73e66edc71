"""view/contiguous storage semantics, random_split's default generator and load's map_location,
as PyTorch documents them (writes through a view reach the base; a copy never does)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils.data import random_split


def test_view_shares_storage_with_its_base():
    x = gn.zeros(2, 3)
    v = x.view(3, 2)
    with gn.no_grad():
        v[0, 1] = 7.0
    assert x.tolist() == [[0.0, 7.0, 0.0], [0.0, 0.0, 0.0]]


def test_view_that_needs_a_copy_is_refused_as_pytorch():
    x = gn.arange(6.0).reshape(2, 3).t()  # non-contiguous: torch raises for x.view(6)
    with pytest.raises(ValueError, match=r"reshape"):
        x.view(6)
    assert x.reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def test_contiguous_copies_only_a_non_contiguous_tensor():
    x = gn.arange(6.0).reshape(2, 3)
    assert x.contiguous() is x
    c = x.t().contiguous()
    assert c.is_contiguous() and c.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    with gn.no_grad():
        c[0, 0] = 100.0
    assert x[0, 0].item() == 0.0  # a copy: the base is untouched


def test_contiguous_copy_passes_gradient():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x.t().contiguous() * gn.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 3.0], [2.0, 4.0]])


def test_view_dtype_reinterprets_bytes():
    x = gn.tensor([1.0], dtype=gn.float32)
    assert x.view(gn.int32).item() == 0x3F800000  # IEEE 754 bits of 1.0f


def test_random_split_follows_the_global_seed():
    def split():
        return [list(s.indices) for s in random_split(range(20), [10, 10])]

    gn.manual_seed(1)
    first = split()
    gn.manual_seed(1)
    assert split() == first
    gn.manual_seed(2)
    assert split() != first  # torch's default generator: the split depends on the seed


def test_load_map_location(tmp_path):
    path = tmp_path / "w.safetensors"
    gn.save({"w": gn.ones(2)}, path)
    assert gn.load(path, map_location="cpu")["w"].tolist() == [1.0, 1.0]
    assert gn.load(path, map_location={"cuda:0": "cpu"})["w"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="map_location"):
        gn.load(path, map_location=lambda storage, loc: storage)
