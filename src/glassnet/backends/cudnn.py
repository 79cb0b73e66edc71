"""``glassnet.backends.cudnn``: PyTorch's cuDNN flags, settable and without effect.

glassnet does not use cuDNN; its CPU runs are bit-deterministic with a seed whatever these say.
"""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    return False
