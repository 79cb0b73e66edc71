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
from glassnet.autograd import namespace as _namespace
from glassnet.autograd.grad_mode import _ENABLED, active_recorder
from glassnet.autograd.namespace import array_namespace, unbroadcast
from glassnet.backend import xp_of

__all__ = ["check_inputs", "run_backward", "topological_order", "unbroadcast", "zero_grad_"]


def _count_uses(root, roots=None) -> dict:
    """For each tensor reachable from ``root`` (or from each of ``roots``) that requires
    grad: how many graph edges use it.

    Iterative (no recursion limit) and deterministic (lists; inputs in order).
    """
    if roots is None:
        uses = {id(root): 0}
        stack = [root]
    else:
        uses = {id(r): 0 for r in roots}
        stack = list(roots)
    while stack:
        fn = stack.pop()._ctx
        if fn is None:
            continue
        try:
            inputs = fn.inputs
        except AttributeError:  # release() dropped it
            raise RuntimeError(
                f"trying to backward through the graph a second time (op '{fn.name}'): its "
                "saved values were freed by the first backward(). Pass retain_graph=True to "
                "the first backward() if you need to backward twice."
            ) from None
        for inp in inputs:
            if inp.requires_grad:
                key = id(inp)
                if key in uses:
                    uses[key] += 1
                else:
                    uses[key] = 1
                    stack.append(inp)
    return uses


def topological_order(root) -> list:
    """Tensors reachable from ``root`` that require grad, each after all tensors that use it.

    Kahn's algorithm: a tensor is emitted once every tensor that uses it has been emitted, the
    same order in which :func:`run_backward` visits them (so each gradient is complete).
    """
    uses = _count_uses(root)
    order = []
    ready = [root]
    while ready:
        t = ready.pop()
        order.append(t)
        if t._ctx is not None:
            for inp in t._ctx.inputs:
                if inp.requires_grad:
                    uses[id(inp)] -= 1
                    if uses[id(inp)] == 0:
                        ready.append(inp)
    return order


def _check_versions(t, fn) -> None:
    """Raise if an input or the saved output of ``fn`` was changed in place after forward."""
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


def _describe(t) -> str:
    return f"the output of op '{t._ctx.name}'" if t._ctx is not None else "a leaf tensor"


def check_inputs(inputs, what: str) -> list:
    """``inputs`` of ``grad``/``backward(inputs=...)`` as a list of tensors that require grad
    (a single tensor is accepted), or a clear error."""
    items = [inputs] if hasattr(inputs, "_vc") else list(inputs)
    if not items:
        raise RuntimeError(f"{what}: inputs is empty; give the tensors to differentiate against")
    for i, t in enumerate(items):
        if not hasattr(t, "_vc"):
            raise TypeError(f"{what}: inputs[{i}] is a {type(t).__name__}, not a tensor")
        if not t.requires_grad:
            raise RuntimeError(
                f"{what}: inputs[{i}] (shape {t.shape}) does not require grad, so it has no "
                "gradient; create it with requires_grad=True (or call .requires_grad_())"
            )
    return items


def _initial_grad(root, grad):
    """dL/droot as an array: 1 for a one-element root, else the caller's ``grad``, checked."""
    if not root.requires_grad:
        raise RuntimeError(
            f"backward() called on a tensor of shape {root.shape} that does not require grad: "
            "no input of its graph has requires_grad=True (or it was computed under no_grad)"
        )
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor ({_describe(root)}, shape {root.shape}) "
                "needs gradient= (dL/dy, of the same shape); or reduce it first, e.g. "
                "y.sum().backward()"
            )
        return xp_of(root._data).ones(root._data.shape, root._data.dtype)
    grad = grad._data if hasattr(grad, "_vc") else xp_of(root._data).asarray(grad)
    if grad.shape != root.shape:
        raise ValueError(
            f"backward(gradient=...) got a gradient of shape {grad.shape} for {_describe(root)} "
            f"of shape {root.shape}; they must match"
        )
    return grad.astype(root.dtype, copy=False)


def _graph_grad(make, given, grad):
    """The root gradient of a ``create_graph`` pass: the caller's tensor itself when it
    requires grad (so the result is differentiable in it too, as PyTorch: the double-backward
    trick J v = d/du <J^T u, v>), else a constant tensor of ``grad``."""
    if given is not None and hasattr(given, "_vc") and given.requires_grad:
        if given._data is grad:
            return given
        return given.to(grad.dtype)
    return make(grad, False)


def _prepare_roots(roots, grad, create_graph) -> tuple:
    """The start of a pass from several roots: their gradients, summed where a root repeats;
    ``ready`` holds the roots that no other root uses."""
    if not roots:
        raise RuntimeError("backward: no tensors to differentiate (an empty list)")
    grads_in = [None] * len(roots) if grad is None else list(grad)
    if len(grads_in) != len(roots):
        raise RuntimeError(
            f"backward: got {len(grads_in)} gradients for {len(roots)} tensors; give one per "
            "tensor (None for a one-element tensor)"
        )
    make = roots[0]._make
    grads, handed, sums, unique, first = {}, set(), set(), [], None
    for r, g in zip(roots, grads_in):
        user_grad = g is not None
        given = g
        g = _initial_grad(r, g)
        if user_grad:
            handed.add(id(g))
        first = g if first is None else first
        if id(r) not in grads:
            unique.append(r)
        add_part(grads, id(r), _graph_grad(make, given, g) if create_graph else g, sums)
    uses = _count_uses(None, unique)  # also raises if a graph was freed by an earlier backward
    ready = [r for r in unique if uses[id(r)] == 0]
    return make, ready, uses, grads, handed, sums, first


