"""``glassnet.backends``: PyTorch's switches, accepted so scripts run unchanged.

- ``backends.mps.is_available()`` is False (glassnet has no Apple-GPU backend).
- ``backends.cudnn.benchmark / deterministic / enabled / allow_tf32``,
  ``backends.cuda.matmul.allow_tf32`` and ``set_float32_matmul_precision`` (the package root
  re-exports it, as ``torch.set_float32_matmul_precision``) can be set and read; they have no
  effect: glassnet does not use cuDNN, its CPU runs are deterministic anyway, and its matmuls
  never use TF32 (which PyTorch's settings allow, never require).
"""

import warnings

from glassnet.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "get_float32_matmul_precision", "mps", "set_float32_matmul_precision"]

_MATMUL_PRECISION = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """PyTorch's ``torch.set_float32_matmul_precision``: "highest", "high" or "medium".

    "high" and "medium" *allow* PyTorch to use faster, less precise float32 matmuls (TF32,
    bfloat16) where the hardware has them; they never require it. glassnet's matmuls are
    always full float32, which every setting permits, so the setting is kept (and returned
    by :func:`get_float32_matmul_precision`) and changes no result.
    """
    if precision not in ("highest", "high", "medium"):
        warnings.warn(  # PyTorch warns and keeps its setting
            f"{precision!r} is not one of 'highest', 'high', or 'medium'; the "
            "set_float32_matmul_precision call has no effect",
            UserWarning,
            stacklevel=2,
        )
        return
    _MATMUL_PRECISION[0] = precision


def get_float32_matmul_precision() -> str:
    """The value given to :func:`set_float32_matmul_precision` ("highest" by default)."""
    return _MATMUL_PRECISION[0]
