"""``glassnet.func``: ``functional_call`` of ``torch.func``.

PyTorch's function transforms (``grad``, ``vmap``, ``jacrev``, ``jacfwd``, ``hessian``) are
not in glassnet: asking for one raises and names what to use (``glassnet.autograd.grad``, a
loop over the batch).
"""

from __future__ import annotations

from glassnet.nn.utils.stateless import functional_call

__all__ = ["functional_call"]

_TRANSFORMS = ("grad", "grad_and_value", "vmap", "jacrev", "jacfwd", "hessian", "vjp", "jvp")


def __getattr__(name: str):
    if name in _TRANSFORMS:
        raise NotImplementedError(
            f"torch.func.{name}: glassnet has no function transforms; use "
            "glassnet.autograd.grad(outputs, inputs, create_graph=True) for gradients, and "
            "a Python loop over the batch instead of vmap"
        )
    raise AttributeError(f"module 'glassnet.func' has no attribute {name!r}")
