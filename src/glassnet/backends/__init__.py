"""``glassnet.backends``: PyTorch's switches, accepted so scripts run unchanged.

- ``backends.mps.is_available()`` is False (glassnet has no Apple-GPU backend).
- ``backends.cudnn.benchmark / deterministic / enabled / allow_tf32`` and
  ``backends.cuda.matmul.allow_tf32`` can be set and read; they have no effect: glassnet does
  not use cuDNN, its CPU runs are deterministic anyway, and its matmuls never use TF32.
"""

from glassnet.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
