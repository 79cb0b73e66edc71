"""PyTorch's anomaly mode: ``torch.autograd.set_detect_anomaly`` / ``detect_anomaly``.

While it is on (and ``check_nan`` is True), every backward step checks the gradients a node
returns and raises ``RuntimeError: Function 'Log' returned nan values in its 0th output``
at the first NaN, as PyTorch does. Like PyTorch's, it checks backward only: a NaN made in
forward is not an error until a gradient turns NaN (infinities pass). For the op, layer and
likely cause of the first non-finite value in forward *or* backward, use glassnet's own
``glassnet.detect_anomaly()`` (:mod:`glassnet.diagnostics.anomaly`).

.. code-block:: python

    torch.autograd.set_detect_anomaly(True)       # for the rest of the program
    with torch.autograd.detect_anomaly():         # for a block
        loss.backward()
"""

from __future__ import annotations

import functools
import warnings

from glassnet.autograd import hooks as _hooks
from glassnet.backend import xp_of

__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


class AnomalyError(RuntimeError):
    """A backward step returned NaN while anomaly mode was on (a ``RuntimeError``, as in
    PyTorch)."""


class _State:
    enabled = False
    check_nan = True
    handle = None


_STATE = _State()


def is_anomaly_enabled() -> bool:
    """True while anomaly mode is on (``torch.is_anomaly_enabled``)."""
    return _STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly mode checks gradients for NaN (``torch.is_anomaly_check_nan_enabled``)."""
    return _STATE.enabled and _STATE.check_nan


def _check_nan(node, grad_output, grad_inputs) -> None:
    for i, g in enumerate(grad_inputs):
        if g is None:
            continue
        data = getattr(g, "_data", g)
        xp = xp_of(data)
        if data.dtype.kind in "fc" and bool(xp.isnan(data).any()):
            raise AnomalyError(
                f"Function '{node.name}' returned nan values in its {i}th output. "
                "(torch.autograd anomaly mode; glassnet.detect_anomaly() names the layer and "
                "the likely cause of the first NaN/Inf in forward or backward)"
            )


def _set(mode: bool, check_nan: bool) -> None:
    _STATE.enabled, _STATE.check_nan = bool(mode), bool(check_nan)
    want = _STATE.enabled and _STATE.check_nan
    if want and _STATE.handle is None:
        _STATE.handle = _hooks.register_backward_hook(_check_nan)
    elif not want and _STATE.handle is not None:
        _STATE.handle.remove()
        _STATE.handle = None


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly mode on or off: at once when called (``set_detect_anomaly(True)`` as a
    statement), and back to the previous setting at the end of a ``with`` block."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_STATE.enabled, _STATE.check_nan)
        _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def clone(self):
        return self.__class__(_STATE.enabled, _STATE.check_nan)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that turns anomaly mode on for a block."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self):
        self.prev = (_STATE.enabled, _STATE.check_nan)
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper
