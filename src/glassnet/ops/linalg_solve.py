"""Inverses, determinants, solves and factorizations over the last two dims (batched), with
PyTorch's derivatives (real case): ``torch.linalg.inv/det/slogdet/solve/cholesky/eigh`` and
their compositions (``pinv``, ``matrix_power``, ``multi_dot``, ``logdet``).

Each registered op writes its derivative once against ``ns``; under ``create_graph`` the
factors it reuses (the inverse, L, V) are recomputed by these same ops, so the derivatives are
themselves differentiable. A singular matrix raises NumPy's ``LinAlgError`` (a ValueError)
where PyTorch raises its ``LinAlgError``.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function, no_grad_result
from glassnet.backend import xp_of
from glassnet.ops import selection as _sel
from glassnet.ops.linalg import matmul
from glassnet.ops.linalg_extra import svd_factor
from glassnet.ops.shape import swapaxes, unsqueeze
from glassnet.tensor import Tensor

# the root names (torch.det, torch.inverse, ...); glassnet.linalg has them all
__all__ = [
    "cholesky", "det", "inverse", "logdet", "matrix_power", "pinverse", "slogdet",
]  # fmt: skip


def _t(x):
    """The matrix transpose of an array (eager backward) or a tensor (graph)."""
    return swapaxes(x, -1, -2) if isinstance(x, Tensor) else x.swapaxes(-1, -2)


def _xp(x):
    return xp_of(x._data if isinstance(x, Tensor) else x)


def _square(op: str, a: Tensor) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op} expects a Tensor, got {type(a).__name__}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op} expects square matrices (..., n, n), got shape {tuple(a.shape)}")
    if a.dtype.kind != "f":
        raise TypeError(f"{op} expects a floating-point tensor, got {a.dtype}")


class Inv(Function):
    """Y = A^{-1};  dL/dA = -Y^T G Y^T"""

    saves_output = True

    def forward(self, a):
        return xp_of(a).linalg.inv(a)

    def backward(self, ns, grad, a, y):
        yt = _t(y)
        return -(yt @ grad @ yt)


def inverse(input: Tensor) -> Tensor:
    """The inverse of each square matrix (``torch.linalg.inv``, ``torch.inverse``)."""
    _square("inv", input)
    return Inv.apply(input)


class Det(Function):
    """d = det A;  dL/dA = g cof(A) = g d A^{-T} (the cofactor matrix; computed from the SVD,
    A = U S V^T: cof(A) = det(U V^T) U diag(prod_{j != i} s_j) V^T, finite for a singular A as
    in PyTorch). Under ``create_graph``: g d A^{-T}, which needs an invertible A."""

    def forward(self, a):
        return xp_of(a).linalg.det(a)

    def backward(self, ns, grad, a):
        g = grad[..., None, None]
        if not ns.eager:
            return g * Det.apply(a)[..., None, None] * _t(Inv.apply(a))
        xp = xp_of(a)
        u, s, vh = xp.linalg.svd(a)
        ones = xp.ones(s.shape[:-1] + (1,), s.dtype)
        before = xp.concatenate([ones, xp.cumprod(s, -1)[..., :-1]], -1)  # prod_{j < i} s_j
        after = xp.flip(xp.concatenate([ones, xp.cumprod(xp.flip(s, -1), -1)[..., :-1]], -1), -1)
        sign = xp.linalg.det(u) * xp.linalg.det(vh)
        cof = (u * (sign[..., None] * before * after)[..., None, :]) @ vh
        return g * cof


def det(input: Tensor) -> Tensor:
    """det A of each square matrix (``torch.linalg.det``, ``torch.det``)."""
    _square("det", input)
    return Det.apply(input)


class Logabsdet(Function):
    """y = ln |det A|;  dL/dA = g A^{-T}"""

    def forward(self, a):
        return xp_of(a).linalg.slogdet(a)[1]

    def backward(self, ns, grad, a):
        inv = xp_of(a).linalg.inv(a) if ns.eager else Inv.apply(a)
        return grad[..., None, None] * _t(inv)


def _det_sign(a):
    return xp_of(a).linalg.slogdet(a)[0]


def slogdet(input: Tensor):
    """(sign, ln |det A|) of each square matrix, as ``torch.linalg.slogdet``'s named tuple;
    the gradient flows through ``logabsdet``."""
    from glassnet.return_types import slogdet as result

    _square("slogdet", input)
    return result(no_grad_result(_det_sign, input), Logabsdet.apply(input))


def logdet(input: Tensor) -> Tensor:
    """ln det A: nan where det A < 0, -inf where it is 0 (``torch.logdet``)."""
    sign, logabs = slogdet(input)
    return _sel.where(sign < 0, float("nan"), logabs)


class Solve(Function):
    """X = A^{-1} B (B a batch of matrices (..., n, k));  dL/dB = A^{-T} G, dL/dA = -dL/dB X^T"""

    saves_output = True

    def forward(self, a, b):
        return xp_of(a).linalg.solve(a, b)

    def backward(self, ns, grad, a, b, x):
        gb = xp_of(a).linalg.solve(_t(a), grad) if ns.eager else Solve.apply(_t(a), grad)
        return -(gb @ _t(x)), gb


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``torch.linalg.solve``); B is a vector per matrix when it has one dim
    fewer than A (shape (..., n)), else a batch of matrices (..., n, k). ``left=False``
    solves X A = B."""
    _square("solve", A)
    if not left:
        return _t(solve(_t(A), _t(B)))
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rhs = unsqueeze(B, -1) if vector else B
    if rhs.shape[-2] != A.shape[-1]:
        raise ValueError(f"solve: A {tuple(A.shape)} and B {tuple(B.shape)} do not match")
    batch = np.broadcast_shapes(A.shape[:-2], rhs.shape[:-2])
    from glassnet.ops.shape import broadcast_to

    a = broadcast_to(A, batch + A.shape[-2:])
    rhs = broadcast_to(rhs, batch + rhs.shape[-2:])
    x = Solve.apply(a, rhs)
    return x[..., 0] if vector else x


