"""Argument checks shared by the losses: clear errors for wrong types, shapes, devices and
class indices, raised before any op runs."""

from __future__ import annotations

import warnings

import numpy as np

from glassnet.autograd.function import no_grad_result, value_check
from glassnet.backend import is_debug, xp_of
from glassnet.ops._util import as_tensor, astype
from glassnet.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_input(op: str, name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op}: {name} must be a Tensor, got {type(x).__name__}; wrap it with gn.tensor(...)"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: {name} must be floating point, got dtype {x.dtype}; convert it with .float()"
        )


def legacy_reduction(size_average, reduce, reduction: str = "mean", stacklevel: int = 3) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair as a ``reduction`` string.

    Both None: ``reduction`` as given. Otherwise a None counts as True and ``reduce=False``
    gives "none", else "mean" if ``size_average`` else "sum" (``reduction`` is then ignored,
    as in PyTorch's ``_Reduction.legacy_get_string``), with a DeprecationWarning. A string
    there (``F.l1_loss(x, y, "sum")``, an older glassnet spelling) is a TypeError: PyTorch
    would read it as True and compute the mean."""
    if size_average is None and reduce is None:
        return reduction
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if isinstance(value, str):  # PyTorch would read any string as True: refuse instead
            raise TypeError(
                f"{name}={value!r}: {name} is PyTorch's deprecated bool, in the positional "
                f"slot before reduction; pass reduction={value!r} by keyword"
            )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{out}' instead.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return out


def _check_reduction(op: str, reduction, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def _target(op: str, target, like: Tensor, float_target: bool) -> Tensor:
    """The target as a tensor on ``like``'s device; float targets take ``like``'s dtype."""
    t = target if isinstance(target, Tensor) else as_tensor(target, like)
    if t.device != like.device:
        raise ValueError(
            f"{op}: target is on {t.device} but the input is on {like.device}; "
            "move it with .to(device)"
        )
    if float_target and t.dtype != like.dtype:
        t = (
            t.astype(like.dtype)
            if t.dtype.kind == "f"
            else no_grad_result(astype, t, dtype=like.dtype.str)  # integer labels as floats
        )
    return t


def _const(op: str, name: str, value, like: Tensor, shape=None):
    """An optional non-differentiable argument (weights) as an array like ``like``."""
    if value is None:
        return None
    arr = value._data if isinstance(value, Tensor) else xp_of(like._data).asarray(value)
    arr = xp_of(like._data).asarray(arr).astype(like.dtype, copy=False)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {shape}, got {arr.shape}")
    try:  # per-element weights must not grow the loss beyond the input's shape
        ok = shape is not None or np.broadcast_shapes(arr.shape, like.shape) == like.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{op}: {name} of shape {arr.shape} does not broadcast against the "
            f"input of shape {like.shape}"
        ) from None
    return arr


def _same_shape(op: str, x: Tensor, t: Tensor, exact: bool = False) -> None:
    # A (N, 1) prediction against a (N,) target would broadcast to (N, N) and silently
    # average the wrong thing (PyTorch only warns); refuse unless the target fits the input.
    try:
        ok = np.broadcast_shapes(x.shape, t.shape) == x.shape
    except ValueError:
        ok = False
    if not ok or (exact and x.shape != t.shape):
        raise ValueError(
            f"{op}: input of shape {x.shape} and target of shape {t.shape} differ; "
            "they must have the same shape (reshape one, e.g. pred.reshape(-1) or "
            "target.reshape(pred.shape))"
        )


def _check_classes(op: str, t: Tensor, n_classes: int, ignore_index: int) -> None:
    """A value check (every target a class of the input, or ``ignore_index``): debug mode
    only, since reading the targets would make a GPU wait in every step (see
    :mod:`glassnet.backend.debug`). A compiled step runs it on every replay (``value_check``):
    NumPy's indexing would take a negative index as counting from the last class."""
    data = t._data
    if not is_debug(data) or data.size == 0:
        return
    if int(data.min()) >= 0 and int(data.max()) < n_classes:
        return  # the common case in two reductions
    bad = ((data < 0) | (data >= n_classes)) & (data != ignore_index)
    if bool(bad.any()):
        value = int(data[bad].reshape(-1)[0])
        raise ValueError(
            f"{op}: target contains class index {value}, but the input has "
            f"{n_classes} classes (valid indices 0..{n_classes - 1}; use "
            f"ignore_index={ignore_index} to skip a sample)"
        )


def _class_index_target(op: str, x: Tensor, t: Tensor, ignore_index: int) -> None:
    expected = x.shape[:1] + x.shape[2:]
    if t.dtype.kind == "f":
        if t.shape == expected:
            raise TypeError(
                f"{op}: target of shape {t.shape} holds floats ({t.dtype}) where "
                "class indices are expected; convert it with target.long()"
            )
        raise ValueError(
            f"{op}: input of shape {x.shape} needs a target of shape {expected} "
            f"(class indices), got target of shape {t.shape}"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    if t.shape != expected:
        raise ValueError(
            f"{op}: input of shape {x.shape} (N, C, ...) needs a target of shape "
            f"{expected} (one class index per sample), got target of shape "
            f"{t.shape}"
        )
    value_check(_check_classes, op, t, x.shape[1], ignore_index)
