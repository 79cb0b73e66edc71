"""The QR factorization and least squares over the last two dims (batched), with PyTorch's
derivatives (real case): ``torch.linalg.qr`` and ``torch.linalg.lstsq``.

As in :mod:`glassnet.ops.linalg_solve`, each op writes its derivative once against ``ns``, so
under ``create_graph`` the derivative is itself built from differentiable ops.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops.linalg_solve import Solve, _t, _xp
from glassnet.tensor import Tensor

QR_MODES = ("reduced", "complete", "r")


def _solve_rt(ns, b, r):
    """B R^{-T} (R square upper triangular): (R^{-1} B^T)^T."""
    if ns.eager:
        return _t(xp_of(r).linalg.solve(r, _t(b)))
    return _t(Solve.apply(r, _t(b)))


def _qr_backward_tall(ns, q, r, gq, gr):
    """dL/dA for A = Q R with m >= n (Q m x n, R n x n):
    M = R gR^T - gQ^T Q, dL/dA = (gQ + Q copyltu(M)) R^{-T}, copyltu(M) = tril(M) + tril(M,-1)^T
    (the lower triangle mirrored: the symmetric matrix with M's lower triangle)."""
    n, xp = r.shape[-1], _xp(r)
    m_ = ns.matmul(r, _t(gr)) - ns.matmul(_t(gq), q)
    low = m_ * ns.const(xp.tri(n, dtype=r.dtype))
    strict = m_ * ns.const(xp.tri(n, k=-1, dtype=r.dtype))
    return _solve_rt(ns, gq + ns.matmul(q, low + _t(strict)), r)


class QrFactor(Function):
    """One factor of A = Q R over the last two dims (Q with orthonormal columns, R upper
    triangular, Householder signs as LAPACK's geqrf, like PyTorch's): ``part`` "q" or "r",
    ``mode`` "reduced" (Q m x k, R k x n, k = min(m, n)), "complete" (Q m x m, R m x n) or
    "r" (R only, as "reduced", without a derivative: PyTorch's).

    Backward (PyTorch's, real case), with F the gradient of this factor (the other one 0):
      m >= n: M = R gR^T - gQ^T Q,  dL/dA = (gQ + Q copyltu(M)) R^{-T}
      m < n:  A = [X | Y], R = [U | V] (U m x m):  dL/dY = Q gV,
              dL/dX = the m >= n formula with (Q, U, gQ + Y gV^T, gU)
    Finite where R's diagonal is nonzero (A of full rank). Not defined for mode "complete"
    with m > n (the extra columns of Q are arbitrary), as in PyTorch.
    """

    name = "qr_factor"

    def forward(self, a, part, mode):
        xp = xp_of(a)
        self.part, self.mode = part, mode
        if mode == "r":  # R only: LAPACK skips forming Q
            self.q, self.r = None, xp.linalg.qr(a, mode="r")
        else:
            self.q, self.r = xp.linalg.qr(a, mode=mode)
        return self.q if part == "q" else self.r

    def backward(self, ns, grad, a):
        m, n = a.shape[-2], a.shape[-1]
        if self.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when "
                "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                "differentiate through linalg.qr."
            )
        if self.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > "
                "ncols (the extra columns of Q are arbitrary); use mode='reduced'"
            )
        if ns.eager:
            q, r = self.q, self.r
        else:
            q, r = (QrFactor.apply(a, part=p, mode=self.mode) for p in ("q", "r"))
        zeros = ns.const(_xp(a).zeros((), dtype=a.dtype))
        gq, gr = (grad, zeros * r) if self.part == "q" else (zeros * q, grad)
        if m >= n:
            return _qr_backward_tall(ns, q, r, gq, gr)
        u, gu, gv = r[..., :m], gr[..., :m], gr[..., m:]
        y = a[..., m:]
        gx = _qr_backward_tall(ns, q, u, gq + ns.matmul(y, _t(gv)), gu)
        gy = ns.matmul(q, gv)
        if ns.eager:
            return xp_of(a).concatenate([gx, gy], axis=-1)
        from glassnet.ops.joins import concat

        return concat([gx, gy], -1)


def qr(A: Tensor, mode: str = "reduced"):  # noqa: N803 - PyTorch's name
    """``torch.linalg.qr``: A = Q R as the named tuple ``(Q, R)``; ``mode='r'`` gives an empty
    Q (shape (0,)) and R only. See :class:`QrFactor` for the derivative."""
    from glassnet.return_types import linalg_qr

    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.qr expects a Tensor, got {type(A).__name__}")
    if mode not in QR_MODES:
        raise ValueError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    if A.ndim < 2 or A.dtype.kind != "f":
        raise ValueError(
            f"linalg.qr expects float matrices (..., m, n), got {A.dtype} of shape {tuple(A.shape)}"
        )
    if mode == "r":
        empty = Tensor._make(_xp(A).zeros((0,), dtype=A.dtype), False)
        return linalg_qr(empty, QrFactor.apply(A, part="r", mode="r"))
    return linalg_qr(QrFactor.apply(A, part="q", mode=mode), QrFactor.apply(A, part="r", mode=mode))


