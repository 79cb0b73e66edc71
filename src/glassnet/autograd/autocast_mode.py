"""The state of ``glassnet.autocast`` and its op lists (which ops run in which precision).

Read by ``Function.apply`` (one attribute test per op when autocast is off). See
:mod:`glassnet.amp` for the user-facing context manager and docs/gpu.md for the lists.
"""

from __future__ import annotations

import numpy as np

#: Ops run in the low precision (float16) under autocast: the matrix products, where
#: half-precision tensor cores give the speed and rounding errors stay local.
LOW_PRECISION_OPS = frozenset(
    {"matmul", "linear", "conv1d", "conv2d", "scaled_dot_product_attention"}
)

#: Ops run in float32 under autocast: exponentials and logs, softmax, every loss, the
#: normalizations and the reductions (sums of many float16 terms lose digits or overflow).
FLOAT32_OPS = frozenset(
    {
        # softmax family, exp/log and powers
        "softmax", "log_softmax", "logsumexp", "exp", "log", "log1p", "pow", "pow_scalar",
        "softplus",
        # losses
        "cross_entropy", "cross_entropy_probs", "nll_loss", "mse_loss", "l1_loss",
        "smooth_l1_loss", "huber_loss", "kl_div", "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        # normalizations
        "layer_norm", "batch_norm", "group_norm",
        # reductions
        "sum", "mean", "var", "prod", "sum_to",
    }
)  # fmt: skip

_FLOAT32 = np.dtype("float32")


class _AutocastState:
    __slots__ = ("dtype", "device_type")

    def __init__(self):
        self.dtype = None  # the low-precision dtype while autocast is on, else None
        self.device_type = None


STATE = _AutocastState()


def cast_inputs(name: str, inputs: tuple) -> tuple:
    """The inputs of op ``name`` cast per the autocast lists (differentiable casts: the
    gradients flow back to float32 weights in float32). Other ops get their inputs as they
    are (NumPy's promotion: float16 with float32 gives float32)."""
    if name in LOW_PRECISION_OPS:
        target = STATE.dtype
    elif name in FLOAT32_OPS:
        target = _FLOAT32
    else:
        return inputs
    if not inputs or inputs[0].device.type != STATE.device_type:
        return inputs  # autocast("cuda") leaves CPU ops alone, and so on
    out = []
    changed = False
    for t in inputs:
        dtype = t._data.dtype
        if dtype.kind == "f" and dtype != target and (target != _FLOAT32 or dtype.itemsize < 4):
            t = t.astype(target)
            changed = True
        out.append(t)
    return tuple(out) if changed else inputs
