"""Grad mode: whether ops record a graph. ``no_grad()`` turns recording off in a block."""

from __future__ import annotations

import functools


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


STATE = _GradState()


def is_grad_enabled() -> bool:
    """True when new ops record the graph needed for ``backward()``."""
    return STATE.enabled


class _GradModeContext:
    _value = True

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._value
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that stops ops from recording the graph.

    Use it for evaluation, optimizer updates and anything you will not differentiate; it saves
    the memory of saved activations.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0], requires_grad=True)
    >>> with gn.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _value = False


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that turns graph recording back on inside ``no_grad``."""

    _value = True


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager that sets grad mode to ``mode``."""

    def __init__(self, mode: bool):
        self._value = bool(mode)
