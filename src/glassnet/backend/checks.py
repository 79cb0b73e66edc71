"""When value checks that read data on the host run: always on the CPU, on devices in debug mode.

Some argument checks look at *values*, not shapes: class indices inside ``[0, C)``
(cross-entropy, NLL), embedding ids inside the table, probabilities inside ``[0, 1]`` (BCE).
On the CPU they cost a pass over a small array. On a GPU each one is a device-to-host copy
that stalls the stream until every queued kernel has run (a sync), several per training step.
So on devices they run only in debug mode, like PyTorch's device-side asserts that are off
unless ``CUDA_LAUNCH_BLOCKING``/debug builds:

    glassnet.backend.set_debug_checks(True)     # or GLASSNET_DEBUG_CHECKS=1 in the environment

Without it, a bad index on a GPU is clamped or wraps by the array library instead of raising:
turn debug checks on when a device run gives strange results, and compare with a CPU run.
"""

from __future__ import annotations

import os

import numpy as np

_DEBUG = [os.environ.get("GLASSNET_DEBUG_CHECKS", "").strip().lower() not in ("", "0", "false")]


def set_debug_checks(enabled: bool) -> None:
    """Run host value checks on devices too (slow: one sync per check)."""
    _DEBUG[0] = bool(enabled)


def debug_checks() -> bool:
    """Whether device value checks are on (:func:`set_debug_checks` / GLASSNET_DEBUG_CHECKS)."""
    return _DEBUG[0]


def value_checks(data) -> bool:
    """True when a value check of ``data`` (an array or a tensor) should run: it is on the
    host, or debug checks are on."""
    data = getattr(data, "data", data) if hasattr(data, "requires_grad") else data
    return _DEBUG[0] or isinstance(data, (np.ndarray, np.generic))
