"""The pieces that every function transform here is built from, on the reverse-mode engine.

``variables(ts)`` gives each input tensor a fresh differentiable stand-in (PyTorch's
functorch "levels": ``grad(grad(f))`` differentiates the inner call against its own copy of
x, never against a tensor captured from outside); ``gradients`` runs
:func:`glassnet.autograd.grad` against them, recording the backward pass whenever grad mode
is on (so an outer transform can differentiate the result again); ``release`` detaches a
result that depends on no tensor outside the transform, so ``grad(f)(x)`` of a plain ``x``
does not require grad, as in PyTorch.
"""

from __future__ import annotations

from glassnet.autograd.api import grad as autograd_grad
from glassnet.autograd.grad_mode import enable_grad, is_grad_enabled
from glassnet.backend import xp_of
from glassnet.tensor import Tensor


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def variable(t: Tensor) -> Tensor:
    """A differentiable stand-in for ``t``: a copy inside ``t``'s graph when ``t`` requires
    grad (an outer transform differentiates through it), else a new leaf."""
    if not isinstance(t, Tensor):
        raise TypeError(
            f"expected a tensor to differentiate against, got {type(t).__name__}; pass "
            "glassnet tensors (gn.tensor(...)) as the differentiated arguments"
        )
    if t.dtype.kind not in "fc":
        raise TypeError(
            f"cannot differentiate against a tensor of dtype {t.dtype}: only floating point "
            "and complex tensors have gradients; convert it with .double() or .float()"
        )
    with enable_grad():
        if t.requires_grad:
            return t.clone()
        return t.detach().requires_grad_(True)


def zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(xp_of(t._data).zeros_like(t._data), False)


def gradients(outputs, inputs, grad_outputs=None, retain_graph=True, create_graph=None):
    """d(outputs)/d(inputs) as a list, zeros for an input the outputs do not use (as
    torch.func); the backward pass is recorded whenever grad mode is on, unless told."""
    if create_graph is None:
        create_graph = is_grad_enabled()
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    gos = (
        [grad_outputs]
        if isinstance(grad_outputs, Tensor) or grad_outputs is None
        else list(grad_outputs)
    )
    if grad_outputs is None:
        gos = [None] * len(outs)
    keep = [i for i, o in enumerate(outs) if o.requires_grad]
    if not keep:
        return [zeros_like(t) for t in inputs]
    with enable_grad():
        result = autograd_grad(
            [outs[i] for i in keep],
            list(inputs),
            grad_outputs=[gos[i] for i in keep],
            retain_graph=retain_graph or create_graph,
            create_graph=create_graph,
            allow_unused=True,
        )
    return [zeros_like(t) if g is None else g for g, t in zip(result, inputs)]


def depends_outside(t, private: set) -> bool:
    """Whether ``t``'s graph reaches a tensor that requires grad other than the stand-ins
    whose ids are in ``private`` (a tensor the caller may differentiate against)."""
    if not isinstance(t, Tensor) or not t.requires_grad:
        return False
    stack, seen = [t], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if id(n) in private:
            continue
        if n._ctx is None:
            return True
        stack.extend(i for i in n._ctx.inputs if i.requires_grad)
    return False


def release(values: list, private: list) -> list:
    """``values`` with each tensor detached unless it depends on a tensor from outside."""
    ids = {id(p) for p in private if p._ctx is None}
    return [
        v.detach() if isinstance(v, Tensor) and not depends_outside(v, ids) else v for v in values
    ]


def jacobian_blocks(out: Tensor, inputs: list, create_graph=None) -> list:
    """[d out / d inputs[j]] of shapes ``out.shape + inputs[j].shape``, one backward pass per
    element of ``out`` (row i of the Jacobian is e_i^T J, a vector-Jacobian product)."""
    from glassnet.ops import stack

    xp = xp_of(out._data)
    n = int(out._data.size)
    if n == 0 or not out.requires_grad:
        return [
            Tensor._make(xp.zeros(out.shape + t.shape, dtype=t._data.dtype), False) for t in inputs
        ]
    rows = [[] for _ in inputs]
    for i in range(n):
        e = xp.zeros(n, dtype=out._data.dtype)
        e[i] = 1
        grads = gradients(
            out, inputs, Tensor._make(e.reshape(out.shape), False), True, create_graph
        )
        for j, g in enumerate(grads):
            rows[j].append(g)
    return [stack(r).reshape(out.shape + t.shape) for r, t in zip(rows, inputs)]
