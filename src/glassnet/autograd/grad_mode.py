"""Grad mode: whether ops record a graph. ``no_grad()`` turns recording off in a block.

The mode is per thread, as in PyTorch: a ``no_grad()`` block in one thread (an evaluation
loop, a data-loading worker) never stops another thread from recording its graph. The same
per-thread state holds the recorder of :func:`glassnet.compile` while it captures a step, so
that a capture in one thread is invisible to eager steps in another.
"""

from __future__ import annotations

import functools
import threading


class _ThreadState(threading.local):
    """Per-thread autograd state; the class attributes are each new thread's defaults."""

    enabled = True  # ops record the graph
    recorder = None  # a compile capture recording this thread's ops (glassnet.compile)


STATE = _ThreadState()


def is_grad_enabled() -> bool:
    """True when new ops record the graph needed for ``backward()`` (in this thread)."""
    return STATE.enabled


class _GradModeContext:
    """Sets grad mode to ``_value`` inside a ``with`` block, or around calls when used as a
    decorator (``@gn.no_grad()``; ``@gn.no_grad`` without parentheses works too)."""

    _value = True

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]) and not kwargs:
            return self.__call__(args[0])  # bare decorator: @no_grad
        return self

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._value
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, func):
        value = self._value

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = STATE.enabled
            STATE.enabled = value
            try:
                return func(*args, **kwargs)
            finally:
                STATE.enabled = prev

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that stops ops from recording the graph.

    Use it for evaluation, optimizer updates and anything you will not differentiate; it saves
    the memory of saved activations. It applies to the current thread only.

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
    """Context manager (and decorator) that sets grad mode to ``mode``.

    >>> import glassnet as gn
    >>> with gn.set_grad_enabled(False):
    ...     gn.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool):
        self._value = bool(mode)
