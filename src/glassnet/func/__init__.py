"""``glassnet.func``: PyTorch's ``torch.func`` function transforms (grad, vjp, jvp, jacrev,
jacfwd, hessian, vmap, functional_call, stack_module_state), on the reverse-mode engine."""

from glassnet.func.functional_call import functional_call, stack_module_state
from glassnet.func.transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from glassnet.func.vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "stack_module_state",
    "vjp",
    "vmap",
]
