"""``nn.utils.spectral_norm`` / ``remove_spectral_norm``: PyTorch's (legacy, hook-based)
spectral normalization (Miyato et al., 2018), as GAN discriminators use it.

:math:`W_{SN} = W / \\sigma(W)` with :math:`\\sigma(W) \\approx u^\\top W v` the largest
singular value of W (reshaped to a matrix (W.shape[dim], -1)), estimated by power iteration:
in training mode each forward first runs ``n_power_iterations`` steps
:math:`v \\leftarrow \\mathrm{normalize}(W^\\top u)`, :math:`u \\leftarrow
\\mathrm{normalize}(W v)` without gradient, updating the buffers ``weight_u`` and ``weight_v``
in place; in eval mode the stored u, v are used as they are. The gradient flows through W
only (u and v are constants): :math:`\\partial \\sigma / \\partial W = u v^\\top`.

As PyTorch's: ``weight`` becomes ``weight_orig`` (a parameter) and the buffers ``weight_u``
(W.shape[dim],) and ``weight_v`` are registered after it, so ``state_dict`` keys are
``bias``, ``weight_orig``, ``weight_u``, ``weight_v``; ``module.weight`` is a plain tensor
recomputed before each forward; ``dim`` defaults to 1 for ConvTranspose layers and 0
otherwise. u and v start as normalized N(0, 1) draws from glassnet's generator (PyTorch's
draws differ: load a state_dict to share them).
"""

from __future__ import annotations

from glassnet.autograd.grad_mode import no_grad
from glassnet.creation import randn
from glassnet.nn.parameter import Parameter
from glassnet.ops.distance import normalize
from glassnet.tensor import Tensor

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that ``spectral_norm`` registers (PyTorch's class of that name)."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12) -> None:
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.name, self.dim, self.eps = name, dim, eps
        self.n_power_iterations = n_power_iterations

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            rest = [d for d in range(weight.ndim) if d != self.dim]
            weight = weight.permute(self.dim, *rest)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(weight_mat.t() @ u, dim=0, eps=self.eps))
                    u.copy_(normalize(weight_mat @ v, dim=0, eps=self.eps))
            u, v = u.clone(), v.clone()  # the graph keeps these, not the updated buffers
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(module, name: str, n_power_iterations: int, dim: int, eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks:
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(
                f"spectral_norm: {type(module).__name__} has no parameter named {name!r}"
            )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            kw = {"dtype": weight.dtype, "device": weight.device}
            u = normalize(randn(h, **kw), dim=0, eps=eps)
            v = normalize(randn(w, **kw), dim=0, eps=eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None):  # fmt: skip
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration (PyTorch's
    ``torch.nn.utils.spectral_norm``; see the module docstring). Returns ``module``."""
    if dim is None:
        from glassnet.nn.layers.conv_transpose import _ConvT

        dim = 1 if isinstance(module, _ConvT) else 0  # ConvTranspose1d/2d/3d, as PyTorch
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` is a Parameter again holding W / sigma
    (with the stored u, v). Returns ``module``."""
    for hook in list(module._forward_pre_hooks):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            module._forward_pre_hooks.remove(hook)
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
