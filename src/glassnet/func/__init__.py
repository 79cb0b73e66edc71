"""``glassnet.func``: PyTorch's ``torch.func`` function transforms (grad, vjp, jacrev,
jacfwd, hessian, vmap, functional_call), built on the reverse-mode engine."""

from glassnet.func.functional_call import functional_call
from glassnet.func.transforms import grad, grad_and_value, hessian, jacfwd, jacrev, vjp
from glassnet.func.vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "vjp",
    "vmap",
]
