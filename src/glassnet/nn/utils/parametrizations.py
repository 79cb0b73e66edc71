"""``nn.utils.parametrizations``: PyTorch's ready-made parametrizations.

:func:`weight_norm` is PyTorch's current weight normalization: ``module.weight`` is computed
as :math:`g \\, v / \\lVert v \\rVert` (the norm over every dim but ``dim``) from
``module.parametrizations.weight.original0`` (:math:`g`, shape (out, 1, ..., 1) for
``dim=0``) and ``original1`` (:math:`v`), the state_dict keys PyTorch uses.
``orthogonal`` and ``spectral_norm`` are not implemented: they raise NotImplementedError.
"""

from __future__ import annotations

from glassnet.nn.module import Module
from glassnet.nn.utils import parametrize
from glassnet.nn.utils.weight_norm import _weight_norm
from glassnet.ops.distance import norm_except_dim

__all__ = ["weight_norm"]


class _WeightNorm(Module):
    """w = g v / ||v|| (forward(g, v)); right_inverse(w) = (norm_except_dim(w, 2, dim), w)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        weight_g = norm_except_dim(weight, 2, self.dim)
        weight_v = weight
        return weight_g, weight_v


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight-normalize ``module.<name>`` with a parametrization, as PyTorch's
    ``torch.nn.utils.parametrizations.weight_norm``: ``g`` and ``v`` live in
    ``module.parametrizations.<name>.original0`` / ``original1`` and ``module.<name>`` is
    recomputed from them on each access. ``dim=None`` (or ``-1``): one magnitude for the
    whole tensor. Loading a state_dict saved with the legacy ``weight_g``/``weight_v`` keys
    is not converted (PyTorch's load hook): rename them to ``parametrizations.<name>.original0``
    / ``original1`` first. Returns ``module``.

    >>> from glassnet import nn
    >>> layer = weight_norm(nn.Linear(3, 2))
    >>> list(layer.state_dict())
    ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


_MISSING = ("orthogonal", "spectral_norm")


def __getattr__(name: str):
    if name in _MISSING:  # a stub, so hasattr() and imports work; calling it raises
        message = (
            f"torch.nn.utils.parametrizations.{name} is not implemented in glassnet; "
            "weight_norm is, and nn.utils.parametrize.register_parametrization takes your "
            "own parametrization module"
        )

        def not_implemented(*args, **kwargs):
            raise NotImplementedError(message)

        return not_implemented
    raise AttributeError(f"module 'glassnet.nn.utils.parametrizations' has no attribute {name!r}")
