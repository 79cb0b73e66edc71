"""The Tensor API contract of DESIGN.md: creation and dtype rules, attributes, conversion,
operators (including reflected ones), comparisons, indexing, seeding and repr."""

import numpy as np
import pytest

import glassnet as gn


# -- creation and dtype rules -----------------------------------------------------------------
@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([[1.0, 2.0]], np.float32),
        ([1, 2.5], np.float32),
        (np.array([1.0]), np.float64),  # float64 NumPy data is kept
        (np.array([1.0], dtype=np.float32), np.float32),
        (np.float64(2.0), np.float64),
        (3, np.int64),
        ([1, 2], np.int64),
        (np.array([1, 2], dtype=np.int32), np.int32),
        ([True, False], np.bool_),
    ],
)
def test_tensor_dtype_rules(data, dtype):
    assert gn.tensor(data).dtype == dtype


def test_tensor_explicit_dtype_and_copy():
    a = np.array([1.0, 2.0])
    t = gn.tensor(a, dtype="float32")
    assert t.dtype == np.float32
    t64 = gn.tensor(a)
    a[0] = 9.0
    assert t64.numpy()[0] == 1.0  # gn.tensor copies
    assert gn.tensor([1, 2], dtype=gn.float64).dtype == np.float64


def test_tensor_rejects_non_numbers():
    with pytest.raises(TypeError, match="expected numbers"):
        gn.tensor(["a", "b"])
    with pytest.raises(TypeError, match="unknown dtype"):
        gn.tensor([1.0], dtype="float17")


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(3, dtype=np.float64)
    t = gn.from_numpy(a)
    a[0] = 7.0
    assert t.dtype == np.float64 and t.numpy()[0] == 7.0
    with pytest.raises(TypeError, match="numpy.ndarray"):
        gn.from_numpy([1.0, 2.0])


def test_filled_and_range_constructors():
    assert gn.zeros(2, 3).shape == (2, 3) and gn.zeros((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(gn.zeros(2).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(gn.ones(2, dtype="float64").numpy(), [1.0, 1.0])
    assert gn.ones(2, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(gn.full((2,), 3.5).numpy(), [3.5, 3.5])
    assert gn.full((2,), 3.5).dtype == np.float32 and gn.full((2,), 3).dtype == np.int64
    np.testing.assert_array_equal(gn.eye(3).numpy(), np.eye(3))
    assert gn.eye(2, 3).shape == (2, 3)
    np.testing.assert_array_equal(gn.arange(4).numpy(), [0, 1, 2, 3])
    assert gn.arange(4).dtype == np.int64
    np.testing.assert_allclose(gn.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert gn.arange(0, 1, 0.25).dtype == np.float32
    assert gn.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="non-negative"):
        gn.zeros(-1)


def test_random_constructors_and_manual_seed_determinism():
    gn.manual_seed(123)
    a, u = gn.randn(3, 4), gn.rand(5)
    gn.manual_seed(123)
    b, v = gn.randn(3, 4), gn.rand(5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert a.dtype == np.float32 and a.shape == (3, 4)
    assert (u.numpy() >= 0).all() and (u.numpy() < 1).all()
    gn.manual_seed(124)
    assert not np.array_equal(gn.randn(3, 4).numpy(), a.numpy())
    with pytest.raises(ValueError, match="non-negative int"):
        gn.manual_seed(-1)


# -- attributes and conversion ------------------------------------------------------------------
def test_attributes(host_device):  # CPU-specific output
    x = gn.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.numel() == 3 and len(x) == 1
    assert x.dtype == np.float32 and str(x.device) == "cpu" and x.device == "cpu"
    assert x.requires_grad and x.grad is None and x.is_leaf
    x.sum().backward()
    assert isinstance(x.grad, gn.Tensor) and x.grad.shape == (1, 3)


def test_numpy_item_detach_to_astype(host_device):  # CPU-specific output
    x = gn.tensor([[1.0, 2.0]], requires_grad=True)
    arr = x.numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    assert gn.tensor([2.5]).item() == 2.5 and isinstance(gn.tensor([2.5]).item(), float)
    assert isinstance(gn.tensor(4).item(), int)
    with pytest.raises(ValueError, match=r"one element.*\(1, 2\)"):
        x.item()
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d._data, x._data)
    assert x.to("cpu") is x
    y = x.astype("float64")
    assert y.dtype == np.float64 and y.requires_grad  # differentiable cast
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert x.astype(np.float32) is x
    assert gn.tensor([1.7, -1.2]).astype("int64").numpy().tolist() == [1, -1]
    assert float(gn.tensor([2.0])) == 2.0 and int(gn.tensor([3])) == 3


def test_to_cuda_without_gpu_raises_clearly():
    if gn.cuda_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy or an NVIDIA GPU is not available"):
        gn.tensor([1.0]).to("cuda")


def test_bool_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(gn.tensor([1.0, 2.0]))
    assert bool(gn.tensor([1.0]))


# -- operators ------------------------------------------------------------------------------
A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]], dtype=np.float32)
B = np.array([2.0, 0.5, -3.0], dtype=np.float32)


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**2,
        lambda a, b: -a,
        lambda a, b: abs(a),
        lambda a, b: a @ b,
    ],
    ids=["add", "sub", "mul", "div", "pow", "neg", "abs", "matmul"],
)
def test_operators_match_numpy(op):
    out = op(gn.tensor(A), gn.tensor(B))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), op(A.astype(np.float64), B.astype(np.float64)),
                               rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    "op",
    [
        lambda c, t: c + t,
        lambda c, t: c - t,
        lambda c, t: c * t,
        lambda c, t: c / t,
        lambda c, t: c**t,
        lambda c, t: t + c,
        lambda c, t: t - c,
        lambda c, t: t * c,
        lambda c, t: t / c,
    ],
    ids=["radd", "rsub", "rmul", "rdiv", "rpow", "add", "sub", "mul", "div"],
)
@pytest.mark.parametrize("const", [2.0, 3, np.array([2.0, 0.5, 4.0]), np.float64(1.5)],
                         ids=["float", "int", "f64-array", "np-scalar"])  # fmt: skip
