"""``weight_norm`` / ``remove_weight_norm`` (``torch.nn.utils``, Salimans and Kingma 2016):
a weight reparameterized as w = g v / ||v||, with the magnitude g and the direction v
trained as separate parameters (``weight_g``, ``weight_v``), as WaveNet / HiFi-GAN vocoders
and temporal convolutional networks write it.

||v|| is taken over every dim except ``dim`` (``dim=0``: one norm per output channel, g of
shape (out, 1, ..., 1)); ``dim=None`` (and, as PyTorch's old API reads it, ``dim=-1``) over
the whole tensor, g a scalar. The weight is recomputed before every forward (a forward
pre-hook), so gradients reach g and v through it.

(PyTorch's newer ``torch.nn.utils.parametrizations.weight_norm`` stores g and v under
``parametrizations.weight.original0/1``; glassnet does not have parametrizations.)
"""

from __future__ import annotations

from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

__all__ = ["remove_weight_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """||v|| over every dim but ``dim`` (kept as size-1 dims); -1: over all dims."""
    if dim == -1:
        return (v * v).sum().sqrt()
    axes = tuple(d for d in range(v.ndim) if d != dim)
    return (v * v).sum(dim=axes, keepdim=True).sqrt()


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_g`` and
    ``<name>_v``: w = g v / ||v|| (norm over all dims but ``dim``)."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module: Module, name: str, dim) -> WeightNorm:
        for hook in module._forward_pre_hooks:
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if not isinstance(weight, Parameter):
            raise TypeError(
                f"weight_norm: '{name}' of {type(module).__name__} is not a Parameter "
                f"(got {type(weight).__name__})"
            )
        if fn.dim != -1 and not -weight.ndim <= fn.dim < weight.ndim:
            raise IndexError(
                f"weight_norm: dim {dim} is out of range for '{name}' of shape {weight.shape}"
            )
        if fn.dim < -1:
            fn.dim += weight.ndim
        del module._parameters[name]
        g = _norm_except_dim(weight.detach(), fn.dim)
        module.register_parameter(name + "_g", Parameter(g.detach().clone()))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module).detach()
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparameterize ``module.<name>`` as g v / ||v|| (parameters ``<name>_g``, ``<name>_v``;
    see the module docstring); returns ``module``."""
    if not isinstance(module, Module):
        raise TypeError(
            f"weight_norm expects a module (nn.Linear, nn.Conv1d, ...), got {type(module).__name__}"
        )
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``module.<name>`` becomes one Parameter again, holding the
    current g v / ||v||; returns ``module``."""
    hooks = module._forward_pre_hooks
    for i, hook in enumerate(hooks):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del hooks[i]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