class Cholesky(Function):
    """A = L L^T (L lower triangular);  with P = tril(L^T G), M = (P + tril(P, -1)^T) / 2:
    dL/dA = L^{-T} M L^{-1} (symmetric; PyTorch's formula)"""

    saves_output = True

    def forward(self, a):
        return xp_of(a).linalg.cholesky(a)

    def backward(self, ns, grad, a, low):
        n, xp = a.shape[-1], _xp(a)
        p = (_t(low) @ grad) * ns.const(xp.tri(n, dtype=a.dtype))  # tril
        m = 0.5 * (p + _t(p * ns.const(xp.tri(n, k=-1, dtype=a.dtype))))
        li = xp_of(a).linalg.inv(low) if ns.eager else Inv.apply(low)
        return _t(li) @ m @ li


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """The Cholesky factor of each symmetric positive-definite matrix: lower L with A = L L^T
    (``upper=True``: L^T). A matrix that is not positive-definite raises LinAlgError."""
    _square("cholesky", input)
    low = Cholesky.apply(input)
    return _t(low) if upper else low


class EighFactor(Function):
    """Eigenvalues (ascending) or eigenvectors of a symmetric A = V diag(w) V^T (its lower
    triangle is read). With F_ij = 1 / (w_j - w_i) (0 on the diagonal):
    dL/dA = sym(V (diag(g_w) + F * (V^T g_V)) V^T), sym(X) = (X + X^T) / 2. Repeated
    eigenvalues make F infinite, as in PyTorch."""

    name = "eigh_factor"

    def forward(self, a, part):
        self.w, self.v = xp_of(a).linalg.eigh(a)
        self.part = part
        return self.w if part == "values" else self.v

    def backward(self, ns, grad, a):
        if ns.eager:
            w, v = self.w, self.v
        else:
            w, v = (EighFactor.apply(a, part=p) for p in ("values", "vectors"))
        vt = _t(v)
        if self.part == "values":
            inner = ns.const(_xp(a).eye(a.shape[-1], dtype=a.dtype)) * grad[..., None, :]
        else:
            gap = w[..., None, :] - w[..., :, None]  # w_j - w_i
            eye = _xp(a).eye(a.shape[-1], dtype=bool)
            f = ns.where(ns.const(eye), 0.0, 1.0 / ns.where(ns.const(eye), 1.0, gap))
            inner = f * (vt @ grad)
        g = v @ inner @ vt
        return 0.5 * (g + _t(g))


