"""``glassnet.linalg``: PyTorch's ``torch.linalg`` names that glassnet has (norms, the SVD)."""

from glassnet.ops import linalg_solve as _solve
from glassnet.ops.distance import matrix_norm, vector_norm
from glassnet.ops.linalg_extra import svd_factor
from glassnet.ops.linalg_solve import (
    cholesky,
    eigh,
    eigvalsh,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    solve,
)
from glassnet.return_types import linalg_svd

__all__ = [
    "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matrix_norm", "matrix_power",
    "matrix_rank", "multi_dot", "norm", "pinv", "slogdet", "solve", "svd", "svdvals",
    "vector_norm",
]  # fmt: skip


def det(A):  # noqa: N803 - PyTorch's name (torch.det says input)
    """``torch.linalg.det``: the determinant of each square matrix in ``A``."""
    return _solve.det(A)


def inv(A):  # noqa: N803
    """``torch.linalg.inv``: the inverse of each square matrix in ``A``."""
    return _solve.inverse(A)


def slogdet(A):  # noqa: N803
    """``torch.linalg.slogdet``: (sign, log|det|) of each square matrix in ``A``."""
    return _solve.slogdet(A)


def cross(input, other, *, dim: int = -1):  # noqa: A002 - PyTorch's names
    """``torch.linalg.cross``: the cross product along ``dim`` (default the last)."""
    from glassnet.ops.math_extra import cross as _cross

    return _cross(input, other, dim)


def svd(A, full_matrices: bool = True, *, driver=None):
    """``torch.linalg.svd``: A = U diag(S) Vh over the last two dims, S descending, as
    ``(U, S, Vh)``. Differentiable to any order for ``full_matrices=False`` (or a square A):
    see :class:`~glassnet.ops.linalg_extra.SvdFactor` for the derivative, finite only for
    distinct singular values (and nonzero ones where A is not square), as PyTorch's; U and V
    are defined up to the sign of each pair (u_i, v_i). ``driver`` (a CUDA option) is ignored.
    """
    m, n = A.shape[-2], A.shape[-1]
    if full_matrices and m != n:
        if A.requires_grad:
            raise ValueError(
                f"linalg.svd: the derivative with full_matrices=True of a non-square {m} x {n} "
                "matrix is not defined (the extra columns of U or V are arbitrary); pass "
                "full_matrices=False"
            )
        from glassnet.backend import xp_of
        from glassnet.tensor import Tensor

        u, s, vh = xp_of(A._data).linalg.svd(A._data, full_matrices=True)
        return linalg_svd(*(Tensor._make(t, False) for t in (u, s, vh)))
    return linalg_svd(svd_factor(A, "u"), svd_factor(A, "s"), svd_factor(A, "vh"))


def svdvals(A, *, driver=None):
    """``torch.linalg.svdvals``: the singular values of A (descending); dS/dA = U diag(.) V^T."""
    return svd_factor(A, "s")


def norm(input, ord=None, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm or a matrix norm, chosen as PyTorch does.

    With ``dim`` an int (or one dim), ``vector_norm(A, ord)``; with two dims,
    ``matrix_norm(A, ord)`` ("fro" when ``ord`` is None). With ``dim=None``: ``ord=None`` is
    the 2-norm of all elements; otherwise A must be 1-D (vector norm) or 2-D (matrix norm).
    """
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(input, 2, None, keepdim, dtype=dtype)
        if input.ndim not in (1, 2):
            raise ValueError(
                f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got "
                f"{input.ndim}-D; pass dim= (one dim for a vector norm, two for a matrix norm)"
            )
        dim = tuple(range(input.ndim))
    dim = tuple(dim)
    if len(dim) == 1:
        return vector_norm(input, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(input, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: dim must name one or two dims, got {dim!r}")
