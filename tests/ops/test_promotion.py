"""PyTorch's type promotion, from hand-written tables of torch.result_type (PyTorch 2.x):
dimensioned tensors, 0-d tensors and Python numbers are three priorities, and a lower one only
raises the dtype when its category (bool < int < float) is higher."""

import numpy as np
import pytest

import glassnet as gn

NAMES = {"b": "bool", "u8": "uint8", "i8": "int8", "i16": "int16", "i32": "int32",
         "i64": "int64", "f16": "float16", "f32": "float32", "f64": "float64"}  # fmt: skip

# row: the first operand's dtype; column: the second's. Both with dimensions (or both 0-d).
SAME_PRIORITY = """
         b   u8   i8  i16  i32  i64  f16  f32  f64
   b     b   u8   i8  i16  i32  i64  f16  f32  f64
  u8    u8   u8  i16  i16  i32  i64  f16  f32  f64
  i8    i8  i16   i8  i16  i32  i64  f16  f32  f64
 i16   i16  i16  i16  i16  i32  i64  f16  f32  f64
 i32   i32  i32  i32  i32  i32  i64  f16  f32  f64
 i64   i64  i64  i64  i64  i64  i64  f16  f32  f64
 f16   f16  f16  f16  f16  f16  f16  f16  f32  f64
 f32   f32  f32  f32  f32  f32  f32  f32  f32  f64
 f64   f64  f64  f64  f64  f64  f64  f64  f64  f64
"""
# row: a tensor with dimensions; column: a 0-d tensor
DIM_WITH_0D = """
         b   u8   i8  i16  i32  i64  f16  f32  f64
   b     b   u8   i8  i16  i32  i64  f16  f32  f64
  u8    u8   u8   u8   u8   u8   u8  f16  f32  f64
  i8    i8   i8   i8   i8   i8   i8  f16  f32  f64
 i16   i16  i16  i16  i16  i16  i16  f16  f32  f64
 i32   i32  i32  i32  i32  i32  i32  f16  f32  f64
 i64   i64  i64  i64  i64  i64  i64  f16  f32  f64
 f16   f16  f16  f16  f16  f16  f16  f16  f16  f16
 f32   f32  f32  f32  f32  f32  f32  f32  f32  f32
 f64   f64  f64  f64  f64  f64  f64  f64  f64  f64
"""
# row: a tensor (with dimensions or 0-d); column: a Python number
SCALARS = """
      True    2  2.5
   b     b  i64  f32
  u8    u8   u8  f32
  i8    i8   i8  f32
 i16   i16  i16  f32
 i32   i32  i32  f32
 i64   i64  i64  f32
 f16   f16  f16  f16
 f32   f32  f32  f32
 f64   f64  f64  f64
"""


def _table(text):
    lines = text.strip().splitlines()
    cols = lines[0].split()
    return {(row.split()[0], c): v for row in lines[1:] for c, v in zip(cols, row.split()[1:])}


def _t(code, zero_d):
    return gn.ones(() if zero_d else (2,), dtype=getattr(gn, NAMES[code]))


PAIRS = [(a, b) for a in NAMES for b in NAMES]
OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: gn.mul(a, b),
    "maximum": gn.maximum,
    "minimum": gn.minimum,
    "where": lambda a, b: gn.where(gn.tensor([True, False]), a, b),
    "cat": lambda a, b: gn.cat([a.reshape(-1), b.reshape(-1)]),
    "stack": lambda a, b: gn.stack([a, b]),
    "clamp": lambda a, b: gn.clamp(a, min=b),
}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("zero_d", [False, True])
def test_same_priority_pairs_follow_promote_types(op, zero_d):
    table = _table(SAME_PRIORITY)
    if op == "cat" and zero_d:
        pytest.skip("cat takes tensors with dimensions")
    for a, b in PAIRS:
        if op == "clamp" and (a == "b" or b == "b"):
            continue  # PyTorch has no bool clamp kernel
        want = NAMES[table[a, b]]
        got = OPS[op](_t(a, zero_d), _t(b, zero_d)).dtype
        assert str(got) == want, (op, a, b, got, want)


@pytest.mark.parametrize("op", ["add", "mul", "maximum", "minimum", "where", "clamp"])
def test_0d_tensor_raises_the_dtype_only_across_categories(op):
    table = _table(DIM_WITH_0D)
    for a, b in PAIRS:
        if op == "clamp" and (a == "b" or b == "b"):
            continue
        want = NAMES[table[a, b]]
        assert str(OPS[op](_t(a, False), _t(b, True)).dtype) == want, (op, a, b)
        if op not in ("clamp",):  # the 0-d operand first: the same dtype
            assert str(OPS[op](_t(b, True), _t(a, False)).dtype) == want, (op, b, a)


@pytest.mark.parametrize("op", ["add", "mul", "where"])
@pytest.mark.parametrize("zero_d", [False, True])
def test_python_numbers(op, zero_d):
    table = _table(SCALARS)
    for a in NAMES:
        for text, number in (("True", True), ("2", 2), ("2.5", 2.5)):
            want = NAMES[table[a, text]]
            assert str(OPS[op](_t(a, zero_d), number).dtype) == want, (op, a, number)


def test_values_are_computed_in_the_result_dtype():
    # int8 (n,) + a 0-d int64: int8 arithmetic wraps, as PyTorch (NumPy's int8 arithmetic)
    got = gn.tensor([100, 1], dtype=gn.int8) + gn.tensor(100)
    np.testing.assert_array_equal(got.numpy(), np.array([100, 1], np.int8) + np.int8(100))
    # float32 (n,) + a 0-d float64: the 0-d value is rounded to float32 first
    got = gn.ones(2) + gn.tensor(1e-10, dtype=gn.float64)
    assert got.dtype == gn.float32
    np.testing.assert_array_equal(got.numpy(), np.ones(2, np.float32))


def test_gradient_flows_through_a_narrowing_cast():
    x = gn.ones(3, requires_grad=True)
    s = gn.tensor(2.0, dtype=gn.float64, requires_grad=True)
    y = x * s
    assert y.dtype == gn.float32
    y.sum().backward()
    assert s.grad.dtype == gn.float64 and float(s.grad) == 3.0
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, np.float32))


def test_result_type_promote_types_can_cast():
    assert gn.result_type(gn.ones(2), gn.tensor(1.0, dtype=gn.float64)) == gn.float32
    assert gn.result_type(gn.ones(2, dtype=gn.int32), 2.5) == gn.float32
    assert gn.result_type(gn.ones(2, dtype=gn.bool), 3) == gn.int64
    assert gn.result_type(2, 2.5) == gn.float32
    assert gn.promote_types(gn.int64, gn.float16) == gn.float16
    assert gn.promote_types(gn.uint8, gn.int8) == gn.int16
    assert gn.can_cast(gn.float64, gn.float16) and gn.can_cast(gn.int64, gn.int8)
    assert not gn.can_cast(gn.float32, gn.int32) and not gn.can_cast(gn.int8, gn.bool)


def test_clamp_tensor_bounds_get_the_gradient_where_selected():
    # PyTorch: d/dx = [min <= x <= max], d/dmin = [x < min < max], d/dmax = [x > max or
    # max < min]; a nan x passes nan and no gradient
    x = gn.tensor([0.0, 1.0, 2.0, 3.0, float("nan")], requires_grad=True)
    lo = gn.tensor([1.0, 1.0, 1.0, 2.5, 0.0], requires_grad=True)
    hi = gn.tensor([2.0, 2.0, 2.0, 2.0, 1.0], requires_grad=True)
    y = gn.clamp(x, lo, hi)
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0, 2.0, 2.0, np.nan])
    y.backward(gn.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 3, 0, 0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0, 0, 0, 4, 0])
    x = gn.tensor([0.0, 1.0, 2.0], requires_grad=True)
    lo = gn.tensor(0.5, requires_grad=True)  # a broadcast bound sums its gradient
    x.clamp(min=lo).sum().backward()
    assert float(lo.grad) == 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1])


def test_clamp_tensor_bounds_check_grad():
    from glassnet.testing import check_grad

    rng = np.random.default_rng(0)
    x = rng.standard_normal(8)
    lo, hi = x + rng.choice([-0.5, 0.5], 8), x + rng.choice([-0.7, 0.7], 8)  # away from kinks
    check_grad(lambda a, b, c: gn.clamp(a, b, c), [x, lo, hi])


def test_int_clamp_with_float_bound_and_where_with_numbers():
    assert gn.tensor([0, 3]).clamp(min=0.5).dtype == gn.float32
    np.testing.assert_array_equal(gn.tensor([0, 3]).clamp(min=0.5).numpy(), [0.5, 3.0])
    assert gn.tensor([0, 3]).clamp(min=1).dtype == gn.int64
    assert gn.where(gn.tensor([True, False]), 1, 2).dtype == gn.int64
    assert gn.where(gn.tensor([True, False]), 1, 2.5).dtype == gn.float32