def eigh(input: Tensor, UPLO: str = "L"):  # noqa: N803 - PyTorch's name
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix, as
    ``torch.linalg.eigh``'s named tuple. Eigenvectors are defined up to sign."""
    from glassnet.return_types import linalg_eigh

    _square("eigh", input)
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    a = input if UPLO == "L" else _t(input)
    return linalg_eigh(EighFactor.apply(a, part="values"), EighFactor.apply(a, part="vectors"))


def eigvalsh(input: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix."""
    return eigh(input, UPLO).eigenvalues


def _tolerances(A: Tensor, atol, rtol) -> tuple[float, float]:
    """PyTorch's rule: rtol defaults to max(m, n) * eps, or to 0 when atol > 0 is given."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(A.shape[-2:]) * np.finfo(A.dtype).eps
    return float(atol or 0.0), float(rtol)


def _cutoff(s, *, atol, rtol):
    xp = xp_of(s)
    top = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
    return xp.maximum(atol, rtol * top)


def pinv(input: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """Moore-Penrose pseudo-inverse V diag(1/s) U^T, singular values at or below
    max(atol, rtol * s_max) taken as 0 (``torch.linalg.pinv``'s tolerances). Differentiable
    where the singular values are distinct."""
    if input.ndim < 2 or input.dtype.kind != "f":
        raise ValueError(
            f"pinv expects float matrices (..., m, n), got {input.dtype} {input.shape}"
        )
    atol, rtol = _tolerances(input, atol, rtol)
    u, s, vh = svd_factor(input, "u"), svd_factor(input, "s"), svd_factor(input, "vh")
    keep = s > no_grad_result(_cutoff, s, atol=atol, rtol=rtol)
    s_inv = _sel.where(keep, 1.0 / _sel.where(keep, s, 1.0), 0.0)
    return matmul(_t(vh) * unsqueeze(s_inv, -2), _t(u))


def _rank(a, *, atol, rtol):
    s = xp_of(a).linalg.svd(a, compute_uv=False)
    return (s > _cutoff(s, atol=atol, rtol=rtol)).sum(-1).astype(np.int64)


def matrix_rank(input: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above max(atol, rtol * s_max) (int64, no gradient)."""
    if input.ndim < 2 or input.dtype.kind != "f":
        raise ValueError(f"matrix_rank expects float matrices, got {input.dtype} {input.shape}")
    atol, rtol = _tolerances(input, atol, rtol)
    return no_grad_result(_rank, input, atol=atol, rtol=rtol)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring (n = 0: the identity; n < 0: (A^{-1})^{|n|})."""
    _square("matrix_power", input)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: n must be an int, got {n!r}")
    n = int(n)
    if n == 0:
        eye = xp_of(input._data).broadcast_to(
            xp_of(input._data).eye(input.shape[-1], dtype=input.dtype), input.shape
        )
        return Tensor._make(eye.copy(), False)
    base = inverse(input) if n < 0 else input
    n, result = abs(n), None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices (the first may be 1-D, a row; the last 1-D, a
    column), as ``torch.linalg.multi_dot``."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ValueError("multi_dot expects at least two tensors")
    for i, t in enumerate(tensors):
        if t.ndim != 2 and not (t.ndim == 1 and i in (0, len(tensors) - 1)):
            raise ValueError(
                "multi_dot: the inner tensors must be 2-D (the first and last 1-D or 2-D)"
            )
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.pinverse``: ``pinv`` with singular values below rcond * s_max taken as 0."""
    return pinv(input, rtol=rcond)
