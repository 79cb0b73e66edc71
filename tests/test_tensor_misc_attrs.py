"""Tensor.nbytes / itemsize / apply_ / map_ / narrow_copy and the svd / qr methods, as
PyTorch's (expected values recorded once from torch 2.13, written out by hand)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_grad


def test_nbytes_and_itemsize():
    # torch 2.13: 24 4 32 8 (a view counts its own elements, not the storage)
    assert gn.ones(2, 3).nbytes == 24 and gn.ones(2, 3).itemsize == 4
    assert gn.ones(4, 4)[:, :2].nbytes == 32
    assert gn.ones(3, dtype=gn.float64).itemsize == 8
    assert gn.zeros(5, dtype=gn.int16).nbytes == 10
    assert gn.ones(3).itemsize == gn.ones(3).element_size()


def test_apply_in_place_with_python_numbers(host_device):  # CPU-only methods, as PyTorch's
    x = gn.tensor([1, 2, 3])
    assert x.apply_(lambda v: v * 1.7) is x
    assert x.tolist() == [1, 3, 5] and x.dtype == gn.int64  # truncated, as torch 2.13
    seen = []
    f = gn.tensor([1.0, 2.0, 3.0])
    f.apply_(lambda v: seen.append(type(v)) or v * 2)
    assert f.tolist() == [2.0, 4.0, 6.0] and seen == [float] * 3
    b = gn.tensor([True, False])
    assert b.apply_(lambda v: not v).tolist() == [False, True]
    base = gn.arange(6.0).reshape(2, 3)
    base[:, 1].apply_(lambda a: -a)  # a view writes through to its base, as torch
    assert base.tolist() == [[0.0, -1.0, 2.0], [3.0, -4.0, 5.0]]


def test_map_broadcasts_the_other_tensor(host_device):  # CPU-only methods, as PyTorch's
    x = gn.ones(2, 3)
    assert x.map_(gn.tensor([1.0, 2.0, 3.0]), lambda a, b: a + b) is x
    assert x.tolist() == [[2.0, 3.0, 4.0], [2.0, 3.0, 4.0]]
    with pytest.raises(ValueError, match="cannot be broadcast"):
        gn.ones(3).map_(gn.ones(2, 3), lambda a, b: a)
    with pytest.raises(TypeError, match="dtype float32"):
        gn.ones(3).map_(gn.ones(3, dtype=gn.float64), lambda a, b: a + b)


def test_apply_and_map_refuse_tensors_that_require_grad(
    host_device,
):  # CPU-only methods, as PyTorch's
    with pytest.raises(RuntimeError, match=r"Can't call apply_\(\) on Variable that requires"):
        gn.ones(3, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError, match=r"Can't call map_\(\)"):
        gn.ones(3, requires_grad=True).map_(gn.ones(3), lambda a, b: a)
    with pytest.raises(TypeError, match="expects a callable"):
        gn.ones(3).apply_(5)
    x = gn.ones(3, requires_grad=True)
    assert x.detach().apply_(lambda v: 2 * v).tolist() == [2.0, 2.0, 2.0]
    assert x.tolist() == [2.0, 2.0, 2.0]  # detach shares the storage, as torch


def test_narrow_copy_is_a_copy_with_a_gradient():
    a = gn.arange(12.0).reshape(3, 4)
    c = gn.narrow_copy(a, 1, 1, 2)
    assert c.tolist() == [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]
    c.fill_(0.0)
    assert a[0, 1].item() == 1.0  # not a view
    assert a.narrow_copy(0, -2, 2).tolist() == [[4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]
    with pytest.raises(IndexError):
        gn.narrow_copy(a, 1, 3, 2)
    check_grad(lambda x: x.narrow_copy(1, 1, 2) * 3.0, [np.arange(12.0).reshape(3, 4)])


def test_svd_and_qr_methods():
    a = gn.tensor(np.array([[3.0, 1.0], [1.0, 2.0], [0.0, 1.0]]))
    u, s, v = a.svd()
    np.testing.assert_allclose(((u * s) @ v.T).numpy(), a.numpy(), atol=1e-12)
    q, r = a.qr()
    np.testing.assert_allclose((q @ r).numpy(), a.numpy(), atol=1e-12)
    assert a.qr(some=False).Q.shape == (3, 3)
