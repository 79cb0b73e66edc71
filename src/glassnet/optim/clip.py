"""Gradient clipping: bound the global gradient norm or each gradient value (PyTorch's
``torch.nn.utils`` clipping functions, also under ``glassnet.nn.utils``)."""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import xp_of
from glassnet.backend.dtypes import default_float
from glassnet.optim.optimizer import params_with_grad
from glassnet.tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]


def _vector_norm(a, p: float):
    """``torch.linalg.vector_norm(a, p)`` of an array (any p: inf, -inf, 0, p < 1, p < 0)."""
    xp = xp_of(a)
    if p == 2.0:
        return xp.sqrt(xp.vdot(a.ravel(), a.ravel()).real)
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    mag = xp.abs(a)
    if p == math.inf:
        return xp.max(mag)
    if p == -math.inf:
        return xp.min(mag)
    if p == 0:  # the number of nonzero elements
        return xp.asarray(xp.count_nonzero(a), dtype=mag.dtype)
    if p == 1.0:
        return xp.sum(mag)
    with np.errstate(divide="ignore", over="ignore"):  # 0 ** p for p < 0 is inf, as in torch
        return xp.sum(mag**p) ** (1.0 / p)


def _nonfinite_error(total_f: float, arrays, norm_type: float) -> RuntimeError:
    bad = [i for i, a in enumerate(arrays) if not bool(xp_of(a).isfinite(a).all())]
    return RuntimeError(
        f"clip_grad_norm: the total gradient norm (of order {norm_type}) is {total_f} "
        f"(non-finite); the gradients {bad} (counting those with a grad) contain NaN or inf. "
        "Lower the learning rate, check the loss for log(0) or division by zero, or trace it "
        "with anomaly detection; error_if_nonfinite=False scales them by the non-finite "
        "norm anyway (as PyTorch: to NaN/0)"
    )


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    r"""The norm of the norms of ``tensors`` (PyTorch's ``nn.utils.get_total_norm``)::

        total = vector_norm([vector_norm(t, q) for t in tensors], q)      (q = norm_type)

    For q > 0 that is the q-norm of all elements together; q = inf is the largest |x|,
    q = -inf the smallest per-tensor minimum, q = 0 counts the tensors that hold a nonzero
    element (PyTorch's rule for each). ``tensors`` are typically the gradients
    (``[p.grad for p in model.parameters() if p.grad is not None]``); ``foreach`` is accepted
    and has no effect. Returns a 0-d tensor (0.0 for no tensors).
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    arrays = [t._data for t in tensors]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._make(np.asarray(0.0, dtype=default_float()), False)
    xp = xp_of(arrays[0])
    total = _vector_norm(xp.stack([_vector_norm(a, norm_type) for a in arrays]), norm_type)
    total = xp.asarray(total)
    if error_if_nonfinite:
        total_f = float(total)
        if not math.isfinite(total_f):
            raise _nonfinite_error(total_f, arrays, norm_type)
    return Tensor._make(total, False)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    r"""Scale the gradients of ``parameters`` by ``min(max_norm / (total_norm + 1e-6), 1)``
    (PyTorch's ``nn.utils.clip_grads_with_norm_``; ``total_norm`` from
    :func:`get_total_norm`). The coefficient is computed in ``total_norm``'s dtype; a NaN
    norm makes every gradient NaN and an infinite one makes them 0 (NaN where a gradient is
    inf), as in PyTorch. Gradients are replaced by new arrays, never written in place.
    """
    params = params_with_grad(parameters)
    if not params:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    xp = xp_of(params[0].grad._data)
    coef = xp.minimum(float(max_norm) / (xp.asarray(total) + 1e-6), 1.0)
    if xp is np and bool(coef >= 1):  # multiplying by 1 would change no bit: skip it
        return
    with np.errstate(invalid="ignore"):  # inf * 0 = NaN, as PyTorch (which does not warn)
        for p in params:
            g = p.grad._data
            p.grad = Tensor._make(g * coef.astype(g.dtype), False)


def clip_grad_norm(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    r"""Rescale the gradients of ``parameters`` so their global norm is at most ``max_norm``.

    Use it against exploding gradients (RNNs, Transformers, high learning rates); call it
    between ``loss.backward()`` and ``optimizer.step()``. PyTorch's ``clip_grad_norm_``::

        total = vector_norm([vector_norm(g_p, q) for p], q)    (q = norm_type; see
                                                               get_total_norm)
        c     = min(max_norm / (total + 1e-6), 1)             (in the norm's dtype)
        g_p   = c * g_p   for every p

    A non-finite total (with ``error_if_nonfinite=False``) is used as PyTorch uses it: an
    infinite norm gives c = 0 (gradients become 0, NaN where they were inf), a NaN norm
    makes every gradient NaN. The scaled gradients are new arrays (``p.grad`` is replaced,
    never written in place). On a device (GPU) it makes no host transfer (unless
    ``error_if_nonfinite``, which has to look at the norm on the host). Parameters without a
    gradient are ignored; ``foreach`` is accepted and has no effect.

    Args:
        parameters: a tensor or an iterable of tensors (``model.parameters()``).
        max_norm: largest allowed norm (1.0 is a common choice; 0 zeroes the gradients).
        norm_type: q: any float (``math.inf``, ``-math.inf`` and 0 as in PyTorch).
        error_if_nonfinite: raise if the total norm is NaN or infinite (which parameters
            are to blame is in the message).

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
    params = params_with_grad(parameters)
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value(parameters, clip_value: float, foreach=None) -> None:
    r"""Clip every gradient element into ``[-clip_value, clip_value]``.

    Cruder than :func:`clip_grad_norm` (it changes the gradient's direction), but bounded per
    element: ``g = min(max(g, -c), c)`` (PyTorch's order: a negative ``clip_value`` sets every
    element to ``clip_value``; NaN stays NaN). Gradients are replaced, never written in place;
    ``foreach`` is accepted and has no effect.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([0.0, 0.0]))
        >>> w.grad = gn.tensor([-3.0, 0.5])
        >>> gn.clip_grad_value([w], 1.0)
        >>> w.grad.numpy()
        array([-1. ,  0.5], dtype=float32)
    """
    c = float(clip_value)
    for p in params_with_grad(parameters):
        g = p.grad._data
        xp = xp_of(g)
        lo, hi = g.dtype.type(-c), g.dtype.type(c)
        p.grad = Tensor._make(xp.minimum(xp.maximum(g, lo), hi), False)


# PyTorch's in-place-style names (the gradients are replaced either way).
clip_grad_norm_ = clip_grad_norm
clip_grad_value_ = clip_grad_value
