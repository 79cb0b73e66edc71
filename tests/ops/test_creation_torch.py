"""PyTorch's creation functions and dtype queries: the legacy constructors, as_tensor, range,
logspace, combinations, finfo/iinfo, size= and tensor shapes, and the errors PyTorch raises."""

import itertools

import numpy as np
import pytest

import glassnet as gn


def test_legacy_tensor_constructor_is_float32():
    assert gn.Tensor([1, 2]).dtype == gn.float32
    np.testing.assert_array_equal(gn.Tensor([1, 2]).numpy(), [1.0, 2.0])
    assert gn.Tensor(2.5).dtype == gn.float32
    t = gn.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype == gn.float32
    assert gn.Tensor(4).shape == (4,) and gn.Tensor().shape == (0,)
    assert gn.Tensor(np.arange(3)).dtype == gn.int64  # arrays keep their dtype
    assert gn.tensor([1, 2]).dtype == gn.int64  # gn.tensor infers, as torch.tensor
    with pytest.raises(TypeError, match="gn.tensor"):
        gn.Tensor(2, -1)


def test_typed_constructors():
    assert gn.LongTensor([1.7, -1.7]).tolist() == [1, -1]
    assert gn.FloatTensor([1, 2]).dtype == gn.float32
    assert gn.DoubleTensor(2, 3).shape == (2, 3) and gn.DoubleTensor(2).dtype == gn.float64
    assert gn.IntTensor([1]).dtype == gn.int32 and gn.BoolTensor([1, 0]).tolist() == [True, False]
    assert gn.ByteTensor([1]).dtype == gn.uint8 and gn.FloatTensor().shape == (0,)


def test_as_tensor_scalar_tensor_is_tensor_numel():
    x = gn.ones(2)
    assert gn.as_tensor(x) is x and gn.as_tensor(x, dtype=gn.float64).dtype == gn.float64
    a = np.arange(3.0)
    shared = gn.as_tensor(a)
    a[0] = 5.0
    assert shared.dtype == gn.float64 and shared.tolist()[0] == 5.0  # no copy, as PyTorch
    assert gn.as_tensor([1, 2]).dtype == gn.int64 and gn.as_tensor([1.0]).dtype == gn.float32
    s = gn.scalar_tensor(3)
    assert s.shape == () and s.dtype == gn.float32 and s.item() == 3.0
    assert gn.is_tensor(x) and not gn.is_tensor(a)
    assert gn.numel(gn.ones(2, 3)) == 6
    assert gn.is_floating_point(x) and not gn.is_floating_point(gn.tensor([1]))
    assert not gn.is_complex(x) and not x.is_complex()


def test_range_logspace_combinations():
    np.testing.assert_array_equal(gn.range(0, 3).numpy(), [0.0, 1.0, 2.0, 3.0])
    assert gn.range(0, 3).dtype == gn.float32
    np.testing.assert_array_equal(gn.range(0, 1, 0.5).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(gn.logspace(0, 2, 3).numpy(), [1.0, 10.0, 100.0])
    np.testing.assert_allclose(gn.logspace(0, 2, 3, base=2).numpy(), [1.0, 2.0, 4.0])
    v = gn.tensor([4, 5, 6])
    for r, rep in ((2, False), (2, True), (3, False), (1, True)):
        pick = itertools.combinations_with_replacement if rep else itertools.combinations
        want = np.array(list(pick([4, 5, 6], r))).reshape(-1, r)
        np.testing.assert_array_equal(gn.combinations(v, r, rep).numpy(), want)
    assert gn.combinations(gn.tensor([1, 2]), r=3).shape == (0, 3)
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    gn.combinations(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_size_keyword_tensor_shapes_and_pytorch_keywords():
    assert gn.zeros(size=(2, 3)).shape == (2, 3) and gn.ones(size=[4]).shape == (4,)
    assert gn.randn(size=(2,)).shape == (2,) and gn.rand(size=(1, 2)).shape == (1, 2)
    assert gn.empty(size=(3,)).shape == (3,) and gn.zeros(gn.tensor([2, 3])).shape == (2, 3)
    assert gn.full(size=(2,), fill_value=1.5).tolist() == [1.5, 1.5]
    a = gn.arange(start=1, end=4, step=1, dtype=gn.float32, requires_grad=True)
    assert a.tolist() == [1.0, 2.0, 3.0] and a.requires_grad
    np.testing.assert_allclose(gn.linspace(start=0, end=1, steps=3).numpy(), [0, 0.5, 1])
    assert gn.broadcast_shapes((2, 1), (3,)) == (2, 3)
    with pytest.raises(ValueError, match="broadcast"):
        gn.broadcast_shapes((2,), (3,))


def test_finfo_iinfo_and_default_dtype():
    f = gn.finfo(gn.float32)
    info = np.finfo(np.float32)
    assert (f.bits, f.eps, f.max, f.min, f.tiny) == (32, info.eps, info.max, info.min, info.tiny)
    assert f.smallest_normal == f.tiny and f.resolution == 1e-6
    assert gn.finfo().bits == 32 and gn.finfo(gn.float16).eps == float(np.finfo(np.float16).eps)
    i = gn.iinfo(gn.int8)
    assert (i.bits, i.min, i.max) == (8, -128, 127)
    with pytest.raises(TypeError, match="iinfo"):
        gn.finfo(gn.int32)
    assert gn.get_default_dtype() == gn.float32
    with pytest.raises(TypeError, match="only floating-point types"):
        gn.set_default_dtype(gn.int64)


def test_what_pytorch_rejects():
    with pytest.raises(TypeError, match="mean"):
        gn.tensor([1, 2]).mean()
    assert gn.tensor([1, 2]).mean(dtype=gn.float32).item() == 1.5
    for op in ("var", "std"):
        with pytest.raises(TypeError, match=op):
            getattr(gn.tensor([1, 2]), op)()
    with pytest.raises(TypeError, match="randint"):
        gn.randn(2, dtype=gn.int64)
    with pytest.raises(ValueError, match="step sign"):
        gn.arange(0, 5, -1)
    assert gn.arange(5, 0, -1).tolist() == [5, 4, 3, 2, 1]


def test_python_complex_numbers_become_complex64_like_floats_become_float32():
    assert gn.tensor([1 + 2j, 3.0]).dtype == np.complex64
    assert gn.tensor(np.array([1 + 2j])).dtype == np.complex128  # an array keeps its dtype
