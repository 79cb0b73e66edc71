"""``glassnet.cuda``: the probes PyTorch scripts make on any machine (``is_available()``...).

glassnet runs on NVIDIA GPUs through CuPy (``pip install glassnet[gpu]``); without CuPy or a
GPU these report no device, exactly as ``torch.cuda`` does on a CPU-only machine. Random
numbers for every device come from the one generator seeded by ``glassnet.manual_seed``, so
``manual_seed``/``manual_seed_all`` here only exist for scripts that call them: they reseed
that same generator.
"""

from __future__ import annotations

from glassnet.backend import device as _device

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "set_device",
    "synchronize",
]


def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    return _device.cuda_available()


def device_count() -> int:
    """Number of NVIDIA GPUs CuPy sees (0 without CuPy or a GPU)."""
    if not is_available():
        return 0
    return int(_device._cupy.cuda.runtime.getDeviceCount())


def current_device() -> int:
    if not is_available():
        raise RuntimeError("glassnet.cuda.current_device(): no CUDA device is available")
    return int(_device._cupy.cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a Device) CuPy's current GPU."""
    if not is_available():
        raise RuntimeError("glassnet.cuda.set_device(): no CUDA device is available")
    index = device if isinstance(device, int) else _device.Device(device).index
    _device._cupy.cuda.Device(index).use()


def get_device_name(device=None) -> str:
    if not is_available():
        raise RuntimeError("glassnet.cuda.get_device_name(): no CUDA device is available")
    index = 0 if device is None else _device.Device(device).index
    props = _device._cupy.cuda.runtime.getDeviceProperties(index)
    return props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work (nothing to do without a GPU)."""
    if is_available():
        _device._cupy.cuda.Device().synchronize()


def empty_cache() -> None:
    """Release CuPy's cached, unused GPU memory (nothing to do without a GPU)."""
    if is_available():
        _device._cupy.get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Reseed glassnet's one generator (the one behind every device), as ``manual_seed``."""
    from glassnet.backend import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed
