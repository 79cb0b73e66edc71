"""Seeded random generators: one for the host, one per device, all seeded by ``manual_seed``.

The host generator (a NumPy ``Generator``) draws initial weights, ``randn``/``rand``/``randint``
(copied to the device afterwards, so a seeded model starts identical on every device) and
shuffles, and also dropout on the CPU. Random *ops* on a device (dropout, attention dropout)
draw from that device's own generator, ``get_rng(device)``: ``cupy.random.default_rng`` on a
GPU, created once per device (not per call: each CuPy generator allocates curand state and runs
an init kernel), and a NumPy generator wrapped for the ``sim`` device. ``gn.manual_seed(s)``
reseeds all of them, like ``torch.manual_seed``.

``gn.manual_seed(s)`` makes CPU runs bit-reproducible. The host state can be saved and restored
(as a JSON-safe dict) so resumed training continues exactly; device generators are reseeded
from the seed, not checkpointed (as in glassnet's checkpoints of GPU runs).
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)
_SEED = [0]
_DEVICE_RNG: dict = {}  # Device -> generator on that device, made on first use


def manual_seed(seed: int) -> None:
    """Reseed glassnet's generators: the host one and every device's (like torch)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    _SEED[0] = int(seed)
    _DEVICE_RNG.clear()


def get_rng(device=None):
    """The generator of ``device`` (default: the host NumPy generator).

    For a device it is made once, from the last ``manual_seed`` (or 0), and reused: its draws
    are arrays on that device.
    """
    if device is None:
        return _rng
    from glassnet.backend.device import Device

    device = Device(device)
    if device.type == "cpu":
        return _rng
    gen = _DEVICE_RNG.get(device)
    if gen is None:
        xp = device.xp
        if device.type == "cuda":  # pragma: no cover - GPU only
            with xp.cuda.Device(device.index):
                gen = xp.random.default_rng(_SEED[0])
        else:
            gen = xp.random.default_rng(_SEED[0])
        _DEVICE_RNG[device] = gen
    return gen


def _pcg_state(gen) -> dict:
    state = gen.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {k: str(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _set_pcg_state(gen, state: dict) -> None:
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("RNG state must be a dict produced by get_rng_state() (PCG64)")
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {k: int(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the host generator, plus the seed and the states of
    device generators that can be saved (the sim device's). A CuPy generator's state cannot be
    saved: restoring leaves a GPU generator where it is (GPU dropout after a resume differs
    from an uninterrupted run's)."""
    out = _pcg_state(_rng)
    out["seed"] = _SEED[0]
    devices = {str(d): _pcg_state(g._g) for d, g in _DEVICE_RNG.items() if d.type == "sim"}
    if devices:
        out["devices"] = devices
    return out


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by :func:`get_rng_state`."""
    _set_pcg_state(_rng, state)
    seed = state.get("seed")
    if isinstance(seed, int) and seed >= 0:
        _SEED[0] = seed
    for name, dev_state in (state.get("devices") or {}).items():
        _set_pcg_state(get_rng(name)._g, dev_state)
