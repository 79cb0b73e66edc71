"""``glassnet.version``: what scripts read from ``torch.version``.

``cuda`` is the CUDA runtime version CuPy runs on (``"12.4"``), or None without CuPy or a GPU,
as ``torch.version.cuda`` is None in a CPU-only PyTorch; ``hip`` is always None (glassnet has
no ROCm backend).
"""

from __future__ import annotations

from glassnet._version import __version__
from glassnet.backend import device as _device

__all__ = ["__version__", "cuda", "debug", "hip"]


def _cuda_version() -> str | None:
    if not _device.cuda_available():
        return None
    try:  # pragma: no cover - GPU only
        v = int(_device._cupy.cuda.runtime.runtimeGetVersion())
    except Exception:  # pragma: no cover - GPU only
        return None
    return f"{v // 1000}.{v % 1000 // 10}"  # pragma: no cover - GPU only


cuda = _cuda_version()
hip = None
debug = False
