"""``glassnet.linalg``: PyTorch's ``torch.linalg`` names that glassnet has (norms for now)."""

from glassnet.ops.distance import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm or a matrix norm, chosen as PyTorch does.

    With ``dim`` an int (or one dim), ``vector_norm(A, ord)``; with two dims,
    ``matrix_norm(A, ord)`` ("fro" when ``ord`` is None). With ``dim=None``: ``ord=None`` is
    the 2-norm of all elements; otherwise A must be 1-D (vector norm) or 2-D (matrix norm).
    """
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.ndim not in (1, 2):
            raise ValueError(
                f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got "
                f"{A.ndim}-D; pass dim= (one dim for a vector norm, two for a matrix norm)"
            )
        dim = tuple(range(A.ndim))
    dim = tuple(dim)
    if len(dim) == 1:
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: dim must name one or two dims, got {dim!r}")
