"""``nn.utils.weight_norm`` / ``remove_weight_norm``: PyTorch's legacy weight normalization
(Salimans and Kingma, 2016), a forward pre-hook that recomputes a weight from a direction and
a magnitude before every call.

:math:`w = g \\, v / \\lVert v \\rVert`, the norm taken over every dim but ``dim`` (0 by
default: one magnitude per output channel; ``dim=None`` or ``-1``: one for the whole tensor).
``weight_norm(module)`` replaces the parameter ``weight`` by two parameters, ``weight_g`` (the
norm of the old weight, shape (out, 1, ..., 1)) and ``weight_v`` (the old weight), registered in
that order after the module's other parameters, as PyTorch's, so ``state_dict`` has PyTorch's
keys and order (``bias``, ``weight_g``, ``weight_v``). ``module.weight`` becomes a plain tensor
computed from them (not in ``state_dict`` and not a parameter), refreshed before each forward.

Gradients reach ``g`` and ``v`` through the composition: with :math:`n = \\lVert v \\rVert`,
:math:`\\partial w/\\partial g = v / n` and
:math:`\\partial L/\\partial v = (g/n)\\,(G - w\\,\\langle G, w\\rangle / g^2)` for
:math:`G = \\partial L/\\partial w` (per slice of ``dim``).

PyTorch deprecates this in favour of :func:`glassnet.nn.utils.parametrizations.weight_norm`
(state_dict keys ``parametrizations.weight.original0`` / ``original1``); both are here.
"""

from __future__ import annotations

import warnings

from glassnet.autograd.grad_mode import no_grad
from glassnet.nn.parameter import Parameter
from glassnet.ops.distance import norm_except_dim
from glassnet.tensor import Tensor

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """PyTorch's ``torch._weight_norm``: v * (g / norm_except_dim(v, 2, dim))."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that ``weight_norm`` registers (PyTorch's class of that name)."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn(
            "torch.nn.utils.weight_norm is deprecated in favor of "
            "torch.nn.utils.parametrizations.weight_norm.",
            FutureWarning,
            stacklevel=3,
        )
        for hook in module._forward_pre_hooks:
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(
                f"weight_norm: {type(module).__name__} has no parameter named {name!r} "
                f"(its parameters: {[k for k, p in module._parameters.items() if p is not None]})"
            )
        fn = WeightNorm(name, dim)
        del module._parameters[name]
        with no_grad():
            g = norm_except_dim(weight, 2, fn.dim)
        module.register_parameter(name + "_g", Parameter(g.detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name: str = "weight", dim: int | None = 0):
    """Reparameterize ``module.<name>`` as ``g * v / ||v||`` (PyTorch's legacy
    ``torch.nn.utils.weight_norm``; see the module docstring). Returns ``module``.

    Args:
        module: the layer (e.g. ``nn.Conv1d``, ``nn.Linear``).
        name: the parameter to normalize.
        dim: the dim that keeps its own magnitude (0: one per output channel); ``None`` or
            ``-1``: one magnitude for the whole tensor, as PyTorch's.

    >>> from glassnet import nn
    >>> conv = weight_norm(nn.Conv1d(2, 3, 2))  # doctest: +SKIP
    >>> list(conv.state_dict())  # doctest: +SKIP
    ['bias', 'weight_g', 'weight_v']
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a Parameter again holding the
    current ``g * v / ||v||``. Returns ``module``."""
    for hook in list(module._forward_pre_hooks):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            module._forward_pre_hooks.remove(hook)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
