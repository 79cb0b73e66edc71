"""PyTorch's remaining tensor math, written as compositions of differentiable ops.

None of these defines a derivative: each is a short formula over ops that have one (slices,
products, sums, gathers, where), so its first and second derivatives come from theirs, and
``gn.compile`` records the ops it is made of. Results without a gradient (bins, counts,
greatest common divisors) go through ``no_grad_result``. Each follows ``torch.<name>``:
arguments, defaults, result dtype and the errors PyTorch raises.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import no_grad_result
from glassnet.backend import to_dtype, xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._util import floating, floating_pair, normalize_axis, pair
from glassnet.ops.indexing import diag, index_add
from glassnet.ops.linalg_extra import _scaled_sum, bmm, outer
from glassnet.ops.logical import isnan, signbit
from glassnet.ops.promotion import result_type_of
from glassnet.ops.reduce_all import Nansum
from glassnet.ops.shape import broadcast_to, cat, reshape, stack
from glassnet.ops.shape_extra import narrow
from glassnet.ops.views import diagonal
from glassnet.tensor import Tensor

__all__ = [
    "addbmm", "addcdiv", "addcmul", "addr", "bincount", "block_diag", "cartesian_prod",
    "copysign", "cross", "diagflat", "diff", "fmax", "fmin", "gcd", "heaviside", "histc",
    "kron", "lcm", "nanmean", "nansum", "sinc", "trace",
]  # fmt: skip


def _zeros(shape, like: Tensor) -> Tensor:
    return Tensor._make(xp_of(like._data).zeros(shape, dtype=like.dtype), False)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002 - PyTorch's names
    """input + value * tensor1 * tensor2 (broadcast). On integer tensors ``value`` is cast
    to the integer dtype first (truncated: value=1.7 is 1), as PyTorch."""
    if isinstance(value, float) and result_type_of((input, tensor1, tensor2)).kind in "biu":
        value = int(value)
    prod = tensor1 * tensor2 if value == 1 else value * tensor1 * tensor2
    return input + prod


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002
    """input + value * tensor1 / tensor2 (true division; integer tensor1 and tensor2 raise,
    as in PyTorch)."""
    if all(isinstance(t, Tensor) and t.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise TypeError(
            "addcdiv: integer division of tensor1 by tensor2 is not supported (as in "
            "PyTorch); write input + value * tensor1 / tensor2 with float tensors"
        )
    quot = tensor1 / tensor2 if value == 1 else value * tensor1 / tensor2
    return input + quot


def addbmm(input, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1):  # noqa: A002
    """beta input + alpha sum_b batch1[b] @ batch2[b] (a 2-D result)."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise ValueError(
            f"addbmm: batch1 and batch2 must be 3-D, got {tuple(batch1.shape)} and "
            f"{tuple(batch2.shape)}"
        )
    return _scaled_sum("addbmm", input, _red.sum(bmm(batch1, batch2), 0), beta, alpha)


