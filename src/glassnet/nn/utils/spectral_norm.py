"""Spectral normalization, the legacy hook form of ``torch.nn.utils.spectral_norm``.

``spectral_norm(module)`` replaces ``module.weight`` by ``W / sigma(W)``, where ``sigma`` is
the largest singular value of W (reshaped to a matrix with ``dim`` as its rows), estimated by
power iteration on two persistent vectors::

    v <- normalize(W^T u),  u <- normalize(W v)     (n_power_iterations times, training only)
    sigma = u^T W v,        weight = W / sigma

The trained parameter becomes ``weight_orig``; ``weight_u`` and ``weight_v`` are buffers
(so ``state_dict()`` has ``weight_orig``, ``weight_u``, ``weight_v`` as PyTorch's) and
``weight`` is recomputed by a forward pre-hook before every forward. u and v are updated in
place, without gradient, only in training mode; the gradient flows through W in both the
numerator and sigma (u and v are constants of the derivative)::

    d weight / d W = (I - W u v^T / sigma) / sigma      (as a linear map on W's matrix)

Used to keep a GAN discriminator 1-Lipschitz.

>>> import glassnet as gn
>>> m = spectral_norm(gn.nn.Linear(4, 3))
>>> sorted(m.state_dict())
['bias', 'weight_orig', 'weight_u', 'weight_v']
"""

from __future__ import annotations

from glassnet.autograd.grad_mode import no_grad
from glassnet.nn.parameter import Parameter

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


def _normalize(x, eps: float):
    """x / max(||x||_2, eps) (PyTorch's F.normalize of a vector)."""
    from glassnet.ops.distance import vector_norm

    return x / vector_norm(x).clamp_min(eps)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` to ``<name>_orig / sigma``."""

    _version: int = 1

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        """W as a matrix: ``dim`` moved first, the rest flattened into columns."""
        weight_mat = weight
        if self.dim != 0:
            order = [self.dim, *[d for d in range(weight_mat.dim()) if d != self.dim]]
            weight_mat = weight_mat.permute(*order)
        return weight_mat.reshape(weight_mat.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool):
        """``W / (u^T W v)``, after ``n_power_iterations`` in-place updates of u and v when
        ``do_power_iteration``."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                w_detached = weight_mat.detach()
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(w_detached.t().mv(u), self.eps))
                    u.copy_(_normalize(w_detached.mv(v), self.eps))
                # clones: the next in-place update must not change what this graph saved
                u, v = u.clone(), v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module) -> None:
        """Make ``<name>`` a plain Parameter again, holding the current ``W / sigma``."""
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
        """Register the reparametrization on ``module`` (see :func:`spectral_norm`)."""
        for hook in module._forward_pre_hooks:
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        if name not in module._parameters:
            raise KeyError(
                f"spectral_norm: {type(module).__name__} has no parameter '{name}' (it has "
                f"{list(module._parameters)}); pass name= of one of them"
            )
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if weight.dim() == 0:
            raise ValueError(
                f"spectral_norm: parameter '{name}' is a scalar; it needs at least one dim"
            )
        with no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            u = _normalize(weight.new_empty(h).normal_(0, 1), fn.eps)
            v = _normalize(weight.new_empty(w).normal_(0, 1), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # a plain attribute until the first forward recomputes it (PyTorch's weight.data)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim=None
):
    """Apply spectral normalization to ``module.<name>`` (PyTorch's legacy
    ``torch.nn.utils.spectral_norm``; see the module docstring for the math).

    Args:
        module: the layer (e.g. ``nn.Linear``, ``nn.Conv2d``).
        name: the parameter to normalize.
        n_power_iterations: power-iteration steps per training forward (>= 1).
        eps: the floor of the norms in the power iteration.
        dim: the output dim of the weight (default 0, 1 for ``ConvTranspose1d/2d/3d``).

    Returns:
        ``module``, with ``<name>_orig`` (Parameter), ``<name>_u``, ``<name>_v`` (buffers).
    """
    if dim is None:
        from glassnet.nn.layers.conv_transpose import (
            ConvTranspose1d,
            ConvTranspose2d,
            ConvTranspose3d,
        )

        conv_t = (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)
        dim = 1 if isinstance(module, conv_t) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``<name>`` becomes a Parameter holding ``W / sigma`` (with
    the stored u and v, no further power iteration)."""
    for k, hook in enumerate(module._forward_pre_hooks):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    return module
