"""``glassnet.accelerator``: PyTorch's device-agnostic probes (``torch.accelerator``, 2.6+).

Current PyTorch examples pick their device with them::

    device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() \\
        else torch.device("cpu")

glassnet's one accelerator is an NVIDIA GPU through CuPy (``pip install glassnet[gpu]``), so
these answer as ``torch.accelerator`` does in a CUDA build of PyTorch; without CuPy or a GPU
they report none, as a CPU-only PyTorch does (``current_accelerator()`` is None there).
"""

from __future__ import annotations

import contextlib

from glassnet import cuda as _cuda
from glassnet.backend import Device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "device_index",
    "is_available",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """True when an accelerator (a GPU CuPy sees) is there to use."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator's device (``cuda``), or None where glassnet has none.

    PyTorch returns the accelerator its build was compiled for; glassnet counts CuPy with a
    GPU as that build, so both forms (``check_available`` True or False) agree here.
    """
    return Device("cuda") if is_available() else None


def device_count() -> int:
    """Number of accelerator devices (0 without one)."""
    return _cuda.device_count()


def _none_available(name: str) -> RuntimeError:
    return RuntimeError(
        f"glassnet.accelerator.{name}(): cannot access an accelerator device when none is "
        "available (glassnet uses NVIDIA GPUs through CuPy: install glassnet[gpu] on a "
        "machine with a GPU, or use the cpu device)"
    )


def current_device_index() -> int:
    """Index of the current accelerator device (RuntimeError without one, as PyTorch)."""
    if not is_available():
        raise _none_available("current_device_index")
    return _cuda.current_device()


current_device_idx = current_device_index  # PyTorch 2.6's name, deprecated there


def set_device_index(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a Device) the current accelerator device."""
    if not is_available():
        raise _none_available("set_device_index")
    index = device if isinstance(device, int) else Device(device).index
    _cuda.set_device(index)


set_device_idx = set_device_index  # PyTorch 2.6's name, deprecated there


@contextlib.contextmanager
def device_index(device):
    """Within the block, ``device`` (an index or None for no change) is the current device."""
    if device is None:
        yield
        return
    before = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(before)


def synchronize(device=None) -> None:
    """Wait for the accelerator's queued work (RuntimeError without one, as PyTorch)."""
    if not is_available():
        raise _none_available("synchronize")
    _cuda.synchronize(device)
