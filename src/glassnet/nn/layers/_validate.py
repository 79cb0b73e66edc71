"""Input checks shared by the layers: each raises an error that names the layer, says what it
received and what it expected, and how to fix it."""

from __future__ import annotations

import math

from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.tensor import Tensor


def as_tuple(value, n: int, name: str, layer: str) -> tuple:
    """``3 -> (3, 3)``; a tuple/list of length ``n`` is kept; anything else is a TypeError."""
    if isinstance(value, bool):
        raise TypeError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if isinstance(value, int):
        return (value,) * n
    if (
        isinstance(value, (tuple, list))
        and len(value) == n
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return tuple(value)
    raise TypeError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")


def check_positive(value: int, name: str, layer: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


def check_tensor(x, layer: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{layer} expects a glassnet Tensor, got {type(x).__name__}; "
            "wrap the data with gn.tensor(x) first"
        )


def check_float_input(x, layer: str, weight: Tensor | None = None) -> None:
    """A float tensor on the weight's device with the weight's dtype."""
    check_tensor(x, layer)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{layer} got input of dtype {x.dtype}: it computes in floating point; "
            "cast the input with x.float()"
        )
    if weight is None:
        return
    if x.device != weight.device:
        raise ValueError(
            f"{layer} got input on {x.device} but its parameters are on {weight.device}; "
            f"move the input with x.to('{weight.device}') or the model with "
            f"model.to('{x.device}')"
        )
    if x.dtype != weight.dtype and _AUTOCAST.dtype is None:  # autocast casts per op
        hint = "x.float()" if weight.dtype.name == "float32" else f"x.astype('{weight.dtype}')"
        raise TypeError(
            f"{layer} got input of dtype {x.dtype} but its parameters are {weight.dtype}; "
            f"cast the input with {hint} or the layer with layer.to(dtype='{x.dtype}')"
        )


def check_rank(x: Tensor, layer: str, allowed: tuple, layout: str, hint: str = "") -> None:
    """``x.ndim`` must be one of ``allowed``; ``layout`` names the axes, e.g. ``(N, C, H, W)``."""
    if x.ndim not in allowed:
        if not hint and x.ndim == min(allowed) - 1:
            hint = "add a batch axis with x.unsqueeze(0)"
        fix = f"; {hint}" if hint else ""
        raise ValueError(
            f"{layer} got input of shape {tuple(x.shape)} with {x.ndim} dims; "
            f"expected {layout}{fix}"
        )


def check_channels(x: Tensor, layer: str, expected: int, layout: str) -> None:
    got = x.shape[1]
    if got != expected:
        hint = ""
        if x.ndim == 4 and x.shape[-1] == expected:
            hint = "; the input looks channels-last (NHWC): use x.permute(0, 3, 1, 2)"
        elif x.ndim == 3 and x.shape[-1] == expected:
            hint = "; the input looks channels-last (N, L, C): use x.permute(0, 2, 1)"
        raise ValueError(
            f"{layer} got input of shape {tuple(x.shape)}: axis 1 (channels, layout {layout}) "
            f"must be {expected}, got {got}{hint}"
        )


def fan_bound(fan_in: int) -> float:
    """PyTorch's default bound 1 / sqrt(fan_in) for Linear/Conv weights and biases."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
