"""Record the output structures of torch.func / torch.autograd.functional (torch 2.13) that
tests/func and tests/autograd/test_autograd_functional.py hold glassnet to. Run by hand with
torch installed (never collected): `python tests/func/record_torch_func.py`; the same script
runs on glassnet with `--glassnet`, and the two printouts must be equal."""

import sys


def structure(torch, x):
    if isinstance(x, torch.Tensor):
        return f"T{tuple(x.shape)}{'g' if x.requires_grad else ''}"
    if isinstance(x, tuple):
        return "(" + ", ".join(structure(torch, v) for v in x) + ",)"
    if isinstance(x, list):
        return "[" + ", ".join(structure(torch, v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {structure(torch, v)}" for k, v in x.items()) + "}"
    return type(x).__name__


def structures(torch, func, AF) -> str:
    """One line per case: its name and the structure of what it returns."""
    torch.set_default_dtype(torch.float64)
    x = torch.tensor([0.1, 0.2, 0.3])
    y = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    p = {"w": torch.tensor([[0.5, -1.0, 2.0]]), "b": torch.tensor([0.1])}
    cases = {
        "grad": lambda: func.grad(lambda x: (x**2).sum())(x),
        "grad argnums tuple": lambda: func.grad(lambda x, y: (y @ x).sum(), argnums=(0, 1))(x, y),
        "grad dict": lambda: func.grad(lambda p, x: (p["w"] @ x + p["b"]).sum())(p, x),
        "grad has_aux": lambda: func.grad(lambda x: ((x**2).sum(), x * 2), has_aux=True)(x),
        "grad requires_grad input": lambda: func.grad(lambda x: (x**2).sum())(
            x.clone().requires_grad_()
        ),
        "grad_and_value": lambda: func.grad_and_value(lambda x: (x**2).sum())(x),
        "grad_and_value aux": lambda: func.grad_and_value(
            lambda x: ((x**2).sum(), {"a": x}), has_aux=True
        )(x),
        "vjp": lambda: func.vjp(lambda x: x * 2, x)[1](torch.ones(3)),
        "vjp two": lambda: func.vjp(lambda x, y: (y @ x, x), x, y)[1](
            (torch.ones(2), torch.ones(3))
        ),
        "vjp out": lambda: func.vjp(lambda x: x * 2, x)[0],
        "jacrev": lambda: func.jacrev(torch.sin)(x),
        "jacrev tuple out": lambda: func.jacrev(lambda x, y: (y @ x, x.sum()), argnums=(0, 1))(
            x, y
        ),
        "jacrev dict": lambda: func.jacrev(lambda p, x: p["w"] @ x + p["b"])(p, x),
        "jacfwd": lambda: func.jacfwd(lambda x, y: y @ x, argnums=1)(x, y),
        "hessian": lambda: func.hessian(lambda x: (x**3).sum())(x),
        "hessian argnums": lambda: func.hessian(lambda x, y: (y @ x).pow(2).sum(), argnums=(0, 1))(
            x, y
        ),
        "vmap": lambda: func.vmap(torch.dot, in_dims=(0, None))(y, x),
        "vmap out_dims": lambda: func.vmap(lambda r: (r * 2, r.sum()), out_dims=(1, 0))(y),
        "vmap dict": lambda: func.vmap(lambda p, r: p["w"] @ r + p["b"], in_dims=(None, 0))(p, y),
        "vmap grad": lambda: func.vmap(
            func.grad(lambda p, r: (p["w"] @ r + p["b"]).sum()), in_dims=(None, 0)
        )(p, y),
        "func jvp": lambda: func.jvp(lambda x, y: (y @ x, x.sum()), (x, y), (x, y)),
        "func jvp aux": lambda: func.jvp(lambda x: (x * 2, x), (x,), (x,), has_aux=True),
        "stack_module_state": lambda: func.stack_module_state(
            [torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)]
        ),
        "AF jacobian": lambda: AF.jacobian(lambda x, y: (y @ x, x), (x, y)),
        "AF hessian": lambda: AF.hessian(lambda x, y: (y @ x).sum(), (x, y)),
        "AF vjp": lambda: AF.vjp(lambda x: x * 2, x, torch.ones(3)),
        "AF jvp tuple": lambda: AF.jvp(lambda x, y: (y @ x,), (x, y), (x, y)),
        "AF hvp": lambda: AF.hvp(lambda x: (x**3).sum(), x, x),
    }
    return "\n".join(f"{name}: {structure(torch, case())}" for name, case in cases.items())


if __name__ == "__main__":
    if "--glassnet" in sys.argv:
        import glassnet as torch
        import glassnet.autograd.functional as AF
        from glassnet import func
    else:
        import torch
        import torch.autograd.functional as AF
        from torch import func
    print(structures(torch, func, AF))
