"""``glassnet.nn.functional``: PyTorch's module path for the functional API (``import
glassnet.nn.functional as F``).

Everything in :mod:`glassnet.functional` is here under the same name, plus the functions whose
PyTorch signature differs from glassnet's NumPy-style ones: :func:`pad` takes PyTorch's flat
``(left, right, top, bottom, ...)`` widths (last dim first), and :func:`one_hot` works on
tensors.
"""

from __future__ import annotations

import numpy as np

from glassnet.functional import (
    adaptive_avg_pool2d,
    attention_weights,
    avg_pool2d,
    batch_norm,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv1d,
    conv2d,
    cross_entropy,
    dropout,
    elu,
    embedding,
    gelu,
    group_norm,
    huber_loss,
    kl_div,
    l1_loss,
    layer_norm,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    relu,
    scaled_dot_product_attention,
    sigmoid,
    silu,
    smooth_l1_loss,
    softmax,
    softplus,
    tanh,
)
from glassnet.ops import shape as _shape
from glassnet.tensor import Tensor

__all__ = [
    "adaptive_avg_pool2d",
    "attention_weights",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "gelu",
    "group_norm",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
]


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs from the LAST dim
    backwards: ``(left, right)`` pads dim -1, ``(left, right, top, bottom)`` dims -1 and -2.

    Only ``mode="constant"`` is supported (others raise). The gradient is the inner slice.
    """
    if mode != "constant":
        raise NotImplementedError(
            f"pad: mode={mode!r} is not supported by glassnet (only 'constant'); pad with "
            "concatenated slices of the input instead"
        )
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(
            f"pad: got {len(pad)} widths for a tensor of shape {input.shape}; give an even "
            f"number, at most 2 per dim ({2 * input.ndim})"
        )
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return _shape.pad(input, widths, 0.0 if value is None else value)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``torch.nn.functional.one_hot``: int64 one-hot rows along a new last dim (no grad).

    ``num_classes=-1`` means ``tensor.max() + 1``.
    """
    labels = tensor.numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {labels.dtype}")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must lie in [0, {num_classes}), got {labels.min()} to "
            f"{labels.max()}; check num_classes"
        )
    out = (labels[..., None] == np.arange(num_classes)).astype(np.int64)
    device = tensor.device if isinstance(tensor, Tensor) else None
    return Tensor(out, device=device)
