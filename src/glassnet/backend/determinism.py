"""Deterministic algorithms: whether scatter-adds on devices avoid atomic adds.

A scatter-add (``out[index] += values`` with repeated indices: the backward of indexing,
``gather``, ``take_along_axis``, ``embedding`` and max-unpooling, and the forward of
``index_add``, ``scatter_add``, ``scatter_reduce`` and ``index_put(accumulate=True)``) is
``xp.add.at``. NumPy runs it in index order, so CPU results are the same bits on every run.
CuPy runs it with atomic adds, which land in a different order on every run: float sums then
differ in the last bits from run to run, and two identical GPU trainings drift apart.

With deterministic algorithms on (the default), glassnet does these sums on a device by a stable
sort of the destinations and a fixed pairwise tree per destination
(:func:`glassnet.ops._segment.segment_sum`): the same bits on every run, no atomics, no host
sync, at the cost of a sort and log2(n) vectorized steps. ``use_deterministic_algorithms(False)``
allows the atomic ``add.at`` on devices (faster, not reproducible). The CPU path is the same
either way (it is deterministic already).

PyTorch's switch has the same name and signature; its default is off, glassnet's is on (a
reproducible run is glassnet's promise, and every op here has a deterministic version, so
turning it on never raises).

>>> import glassnet as gn
>>> gn.are_deterministic_algorithms_enabled()
True
>>> gn.use_deterministic_algorithms(False); gn.are_deterministic_algorithms_enabled()
False
>>> gn.use_deterministic_algorithms(True)
"""

from __future__ import annotations

_STATE = {"mode": True, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Use deterministic scatter-adds on devices (True, the default) or allow atomic ones.

    Args:
        mode: True: sorted segment sums on devices (bit-reproducible); False: ``add.at``
            (CuPy's atomic scatter-add; faster, float sums vary in the last bits run to run).
        warn_only: accepted for PyTorch compatibility; every glassnet op has a deterministic
            version, so there is nothing to warn about.
    """
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be True or False, got {mode!r}")
    _STATE["mode"] = mode
    _STATE["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether scatter-adds on devices are deterministic (see the module docstring)."""
    return _STATE["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` given to :func:`use_deterministic_algorithms` (PyTorch's name)."""
    return _STATE["warn_only"]
