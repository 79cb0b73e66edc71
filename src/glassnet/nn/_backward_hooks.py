"""PyTorch's full backward hooks of a module: ``register_full_backward_hook`` and
``register_full_backward_pre_hook``.

As PyTorch's ``BackwardHook``, a call of a module with such hooks wraps its tensor inputs and
outputs in one identity node each side (:class:`BackwardHookPack`, then one
:class:`BackwardHookPiece` per tensor), so that the gradients of all outputs reach the
module's hooks together, and those of all inputs likewise:

- the outputs' node runs first in backward: each pre-hook ``hook(module, grad_output)`` sees
  the gradients w.r.t. the outputs (None for an output no gradient reached) and may return
  replacements, which flow on into the module;
- the inputs' node runs once the gradients w.r.t. the inputs are complete: each hook
  ``hook(module, grad_input, grad_output)`` sees them (one entry per positional argument: a
  tensor's gradient, zeros for a tensor that requires none, None for a non-tensor) and may
  return replacements, which flow on to whatever made the inputs.

When no input requires grad the hooks run at the outputs' node with ``grad_input`` all None
(and must return None), as PyTorch. The wrapped tensors are copies of the module's inputs and
outputs (one concatenation per side), made only for modules with such hooks.
"""

from __future__ import annotations

import warnings

from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.backend import xp_of
from glassnet.tensor import Tensor

__all__ = ["BackwardHook"]


class BackwardHookPack(Function):
    """z = concat(ravel(x_1), ..., ravel(x_n)), the tensors of one side of a module call that
    has full backward hooks;  dL/dx_i = piece i of dL/dz, after the module's hooks (which
    may replace it)"""

    name = "backward_hook"
    register = False

    def forward(self, *arrays, hook, side):
        self.hook, self.side = hook, side
        self.pieces = [(a.shape, a.size) for a in arrays]
        xp = xp_of(arrays[0])
        dtype = xp.result_type(*arrays)
        return xp.concatenate([a.astype(dtype, copy=False).ravel() for a in arrays])

    def backward(self, ns, grad, *inputs):
        grads, start = [], 0
        for shape, size in self.pieces:
            grads.append(ns.linear(_Take(start, size, shape), _Put(start, size, grad.shape), grad))
            start += size
        return tuple(self.hook.on_backward(self.side, grads, ns.eager))


class BackwardHookPiece(Function):
    """y = z[start : start + size] reshaped (one tensor out of a :class:`BackwardHookPack`);
    dL/dz = dL/dy in that piece, zeros elsewhere"""

    name = "backward_hook_piece"
    register = False
    is_view = True

    def forward(self, z, hook, side, k, start, shape, dtype):
        size = 1
        for n in shape:
            size *= n
        self.hook, self.side, self.k = hook, side, k
        self.start, self.size, self.total = start, size, z.shape
        return z[start : start + size].reshape(shape).astype(dtype, copy=False)

    def backward(self, ns, grad, z):
        self.hook.received[self.side].add(self.k)
        return ns.linear(
            _Put(self.start, self.size, self.total), _Take(self.start, self.size, grad.shape), grad
        )


class _Take:
    """g -> g[start : start + size] reshaped to ``shape``: a linear map of arrays, for
    ``ns.linear`` (which also applies it inside a graph node)."""

    def __init__(self, start, size, shape):
        self.start, self.size, self.shape = start, size, shape

    def __call__(self, g):
        return g[self.start : self.start + self.size].reshape(self.shape)


class _Put:
    """g -> zeros of ``total`` shape with g (flattened) at [start, start + size): the adjoint
    of :class:`_Take`."""

    def __init__(self, start, size, total):
        self.start, self.size, self.total = start, size, total

    def __call__(self, g):  # on arrays, also in a graph (ns.linear's node calls it)
        out = xp_of(g).zeros(self.total, dtype=g.dtype)
        out[self.start : self.start + self.size] = g.reshape(-1)
        return out


