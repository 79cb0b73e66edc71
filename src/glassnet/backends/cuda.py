"""``glassnet.backends.cuda``: ``matmul.allow_tf32`` and friends, settable and without effect
(glassnet's matmuls never use TF32)."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    from glassnet.backend import cuda_available

    return cuda_available()
