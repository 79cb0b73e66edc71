"""``glassnet.utils.checkpoint``: activation checkpointing (PyTorch's ``torch.utils.checkpoint``).

``checkpoint(fn, *args, use_reentrant=False)`` returns ``fn(*args)`` but keeps none of the
activations inside ``fn`` for backward: the forward runs without recording a graph, and
backward runs ``fn`` again (with recording on, on the saved inputs, with the random generators
put back where they were, so dropout draws the same masks) and differentiates that. Memory
falls from one graph per segment to the segment's inputs; the price is a second forward.

.. code-block:: python

    from glassnet.utils.checkpoint import checkpoint

    def forward(self, x):
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=False)
        return self.head(x)

The numbers are those of ``fn(*args)``: outputs, and gradients for the inputs and for every
tensor ``fn`` reads that requires grad (a module's parameters, a tensor it closes over), also
with ``torch.autograd.grad`` and ``create_graph=True`` (a gradient penalty through a
checkpointed critic). ``use_reentrant=True`` (PyTorch's older default, still what ``None``
picks, with PyTorch's warning) gives no gradient at all when no tensor argument requires grad,
as in PyTorch (a warning says so); otherwise it computes what ``use_reentrant=False`` does.
"""

from __future__ import annotations

import warnings

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.api import grad as _grad
from glassnet.autograd.custom_function import FunctionCtx  # noqa: F401 - ctx type of backward
from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from glassnet.backend import random as _random
from glassnet.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _noop_context_fn():
    return _NullContext(), _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def checkpoint(
    function,
    *args,
    use_reentrant: bool | None = None,
    context_fn=_noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    preserve_rng_state: bool = True,
    **kwargs,
):
    """``function(*args, **kwargs)``, recomputed in backward instead of kept (PyTorch's
    signature). Returns what ``function`` returns: a tensor, or a tuple/list whose tensors
    are differentiable (other items are passed through).

    ``context_fn`` (selective checkpointing) must be left at its default, and
    ``determinism_check`` must be ``"default"`` or ``"none"``; anything else raises.
    """
    if context_fn is not _noop_context_fn:
        raise NotImplementedError(
            "checkpoint(context_fn=...) (selective activation checkpointing) is not "
            "supported; leave context_fn at its default"
        )
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}"
        )
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly; "
            "use_reentrant=False is recommended (glassnet, as PyTorch, picks True when it is "
            "not given)",
            UserWarning,
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not is_grad_enabled():  # nothing to differentiate: the plain call is the same
        return function(*args, **kwargs)
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    if use_reentrant and not any(a.requires_grad for a in tensor_args):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None",
            UserWarning,
            stacklevel=2,
        )
        with no_grad():  # PyTorch's reentrant checkpoint: an output without a graph
            return function(*args, **kwargs)

    rng = _rng_snapshot() if preserve_rng_state else None
    outside = []  # tensors from outside fn that its ops read and that require grad
    seen = {id(a) for a in tensor_args}

    def collect(node, inputs, output):
        for t in inputs:
            if t.requires_grad and id(t) not in seen:
                seen.add(id(t))
                outside.append(t)

    handle = _hooks.register_forward_hook(collect)
    try:
        with no_grad():
            output = function(*args, **kwargs)
    finally:
        handle.remove()
    single = isinstance(output, Tensor)
    if not single and not isinstance(output, (tuple, list)):
        raise TypeError(
            f"checkpoint: the function returned a {type(output).__name__}; glassnet's "
            "checkpoint handles a tensor or a tuple/list of outputs (return a tuple)"
        )
    plan = _Plan(function, args, kwargs, rng, output, single, len(outside))
    result = _Checkpoint.apply(plan, *tensor_args, *outside)
    if single:
        return result
    return type(output)(result) if isinstance(output, list) else result


class _Plan:
    """What backward needs to run ``function`` again: the call, and the generators' states."""

    def __init__(self, function, args, kwargs, rng, output, single, n_outside):
        self.function, self.args, self.kwargs, self.rng = function, args, kwargs, rng
        self.output = (output,) if single else tuple(output)
        self.n_outside = n_outside


class _Checkpoint(Function):
    """The graph node of one checkpointed call: forward hands out the outputs computed
    without a graph; backward recomputes them with one and differentiates it."""

    @staticmethod
    def forward(ctx, plan, *tensors):
        ctx.plan = plan
        ctx.save_for_backward(*tensors)
        out = plan.output
        return out[0] if len(out) == 1 else out

    @staticmethod
    def backward(ctx, *grad_outputs):
        plan = ctx.plan
        saved = ctx.saved_tensors
        n_args = len(saved) - plan.n_outside
        create_graph = is_grad_enabled()  # on exactly when backward runs with create_graph
        inputs, detached = iter(saved[:n_args]), []
        args = []
        for a in plan.args:
            if isinstance(a, Tensor):
                d = next(inputs)
                # eager: a leaf cut from the outer graph (the inner backward frees its graph);
                # create_graph: the input itself, so gradients of gradients reach its graph
                if not create_graph:
                    d = d.detach().requires_grad_(a.requires_grad)
                detached.append(d)
                args.append(d)
            else:
                args.append(a)
        outer = _rng_snapshot() if plan.rng is not None else None
        try:
            if plan.rng is not None:
                _rng_restore(plan.rng)
            with enable_grad():
                out = plan.function(*args, **plan.kwargs)
        finally:
            if outer is not None:
                _rng_restore(outer)
        outs = (out,) if isinstance(out, Tensor) else tuple(out)
        pairs = [
            (o, g)
            for o, g in zip(outs, grad_outputs)
            if isinstance(o, Tensor) and o.requires_grad and g is not None
        ]
        wrt = [d for d in detached if d.requires_grad] + list(saved[n_args:])
        grads = iter(())
        if pairs and wrt:
            grads = iter(
                _grad(
                    [o for o, _ in pairs],
                    wrt,
                    [g for _, g in pairs],
                    create_graph=create_graph,
                    allow_unused=True,
                )
            )
        result = [None]  # the plan
        for d in detached:
            result.append(next(grads, None) if d.requires_grad else None)
        result.extend(next(grads, None) for _ in range(plan.n_outside))
        return tuple(result)


def _rng_snapshot() -> dict:
    """The state of the host generator and of every device generator made so far."""
    host = _random.get_rng()
    state = {None: _random.rng_state_bytes(host, 0)}
    for device, gen in _random._DEVICE_RNG.items():
        state[device] = _random.rng_state_bytes(gen, 0)
    return state


def _rng_restore(state: dict) -> None:
    _random.set_rng_state_bytes(_random.get_rng(), state[None])
    for device in list(_random._DEVICE_RNG):
        if device in state:
            _random.set_rng_state_bytes(_random._DEVICE_RNG[device], state[device])
        else:  # made during the segment: made again from the seed on its next use
            del _random._DEVICE_RNG[device]


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules) in ``segments`` chunks,
    checkpointing every chunk but the last (PyTorch's ``checkpoint_sequential``)."""
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be >= 1, got {segments}")
    size = len(functions) // segments

    def run(start, end):
        def forward(x):
            for f in functions[start : end + 1]:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions) - 1)(input)