def test_constants_on_either_side_keep_float32(op, const):
    base = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    out = op(const, gn.tensor(base))
    assert isinstance(out, gn.Tensor)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), op(np.asarray(const, dtype=np.float64),
                                               base.astype(np.float64)), rtol=1e-6)  # fmt: skip


def test_reflected_matmul_with_numpy_array():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = m @ gn.tensor([[1.0], [1.0]])
    assert isinstance(out, gn.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[3.0], [7.0]])


def test_comparisons_are_boolean_and_have_no_grad():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out, want in [
        (x > 2, [False, False, True]),
        (x >= 2, [False, True, True]),
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
        (x == np.array([1.0, 0.0, 3.0]), [True, False, True]),
    ]:
        assert out.dtype == np.bool_ and not out.requires_grad
        assert out.numpy().tolist() == want


def test_indexing_and_transpose():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = gn.tensor(a)
    for index in [0, (1, 2), (slice(None), 1), (Ellipsis, -1), (0, slice(None, None, -1)),
                  np.array([1, 0, 1]), (slice(None), [0, 2]), a > 10, (None, 0)]:  # fmt: skip
        np.testing.assert_array_equal(x[index].numpy(), a[index])
    np.testing.assert_array_equal(x[gn.tensor([1, 0])].numpy(), a[[1, 0]])
    np.testing.assert_array_equal(x[0].T.numpy(), a[0].T)
    np.testing.assert_array_equal(x.T.numpy(), a.T)
    np.testing.assert_array_equal(x.mT.numpy(), a.swapaxes(-1, -2))
    with pytest.raises(IndexError, match=r"shape \(2, 3, 4\)"):
        x[5]


def test_methods_follow_numpy():
    a = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
    x = gn.tensor(a)
    np.testing.assert_allclose(x.sum(axis=1).numpy(), a.sum(axis=1))
    np.testing.assert_allclose(x.mean().numpy(), a.mean())
    np.testing.assert_allclose(x.var(axis=0).numpy(), a.var(axis=0, ddof=1))
    np.testing.assert_allclose(x.amax(axis=0, keepdims=True).numpy(), a.max(0, keepdims=True))
    assert x.argmax(axis=1).numpy().tolist() == [2, 1]
    np.testing.assert_allclose(x.abs().sqrt().numpy(), np.sqrt(np.abs(a)))
    np.testing.assert_allclose(x.relu().numpy(), np.maximum(a, 0))
    assert x.reshape(3, 2).shape == (3, 2) and x.flatten().shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(0).squeeze().shape == (2, 3)
    assert x.permute(1, 0).shape == (3, 2) and x[:1].expand(4, 3).shape == (4, 3)


# -- repr -----------------------------------------------------------------------------------
def test_repr(host_device):  # CPU-specific output
    assert repr(gn.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gn.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(gn.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"
    assert repr(gn.tensor([1.0], dtype="float64")) == "tensor([1.], dtype=float64)"
    y = gn.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<mul>)"
    assert "..." in repr(gn.zeros(1000))


def test_flip_takes_pytorchs_method_form_and_asks_for_dims():
    """``x.flip(0, 2)`` is PyTorch's method form (dims as separate ints); with no dims
    PyTorch raises, so does glassnet (it does not return x unflipped)."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = gn.tensor(a)
    np.testing.assert_array_equal(x.flip(0, 2).numpy(), a[::-1, :, ::-1])
    np.testing.assert_array_equal(x.flip((0, 2)).numpy(), a[::-1, :, ::-1])
    np.testing.assert_array_equal(gn.flip(x, [1]).numpy(), a[:, ::-1])
    np.testing.assert_array_equal(x.flip(-1).numpy(), a[..., ::-1])
    with pytest.raises(TypeError, match="dims to reverse"):
        x.flip()


def test_to_none_changes_nothing():
    """``x.to(None)`` keeps the tensor (it cast to float64: NumPy reads dtype None as float64);
    a tensor's and a module's ``to`` share one argument parser."""
    x = gn.ones(2)
    assert x.to(None) is x and x.to(None, None).dtype == np.float32
