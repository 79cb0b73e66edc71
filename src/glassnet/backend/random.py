"""The one seeded random generator behind every random op, initializer and shuffle.

``gn.manual_seed(s)`` makes CPU runs bit-reproducible. The state can be saved and restored
(as a JSON-safe dict) so resumed training continues exactly.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed glassnet's global generator (initializers, dropout, randn, shuffles)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))


def get_rng() -> np.random.Generator:
    """The global NumPy generator. Random arrays for the GPU are drawn here and copied."""
    return _rng


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator."""
    state = _rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {k: str(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by :func:`get_rng_state`."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("RNG state must be a dict produced by get_rng_state() (PCG64)")
    _rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {k: int(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }
