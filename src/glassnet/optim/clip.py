"""Gradient clipping: bound the global gradient norm or each gradient value."""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import xp_of
from glassnet.optim.optimizer import params_with_grad
from glassnet.tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value", "clip_grad_value_"]


def _grad_norm(arrays, norm_type: float):
    xp = xp_of(arrays[0])
    if norm_type == math.inf:
        return xp.max(xp.stack([xp.max(xp.abs(a)) for a in arrays]))
    if norm_type == 2.0:
        # Norm of per-tensor norms: same value as one norm over the concatenation, no copy.
        norms = xp.stack([xp.sqrt(xp.vdot(a.ravel(), a.ravel()).real) for a in arrays])
        return xp.sqrt(xp.vdot(norms, norms).real)
    sums = xp.stack([xp.sum(xp.abs(a) ** norm_type) for a in arrays])
    return xp.sum(sums) ** (1.0 / norm_type)


def clip_grad_norm(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    r"""Rescale the gradients of ``parameters`` so their global norm is at most ``max_norm``.

    Use it against exploding gradients (RNNs, Transformers, high learning rates); call it
    between ``loss.backward()`` and ``optimizer.step()``. PyTorch's ``clip_grad_norm_``::

        total = (sum_p ||g_p||_q^q)^(1/q)           (q = norm_type; inf: max_p max |g_p|)
        c     = max_norm / (total + 1e-6)
        g_p   = c * g_p   for every p,  only if c < 1

    The scaled gradients are new arrays (``p.grad`` is replaced, never written in place).
    On a device (GPU) it makes no host transfer: the coefficient is computed and applied
    there (unless ``error_if_nonfinite``, which has to look at the norm on the host).
    Parameters without a gradient are ignored.

    Args:
        parameters: a tensor or an iterable of tensors (``model.parameters()``).
        max_norm: largest allowed norm, > 0 (1.0 is a common choice).
        norm_type: q, any number >= 1 or ``math.inf``.
        error_if_nonfinite: raise if the total norm is NaN or infinite (which parameters
            are to blame is in the message) instead of leaving the gradients unscaled.

    Returns:
        The total norm before clipping, a 0-d tensor (log it: spikes show instability).

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([3.0, 4.0]))
        >>> w.grad = gn.tensor([3.0, 4.0])
        >>> float(gn.clip_grad_norm([w], max_norm=1.0))
        5.0
        >>> w.grad.numpy().round(4)
        array([0.6, 0.8], dtype=float32)
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm}")
    if not norm_type >= 1:
        raise ValueError(f"clip_grad_norm: norm_type must be >= 1 or math.inf, got {norm_type}")
    params = params_with_grad(parameters)
    if not params:
        return Tensor._make(np.asarray(0.0, dtype=np.float32), False)
    arrays = [p.grad._data for p in params]
    xp = xp_of(arrays[0])
    total = xp.asarray(_grad_norm(arrays, norm_type))
    if xp is not np and not error_if_nonfinite:
        # On a device, no host sync: c = min(max_norm / (total + 1e-6), 1), and 1 where the
        # norm is not finite, computed there; every gradient is multiplied by it (by 1 when
        # no clipping is needed, which changes no bit).
        coef = xp.where(xp.isfinite(total), xp.minimum(max_norm / (total + 1e-6), 1.0), 1.0)
        for p in params:
            g = p.grad._data
            p.grad = Tensor._make(g * coef.astype(g.dtype), False)
        return Tensor._make(total, False)
    total_f = float(total)
    if not math.isfinite(total_f):
        if error_if_nonfinite:
            bad = [i for i, a in enumerate(arrays) if not bool(xp_of(a).isfinite(a).all())]
            raise RuntimeError(
                f"clip_grad_norm: the total gradient norm is {total_f} (non-finite); the "
                f"gradients of parameters {bad} (counting those with a grad) contain NaN or "
                "inf. Lower the learning rate, check the loss for log(0) or division by zero, "
                "or trace it with anomaly detection"
            )
        return Tensor._make(total, False)
    coef = max_norm / (total_f + 1e-6)
    if coef < 1:
        for p in params:
            # Out of place: a gradient array may be shared with a caller that still reads it.
            p.grad = Tensor._make(p.grad._data * p.grad._data.dtype.type(coef), False)
    return Tensor._make(total, False)


def clip_grad_value(parameters, clip_value: float) -> None:
    r"""Clip every gradient element into ``[-clip_value, clip_value]``.

    Cruder than :func:`clip_grad_norm` (it changes the gradient's direction), but bounded per
    element: ``g = min(max(g, -c), c)``. Gradients are replaced, never written in place.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([0.0, 0.0]))
        >>> w.grad = gn.tensor([-3.0, 0.5])
        >>> gn.clip_grad_value([w], 1.0)
        >>> w.grad.numpy()
        array([-1. ,  0.5], dtype=float32)
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value: clip_value must be >= 0, got {clip_value}")
    for p in params_with_grad(parameters):
        g = p.grad._data
        p.grad = Tensor._make(xp_of(g).clip(g, -clip_value, clip_value), False)


# PyTorch's in-place-style names (the gradients are replaced either way).
clip_grad_norm_ = clip_grad_norm
clip_grad_value_ = clip_grad_value
