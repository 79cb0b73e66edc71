"""PyTorch's process settings and tensor queries (glassnet/_torch_settings.py): what each one
does here, checked against PyTorch's documented behaviour (the tests never import torch)."""

import numpy as np
import pytest

import glassnet as gn


def test_tensor_queries(host_device):
    x = gn.arange(6.0).reshape(2, 3)
    assert x.is_cpu and not x.is_sparse and not x.is_quantized and not x.is_meta
    assert x.layout is gn.strided and repr(gn.strided) == "glassnet.strided"
    assert x.get_device() == -1  # torch: -1 for a CPU tensor
    assert x.is_signed() and gn.tensor([1]).is_signed() and not gn.tensor([True]).is_signed()
    assert not gn.tensor([1], dtype=gn.uint8).is_signed()
    assert gn.tensor([2.0]).is_nonzero() and not gn.is_nonzero(gn.tensor(0))
    with pytest.raises(RuntimeError, match="more than one value"):
        x.is_nonzero()
    assert x.is_same_size(gn.zeros(2, 3)) and not gn.is_same_size(x, gn.zeros(3, 2))


def test_sum_to_size_is_the_adjoint_of_expand():
    x = gn.arange(6.0).reshape(2, 3)
    assert x.sum_to_size(1, 3).tolist() == [[3.0, 5.0, 7.0]]
    assert x.sum_to_size((2, 1)).tolist() == [[3.0], [12.0]]
    with pytest.raises(RuntimeError, match="not expandable"):
        x.sum_to_size(3, 1)


def test_unravel_index_as_numpy_with_negative_indices():
    rows, cols = gn.unravel_index(gn.tensor([4, 7, -1, 0]), (2, 4))
    assert rows.tolist() == [1, 1, 1, 0] and cols.tolist() == [0, 3, 3, 0]
    assert rows.dtype == gn.int64
    with pytest.raises(RuntimeError, match="out of bounds"):
        gn.unravel_index(gn.tensor([8]), (2, 4))


def test_settings_are_recorded_and_reported():
    assert gn.set_flush_denormal(True) is False
    before = gn.get_num_interop_threads()
    gn.set_num_interop_threads(2)
    assert gn.get_num_interop_threads() == 2
    gn.set_num_interop_threads(before)
    device = gn.get_default_device()
    gn.set_default_device(None)
    try:
        assert gn.get_default_device().type == "cpu" and gn.zeros(1).device.type == "cpu"
    finally:
        gn.set_default_device(device)


def test_printoptions_change_how_tensors_print(host_device):
    x = gn.tensor([1.0 / 3, 2.0, 3.5])
    try:
        gn.set_printoptions(precision=2)
        assert repr(x) == "tensor([0.33, 2.  , 3.5 ])"
        gn.set_printoptions(sci_mode=True)
        assert repr(x) == "tensor([3.33e-01, 2.00e+00, 3.50e+00])"
        gn.set_printoptions(profile="full")
        assert "..." not in repr(gn.arange(100.0))
        gn.set_printoptions(threshold=5, edgeitems=1)
        assert repr(gn.arange(10.0)).startswith("tensor([0., ..., 9.])")
    finally:
        gn.set_printoptions(profile="default")
    assert repr(x) == "tensor([0.33333334, 2.        , 3.5       ])"
    assert np.array_equal(x.numpy(), np.array([1.0 / 3, 2.0, 3.5], dtype=np.float32))
