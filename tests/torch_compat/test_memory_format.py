"""PyTorch's memory formats (``torch.channels_last``, ...) and ``Tensor.data_ptr``.

A memory format is a layout, never a value: ``model.to(memory_format=torch.channels_last)``
(Pytorch-UNet, timm) and ``x.to(memory_format=...)`` keep the values, so glassnet accepts
them (it stores every tensor row-major); asking whether a tensor is channels-last raises."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn as nn


def test_constants_exist_and_print():
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        fmt = getattr(gn, name)
        assert isinstance(fmt, gn.memory_format)
        assert repr(fmt) == f"glassnet.{name}"


def test_tensor_to_channels_last_is_a_copy_with_the_same_values():
    x = gn.randn(2, 3, 4, 5)
    y = x.to(memory_format=gn.channels_last)
    assert y is not x  # PyTorch copies into the new layout
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    y.add_(1.0)
    np.testing.assert_array_equal(y.numpy(), x.numpy() + 1.0)  # x unchanged
    z = gn.randn(1, 2, 3, 4, 5).contiguous(memory_format=gn.channels_last_3d)
    assert z.shape == (1, 2, 3, 4, 5)
    assert x.contiguous(memory_format=gn.contiguous_format) is x
    assert x.to(memory_format=gn.preserve_format) is x


def test_gradient_flows_through_the_layout_change():
    x = gn.randn(1, 2, 2, 2, requires_grad=True)
    (x.to(memory_format=gn.channels_last) * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 2, 2, 2), 3.0, np.float32))


def test_module_to_channels_last_keeps_weights_and_output():
    conv = nn.Conv2d(3, 4, 3)
    before = conv.weight.detach().numpy().copy()
    x = gn.randn(2, 3, 6, 6)
    out_before = conv(x).detach().numpy()
    assert conv.to(memory_format=gn.channels_last) is conv
    np.testing.assert_array_equal(conv.weight.detach().numpy(), before)
    np.testing.assert_array_equal(
        conv(x.to(memory_format=gn.channels_last)).detach().numpy(), out_before
    )


def test_like_functions_and_clone_accept_a_memory_format():
    x = gn.arange(24.0).reshape(1, 2, 3, 4)
    for fn in (gn.zeros_like, gn.ones_like, gn.empty_like, gn.rand_like, gn.randn_like):
        assert fn(x, memory_format=gn.preserve_format).shape == (1, 2, 3, 4)
    assert gn.full_like(x, 7.0, memory_format=gn.channels_last).numpy().max() == 7.0
    assert gn.randint_like(x, 5, memory_format=gn.contiguous_format).shape == (1, 2, 3, 4)
    np.testing.assert_array_equal(x.clone(memory_format=gn.channels_last).numpy(), x.numpy())
    np.testing.assert_array_equal(gn.clone(x, memory_format=gn.preserve_format).numpy(), x.numpy())


def test_errors():
    x = gn.randn(2, 3, 4, 5)
    with pytest.raises(NotImplementedError, match="row-major"):
        x.is_contiguous(memory_format=gn.channels_last)
    assert x.is_contiguous(memory_format=gn.contiguous_format)
    with pytest.raises(ValueError, match="4-d"):
        gn.randn(3, 4).to(memory_format=gn.channels_last)
    with pytest.raises(ValueError, match="5-d"):
        x.contiguous(memory_format=gn.channels_last_3d)
    with pytest.raises(TypeError, match="memory_format"):
        x.to(memory_format="channels_last")
    with pytest.raises(TypeError, match="memory_format"):
        nn.Linear(2, 2).to(memory_format="channels_last")


def test_data_ptr_identifies_shared_storage():
    x = gn.arange(12.0).reshape(3, 4)
    assert x.data_ptr() == x.view(12).data_ptr() == x[0].data_ptr()
    assert x[1].data_ptr() == x.data_ptr() + 4 * x.element_size()
    assert x.clone().data_ptr() != x.data_ptr()
    assert isinstance(x.data_ptr(), int)
