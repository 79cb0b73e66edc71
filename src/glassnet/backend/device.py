"""Devices and the ``xp`` array module (NumPy, CuPy, or the strict simulated device's).

Devices: ``"cpu"`` (NumPy), ``"cuda"`` / ``"cuda:N"`` (CuPy, glassnet[gpu]) and ``"sim"``, a
GPU stand-in for tests (see :mod:`glassnet.backend.sim`). ``set_default_device`` chooses where
new tensors go when no ``device=`` is given (like ``torch.set_default_device``).
"""

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


def nccl_module():
    """CuPy's NCCL binding (``cupy.cuda.nccl``), or None where CuPy or NCCL is missing.

    The distributed layer all-reduces device buffers with it; cupy is imported only here.
    """
    if _cupy is None:
        return None
    try:  # pragma: no cover - GPU only
        from cupy.cuda import nccl
    except Exception:
        return None
    if hasattr(nccl, "available") and not nccl.available:  # pragma: no cover - GPU only
        return None
    return nccl  # pragma: no cover - GPU only


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
        if kind not in ("cpu", "cuda", "gpu", "sim"):
            raise ValueError(
                f"unknown device {spec!r}: expected 'cpu', 'cuda', 'cuda:N' or 'sim' (the "
                "simulated device for tests)"
            )
        self.type = "cuda" if kind in ("cuda", "gpu") else kind
        self.index = int(idx) if idx else 0

    @property
    def xp(self):
        """The array module for this device."""
        if self.type == "cpu":
            return np
        if self.type == "sim":
            from glassnet.backend.sim import sim_xp

            return sim_xp
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
        return self.type if self.type != "cuda" else f"cuda:{self.index}"

    __str__ = __repr__


CPU = Device("cpu")
SIM = Device("sim")
_DEFAULT = [CPU]


def set_default_device(device: str | Device) -> None:
    """Where tensors are created when no ``device=`` is given (``torch.set_default_device``).

    The test suite uses it to run everything on the simulated device
    (``GLASSNET_TEST_DEVICE=sim``).
    """
    device = Device(device)
    device.xp  # noqa: B018 - raises a clear error for 'cuda' without a GPU
    _DEFAULT[0] = device


def get_default_device() -> Device:
    """The device new tensors are created on (``cpu`` unless :func:`set_default_device`)."""
    return _DEFAULT[0]


def xp_of(array):
    """Return the array module (``numpy``, ``cupy`` or the sim one) that owns ``array``."""
    if isinstance(array, np.ndarray):
        return np
    if type(array) is _sim_array():
        from glassnet.backend.sim import sim_xp

        return sim_xp
    if _cupy is None:
        return np
    return _cupy.get_array_module(array)


get_xp = xp_of

_SIM_ARRAY = []


def _sim_array():
    if not _SIM_ARRAY:
        from glassnet.backend.sim import SimArray

        _SIM_ARRAY.append(SimArray)
    return _SIM_ARRAY[0]


def device_of(array) -> Device:
    """Return the :class:`Device` holding ``array``."""
    if isinstance(array, np.ndarray):
        return CPU
    if type(array) is _sim_array():
        return SIM
    if _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return Device(f"cuda:{array.device.id}")


def to_device(array, device: str | Device):
    """Copy ``array`` to ``device`` (no copy when it is already there).

    A device-to-host copy of a sim array is counted (:data:`glassnet.backend.sim.TRANSFERS`).
    """
    device = Device(device)
    sim_array = _sim_array()
    if device.type == "cpu":
        if isinstance(array, np.ndarray):
            return array
        if type(array) is sim_array:
            return array.get()
        return _cupy.asnumpy(array) if _cupy is not None else np.asarray(array)
    if device.type == "sim":
        if type(array) is sim_array:
            return array
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            array = _cupy.asnumpy(array)
        from glassnet.backend.sim import to_sim

        return to_sim(array)
    if type(array) is sim_array:
        array = array.get()
    xp = device.xp
    with xp.cuda.Device(device.index):
        return xp.asarray(array)


#: Array types whose device is not implied by the type (CuPy with several GPUs): checked fully.
MULTI_DEVICE_TYPES: frozenset = frozenset()
if _CUDA:  # pragma: no cover - GPU only
    try:
        if _cupy.cuda.runtime.getDeviceCount() > 1:
            MULTI_DEVICE_TYPES = frozenset({_cupy.ndarray})
    except Exception:
        pass


def to_numpy(value):
    """A host NumPy array of a tensor, a device array or host data (an explicit copy from a
    device; host data is returned as is). For tests and code that genuinely need the host."""
    value = getattr(value, "_data", value) if hasattr(value, "requires_grad") else value
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    if type(value) is _sim_array() or (_cupy is not None and isinstance(value, _cupy.ndarray)):
        return to_device(value, "cpu")
    return np.asarray(value)


def check_devices(op: str, tensors) -> None:
    """Cheap check that ``tensors`` share a device (by array type; fully for multi-GPU)."""
    kind = type(tensors[0]._data)
    for t in tensors:
        if type(t._data) is not kind:
            break
    else:
        if kind not in MULTI_DEVICE_TYPES:
            return
    check_same_device(op, tensors)


def check_same_device(op: str, tensors) -> None:
    """Raise a clear error when the tensors given to one op live on different devices.

    Names each input's position, shape and device, and says how to move it (``.to(...)``),
    instead of the array library's own TypeError deep inside the op.
    """
    devices = [device_of(t._data) for t in tensors]
    first = devices[0]
    if all(d == first for d in devices[1:]):
        return
    where = ", ".join(
        f"input {i} (shape {tuple(t.shape)}) on {d}"
        for i, (t, d) in enumerate(zip(tensors, devices))
    )
    raise DeviceMismatchError(
        f"{op}: expected all inputs on one device, got {where}; move them to one device "
        f"first, e.g. x.to('{first}') (or model.to('{first}') for a module's parameters)"
    )


class DeviceMismatchError(ValueError):
    """An op received tensors on different devices."""
