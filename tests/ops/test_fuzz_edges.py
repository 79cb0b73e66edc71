"""Regressions found by the differential fuzzer (torch 2.13 against glassnet, edge inputs).

Expected values were recorded once from PyTorch 2.13 and are written here as constants; the
tests never import torch.
"""

import numpy as np
import pytest

import glassnet as gn


# -- results that aliased their input: writing into them changed the input -------------------
@pytest.mark.parametrize("op", ["floor", "ceil", "trunc", "round", "fix"])
def test_rounding_an_int_tensor_returns_a_copy(op):
    x = gn.tensor([1, 2], dtype="int64")
    y = getattr(gn, op)(x)
    y.add_(5)  # torch: y = [6, 7], x stays [1, 2]
    assert x.tolist() == [1, 2]
    assert y.tolist() == [6, 7]


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_along_dim_of_0d_returns_a_copy(op):
    x = gn.tensor(3)
    values, index = getattr(x, op)(0)
    values.add_(5)  # torch: values = 8, x stays 3
    assert x.item() == 3 and values.item() == 8 and index.item() == 0


# -- dtypes ------------------------------------------------------------------------------------
def test_triu_tril_keep_bool():
    m = gn.ones(2, 2, dtype=gn.bool)
    # torch.triu(ones(2, 2, bool)): [[True, True], [False, True]], dtype bool
    assert gn.triu(m).dtype == gn.bool and gn.triu(m).tolist() == [[True, True], [False, True]]
    assert gn.tril(m).dtype == gn.bool and gn.tril(m).tolist() == [[True, False], [True, True]]


def test_true_division_promotes_before_going_float():
    u8 = gn.tensor([1, 2, 3], dtype=gn.uint8)
    h = gn.tensor([1.0, 2.0, 3.0], dtype=gn.float16)
    assert (u8 / h).dtype == gn.float16  # torch: float16 (glassnet gave float32)
    assert (u8 / gn.tensor(2.0, dtype=gn.float16)).dtype == gn.float16
    # complex / int kept the complex part (glassnet dropped it: tensor([0.5]))
    z = gn.from_numpy(np.array([1 + 1j], dtype=np.complex64)) / gn.tensor([2])
    assert z.dtype == np.complex64 and z.tolist() == [0.5 + 0.5j]
    assert gn.logaddexp(u8[:1], h[1:2]).dtype == gn.float16  # torch: float16 [2.3125]
    assert gn.special.xlog1py(u8[:1], h[1:2]).dtype == gn.float16  # torch: float16 [1.0986]


def test_nanmean_keeps_float16_and_nansum_honours_dtype():
    h = gn.tensor([1.0, 2.0, 3.0], dtype=gn.float16)
    m = gn.nanmean(h)
    assert m.dtype == gn.float16 and m.item() == 2.0  # torch: tensor(2., dtype=float16)
    s = gn.nansum(gn.tensor([1.5, 2.0, 3.0], dtype=gn.float16), dtype=gn.int64)
    assert s.dtype == gn.int64 and s.item() == 6  # torch: tensor(6) (1.5 cast to 1 first)
    with pytest.raises(TypeError, match="floating-point or complex"):
        gn.nanmean(h, dtype=gn.int64)  # torch: RuntimeError (could not infer output dtype)


def test_python_int_wraps_around_for_small_int_tensors():
    u8 = gn.tensor([1, 2, 3], dtype=gn.uint8)
    # torch: tensor([253, 250, 247], dtype=torch.uint8); glassnet raised OverflowError
    assert (u8 * -3).tolist() == [253, 250, 247] and (u8 * -3).dtype == gn.uint8
    assert (gn.tensor([1, 2, 3], dtype=gn.int8) + 300).tolist() == [45, 46, 47]
    assert (u8 < -1).tolist() == [True, True, True]  # -1 wraps to 255
    mask = gn.tensor([True, False, True])
    assert u8.masked_fill(mask, -1).tolist() == [255, 2, 255]


