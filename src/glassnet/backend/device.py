"""Devices and the ``xp`` array module (NumPy or CuPy)."""

from __future__ import annotations

import numpy as np

try:  # CuPy is optional: glassnet[gpu]. Anything can go wrong importing it without a GPU.
    import cupy as _cupy  # noqa: F401

    try:
        _CUDA = _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        _CUDA = False
except Exception:
    _cupy = None
    _CUDA = False


def cuda_available() -> bool:
    """Return True when CuPy is installed and sees at least one NVIDIA GPU."""
    return _CUDA


class Device:
    """A place where arrays live: ``Device("cpu")`` or ``Device("cuda")`` / ``"cuda:1"``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device = "cpu"):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda", "gpu"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        self.type = "cuda" if kind in ("cuda", "gpu") else "cpu"
        self.index = int(idx) if idx else 0

    @property
    def xp(self):
        """The array module for this device."""
        if self.type == "cpu":
            return np
        if not _CUDA:
            raise RuntimeError(
                "device 'cuda' was requested but CuPy or an NVIDIA GPU is not available; "
                "install glassnet[gpu] on a machine with a GPU, or use device='cpu'"
            )
        return _cupy

    def __eq__(self, other) -> bool:
        other = Device(other) if isinstance(other, str) else other
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    __str__ = __repr__


CPU = Device("cpu")


def xp_of(array):
    """Return the array module (``numpy`` or ``cupy``) that owns ``array``."""
    if isinstance(array, np.ndarray) or _cupy is None:
        return np
    return _cupy.get_array_module(array)


get_xp = xp_of


def device_of(array) -> Device:
    """Return the :class:`Device` holding ``array``."""
    if isinstance(array, np.ndarray) or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return Device(f"cuda:{array.device.id}")


def to_device(array, device: str | Device):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    device = Device(device)
    if device.type == "cpu":
        if isinstance(array, np.ndarray):
            return array
        return _cupy.asnumpy(array) if _cupy is not None else np.asarray(array)
    xp = device.xp
    with xp.cuda.Device(device.index):
        return xp.asarray(array)


def gpu_erf(x):
    """The error function of a CuPy array (cupyx.scipy.special.erf); GPU only."""
    import cupyx.scipy.special as special  # pragma: no cover - GPU only

    return special.erf(x)  # pragma: no cover - GPU only
