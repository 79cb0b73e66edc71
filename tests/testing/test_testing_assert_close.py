"""glassnet.testing.assert_close and make_tensor, as torch.testing's: default tolerances per
dtype, recursive comparison of sequences and mappings, and the failure messages, recorded
once from torch 2.13 (the messages name torch's classes and reprs where glassnet's differ:
``torch.Size([2])``, ``torch.float32``; those are compared with glassnet's own spelling)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import assert_close, make_tensor

T = gn.tensor
F64 = gn.float64

# (actual, expected, keyword arguments, error type, message) with torch 2.13's messages
CASES = [
    (
        lambda: T([1.0, 2.0, 3.0]),
        lambda: T([1.0, 2.1, 3.0]),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\nGreatest absolute "
        "difference: 0.09999990463256836 at index (1,) (up to 1e-05 allowed)\nGreatest "
        "relative difference: 0.04761900380253792 at index (1,) (up to 1.3e-06 allowed)",
    ),
    (
        lambda: T([1.0, 2.0, 3.0], dtype=F64),
        lambda: T([1.0, 2.1, 3.5], dtype=F64),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 2 / 3 (66.7%)\nGreatest absolute "
        "difference: 0.5 at index (2,) (up to 1e-07 allowed)\nGreatest relative difference: "
        "0.14285714285714285 at index (2,) (up to 1e-07 allowed)",
    ),
    (
        lambda: T(1.0),
        lambda: T(1.1),
        {},
        AssertionError,
        "Scalars are not close!\n\nExpected 1.100000023841858 but got 1.0.\nAbsolute "
        "difference: 0.10000002384185791 (up to 1e-05 allowed)\nRelative difference: "
        "0.09090911061310529 (up to 1.3e-06 allowed)",
    ),
    (lambda: 1, lambda: 1.0, {}, AssertionError,
     "The (d)types do not match: <class 'int'> != <class 'float'>."),
    (
        lambda: 1.0,
        lambda: 1.1,
        {},
        AssertionError,
        "Scalars are not close!\n\nExpected 1.1 but got 1.0.\nAbsolute difference: "
        "0.10000000000000009 (up to 1e-07 allowed)\nRelative difference: 0.09090909090909098 "
        "(up to 1e-07 allowed)",
    ),
    (
        lambda: T([1, 2]),
        lambda: T([1, 3]),
        {},
        AssertionError,
        "Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute "
        "difference: 1 at index (1,)\nGreatest relative difference: 0.3333333432674408 at "
        "index (1,)",
    ),
    (
        lambda: [T(1.0), T(2.0)],
        lambda: [T(1.0), T(2.5)],
        {},
        AssertionError,
        "Scalars are not close!\n\nExpected 2.5 but got 2.0.\nAbsolute difference: 0.5 (up to "
        "1e-05 allowed)\nRelative difference: 0.2 (up to 1.3e-06 allowed)\n\nThe failure "
        "occurred for item [1]",
    ),
    (
        lambda: {"a": [1.0, 2.0]},
        lambda: {"a": [1.0, 2.5]},
        {},
        AssertionError,
        "Scalars are not close!\n\nExpected 2.5 but got 2.0.\nAbsolute difference: 0.5 (up to "
        "1e-07 allowed)\nRelative difference: 0.2 (up to 1e-07 allowed)\n\nThe failure "
        "occurred for item ['a'][1]",
    ),
    (lambda: {"a": 1.0}, lambda: {"b": 1.0}, {}, AssertionError,
     "The keys of the mappings do not match:\nMissing keys in the actual mapping: ['b']\n"
     "Additional keys in the actual mapping: ['a']"),
    (lambda: [1.0], lambda: [1.0, 2.0], {}, AssertionError,
     "The length of the sequences mismatch: 1 != 2"),
    (lambda: T([1.0]), lambda: T([1.0]), {"rtol": 1e-3}, ValueError,
     "Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."),
    (
        lambda: T([float("nan")]),
        lambda: T([float("nan")]),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 1 (100.0%)\nGreatest absolute "
        "difference: nan at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: "
        "nan at index (0,) (up to 1.3e-06 allowed)",
    ),
    (lambda: None, lambda: 1.0, {}, AssertionError, "None mismatch: None is not 1.0"),
    (lambda: True, lambda: False, {}, AssertionError, "Booleans mismatch: True is not False"),
    (lambda: T([1.0, 2.0]), lambda: T([1.0, 2.0001]), {"msg": "custom"}, AssertionError,
     "custom"),
    (lambda: T([1.0, 2.0]), lambda: T([1.0, 2.1]), {"msg": lambda m: "X" + m[:5]},
     AssertionError, "XTenso"),
    (
        lambda: T([0.0, 2.0]),
        lambda: T([1e-3, 2.0]),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute "
        "difference: 0.0010000000474974513 at index (0,) (up to 1e-05 allowed)\nGreatest "
        "relative difference: 1.0 at index (0,) (up to 1.3e-06 allowed)",
    ),
    (
        lambda: T([[1.0, 2.0], [3.0, 4.0]]),
        lambda: T([[1.0, 2.0], [3.0, 4.5]]),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\nGreatest absolute "
        "difference: 0.5 at index (1, 1) (up to 1e-05 allowed)\nGreatest relative difference: "
        "0.1111111119389534 at index (1, 1) (up to 1.3e-06 allowed)",
    ),
    (
        lambda: T([1.0, float("inf")]),
        lambda: T([1.0, -float("inf")]),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute "
        "difference: inf at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: "
        "nan at index (1,) (up to 1.3e-06 allowed)",
    ),
    (lambda: T(True), lambda: T(False), {}, AssertionError,
     "Scalars are not equal!\n\nExpected False but got True.\nAbsolute difference: 1\n"
     "Relative difference: inf"),
    (
        lambda: T([1.0, 2.0]),
        lambda: T([1.5, 2.0], dtype=F64),
        {"check_dtype": False},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute "
        "difference: 0.5 at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: "
        "0.3333333333333333 at index (0,) (up to 1.3e-06 allowed)",
    ),
    (lambda: 1, lambda: 2, {}, AssertionError,
     "Scalars are not equal!\n\nExpected 2 but got 1.\nAbsolute difference: 1\nRelative "
     "difference: 0.5"),
    (
        lambda: T([[1, 2]], dtype=gn.uint8),
        lambda: T([[3, 2]], dtype=gn.uint8),
        {},
        AssertionError,
        "Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute "
        "difference: 2 at index (0, 0)\nGreatest relative difference: 0.6666666865348816 at "
        "index (0, 0)",
    ),
    (
        lambda: T([1 + 1j], dtype=gn.complex64),
        lambda: T([1 + 1.1j], dtype=gn.complex64),
        {},
        AssertionError,
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 1 (100.0%)\nGreatest absolute "
        "difference: 0.10000002384185791 at index (0,) (up to 1e-05 allowed)\nGreatest "
        "relative difference: 0.067267...",
    ),  # torch: ...0.06726729869842529: its complex abs rounds one float32 ulp apart
    # glassnet's spelling of torch's "torch.float32 != torch.float64", "torch.Size([2])"
    (lambda: T([1.0, 2.0]), lambda: T([1.0, 2.0], dtype=F64), {}, AssertionError,
     "The values for attribute 'dtype' do not match: float32 != float64."),
    (lambda: T([1.0, 2.0]), lambda: T([1.0, 2.0, 3.0]), {}, AssertionError,
     "The values for attribute 'shape' do not match: (2,) != (3,)."),
    (lambda: "a", lambda: "a", {}, TypeError,
     "No comparison pair was able to handle inputs of type <class 'str'> and <class 'str'>."),
    (lambda: T([1.0]), lambda: [1.0], {}, TypeError, "No comparison pair..."),
    (lambda: T(1.0), lambda: 1.0, {}, TypeError, "No comparison pair..."),
    (lambda: T([1.0]), lambda: np.ones(1), {}, TypeError, "No comparison pair..."),
    (lambda: gn.nn.Parameter(gn.ones(2)), lambda: gn.ones(2), {"allow_subclasses": False},
     TypeError, "No comparison pair..."),
]  # fmt: skip


@pytest.mark.parametrize("actual, expected, kwargs, error, message", CASES)
def test_failure_messages_match_torch(actual, expected, kwargs, error, message):
    with pytest.raises(error) as info:
        assert_close(actual(), expected(), **kwargs)
    if message.endswith("..."):  # a prefix of the message
        assert str(info.value).startswith(message[:-3])
    else:
        assert str(info.value) == message


@pytest.mark.parametrize(
    "actual, expected, kwargs",
    [
        (T([1.0, 2.0]), T([1.0, 2.0 + 2e-6]), {}),  # float32: 1e-5 + 1.3e-6 * 2
        (T([1.0], dtype=F64), T([1.0 + 1.5e-7], dtype=F64), {}),  # 1e-7 + 1e-7
        (T([1.0], dtype=gn.float16), T([1.0009], dtype=gn.float16), {}),
        (T([float("nan")]), T([float("nan")]), {"equal_nan": True}),
        (T([1.0, float("inf")]), T([1.0, float("inf")]), {}),
        (T([1.0, 2.0]), T([1.0, 2.0], dtype=F64), {"check_dtype": False}),
        (T([1.0, 2.0]), T([1.1, 2.0]), {"rtol": 0.0, "atol": 0.2}),
        ((1.0, 2.0), [1.0, 2.0], {}),
        ({"a": [T(1.0), 2]}, {"a": (T(1.0), 2)}, {}),
        (1.0, 1.0 + 1e-8, {}),
        (gn.zeros(0), gn.zeros(0), {}),
        (gn.nn.Parameter(gn.ones(2)), gn.ones(2), {}),
        (None, None, {}),
    ],
)
def test_close_inputs_pass(actual, expected, kwargs):
    assert_close(actual, expected, **kwargs)


def test_float64_tolerance_is_tighter_than_float32():
    with pytest.raises(AssertionError, match="up to 1e-07 allowed"):
        assert_close(T([1.0], dtype=F64), T([1.0 + 1e-6], dtype=F64))
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(T([10**15]), T([10**15 + 1]))  # integers exact, beyond float precision


def test_make_tensor_ranges_dtypes_and_flags():
    gn.manual_seed(0)
    t = make_tensor(50, 4, dtype=gn.float64)
    assert t.shape == (50, 4) and t.dtype == gn.float64
    assert float(t.min()) >= -9 and float(t.max()) < 9
    i = make_tensor((200,), dtype=gn.int64, low=-2, high=3, exclude_zero=True)
    vals = set(i.numpy().tolist())
    assert vals <= {-2, -1, 1, 2} and 0 not in vals
    u = make_tensor(200, dtype=gn.uint8)
    assert int(u.min()) >= 0 and int(u.max()) < 10
    b = make_tensor(20, dtype=gn.bool_)
    assert b.dtype == gn.bool_
    nc = make_tensor(3, 4, dtype=gn.float32, noncontiguous=True, requires_grad=True)
    assert not nc.is_contiguous() and nc.requires_grad
    with pytest.raises(ValueError, match="less than `high`"):
        make_tensor(2, dtype=gn.float32, low=1, high=1)


def test_existing_testing_helpers_still_exported():
    import glassnet.testing as testing

    assert callable(testing.check_grad) and callable(testing.check_grad_grad)
