"""PyTorch's ``torch.testing.assert_close``: are two tensors (or numbers, or nested sequences
and mappings of them) equal up to a tolerance?

Elements a (actual) and e (expected) are close when

    |a - e| <= atol + rtol * |e|

(infinities of the same sign are close; NaNs only with ``equal_nan=True``). Unless given,
rtol and atol come from the dtypes (the larger of the two), as PyTorch's table: float16
1e-3 / 1e-5, float32 1.3e-6 / 1e-5, float64 1e-7 / 1e-7, complex like its float, integers
and bool exact. The failure message is PyTorch's: how many elements mismatch, the greatest
absolute and relative difference and where.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from glassnet.tensor import Tensor

__all__ = ["assert_close"]

_PRECISIONS = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
_NUMBER_DTYPES = {
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}


class _Failure(Exception):
    def __init__(self, kind, message, path=()):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path


def _tolerances(dtypes, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(
            "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
            f"{'rtol' if rtol is None else 'atol'}."
        )
    if rtol is not None:
        return rtol, atol
    found = [_PRECISIONS.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in found), max(a for _, a in found)


def _diff_line(kind, diff, idx, tol):
    msg = (
        f"{kind.title()} difference: {diff}"
        if idx is None
        else (f"Greatest {kind} difference: {diff} at index {idx}")
    )
    return msg + (f" (up to {tol} allowed)" if tol > 0 else "") + "\n"


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += _diff_line("absolute", abs_diff, abs_idx, atol)
    msg += _diff_line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_msg(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    extra = f"Expected {expected} but got {actual}."
    return _mismatch_msg("Scalars", extra, abs_diff, None, atol, rel_diff, None, rtol)


def _isclose(a, e, rtol, atol, equal_nan):
    """NumPy's isclose with PyTorch's rule (|a - e| <= atol + rtol |e|, exact for rtol =
    atol = 0, which also covers integers beyond float precision)."""
    if rtol == 0 and atol == 0 and a.dtype.kind not in "fc":
        return a == e
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return np.asarray(close | (a == e))


def _tensor_msg(a, e, matches, rtol, atol):
    n = matches.size
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if af.dtype.kind not in "fc":
        af, ef = af.astype(np.int64), ef.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(af - ef)
        abs_diff[mf] = 0
        denom = np.abs(ef)
        if abs_diff.dtype.kind in "iu":  # PyTorch: int / int gives the default float dtype
            rel = abs_diff.astype(np.float32) / denom.astype(np.float32)
        else:
            rel = abs_diff / denom
        rel[mf] = 0
    i_abs, i_rel = _argmax_nan(abs_diff), _argmax_nan(rel)
    shape = matches.shape
    return _mismatch_msg(
        "Tensor-likes", extra, abs_diff[i_abs].item(), tuple(int(i) for i in np.unravel_index(
            i_abs, shape)), atol, rel[i_rel].item(), tuple(int(i) for i in np.unravel_index(
            i_rel, shape)), rtol,
    )  # fmt: skip


def _argmax_nan(a):
    """torch.max's index: the first NaN if any (NaN is the maximum), else the first max."""
    if a.dtype.kind == "f":
        nan = np.flatnonzero(np.isnan(a))
        if nan.size:
            return int(nan[0])
    return int(np.argmax(a))


def _compare_tensors(actual, expected, opts):
    if not opts["allow_subclasses"] and type(actual) is not type(expected):
        raise _Failure(TypeError, _unsupported(actual, expected))
    if actual.shape != expected.shape:
        raise _Failure(AssertionError, _attr("shape", actual.shape, expected.shape))
    if opts["check_device"] and actual.device != expected.device:
        raise _Failure(AssertionError, _attr("device", actual.device, expected.device))
    if opts["check_dtype"] and actual.dtype != expected.dtype:
        raise _Failure(AssertionError, _attr("dtype", actual.dtype, expected.dtype))
    if opts["check_stride"] and actual.stride() != expected.stride():
        raise _Failure(AssertionError, _attr("stride()", actual.stride(), expected.stride()))
    a = np.asarray(actual.detach().cpu().numpy())
    e = np.asarray(expected.detach().cpu().numpy())
    rtol, atol = _tolerances((a.dtype, e.dtype), opts["rtol"], opts["atol"])
    common = np.result_type(a.dtype, e.dtype)
    a, e = a.astype(common, copy=False), e.astype(common, copy=False)
    matches = _isclose(a, e, rtol, atol, opts["equal_nan"])
    if matches.all():
        return
    if a.ndim == 0:
        raise _Failure(AssertionError, _scalar_msg(a.item(), e.item(), rtol, atol))
    raise _Failure(AssertionError, _tensor_msg(a, e, matches, rtol, atol))


