"""Global hooks around every op: the diagnostics subscribe here.

Three kinds, each a plain list of callables, so that when none is registered the cost on the
hot path is one truthiness test of a list:

- forward hooks ``fn(node, inputs, output)`` run after each op's forward, where ``node`` is the
  :class:`~glassnet.autograd.function.Function` instance, ``inputs`` the input tensors and
  ``output`` the output tensor;
- backward pre-hooks ``fn(node, grad_output)`` run before a node's backward;
- backward hooks ``fn(node, grad_output, grad_inputs)`` run after it.

Gradients are raw arrays (or tensors under ``create_graph=True``).
"""

from __future__ import annotations

FORWARD_HOOKS: list = []
BACKWARD_PRE_HOOKS: list = []
BACKWARD_HOOKS: list = []


#: Counts the changes a ``gn.compile`` replay cannot see: hooks registered or removed (on
#: modules, on leaf tensors, around ops), and layers, weights, buffers or settings (public
#: attributes: ``dropout.p``) assigned to a module that a compiled step has called.
#: A compiled step captures again after a change: a replay runs no Python hooks and reads the
#: weights the capture saw, so the new capture sees the hook (and runs eagerly) or the new
#: layer.
GENERATION = [0]


def changed() -> None:
    """A hook was registered or removed (see :data:`GENERATION`)."""
    GENERATION[0] += 1


class RemovableHandle:
    """Returned by every ``register_*`` call; ``handle.remove()`` unregisters the hook.

    Also a context manager, so ``with register_forward_hook(fn): ...`` scopes it.
    """

    __slots__ = ("_list", "_fn")

    def __init__(self, hook_list: list, fn):
        self._list, self._fn = hook_list, fn
        changed()

    def remove(self) -> None:
        if self._fn in self._list:
            self._list.remove(self._fn)
            changed()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _register(hook_list: list, fn) -> RemovableHandle:
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
    hook_list.append(fn)
    return RemovableHandle(hook_list, fn)


def register_forward_hook(fn) -> RemovableHandle:
    """Call ``fn(node, inputs, output)`` after every op's forward."""
    return _register(FORWARD_HOOKS, fn)


def register_backward_pre_hook(fn) -> RemovableHandle:
    """Call ``fn(node, grad_output)`` before every node's backward."""
    return _register(BACKWARD_PRE_HOOKS, fn)


def register_backward_hook(fn) -> RemovableHandle:
    """Call ``fn(node, grad_output, grad_inputs)`` after every node's backward."""
    return _register(BACKWARD_HOOKS, fn)