def run_backward(
    root,
    grad=None,
    retain_graph=False,
    create_graph=False,
    capture=None,
    visit=None,
    accumulate=False,
):
    """Backpropagate from ``root``.

    Args:
        root: the tensor to differentiate (usually a scalar loss), or a list of tensors,
            whose gradients are then summed (``grad`` is then a list, None entries allowed).
        grad: dL/droot; defaults to 1 for a one-element root.
        retain_graph: keep the graph's saved values so it can be backwarded again.
        create_graph: record the backward pass itself, for higher-order gradients.
        capture: if given, a list of tensors whose gradients are returned (in that order)
            instead of being accumulated into ``.grad`` (used by :func:`glassnet.grad`).
        visit: if given, called as ``visit(node, grad)`` before each node's backward (the
            compile capture records the order; unlike a global hook, only for this pass).
        accumulate: with ``capture``, add the captured gradients into those tensors'
            ``.grad`` (and no other), PyTorch's ``backward(inputs=...)``.
    """
    recorder = active_recorder()
    if recorder is not None and visit is None:  # glassnet.compile is capturing this thread
        return recorder.backward(root, grad, retain_graph, create_graph, capture, accumulate)
    if type(root) in (list, tuple):  # several roots (autograd.grad/backward of a list)
        make, ready, uses, grads, handed, sums, first = _prepare_roots(root, grad, create_graph)
    else:
        make = root._make  # the engine sits below tensor.py: Tensor's constructor from root
        user_grad, given = grad is not None, grad
        first = grad = _initial_grad(root, grad)
        # ids of arrays already stored in some .grad: a leaf never gets an array another holds
        handed = {id(grad)} if user_grad else set()
        if create_graph:
            grad = _graph_grad(make, given, grad)
        uses = _count_uses(root)  # also raises if the graph was freed by an earlier backward
        grads = {id(root): grad}  # dL/dt of tensors whose users are not all processed yet
        ready = [root]  # tensors whose every use has delivered its gradient (Kahn's algorithm)
        sums = set()  # ids of the sums made in ``grads``: only ``grads`` refers to them
    eager_ns, eager_type = array_namespace(first), type(first)  # one lookup per pass, not node
    wanted = {id(t): i for i, t in enumerate(capture)} if capture is not None else None
    captured = [None] * len(capture) if capture is not None else None
    graph_ns = _namespace.GRAPH if create_graph else None
    # the hook lists are changed in place by register/remove, never rebound: bind them once
    pre_hooks, post_hooks = _hooks.BACKWARD_PRE_HOOKS, _hooks.BACKWARD_HOOKS
    mode_token = _ENABLED.set(bool(create_graph))
    try:
        while ready:
            t = ready.pop()
            g = grads.pop(id(t), None)
            sums.discard(id(g))
            fn = t._ctx
            if g is not None:
                if t._hooks:
                    g = _run_tensor_hooks(t, g, create_graph)
                if wanted is not None:
                    if id(t) in wanted:
                        if accumulate:
                            _accumulate(t, g, create_graph, handed)
                        else:
                            captured[wanted[id(t)]] = g if create_graph else make(g, False)
                elif fn is None or t._retains_grad:
                    _accumulate(t, g, create_graph, handed)
            if fn is None:
                continue
            inputs = fn.inputs
            if g is None:  # no gradient reached t: its inputs get none through it
                in_grads = (None,) * len(inputs)
            else:
                if fn.saves_output and t._vc[0] != fn.out_version:
                    _check_versions(t, fn)  # raises, naming the op
                for inp, v in zip(inputs, fn.versions):
                    if inp._vc[0] != v:
                        _check_versions(t, fn)  # raises, naming the op and the input
                if pre_hooks:
                    for hook in tuple(pre_hooks):
                        hook(fn, g)
                if visit is not None:
                    visit(fn, g)
                # the op's one formula: on arrays (first order) or on tensors (a graph)
                if graph_ns is None:
                    ns = eager_ns if type(g) is eager_type else array_namespace(g)
                    # one and two values spelled out: a star-call costs ~0.3 us more (it
                    # builds an argument tuple), as much as a small op's arithmetic
                    arrays = fn.arrays
                    n_arrays = len(arrays)
                    if n_arrays == 2:
                        in_grads = fn.backward(ns, g, arrays[0], arrays[1])
                    elif n_arrays == 1:
                        in_grads = fn.backward(ns, g, arrays[0])
                    else:
                        in_grads = fn.backward(ns, g, *arrays)
                else:
                    ns = graph_ns
                    values = (*inputs, t) if fn.saves_output else inputs
                    in_grads = fn.backward(ns, g, *values)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if len(in_grads) < len(inputs):
                    raise RuntimeError(
                        f"op '{fn.name}': backward returned {len(in_grads)} gradients for "
                        f"{len(inputs)} inputs; it must return one per input (None for no grad)"
                    )
                if post_hooks:
                    for hook in tuple(post_hooks):
                        hook(fn, g, in_grads)
            for inp, ig in zip(inputs, in_grads):
                if not inp.requires_grad:
                    continue
                key = id(inp)
                if ig is not None:
                    if ig.shape != inp._data.shape:
                        ig = ns.sum_to(ig, inp._data.shape)
                    add_part(grads, key, ig, sums)
                uses[key] -= 1
                if uses[key] == 0:  # every use has delivered its part: dL/dinp is complete
                    ready.append(inp)
            if not retain_graph:
                fn.release()
        if grads:  # a tensor whose uses never all delivered: the graph has a cycle
            raise RuntimeError(_CYCLE)
    finally:
        _ENABLED.reset(mode_token)
    return captured