def _compare_numbers(actual, expected, opts):
    if opts["check_dtype"] and type(actual) is not type(expected):
        raise _Failure(
            AssertionError,
            f"The (d)types do not match: {type(actual)} != {type(expected)}.",
        )
    dtypes = [_NUMBER_DTYPES[t] for t in (type(actual), type(expected))]
    rtol, atol = _tolerances(dtypes, opts["rtol"], opts["atol"])
    if actual == expected:
        return
    both_nan = all(isinstance(x, (float, complex)) and _isnan(x) for x in (actual, expected))
    if both_nan and opts["equal_nan"]:
        return
    finite = not any(_isinf(x) or _isnan(x) for x in (actual, expected))
    if finite and abs(actual - expected) <= atol + rtol * abs(expected):
        return
    raise _Failure(AssertionError, _scalar_msg(actual, expected, rtol, atol))


def _isnan(x):
    if isinstance(x, complex):
        return math.isnan(x.real) or math.isnan(x.imag)
    return math.isnan(x)


def _isinf(x):
    if isinstance(x, complex):
        return math.isinf(x.real) or math.isinf(x.imag)
    return math.isinf(x)


def _attr(name, a, e):
    return f"The values for attribute '{name}' do not match: {a} != {e}."


def _unsupported(actual, expected):
    return (
        f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}."
    )


def _is_sequence(x):
    return isinstance(x, Sequence) and not isinstance(x, str)


def _compare(actual, expected, opts, path):
    try:
        _compare_pair(actual, expected, opts, path)
    except _Failure as f:
        if not f.path:
            f.path = path
        raise


def _compare_pair(actual, expected, opts, path):
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, opts, (*path, i))
        return
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        a_keys, e_keys = set(actual), set(expected)
        if a_keys != e_keys:
            missing = sorted(e_keys - a_keys, key=repr)
            extra = sorted(a_keys - e_keys, key=repr)
            raise _Failure(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {missing}\n"
                f"Additional keys in the actual mapping: {extra}",
            )
        for k in actual:
            _compare(actual[k], expected[k], opts, (*path, k))
        return
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}")
        return
    bools = (bool, np.bool_)
    if isinstance(actual, bools) and isinstance(expected, bools):
        if bool(actual) != bool(expected):
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    numbers = (int, float, complex)
    if (
        isinstance(actual, numbers)
        and isinstance(expected, numbers)
        and not isinstance(actual, bool)
        and not isinstance(expected, bool)
    ):
        _compare_numbers(actual, expected, opts)
        return
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        _compare_tensors(actual, expected, opts)
        return
    raise _Failure(TypeError, _unsupported(actual, expected))


def assert_close(
    actual,
    expected,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg=None,
) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close (see the module
    docstring), as ``torch.testing.assert_close``: tensors of the same shape, device and
    dtype (``check_dtype=False`` compares in the common dtype), Python numbers, and
    sequences and mappings of these compared item by item. ``msg`` replaces the message (a
    string) or rewrites it (a callable taking the generated message).

    >>> import glassnet as gn
    >>> gn.testing.assert_close(gn.tensor([1.0, 2.0]), gn.tensor([1.0, 2.0 + 1e-7]))
    """
    opts = {
        "allow_subclasses": allow_subclasses,
        "rtol": rtol,
        "atol": atol,
        "equal_nan": equal_nan,
        "check_device": check_device,
        "check_dtype": check_dtype,
        "check_stride": check_stride,
    }
    if rtol is not None or atol is not None:  # both or neither, before anything is compared
        _tolerances((), rtol, atol)
    try:
        _compare(actual, expected, opts, ())
    except _Failure as f:
        if isinstance(msg, str):
            message = msg
        else:
            message = f.message
            if f.path:
                message += "\n\nThe failure occurred for item " + "".join(str([p]) for p in f.path)
            if callable(msg):
                message = msg(message)
        raise f.kind(message) from None