# -- torch raises; glassnet computed something else ------------------------------------------
def test_inplace_arithmetic_on_an_expanded_view_raises():
    x = gn.tensor([1, 2, 3])
    # glassnet added once per view element: x became [3, 4, 5]
    with pytest.raises(ValueError, match="broadcast view"):
        x.unsqueeze(0).expand(2, 3).add_(1)
    with pytest.raises(ValueError, match="broadcast view"):
        gn.tensor([1.0, 2.0]).expand(3, 2).mul_(gn.ones(3, 2))
    assert x.tolist() == [1, 2, 3]
    y = gn.tensor([1.0, 2.0, 3.0])
    y.expand(3).add_(1)  # no dim is broadcast: a plain write, as torch
    assert y.tolist() == [2.0, 3.0, 4.0]


def test_masked_fill_of_int_tensor_with_non_finite_float_raises():
    x = gn.tensor([1, 2, 3])
    mask = gn.tensor([True, False, True])
    with pytest.raises(ValueError, match="without overflow"):
        x.masked_fill(mask, float("-inf"))  # glassnet stored -9223372036854775808
    with pytest.raises(ValueError, match="without overflow"):
        gn.tensor([1], dtype=gn.uint8).masked_fill(gn.tensor([True]), 1e10)
    # a finite float is truncated toward zero: torch gives [-2, 2, -2]
    assert gn.tensor([1, 2, 3], dtype=gn.int8).masked_fill(mask, -2.7).tolist() == [-2, 2, -2]


@pytest.mark.parametrize("op", ["add", "sub"])
def test_float_alpha_with_int_tensors_raises(op):
    a, b = gn.tensor([1, 2, 3]), gn.tensor([1, 1, 1])
    with pytest.raises(TypeError, match="alpha"):
        getattr(a, op)(b, alpha=0.5)  # glassnet gave a float tensor
    # a float operand makes a float result: alpha may be a float (torch: [1.5, 2.5, 3.5])
    assert a.add(gn.tensor([1.0, 1.0, 1.0]), alpha=0.5).tolist() == [1.5, 2.5, 3.5]
    assert getattr(a, op)(b, alpha=2).tolist() == ([3, 4, 5] if op == "add" else [-1, 0, 1])


def test_split_sizes_must_be_non_negative():
    with pytest.raises(ValueError, match="non-negative"):
        gn.split(gn.zeros(3), [1, 3, -1])  # glassnet returned three pieces


def test_flatten_checks_its_dims():
    with pytest.raises(ValueError, match="out of range"):
        gn.zeros(4).flatten(1, -1)  # torch: IndexError, dim 1 of a 1-D tensor
    with pytest.raises(ValueError, match="out of range"):
        gn.zeros(()).flatten(1)
    assert gn.zeros(()).flatten(0, -1).shape == (1,)


# -- empty tensors -----------------------------------------------------------------------------
def test_split_of_an_empty_dim_gives_one_empty_piece():
    # torch.split(zeros(0, 3), 2): (tensor of shape (0, 3),); glassnet gave []
    pieces = gn.split(gn.zeros(0, 3), 2)
    assert len(pieces) == 1 and pieces[0].shape == (0, 3)
    assert [p.shape for p in gn.zeros(0).split(1)] == [(0,)]


def test_flatten_of_an_empty_tensor():
    # torch: zeros(0, 4).flatten(-1, -1) is (0, 4); glassnet's reshape(0, -1) raised
    assert gn.zeros(0, 4).flatten(-1, -1).shape == (0, 4)
    assert gn.zeros(2, 0, 3).flatten(1).shape == (2, 0)
    assert gn.zeros(0, 4, 2).flatten(1, 2).shape == (0, 8)
    np.testing.assert_array_equal(gn.zeros(0, 4).flatten().numpy(), np.zeros(0))


# -- gradients ---------------------------------------------------------------------------------
def _grad(fn, values):
    x = gn.tensor(values, dtype="float64", requires_grad=True)
    y = fn(x)
    (y.sum() if y.ndim else y).backward()
    return x.grad.numpy()