_CYCLE = (
    "backward could not finish: the graph has a cycle, made by an in-place change whose "
    "value was computed from the tensor it changed (y[:, 0] = y[:, 0] * 2 or "
    "y.sub_(y.mean()) on an intermediate y). glassnet's graph refers to tensors, so the ops "
    "that read y before the change would see the changed y, and part of the gradient would "
    "be lost (the leaves' .grad may hold part of it now). Write into a copy instead "
    "(z = y.clone(); z[:, 0] = y[:, 0] * 2) or compute out of place (y = y - y.mean())"
)


def add_part(grads: dict, key, ig, sums: set) -> None:
    """Add one gradient part ``ig`` into ``grads[key]``: the first part as it is, the second
    into a new array, the later ones in place into that array. ``sums`` holds the ids of the
    arrays made here, which only ``grads`` refers to; the caller discards an id when it takes
    that gradient out (an op's backward may hand one array to several inputs)."""
    prev = grads.get(key)
    if prev is None:
        grads[key] = ig
    elif id(prev) in sums and type(prev) is np.ndarray and prev.dtype == ig.dtype:
        prev += ig
    else:
        grads[key] = total = prev + ig
        sums.add(id(total))


def _run_tensor_hooks(t, g, create_graph):
    gt = g if create_graph else t._make(g, False)
    Tensor = type(gt)  # the base Tensor class (``_make`` never makes a Parameter)
    for hook in list(t._hooks.values()):
        out = hook(gt)
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != t.shape:
                raise ValueError(
                    f"a gradient hook on a tensor of shape {t.shape} must return None or a "
                    f"tensor of that shape, got {getattr(out, 'shape', type(out).__name__)}"
                )
            gt = out
    if create_graph:
        return gt
    # a hook may return a tensor the caller keeps: copy, so no .grad aliases it
    return gt._data if gt._data is g else gt._data.copy()


def _accumulate(t, g, create_graph, handed) -> None:
    """Add ``g`` into ``t.grad``. Each leaf's gradient owns its memory (never aliased).

    As PyTorch's, a gradient that exists is added to in place: ``t.grad`` stays the same
    tensor, so a reference held to it sees the sum. Only an array the engine allocated itself
    (``grad._owned is grad._data``) is written in place; the first sum into any other (an
    array a backward handed over, which something else may hold; a tensor the user assigned)
    rebinds the tensor's data to a fresh array, owned from then on.
    """
    make = t._make

    if create_graph:  # PyTorch: in grad mode the sum is a new tensor (it is in a graph)
        if g.dtype != t._data.dtype:
            g = g.astype(t._data.dtype)
        t.grad = g if t.grad is None else t.grad + g
        return
    dtype = t._data.dtype  # a float32 leaf used in a float64 op still gets a float32 grad
    grad = t.grad
    if grad is None:
        # astype copies: a view (reshape, broadcast) or an array another leaf already holds
        # is copied, so that changing one .grad in place never changes another
        if g.base is not None or g.dtype != dtype or id(g) in handed:
            g = g.astype(dtype)
            handed.add(id(g))
            grad = t.grad = make(g, False)
            grad._owned = g
        else:
            handed.add(id(g))
            t.grad = make(g, False)
    elif t._ctx is not None:  # retain_grad() on a non-leaf: PyTorch makes a new tensor
        t.grad = make((grad._data + g).astype(dtype, copy=False), False)
    else:
        old = grad._data
        if getattr(grad, "_owned", None) is old:
            old += g
        else:
            grad._data = grad._owned = (old + g).astype(dtype, copy=False)
        grad._vc[0] += 1


def zero_grad_(grad) -> None:
    """Set the gradient tensor ``grad`` to zeros in place (``zero_grad(set_to_none=False)``):
    the same tensor object, its own array filled with 0, or a fresh zero array where the
    engine does not own the one it holds (see :func:`_accumulate`)."""
    data = grad._data
    if getattr(grad, "_owned", None) is data:
        data[...] = 0
    else:
        grad._data = grad._owned = xp_of(data).zeros_like(data)
    grad._vc[0] += 1