def _pinv_array(a, rcond: float):
    """V diag(1/s) U^T with singular values <= rcond * s_max dropped; also the s and ranks."""
    xp = xp_of(a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    top = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
    keep = s > rcond * top
    s_inv = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0).astype(a.dtype)
    return (_t(vh) * s_inv[..., None, :]) @ _t(u), s, keep.sum(-1).astype(np.int64)


class LstsqSolution(Function):
    """X = pinv(A) B: the least-squares solution of A X = B of minimum norm (B (..., m, k)).

    Backward, with P = pinv(A) (the pseudo-inverse's derivative at constant rank, as PyTorch's
    ``pinv_backward``) and G_P = gX B^T:
      dL/dB = P^T gX
      dL/dA = -P^T G_P P^T + (I - A P) G_P^T P P^T + P^T P G_P^T (I - P A)
    """

    name = "lstsq"

    def forward(self, a, b, rcond):
        self.p, _, _ = _pinv_array(a, rcond)
        self.rcond = rcond
        return self.p @ b

    def backward(self, ns, grad, a, b):
        if ns.eager:
            p = self.p
        else:
            from glassnet.ops.linalg_solve import pinv

            p = pinv(a, rtol=self.rcond)
        pt = _t(p)
        gb = ns.matmul(pt, grad)
        gp = ns.matmul(grad, _t(b))
        ap, pa = ns.matmul(a, p), ns.matmul(p, a)
        xp = _xp(a)
        eye_m = ns.const(xp.eye(a.shape[-2], dtype=a.dtype))
        eye_n = ns.const(xp.eye(a.shape[-1], dtype=a.dtype))
        ga = (
            -ns.matmul(ns.matmul(pt, gp), pt)
            + ns.matmul(ns.matmul(eye_m - ap, _t(gp)), ns.matmul(p, pt))
            + ns.matmul(ns.matmul(pt, p), ns.matmul(_t(gp), eye_n - pa))
        )
        return ga, gb


LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None):  # noqa: N803
    """``torch.linalg.lstsq``: the least-squares solution X of A X = B as the named tuple
    ``(solution, residuals, rank, singular_values)``.

    B is (..., m, k), or (..., m) (one vector per matrix, B.ndim == A.ndim - 1); batch dims
    broadcast. The solution is the minimum-norm one, pinv(A) B with singular values at or
    below ``rcond * s_max`` dropped (default ``rcond = eps * max(m, n)``), which is what
    LAPACK's drivers give for full-rank A (``gels`` assumes full rank; glassnet still returns
    the minimum-norm solution for a rank-deficient A). As PyTorch's, by ``driver`` (default
    "gelsy" on CPU, "gels" on CUDA): ``rank`` (int64, (...)) for all but "gels";
    ``singular_values`` ((..., min(m, n)), no gradient) for "gelsd"/"gelss"; ``residuals``
    ``||A X - B||^2`` per column ((..., k)) when m > n, the driver is not "gelsy" and every A
    has full rank; an empty tensor (shape (0,)) where a field is not computed.
    Differentiable in A and B (see :class:`LstsqSolution`), residuals included.
    """
    from glassnet.ops.reduction import sum as _sum
    from glassnet.ops.shape import broadcast_to, unsqueeze
    from glassnet.return_types import linalg_lstsq

    for name, t in (("input", A), ("other", B)):
        if not isinstance(t, Tensor):
            raise TypeError(f"torch.linalg.lstsq: {name} must be a Tensor, got {type(t).__name__}")
    if A.ndim < 2 or A.dtype.kind != "f":
        raise ValueError(
            f"torch.linalg.lstsq: input must be float matrices (..., m, n), got {A.dtype} of "
            f"shape {tuple(A.shape)}"
        )
    if A.dtype != B.dtype:
        raise TypeError(
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {A.dtype} and other's dtype {B.dtype}; cast one with .to(dtype)"
        )
    on_gpu = A.device.type == "cuda"
    if driver is None:
        driver = "gels" if on_gpu else "gelsy"
    if driver not in LSTSQ_DRIVERS:
        raise ValueError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, "
            f"gelss), got {driver!r}"
        )
    if on_gpu and driver != "gels":
        raise ValueError("torch.linalg.lstsq: `driver` other than `gels` is not supported on CUDA")
    vector = B.ndim == A.ndim - 1
    rhs = unsqueeze(B, -1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-2]:
        raise ValueError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2): got input "
            f"{tuple(A.shape)} and other {tuple(B.shape)}"
        )
    m, n = A.shape[-2], A.shape[-1]
    if rcond is None:
        rcond = float(np.finfo(A.dtype).eps) * max(m, n)
    batch = tuple(np.broadcast_shapes(A.shape[:-2], rhs.shape[:-2]))
    a = broadcast_to(A, batch + (m, n))
    rhs = broadcast_to(rhs, batch + rhs.shape[-2:])
    solution = LstsqSolution.apply(a, rhs, rcond=float(rcond))
    _, s, ranks = _pinv_array(a._data, float(rcond))
    xp = _xp(A)
    empty = Tensor._make(xp.zeros((0,), dtype=A.dtype), False)
    rank = (
        Tensor._make(ranks, False)
        if driver != "gels"
        else Tensor._make(xp.zeros((0,), dtype=np.int64), False)
    )
    values = Tensor._make(s, False) if driver in ("gelsd", "gelss") else empty
    full_rank = driver == "gels" or bool((ranks == n).all())
    residuals = empty
    if m > n and driver != "gelsy" and full_rank:
        from glassnet.ops.linalg import matmul

        residuals = _sum((matmul(a, solution) - rhs) ** 2, -2)
    if vector:
        solution = solution[..., 0]
    return linalg_lstsq(solution, residuals, rank, values)


