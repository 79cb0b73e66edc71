"""The backward pass: an iterative, deterministic walk of the graph in reverse topological order.

For a scalar loss L and a node y = f(x1, ..., xn), the chain rule gives

    dL/dxi = sum over paths  dL/dy * dy/dxi

Each node's ``backward`` computes the vector-Jacobian products ``dL/dy * dy/dxi`` from the
upstream gradient ``dL/dy``; the engine adds up contributions from every use of a tensor
(diamonds, reuse), undoes broadcasting, and stores the result on leaves only. Intermediate
gradients live in a dict local to this pass and are dropped as soon as they are consumed.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.backend import xp_of


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting copies x along new leading axes and along axes of size 1; the gradient of a
    copy is the sum of the gradients of its copies.
    """
    if grad.shape == tuple(shape):
        return grad
    ndim_extra = grad.ndim - len(shape)
    if ndim_extra < 0:
        raise RuntimeError(f"internal error: gradient {grad.shape} smaller than input {shape}")
    axes = tuple(range(ndim_extra)) + tuple(
        i + ndim_extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + ndim_extra] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if ndim_extra:
        grad = grad.reshape(shape)
    return grad


def _unbroadcast_tensor(grad, shape):
    from glassnet.ops.shape import sum_to

    return sum_to(grad, tuple(shape))


def topological_order(root) -> list:
    """Tensors reachable from ``root`` that require grad, each after all tensors that use it.

    Iterative post-order DFS (no recursion limit), following inputs in order (deterministic).
    """
    order: list = []
    visited: set = set()
    stack = [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        fn = t._ctx
        if fn is not None:
            inputs = fn.__dict__.get("inputs")
            if inputs is None:
                raise RuntimeError(
                    "trying to backward through the graph a second time: its saved values were "
                    "freed by the first backward(). Pass retain_graph=True to the first "
                    "backward() if you need to backward twice."
                )
            for inp in inputs:
                if inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    order.reverse()
    return order


def _check_versions(t, fn) -> None:
    for i, (inp, v) in enumerate(zip(fn.inputs, fn.versions)):
        if inp._vc[0] != v:
            raise RuntimeError(
                f"an input of op '{fn.name}' (input {i}, shape {inp.shape}) was modified in "
                f"place after the op used it (version {v} -> {inp._vc[0]}), so its gradient "
                "would be wrong. Clone the tensor before changing it in place, or make the "
                "change out of place."
            )
    if fn.saves_output and t._vc[0] != fn.out_version:
        raise RuntimeError(
            f"the output of op '{fn.name}' (shape {t.shape}) was modified in place, but its "
            "backward needs the original value. Clone it before changing it in place."
        )


def run_backward(root, grad=None, retain_graph=False, create_graph=False, capture=None):
    """Backpropagate from ``root``.

    Args:
        root: the tensor to differentiate (usually a scalar loss).
        grad: dL/droot; defaults to 1 for a one-element root.
        retain_graph: keep the graph's saved values so it can be backwarded again.
        create_graph: record the backward pass itself, for higher-order gradients.
        capture: if given, a list of tensors whose gradients are returned (in that order)
            instead of being accumulated into ``.grad`` (used by :func:`glassnet.grad`).
    """
    from glassnet.tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            f"backward() called on a tensor of shape {root.shape} that does not require grad: "
            "no input of its graph has requires_grad=True (or it was computed under no_grad)"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor of shape {root.shape} needs grad= (dL/dy "
                "of the same shape); or reduce it first, e.g. y.sum().backward()"
            )
        grad = xp_of(root.data).ones_like(root.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else xp_of(root.data).asarray(grad)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward(grad=...) got a gradient of shape {grad.shape} for a tensor of "
                f"shape {root.shape}; they must match"
            )
        grad = grad.astype(root.dtype, copy=False)
    if create_graph:
        grad = Tensor._make(grad, False)

    order = topological_order(root)
    wanted = {id(t): i for i, t in enumerate(capture)} if capture is not None else None
    captured = [None] * len(capture) if capture is not None else None
    grads = {id(root): grad}
    handed: set = set()
    prev_mode = _GRAD.enabled
    _GRAD.enabled = bool(create_graph)
    try:
        for t in order:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._hooks:
                g = _run_tensor_hooks(t, g, create_graph)
            fn = t._ctx
            if wanted is not None:
                if id(t) in wanted:
                    captured[wanted[id(t)]] = g if create_graph else Tensor._make(g, False)
            elif fn is None or t._retains_grad:
                _accumulate(t, g, create_graph, handed)
            if fn is None:
                continue
            if fn.released:
                topological_order(t)  # raises the "second time" error
            _check_versions(t, fn)
            if _hooks.BACKWARD_PRE_HOOKS:
                for hook in tuple(_hooks.BACKWARD_PRE_HOOKS):
                    hook(fn, g)
            in_grads = fn.backward_graph(g) if create_graph else fn.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if _hooks.BACKWARD_HOOKS:
                for hook in tuple(_hooks.BACKWARD_HOOKS):
                    hook(fn, g, in_grads)
            for inp, ig in zip(fn.inputs, in_grads):
                if ig is None or not inp.requires_grad:
                    continue
                if ig.shape != inp.shape:
                    ig = (_unbroadcast_tensor if create_graph else unbroadcast)(ig, inp.shape)
                key = id(inp)
                prev = grads.get(key)
                grads[key] = ig if prev is None else prev + ig
            if not retain_graph:
                fn.release()
    finally:
        _GRAD.enabled = prev_mode
    return captured


def _run_tensor_hooks(t, g, create_graph):
    from glassnet.tensor import Tensor

    gt = g if create_graph else Tensor._make(g, False)
    for hook in list(t._hooks.values()):
        out = hook(gt)
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != t.shape:
                raise ValueError(
                    f"a gradient hook on a tensor of shape {t.shape} must return None or a "
                    f"tensor of that shape, got {getattr(out, 'shape', type(out).__name__)}"
                )
            gt = out
    return gt if create_graph else gt.data


def _accumulate(t, g, create_graph, handed) -> None:
    """Add ``g`` into ``t.grad``. Each leaf's gradient owns its memory (never aliased)."""
    from glassnet.tensor import Tensor

    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is None:
        if not (isinstance(g, np.ndarray) and g.flags.owndata) or id(g) in handed:
            g = g.copy()
        handed.add(id(g))
        t.grad = Tensor._make(g, False)
    else:
        t.grad = Tensor._make(t.grad.data + g, False)
