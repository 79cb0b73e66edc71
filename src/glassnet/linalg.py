"""``glassnet.linalg``: PyTorch's ``torch.linalg`` names that glassnet has (norms, solves, the
SVD, QR, least squares, eigendecompositions)."""

from glassnet.ops import linalg_solve as _solve
from glassnet.ops.distance import matrix_norm, vector_norm
from glassnet.ops.linalg_extra import svd_factor
from glassnet.ops.linalg_qr import eig, eigvals, linalg_svd_fn, lstsq, qr
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

__all__ = [
    "cholesky", "cross", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
    "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
    "solve", "svd", "svdvals", "vector_norm",
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


def svd(A, full_matrices: bool = True, *, driver=None):  # noqa: N803
    """``torch.linalg.svd``: A = U diag(S) Vh over the last two dims, S descending, as
    ``(U, S, Vh)``; see :func:`glassnet.ops.linalg_qr.linalg_svd_fn`."""
    return linalg_svd_fn(A, full_matrices, driver=driver)


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
