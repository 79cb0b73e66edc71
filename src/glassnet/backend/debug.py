"""Debug mode: whether ops check the *values* of their inputs (label ranges, index ranges).

Shape and dtype checks are cheap (Python reads the metadata) and always run. A check of the
values themselves (is every class index in [0, C)? every embedding id in the table?) reads
the whole array and, on a GPU, makes the host wait for the device: a synchronization in every
training step. So these checks run in *debug mode*, which by default is on for CPU arrays
(where they cost nothing measurable) and off for device arrays.

``set_debug(True)`` turns value checks on everywhere (to find a bad label on the GPU),
``set_debug(False)`` off everywhere, ``set_debug(None)`` back to the default. The environment
variable ``GLASSNET_DEBUG`` (``1``/``0``) sets the starting mode.

>>> import glassnet as gn
>>> gn.set_debug(True); gn.is_debug()
True
>>> gn.set_debug(None)
"""

from __future__ import annotations

import os

import numpy as np


def _from_env():
    value = os.environ.get("GLASSNET_DEBUG", "").strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    return None


_MODE = _from_env()  # True, False, or None (on for CPU arrays, off for device arrays)


def set_debug(mode: bool | None = True) -> None:
    """Turn value checks on (True), off (False), or back to the default (None: CPU only)."""
    global _MODE
    if mode is not None and not isinstance(mode, bool):
        raise TypeError(f"set_debug: mode must be True, False or None, got {mode!r}")
    _MODE = mode


def is_debug(array=None) -> bool:
    """Whether value checks run (for ``array``'s device, when given: the default mode checks
    NumPy arrays only)."""
    if _MODE is not None:
        return _MODE
    return array is None or type(array) is np.ndarray or isinstance(array, np.generic)
