"""Grad mode: whether ops record a graph. ``no_grad()`` turns recording off in a block.

The mode is per thread, as in PyTorch: a ``no_grad()`` block in one thread (an evaluation
loop, a data-loading worker) never stops another thread from recording its graph. The same
per-thread state holds the recorder of :func:`glassnet.compile` while it captures a step, so
that a capture in one thread is invisible to eager steps in another.
"""

from __future__ import annotations

import contextvars
import functools

# ContextVars rather than threading.local: each thread starts with its own context (grad mode
# on, no recorder), and reading one costs ~15 ns against ~50 ns for a threading.local
# attribute: this is read by every op.
_ENABLED = contextvars.ContextVar("glassnet_grad_enabled", default=True)
_RECORDER = contextvars.ContextVar("glassnet_recorder", default=None)
#: inference mode (per thread): tensors made in it are inference tensors (autograd/inference.py)
_INFERENCE = contextvars.ContextVar("glassnet_inference_mode", default=False)

#: how many threads are capturing a step for glassnet.compile right now: ops look at the
#: (per-thread) recorder only when this is nonzero, so eager ops pay one list lookup for it
CAPTURING = [0]


class _ThreadState:
    """Per-thread autograd state: ``STATE.enabled`` (grad mode) and ``STATE.recorder`` (the
    compile capture recording this thread's ops, or None)."""

    __slots__ = ()

    @property
    def enabled(self) -> bool:
        return _ENABLED.get()

    @enabled.setter
    def enabled(self, value) -> None:
        _ENABLED.set(bool(value))

    @property
    def recorder(self):
        return _RECORDER.get()

    @recorder.setter
    def recorder(self, value) -> None:
        _RECORDER.set(value)


STATE = _ThreadState()


class suspended_recording:
    """``with suspended_recording():`` runs the real op, backward or optimizer step inside a
    compile recorder's entry point, without recording it a second time."""

    def __enter__(self):
        self._token = _RECORDER.set(None)

    def __exit__(self, *exc):
        _RECORDER.reset(self._token)
        return False


def active_recorder():
    """The compile capture recording this thread's ops, optimizer calls and backward, or None."""
    return _RECORDER.get() if CAPTURING[0] else None


def is_grad_enabled() -> bool:
    """True when new ops record the graph needed for ``backward()`` (in this thread)."""
    return _ENABLED.get()


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
        self._token = _ENABLED.set(self._value)
        return self

    def __exit__(self, *exc):
        _ENABLED.reset(self._token)
        return False

    def __call__(self, func):
        value = self._value

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            token = _ENABLED.set(value)
            try:
                return func(*args, **kwargs)
            finally:
                _ENABLED.reset(token)

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
    """Set grad mode to ``mode``: at once when called (``gn.set_grad_enabled(False)`` as a
    plain statement turns recording off until it is turned on again), and, used as a context
    manager, back to the previous mode when the ``with`` block ends. As a decorator it sets
    ``mode`` around each call only, as PyTorch's.

    >>> import glassnet as gn
    >>> with gn.set_grad_enabled(False):
    ...     gn.is_grad_enabled()
    False
    >>> gn.is_grad_enabled()
    True
    """

    def __init__(self, mode: bool):
        self._value = bool(mode)
        self._prev = _ENABLED.get()
        _ENABLED.set(self._value)  # PyTorch: the constructor sets the mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _ENABLED.set(self._prev)
        return False

    def __call__(self, func):
        _ENABLED.set(self._prev)  # decorating does not change the mode (PyTorch)
        return super().__call__(func)


_INFERENCE_ERRORS = {
    "write": "Inplace update to inference tensor outside InferenceMode is not allowed (as in "
    "PyTorch): it was made inside inference_mode(); make a clone (x.clone()) to get a normal "
    "tensor first",
    "requires_grad": "Setting requires_grad=True on inference tensor outside InferenceMode is "
    "not allowed (as in PyTorch); make a clone (x.clone()) first",
    "version": "Inference tensors do not track version counter (PyTorch's error): this tensor "
    "was made inside inference_mode()",
}


def inference_check(what: str) -> None:
    """Outside inference mode, raise PyTorch's error for ``what`` ("write", "requires_grad",
    "version") done to an inference tensor (see :mod:`glassnet.autograd.inference`)."""
    if not _INFERENCE.get():
        raise RuntimeError(_INFERENCE_ERRORS[what])


#: set by glassnet.autograd.inference: makes new tensors look at the mode (the first entry)
INSTALL_INFERENCE: list = []


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (in this thread), as PyTorch's."""
    return _INFERENCE.get()


class inference_mode(_GradModeContext):  # noqa: N801 - PyTorch's name
    """PyTorch's ``inference_mode``: grad mode off, and the tensors made inside are inference
    tensors (``t.is_inference()``): outside inference mode they cannot be saved for backward
    (an op that records them raises), changed in place, or made to require grad, as in
    PyTorch (see :mod:`glassnet.autograd.inference`). ``inference_mode(False)`` turns
    inference mode off and grad mode on, as PyTorch's.

    >>> import glassnet as gn
    >>> with gn.inference_mode():
    ...     gn.is_grad_enabled(), gn.is_inference_mode_enabled(), gn.ones(2).is_inference()
    (False, True, True)
    """

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def __enter__(self):
        mode = getattr(self, "_mode", True)
        if mode and INSTALL_INFERENCE:
            INSTALL_INFERENCE.pop()()  # the first use: tensors made from now on look at the mode
        self._token = _ENABLED.set(not mode)
        self._inference_token = _INFERENCE.set(mode)
        return self

    def __exit__(self, *exc):
        _INFERENCE.reset(self._inference_token)
        _ENABLED.reset(self._token)
        return False

    def __call__(self, func):
        mode = getattr(self, "_mode", True)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return func(*args, **kwargs)

        return wrapper
