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
        gen = _DEVICE_RNG[device] = new_rng(device, _SEED[0])
    return gen


def new_rng(device, seed: int):
    """A fresh generator seeded with ``seed`` whose draws are arrays on ``device``: NumPy's
    ``default_rng`` (PCG64) on the CPU and the sim device, CuPy's (cuRAND XORWOW) on a GPU."""
    from glassnet.backend.device import Device

    device = Device(device)
    if device.type == "cpu":
        return np.random.default_rng(seed)
    xp = device.xp
    if device.type == "cuda":  # pragma: no cover - GPU only
        with xp.cuda.Device(device.index):
            return xp.random.default_rng(seed)
    return xp.random.default_rng(seed)


# -- generator state as bytes (gn.Generator.get_state / set_state) ---------------------------
# Layout (little-endian): 1 byte kind, 8 bytes seed, then the bit generator's state.
#   kind 1, PCG64 (CPU and sim): 16 bytes state, 16 bytes increment, 1 byte has_uint32,
#     4 bytes uinteger (45 bytes in all after the kind byte: 46);
#   kind 2, cuRAND (CUDA): the raw per-thread curand state buffer CuPy keeps on the device.
_PCG64, _CURAND = 1, 2


def rng_state_bytes(gen, seed: int) -> np.ndarray:
    """The full state of ``gen`` (made by :func:`new_rng`) as a host uint8 array."""
    head = bytes([_PCG64]) + int(seed).to_bytes(8, "little")
    # the sim device's generator wraps a NumPy one (._g); CuPy's has none
    pcg = gen if isinstance(gen, np.random.Generator) else getattr(gen, "_g", None)
    if pcg is None:  # pragma: no cover - GPU only: CuPy keeps cuRAND states in device memory
        raw = gen.bit_generator._state.get().view(np.uint8)
        return np.frombuffer(bytes([_CURAND]) + head[1:] + raw.tobytes(), np.uint8).copy()
    st = pcg.bit_generator.state
    inner = st["state"]
    body = inner["state"].to_bytes(16, "little") + inner["inc"].to_bytes(16, "little")
    body += bytes([int(st["has_uint32"])]) + int(st["uinteger"]).to_bytes(4, "little")
    return np.frombuffer(head + body, np.uint8).copy()


def set_rng_state_bytes(gen, state: np.ndarray) -> int:
    """Restore ``gen`` from :func:`rng_state_bytes`; returns the seed stored with it."""
    raw = np.ascontiguousarray(state, dtype=np.uint8).tobytes()
    kind = raw[0] if raw else None
    pcg = gen if isinstance(gen, np.random.Generator) else getattr(gen, "_g", None)
    want = _PCG64 if pcg is not None else _CURAND
    if kind != want or (want == _PCG64 and len(raw) != 46):
        what = "46 bytes of a PCG64 (cpu or sim) state" if want == _PCG64 else "a cuRAND state"
        raise ValueError(
            f"Generator.set_state: expected {what} from get_state() of a generator on the same "
            f"kind of device, got {len(raw)} bytes (kind byte {kind}); pass the uint8 tensor "
            "that get_state() returned"
        )
    seed = int.from_bytes(raw[1:9], "little")
    if pcg is None:  # pragma: no cover - GPU only
        buf = gen.bit_generator._state
        if len(raw) - 9 != buf.nbytes:
            raise ValueError(
                f"Generator.set_state: the cuRAND state has {len(raw) - 9} bytes, this GPU's "
                f"generator keeps {buf.nbytes}; restore it on the same kind of GPU"
            )
        from glassnet.backend.device import xp_of

        buf[...] = xp_of(buf).asarray(np.frombuffer(raw[9:], np.int8))
        return seed
    pcg.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {
            "state": int.from_bytes(raw[9:25], "little"),
            "inc": int.from_bytes(raw[25:41], "little"),
        },
        "has_uint32": raw[41],
        "uinteger": int.from_bytes(raw[42:46], "little"),
    }
    return seed


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