def _complex_eig(op: str, A: Tensor):
    from glassnet.autograd.grad_mode import is_grad_enabled
    from glassnet.ops.linalg_solve import _square

    _square(f"linalg.{op}", A)
    if A.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"linalg.{op}: the eigenvalues of a general matrix are complex and glassnet has no "
            "complex autograd, so they cannot be differentiated; for a symmetric matrix use "
            "linalg.eigh / linalg.eigvalsh (real and differentiable), or pass A.detach()"
        )
    return np.complex64 if A.dtype == np.float32 else np.complex128


def eigvals(A: Tensor) -> Tensor:  # noqa: N803
    """``torch.linalg.eigvals``: the (complex) eigenvalues of each square matrix, complex64
    for float32 input and complex128 for float64, as PyTorch; no gradient (see ``eig``)."""
    ctype = _complex_eig("eigvals", A)
    return Tensor._make(_xp(A).linalg.eigvals(A._data).astype(ctype), False)


def eig(A: Tensor):  # noqa: N803
    """``torch.linalg.eig``: ``(eigenvalues, eigenvectors)`` (complex; unit-norm eigenvector
    columns, LAPACK's geev as PyTorch's). glassnet has no complex autograd: a tensor that
    requires grad raises (use ``eigh`` for a symmetric matrix)."""
    from glassnet.return_types import linalg_eig

    ctype = _complex_eig("eig", A)
    xp = _xp(A)
    if not hasattr(xp.linalg, "eig"):
        raise RuntimeError("linalg.eig is not available on this device; move A to the CPU")
    w, v = xp.linalg.eig(A._data)
    return linalg_eig(Tensor._make(w.astype(ctype), False), Tensor._make(v.astype(ctype), False))


def linalg_svd_fn(A, full_matrices: bool = True, *, driver=None):  # noqa: N803
    """``torch.linalg.svd``: A = U diag(S) Vh over the last two dims, S descending, as
    ``(U, S, Vh)``. Differentiable to any order for ``full_matrices=False`` (or a square A):
    see :class:`~glassnet.ops.linalg_extra.SvdFactor` for the derivative, finite only for
    distinct singular values (and nonzero ones where A is not square), as PyTorch's; U and V
    are defined up to the sign of each pair (u_i, v_i). ``driver`` (a CUDA option) is ignored.
    """
    from glassnet.ops.linalg_extra import svd_factor
    from glassnet.return_types import linalg_svd

    m, n = A.shape[-2], A.shape[-1]
    if full_matrices and m != n:
        if A.requires_grad:
            raise ValueError(
                f"linalg.svd: the derivative with full_matrices=True of a non-square {m} x {n} "
                "matrix is not defined (the extra columns of U or V are arbitrary); pass "
                "full_matrices=False"
            )
        u, s, vh = xp_of(A._data).linalg.svd(A._data, full_matrices=True)
        return linalg_svd(*(Tensor._make(t, False) for t in (u, s, vh)))
    return linalg_svd(svd_factor(A, "u"), svd_factor(A, "s"), svd_factor(A, "vh"))


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):  # noqa: A002
    """``torch.svd``: ``(U, S, V)`` with A = U diag(S) V^T (note V, not ``linalg.svd``'s Vh);
    ``some=False`` gives the full U (m x m) and V (n x n). With ``compute_uv=False``, U and V
    are zero-filled (m x m, n x n), as PyTorch's."""
    from glassnet.ops.linalg_extra import svd_factor
    from glassnet.return_types import svd as result

    if not compute_uv:
        xp = _xp(input)
        m, n = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])

        def zeros(k):
            return Tensor._make(xp.zeros(batch + (k, k), dtype=input.dtype), False)

        return result(zeros(m), svd_factor(input, "s"), zeros(n))
    u, s, vh = linalg_svd_fn(input, full_matrices=not some)
    return result(u, s, _t(vh))


def qr_root(input: Tensor, some: bool = True):  # noqa: A002
    """``torch.qr``: ``(Q, R)``, reduced with ``some=True``, complete otherwise (PyTorch's
    deprecated spelling of ``linalg.qr``)."""
    from glassnet.return_types import qr as result

    q, r = qr(input, "reduced" if some else "complete")
    return result(q, r)