def test_maximum_minimum_gradient_with_nan_goes_to_both_sides():
    nan = float("nan")
    # torch: maximum(x, x.flip(-1)) of [1, nan, 3, 3]: grad [0, 2, 2, 2] (glassnet: [0, 0, 0, 2])
    np.testing.assert_array_equal(_grad(lambda x: gn.maximum(x, x.flip(-1)), [1, nan, 3, 3]),
                                  [0.0, 2.0, 2.0, 2.0])  # fmt: skip
    np.testing.assert_array_equal(_grad(lambda x: gn.minimum(x, x.flip(-1)), [1, nan, 3, 3]),
                                  [2.0, 2.0, 2.0, 0.0])  # fmt: skip
    # with a 0-d tensor: loser 0, tie 1/2, nan 1 (torch: [0, 1, 0.5, 1])
    np.testing.assert_array_equal(
        _grad(lambda x: gn.maximum(x, gn.tensor(2.0, dtype="float64")), [1, nan, 2, 3]),
        [0.0, 1.0, 0.5, 1.0],
    )


def test_std_of_constant_input_has_zero_gradient():
    # torch: std(correction=0) of [1, 1]: grad [0, 0] (glassnet: nan from 0 * inf)
    np.testing.assert_array_equal(_grad(lambda x: x.std(correction=0), [1.0, 1.0]), [0.0, 0.0])
    g = _grad(lambda x: x.std(0), [[1.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(g, [[-(0.5**0.5), 0.0], [0.5**0.5, 0.0]])


def test_logit_gradient_is_nan_outside_the_unit_interval():
    # torch: logit of [-1, 0.5, 2, 0, 1]: grad [nan, 4, nan, inf, inf] (glassnet: -0.5 at -1, 2)
    with np.errstate(all="ignore"):
        g = _grad(gn.logit, [-1.0, 0.5, 2.0, 0.0, 1.0])
        np.testing.assert_array_equal(g, [np.nan, 4.0, np.nan, np.inf, np.inf])
        # with eps the input is clamped: 0 outside [eps, 1 - eps] (torch: [0, 4, 0, 0, 0])
        g = _grad(lambda x: gn.logit(x, 0.1), [-1.0, 0.5, 2.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 4.0, 0.0, 0.0, 0.0])


# -- in-place casting: PyTorch's can_cast, not NumPy's same_kind -------------------------------
def test_inplace_int_result_narrows_into_a_smaller_int_tensor():
    u8 = gn.tensor([1, 2], dtype=gn.uint8)
    # torch: tensor([1, 0], dtype=uint8); glassnet raised "can't be cast"
    assert u8.bitwise_and_(gn.tensor([3, 1], dtype=gn.int16)).tolist() == [1, 0]
    # torch: uint8 [1, 2] add_ int16 [300, -1]: [45, 1] (wraps); glassnet: NumPy UFuncTypeError
    u8 = gn.tensor([1, 2], dtype=gn.uint8)
    assert u8.add_(gn.tensor([300, -1], dtype=gn.int16)).tolist() == [45, 1]
    assert u8.dtype == gn.uint8
    i8 = gn.tensor([1, 2], dtype=gn.int8).mul_(gn.tensor([300, -1]))
    assert i8.tolist() == [44, -2]  # torch: [44, -2]
    with pytest.raises(TypeError, match="can't be cast"):
        gn.tensor([1, 2]).add_(1.5)
    with pytest.raises(TypeError, match="can't be cast"):
        gn.tensor([True, False]).add_(gn.tensor([1, 2]))


# -- dim=() means every dim for norms and counts; 0-d index tensors --------------------------
def test_norm_and_count_nonzero_with_empty_dim_tuple_reduce_everything():
    x = gn.ones(2, 3)
    # torch.norm(ones(2, 3), dim=()): tensor(2.4495); glassnet returned |x| elementwise
    assert gn.norm(x, dim=()).shape == () and gn.norm(x, dim=()).item() == pytest.approx(6**0.5)
    assert gn.linalg.vector_norm(x, dim=()).item() == pytest.approx(6**0.5)
    assert x.count_nonzero(dim=()).item() == 6  # torch: tensor(6)


def test_vector_norm_without_identity_over_an_empty_dim_raises():
    x = gn.zeros(3, 0)
    for ord_ in (float("inf"), -1):  # torch: "cannot compute the inf norm ... dimension is empty"
        with pytest.raises(ValueError, match="no identity"):
            gn.linalg.vector_norm(x, ord_, dim=-1)
    assert gn.linalg.vector_norm(x, -1, dim=0).shape == (0,)  # the empty dim is not reduced
    assert gn.linalg.vector_norm(x, 0.5, dim=1).tolist() == [0.0, 0.0, 0.0]


def test_a_0d_int_tensor_index_is_a_view_like_an_int():
    x = gn.tensor([1, 2, 3])
    x[gn.tensor(1)].add_(5)  # torch: x = [1, 7, 3] (glassnet gathered a copy)
    assert x.tolist() == [1, 7, 3]
    m = gn.ones(2, 3)
    m[:, gn.tensor(0)].add_(5)
    assert m.tolist() == [[6.0, 1.0, 1.0], [6.0, 1.0, 1.0]]
    assert gn.ones(2, 3, 4)[[0, 1], gn.tensor(0), [0, 1]].shape == (2,)


def test_index_select_of_a_0d_tensor():
    assert gn.index_select(gn.tensor(5.0), 0, gn.tensor([0])).shape == ()  # torch: tensor(5.)
    with pytest.raises(ValueError, match="one index"):
        gn.index_select(gn.tensor(5.0), 0, gn.tensor([0, 0]))


# -- empty batches and reductions ------------------------------------------------------------
def test_kl_div_batchmean_of_an_empty_batch_is_nan():
    loss = gn.nn.functional.kl_div(gn.zeros(0, 3), gn.zeros(0, 3), reduction="batchmean")
    assert np.isnan(loss.item())  # torch: tensor(nan) (0 / 0); glassnet gave 0


def test_one_hot_of_an_empty_tensor_needs_num_classes():
    with pytest.raises(ValueError, match="empty"):
        gn.nn.functional.one_hot(gn.zeros(0, dtype=gn.int64))
    assert gn.nn.functional.one_hot(gn.zeros(0, dtype=gn.int64), 3).shape == (0, 3)


def test_unflatten_of_an_empty_tensor():
    assert gn.zeros(1, 0, 2).unflatten(2, (1, -1)).shape == (1, 0, 1, 2)  # torch: same
    assert gn.zeros(1, 0, 2).unflatten(1, (2, -1)).shape == (1, 2, 0, 2)


def test_conv_and_pool_of_an_empty_batch():
    F = gn.nn.functional
    w = gn.ones(3, 2, 3, 3, requires_grad=True)
    x = gn.ones(0, 2, 4, 4, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.shape == (0, 3, 2, 2)  # torch: (0, 3, 2, 2); glassnet: a NumPy reshape error
    y.sum().backward()
    assert x.grad.shape == (0, 2, 4, 4) and w.grad.shape == (3, 2, 3, 3)
    assert not w.grad.numpy().any()
    assert F.conv1d(gn.zeros(0, 2, 5), gn.zeros(3, 2, 3), padding="same").shape == (0, 3, 5)
    assert F.conv3d(gn.zeros(0, 2, 3, 3, 3), gn.zeros(3, 2, 2, 2, 2)).shape == (0, 3, 2, 2, 2)
    z = gn.zeros(0, 1, 5, 5)
    assert F.max_pool2d(z, 2, ceil_mode=True).shape == (0, 1, 3, 3)
    assert F.max_pool2d(z, 2, ceil_mode=True, return_indices=True)[1].shape == (0, 1, 3, 3)
    assert F.avg_pool2d(z, 2, ceil_mode=True).shape == (0, 1, 3, 3)


def test_amax_amin_with_an_empty_result():
    # torch: zeros(0, 4).amax(1) is empty (shape (0,)): dim 1 has elements to reduce
    assert gn.zeros(0, 4).amax(1).shape == (0,)
    assert gn.zeros(3, 0).amin(0, keepdim=True).shape == (1, 0)
    r = gn.zeros(3, 0).aminmax(dim=0)
    assert r.min.shape == (0,) and r.max.shape == (0,)
    with pytest.raises(ValueError, match="empty dim"):
        gn.zeros(0, 4).amax(0)  # torch: "Expected reduction dim 0 to have non-zero size"
    x = gn.zeros(0, 4, requires_grad=True)
    x.amax(1).sum().backward()
    assert x.grad.shape == (0, 4)


# -- Python ints stored into int tensors: PyTorch's overflow rule ----------------------------
def test_storing_python_ints_into_small_int_tensors():
    u8 = gn.tensor([1, 2, 3], dtype=gn.uint8)
    u8[1:] = -1  # torch: [1, 255, 255]; glassnet raised OverflowError
    assert u8.tolist() == [1, 255, 255]
    assert gn.tensor([1, 2], dtype=gn.uint8).fill_(-1).tolist() == [255, 255]
    assert gn.full((2,), -1, dtype=gn.uint8).tolist() == [255, 255]
    with pytest.raises(ValueError, match="without overflow"):
        gn.tensor([1, 2], dtype=gn.int8).fill_(300)  # torch raises
    with pytest.raises(ValueError, match="without overflow"):
        u8[0] = -256
    with pytest.raises(ValueError, match="without overflow"):
        u8.masked_fill(gn.tensor([True, False, False]), -256)  # glassnet stored 0
    with pytest.raises(ValueError, match="without overflow"):
        gn.full((2,), 2**40, dtype=gn.int32)  # glassnet stored 0


def test_abs_gradient_at_nan_is_zero():
    # torch: abs of [nan, 0, -1, 2]: grad [0, 0, -1, 1] (sign(nan) is 0); glassnet gave nan
    g = _grad(gn.abs, [float("nan"), 0.0, -1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, -1.0, 1.0])


def test_copysign_promotes_like_pytorch():
    h = gn.tensor([1.0, -2.0], dtype=gn.float16)
    y = gn.copysign(h, gn.tensor([-1.0, 1.0]))
    assert y.dtype == gn.float32 and y.tolist() == [-1.0, 2.0]  # torch: float32 (was float16)


def test_addmm_family_integer_scalars_and_beta_zero():
    i = gn.ones(2, 2, dtype=gn.int32)
    # torch: beta and alpha are cast to the integer dtype (0.5 -> 0, 1.5 -> 1): [[2, 2], [2, 2]]
    y = gn.addmm(i, i, i, beta=0.5, alpha=1.5)
    assert y.dtype == gn.int32 and y.tolist() == [[2, 2], [2, 2]]  # glassnet: float 3.5
    # beta = 0: input's nan is ignored, but input still gets a (zero) gradient, as torch
    x = gn.tensor([[float("nan"), 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    out = gn.addmm(x, gn.ones(2, 2, dtype="float64"), gn.ones(2, 2, dtype="float64"), beta=0)
    assert out.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    out.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


# -- in-place recording and int tensors --------------------------------------------------------
def test_inplace_op_with_itself_as_operand_keeps_the_gradient():
    x = gn.ones(2, requires_grad=True)
    h = x * 2.0
    h.add_(h)  # torch: x.grad = [4, 4]; glassnet made h an input of its own node: grad None
    h.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [4.0, 4.0]
    x2 = gn.ones(2, requires_grad=True)
    h2 = x2 * 2.0
    h2.sub_(h2, alpha=2)  # h - 2 h = -h: torch [-2, -2]
    h2.sum().backward()
    assert x2.grad.tolist() == [-2.0, -2.0]


def test_an_int_tensor_never_requires_grad_after_an_inplace_write():
    src = gn.tensor([1.5, 2.0, 3.0], requires_grad=True)
    a = gn.tensor([1, 2, 3], dtype=gn.int8)
    assert not a.copy_(src).requires_grad  # torch: False (glassnet: True)
    b = gn.tensor([1, 2])
    b[0] = gn.tensor(1.5, requires_grad=True)
    assert not b.requires_grad and b.tolist() == [1, 2]


def test_scatter_reduce_keeps_integer_dtypes():
    x = gn.tensor([1, 2, 3])
    idx, src = gn.tensor([0, 0, 1]), gn.tensor([5, 6, 8])
    # torch values; glassnet gave float results
    expected = {("sum", False): [11, 8, 3], ("mean", True): [4, 5, 3],
                ("amax", False): [6, 8, 3], ("prod", False): [30, 8, 3],
                ("prod", True): [30, 16, 3], ("amin", True): [1, 2, 3]}  # fmt: skip
    for (reduce, include_self), values in expected.items():
        y = x.scatter_reduce(0, idx, src, reduce, include_self=include_self)
        assert y.dtype == gn.int64 and y.tolist() == values, (reduce, include_self)
    u8 = gn.tensor([1, 2, 3], dtype=gn.uint8)
    y = u8.scatter_reduce(0, idx, gn.tensor([5, 6, 7], dtype=gn.uint8), "sum", include_self=False)
    assert y.dtype == gn.uint8 and y.tolist() == [11, 7, 3]
    b = gn.tensor([True, False, True])
    y = b.scatter_reduce(0, idx, gn.tensor([False, False, True]), "amax", include_self=False)
    assert y.tolist() == [False, True, True]


def test_index_fill_of_int_tensor_with_out_of_range_float_raises():
    with pytest.raises(ValueError, match="without overflow"):
        gn.tensor([1, 2, 3], dtype=gn.uint8).index_fill_(0, gn.tensor([0]), -1.5)


def test_tensor_from_python_numbers_checks_int_overflow():
    # torch: RuntimeError "value cannot be converted to type uint8 without overflow";
    # glassnet wrapped (2**40 -> 0, 300 -> 44)
    for data, dtype in (([1, 2**40], gn.uint8), ([1, 300], gn.int8), ([1.5, float("nan")], gn.int8),
                        ([1, -256], gn.uint8)):  # fmt: skip
        with pytest.raises(ValueError, match="without overflow"):
            gn.tensor(data, dtype=dtype)
    with pytest.raises(ValueError, match="without overflow"):
        gn.tensor(2**63)  # torch: "Overflow when unpacking long long" (glassnet: uint64)
    assert gn.tensor([1, -1], dtype=gn.uint8).tolist() == [1, 255]  # torch wraps down to -255
    assert gn.tensor([1.5, -2.5], dtype=gn.int8).tolist() == [1, -2]
    assert gn.tensor(2**63 - 1).dtype == gn.int64


def test_transpose_and_movedim_of_a_0d_tensor():
    x = gn.tensor(3)
    assert x.transpose(0, -1).shape == () and gn.movedim(x, 0, 0).shape == ()
    x.transpose(0, 0).add_(1)  # a view, as torch: x becomes 4
    assert x.item() == 4
    with pytest.raises(ValueError, match="out of range"):
        x.transpose(0, 1)


def test_masked_fill_and_index_fill_of_large_ints_with_a_float_value_keep_the_other_ints():
    big = gn.tensor([2**31 - 1, 5], dtype=gn.int32)
    # torch: [2147483647, 1]; glassnet filled through float32 and gave [-2147483648, 1]
    assert big.masked_fill(gn.tensor([False, True]), 1.5).tolist() == [2**31 - 1, 1]
    assert big.index_fill(0, gn.tensor([1]), -1.5).tolist() == [2**31 - 1, -1]
    huge = gn.tensor([2**62 + 1, 5])
    assert huge.masked_fill(gn.tensor([False, True]), gn.tensor(1.5)).tolist() == [2**62 + 1, 1]


def test_alpha_scales_in_the_result_dtype():
    # torch: float32 [1, 2] - 2 * int64 [2**62, 3] = [-9.2234e18, -4]; glassnet scaled in int64
    # first, which overflowed to a negative product (+9.2e18)
    y = gn.tensor([1.0, 2.0]).sub(gn.tensor([2**62, 3]), alpha=2)
    assert y.dtype == gn.float32
    np.testing.assert_allclose(y.numpy(), [-(2.0**63), -4.0], rtol=1e-6)
    i8 = gn.tensor([1, 2], dtype=gn.int8).add(gn.tensor([100, 3], dtype=gn.int8), alpha=2)
    assert i8.dtype == gn.int8 and i8.tolist() == [-55, 8]  # torch wraps in int8 too