def addr(input, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:  # noqa: A002
    """beta input + alpha outer(vec1, vec2)."""
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:  # noqa: A002
    """The n-th forward difference along ``dim``: y[i] = x[i + 1] - x[i], applied ``n``
    times, after joining ``prepend`` and ``append`` on that dim (bool tensors: x[i + 1] != x[i],
    PyTorch's logical xor)."""
    if input.ndim == 0:
        raise ValueError("diff expects a tensor with at least one dimension, got a 0-d tensor")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    d = normalize_axis(dim, input.shape, "diff")[0]
    parts = [p for p in (prepend, input, append) if p is not None]
    for p in parts:
        if not isinstance(p, Tensor) or p.ndim != input.ndim:
            raise ValueError(
                f"diff: prepend and append must be tensors with {input.ndim} dims like the input"
            )
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = narrow(x, d, 1, length - 1), narrow(x, d, 0, length - 1)
        x = hi != lo if x.dtype == np.bool_ else hi - lo
    return x


def diagflat(input: Tensor, offset: int = 0) -> Tensor:  # noqa: A002
    """A 2-D tensor with the flattened input on its ``offset``-th diagonal."""
    return diag(reshape(input, (-1,)), offset)


def trace(input: Tensor) -> Tensor:  # noqa: A002
    """Sum of the main diagonal of a 2-D tensor (integer tensors give int64)."""
    if input.ndim != 2:
        raise ValueError(f"trace expects a 2-D tensor, got shape {tuple(input.shape)}")
    return _red.sum(diagonal(input))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (broadcast). ``dim=None`` takes the first
    dim of size 3 (``torch.cross``'s default; ``torch.linalg.cross`` uses -1).

    (a x b) = (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0)."""
    a, b = pair(input, other)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise ValueError(f"cross: no dimension of size 3 in the input of shape {shape}")
        dim = dims[0]
    d = normalize_axis(dim, shape, "cross")[0]
    if shape[d] != 3:
        raise ValueError(f"cross: dimension {dim} must have size 3, got {shape[d]}")
    a0, a1, a2 = (narrow(a, d, i, 1) for i in range(3))
    b0, b1, b2 = (narrow(b, d, i, 1) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Kronecker product: y[i * m + j] = a[i] b[j] in every dim (the shorter shape padded with
    leading 1s)."""
    a, b = pair(input, other)
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    ea = reshape(a, tuple(v for s in sa for v in (s, 1)))
    eb = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(ea * eb, tuple(x * y for x, y in zip(sa, sb)))


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """Sum treating nan as 0; the gradient is dL/dy times the not-nan mask (0 at a nan, and
    nan there when dL/dy is inf, as PyTorch's product)."""
    if dtype is not None and to_dtype(dtype) != input.dtype:
        input = input.astype(dtype)  # noqa: A001 - PyTorch sums in ``dtype``, ints too
    if input.dtype.kind != "f":
        return _red.sum(input, dim, keepdim, dtype=dtype)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return Nansum.apply(input, axis=normalize_axis(dim, input.shape, "nansum"), keepdims=keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """Mean over the entries that are not nan (nan where every entry is nan)."""
    if input.dtype.kind != "f":
        raise TypeError(f"nanmean: expected a floating-point tensor, got {input.dtype}")
    if dtype is not None and to_dtype(dtype).kind not in "fc":
        raise TypeError(
            f"nanmean: dtype must be a floating-point or complex dtype, got {to_dtype(dtype)} "
            "(PyTorch raises too)"
        )
    count = _red.sum(~isnan(input), dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def fmax(input, other) -> Tensor:  # noqa: A002
    """Elementwise maximum that ignores nan: the other value where one side is nan."""
    a, b = pair(input, other)
    return _sel.where(_prefer_input(a, b, ">="), a, b)


def fmin(input, other) -> Tensor:  # noqa: A002
    """Elementwise minimum that ignores nan: the other value where one side is nan."""
    a, b = pair(input, other)
    return _sel.where(_prefer_input(a, b, "<="), a, b)


def _prefer_input(a: Tensor, b: Tensor, cmp: str) -> Tensor:
    """Where fmax/fmin take ``input``: where it wins or ties, or ``other`` is nan (so both nan
    gives input's nan); the gradient follows, all to ``input`` at ties, as PyTorch."""
    wins = a >= b if cmp == ">=" else a <= b
    return wins | isnan(b) if b.dtype.kind == "f" else wins


def copysign(input, other) -> Tensor:  # noqa: A002
    """|input| with the sign (bit) of ``other``; d/dinput = sign(input) sign(other),
    0 at input = 0; no gradient to ``other``."""
    a, b = floating_pair(*pair(input, other))  # float16 with float32: float32, as PyTorch
    mag = _el.abs(a)
    return _sel.where(signbit(b), -mag, mag)


def sinc(input: Tensor) -> Tensor:  # noqa: A002
    """sin(pi x) / (pi x), 1 at x = 0 (where its derivative is 0)."""
    x = floating(input)
    zero = x == 0
    px = math.pi * _sel.where(zero, 1.0, x)
    return _sel.where(zero, 1.0, _el.sin(px) / px)


def _heaviside(x, v):
    xp = xp_of(x)
    return xp.where(x == 0, v, (x > 0).astype(x.dtype)).astype(x.dtype)


def heaviside(input: Tensor, values) -> Tensor:  # noqa: A002
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (no gradient). Same dtypes only,
    as in PyTorch."""
    x, v = pair(input, values)
    if isinstance(values, Tensor) and input.dtype != values.dtype:
        raise TypeError(
            f"heaviside: input ({input.dtype}) and values ({values.dtype}) must have the same "
            "dtype (as in PyTorch)"
        )
    return no_grad_result(_heaviside, x, v)


def _gcd(a, b):
    return xp_of(a).gcd(a, b)


def _lcm(a, b):
    return xp_of(a).lcm(a, b)


def _integers(op, input, other):
    a, b = pair(input, other)
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise TypeError(f"{op.__name__[1:]}: expected integer tensors, got {a.dtype}, {b.dtype}")
    return no_grad_result(op, a, b)


def gcd(input, other) -> Tensor:  # noqa: A002
    """Elementwise greatest common divisor of integer tensors (non-negative)."""
    return _integers(_gcd, input, other)


def lcm(input, other) -> Tensor:  # noqa: A002
    """Elementwise least common multiple of integer tensors (non-negative)."""
    return _integers(_lcm, input, other)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:  # noqa: A002
    """Counts of each value of a 1-D non-negative integer tensor: y[v] = #{i: x[i] = v}
    (int64), or the sum of ``weights[i]`` over those i (the weights' float dtype; int weights
    give float64), length max(x) + 1 or ``minlength``. Differentiable in ``weights``."""
    if input.ndim != 1 or input.dtype.kind not in "iu":
        raise ValueError(
            f"bincount expects a 1-D integer tensor, got shape {tuple(input.shape)} of "
            f"{input.dtype}"
        )
    data = input._data
    if data.size and int(data.min()) < 0:
        raise ValueError("bincount: the input must hold non-negative integers")
    if isinstance(minlength, bool) or not isinstance(minlength, int) or minlength < 0:
        raise ValueError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    size = max(int(data.max()) + 1 if data.size else 0, minlength)
    if weights is None:
        ones = Tensor._make(xp_of(data).ones(data.shape, dtype=np.int64), False)
        return index_add(_zeros((size,), ones), 0, input, ones)
    if weights.shape != input.shape:
        raise ValueError(
            f"bincount: weights must have the input's shape {tuple(input.shape)}, got "
            f"{tuple(weights.shape)}"
        )
    if weights.dtype.kind != "f":
        weights = weights.double()
    return index_add(_zeros((size,), weights), 0, input, weights)


def _histc(x, *, bins, lo, hi):
    xp = xp_of(x)
    if lo == hi:
        finite = x[xp.isfinite(x)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    keep = x[(x >= lo) & (x <= hi)]
    # PyTorch's bin of an element: (x - min) * bins / (max - min), the maximum in the last bin
    pos = ((keep - x.dtype.type(lo)) * x.dtype.type(bins) / x.dtype.type(hi - lo)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    return xp.bincount(pos, minlength=bins).astype(x.dtype)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Histogram of a float tensor in ``bins`` equal bins over [min, max] (min == max: the
    data's range); elements outside are ignored (no gradient)."""
    if input.dtype.kind != "f":
        raise TypeError(f"histc: expected a floating-point tensor, got {input.dtype}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
        raise ValueError(f"histc: bins must be a positive int, got {bins!r}")
    if min > max:
        raise ValueError(f"histc: max ({max}) must be at least min ({min})")
    if not (math.isfinite(min) and math.isfinite(max)):
        raise ValueError(f"histc: min and max must be finite, got {min}, {max}")
    return no_grad_result(_histc, input, bins=bins, lo=float(min), hi=float(max))


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-D as one row, or 2-D) on the diagonal of one 2-D tensor, zeros
    elsewhere (the promoted dtype)."""
    mats = []
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 2:
            raise ValueError("block_diag: every input must be a tensor with at most 2 dims")
        mats.append(reshape(t, (1, -1) if t.ndim < 2 else t.shape))
    if not mats:
        raise ValueError("block_diag needs at least one tensor")
    floats = [m.dtype for m in mats if m.dtype.kind == "f"]  # PyTorch: a float dtype wins
    dtype = np.result_type(*(floats or [m.dtype for m in mats]))
    mats = [m if m.dtype == dtype else m.to(dtype) for m in mats]
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        right = width - left - m.shape[1]
        parts = [p for p in (_zeros((m.shape[0], left), m), m, _zeros((m.shape[0], right), m))]
        rows.append(cat([p for p in parts if p.shape[1]], 1) if width else m)
        left += m.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All combinations of the elements of 1-D tensors, one per row (the first varies
    slowest); one tensor is returned as it is."""
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim != 1:
            raise ValueError("cartesian_prod expects 1-D tensors")
    if len(tensors) == 1:
        return tensors[0]
    if not tensors:
        raise ValueError("cartesian_prod needs at least one tensor")
    shape = tuple(t.shape[0] for t in tensors)
    grids = []
    for i, t in enumerate(tensors):
        view = reshape(t, tuple(-1 if j == i else 1 for j in range(len(shape))))
        grids.append(reshape(broadcast_to(view, shape), (-1,)))
    return stack(grids, 1)
