"""Named tuples returned by ops that give several tensors, as ``torch.return_types``.

``values, indices = x.max(1)`` unpacks like a tuple, and ``x.max(1).values`` /
``x.max(1).indices`` read the fields by name, exactly as in PyTorch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = [
    "linalg_eig", "linalg_eigh", "linalg_lstsq", "linalg_qr", "linalg_svd", "max", "min", "qr",
    "slogdet", "svd",
]  # fmt: skip


class max(NamedTuple):  # noqa: A001, N801 - PyTorch's name: torch.return_types.max
    """``(values, indices)`` of :func:`glassnet.max` along a dim."""

    values: Any
    indices: Any


class min(NamedTuple):  # noqa: A001, N801 - PyTorch's name: torch.return_types.min
    """``(values, indices)`` of :func:`glassnet.min` along a dim."""

    values: Any
    indices: Any


class linalg_svd(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.linalg_svd
    """``(U, S, Vh)`` of :func:`glassnet.linalg.svd`."""

    U: Any
    S: Any
    Vh: Any


class slogdet(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.slogdet
    """``(sign, logabsdet)`` of :func:`glassnet.linalg.slogdet`."""

    sign: Any
    logabsdet: Any


class linalg_eigh(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.linalg_eigh
    """``(eigenvalues, eigenvectors)`` of :func:`glassnet.linalg.eigh`."""

    eigenvalues: Any
    eigenvectors: Any


class linalg_qr(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.linalg_qr
    """``(Q, R)`` of :func:`glassnet.linalg.qr`."""

    Q: Any
    R: Any


class qr(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.qr
    """``(Q, R)`` of :func:`glassnet.qr`."""

    Q: Any
    R: Any


class svd(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.svd
    """``(U, S, V)`` of :func:`glassnet.svd` (V, not V^T)."""

    U: Any
    S: Any
    V: Any


class linalg_lstsq(NamedTuple):  # noqa: N801 - PyTorch's name
    """``(solution, residuals, rank, singular_values)`` of :func:`glassnet.linalg.lstsq`."""

    solution: Any
    residuals: Any
    rank: Any
    singular_values: Any


class linalg_eig(NamedTuple):  # noqa: N801 - PyTorch's name: torch.return_types.linalg_eig
    """``(eigenvalues, eigenvectors)`` of :func:`glassnet.linalg.eig` (complex)."""

    eigenvalues: Any
    eigenvectors: Any