class BackwardHook:
    """One module call's full backward hooks (PyTorch's ``torch.utils.hooks.BackwardHook``)."""

    def __init__(self, module, hooks: list, pre_hooks: list) -> None:
        self.module, self.hooks, self.pre_hooks = module, tuple(hooks), tuple(pre_hooks)
        self.received = {"in": set(), "out": set()}
        self.n_inputs = 0
        self.input_index: list | None = None
        self.inputs: tuple = ()
        self.n_outputs = 0
        self.output_index: list = []
        self.grad_outputs: tuple | None = None

    def _wrap(self, side: str, values: tuple) -> tuple:
        index = [
            i
            for i, v in enumerate(values)
            if isinstance(v, Tensor) and v.requires_grad and v._data.dtype.kind in "fc"
        ]
        if not index or not _GRAD.enabled:
            return values, None
        tensors = [values[i] for i in index]
        packed = BackwardHookPack.apply(*tensors, hook=self, side=side)
        out, start = list(values), 0
        for k, (i, t) in enumerate(zip(index, tensors)):
            out[i] = BackwardHookPiece.apply(
                packed, hook=self, side=side, k=k, start=start, shape=t.shape, dtype=t.dtype
            )
            start += t._data.size
        return tuple(out), index

    def setup_input(self, args: tuple) -> tuple:
        """The positional inputs, those that require grad replaced by the wrapped ones."""
        self.n_inputs, self.inputs = len(args), args
        args, self.input_index = self._wrap("in", args)
        return args

    def setup_output(self, out):
        """The output (a tensor or a tuple), its tensors that require grad wrapped."""
        single = not isinstance(out, tuple)
        values = (out,) if single else out
        self.n_outputs = len(values)
        wrapped, index = self._wrap("out", values)
        self.output_index = index or []
        return wrapped[0] if single else wrapped

    # -- backward -------------------------------------------------------------------------
    def on_backward(self, side: str, grads: list, eager: bool) -> list:
        """The gradients of one side's wrapped tensors, through the module's hooks."""
        as_tensor = (lambda g: Tensor._make(g, False)) if eager else (lambda g: g)
        if side == "out":
            got = self.received["out"]
            full = [None] * self.n_outputs
            for k, i in enumerate(self.output_index):
                full[i] = as_tensor(grads[k]) if k in got else None
            full = self._run_pre_hooks(tuple(full))
            self.grad_outputs = full
            if self.input_index is None:
                self._run_hooks_without_inputs()
            grads = [full[i] for i in self.output_index]
        else:
            full = [None] * self.n_inputs
            for i, x in enumerate(self.inputs):
                if isinstance(x, Tensor):  # PyTorch: zeros for a tensor that needs none
                    full[i] = Tensor._make(xp_of(x._data).zeros_like(x._data), False)
            for k, i in enumerate(self.input_index):
                full[i] = as_tensor(grads[k])
            full = self._run_hooks(tuple(full))
            grads = [full[i] for i in self.input_index]
        self.received[side] = set()
        return [g if g is None or not eager else g._data for g in grads]

    def _run_pre_hooks(self, grad_outputs: tuple) -> tuple:
        for hook in self.pre_hooks:
            result = hook(self.module, grad_outputs)
            if result is None:
                continue
            result = _checked(result, grad_outputs, "grad_output", "pre hook")
            grad_outputs = result
        return grad_outputs

    def _run_hooks(self, grad_inputs: tuple) -> tuple:
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is None:
                continue
            grad_inputs = _checked(result, grad_inputs, "grad_input", "hook")
        return grad_inputs

    def _run_hooks_without_inputs(self) -> None:
        if self.hooks:
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to "
                "module outputs since no inputs require gradients (as in PyTorch)",
                stacklevel=2,
            )
        grad_inputs = (None,) * self.n_inputs
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is not None and not all(r is None for r in _as_tuple(result)):
                raise RuntimeError(
                    "Backward hook for Modules where no input requires gradient should always "
                    "return None or None for all gradients (PyTorch's rule): no input of "
                    f"{type(self.module).__name__} requires grad, so there is no grad_input "
                    "to replace"
                )


def _as_tuple(result) -> tuple:
    return result if isinstance(result, (tuple, list)) else (result,)


def _checked(result, old: tuple, what: str, kind: str) -> tuple:
    """A hook's replacement gradients: one per entry, each None or a tensor of the old
    entry's shape (PyTorch's errors)."""
    result = _as_tuple(result)
    if len(result) != len(old):
        raise RuntimeError(
            f"Backward {kind} returned an invalid number of {what}, got {len(result)}, but "
            f"expected {len(old)} (one per module {'input' if what == 'grad_input' else 'output'})"
        )
    for new, prev in zip(result, old):
        if new is None or prev is None:
            continue
        if not isinstance(new, Tensor):
            raise TypeError(
                f"a backward {kind} must return tensors (or None) as {what}, got "
                f"{type(new).__name__}"
            )
        if new.shape != prev.shape:
            raise RuntimeError(
                f"a backward {kind} has changed the size of {what}: got shape {new.shape}, "
                f"expected {prev.shape}"
            )
    return tuple(result)
