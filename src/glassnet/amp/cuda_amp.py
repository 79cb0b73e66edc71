"""``torch.cuda.amp``: PyTorch's deprecated spellings ``torch.cuda.amp.autocast(...)`` and
``torch.cuda.amp.GradScaler(...)``, which are ``autocast("cuda", ...)`` and
``GradScaler("cuda", ...)`` (reached as ``glassnet.cuda.amp``; the package root wires it)."""

from __future__ import annotations

import warnings

from glassnet.amp import GradScaler as _GradScaler
from glassnet.amp import autocast as _autocast

__all__ = ["GradScaler", "autocast"]


class autocast(_autocast):  # noqa: N801 - PyTorch's name
    """``torch.cuda.amp.autocast(enabled=True, dtype=float16, cache_enabled=True)``: the
    ``"cuda"`` autocast (deprecated in PyTorch for ``torch.autocast("cuda", ...)``)."""

    def __init__(self, enabled: bool = True, dtype="float16", cache_enabled: bool = True):
        warnings.warn(
            "torch.cuda.amp.autocast(args...) is deprecated. Please use "
            "torch.amp.autocast('cuda', args...) instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cuda.amp.GradScaler(init_scale, growth_factor, backoff_factor,
    growth_interval, enabled)``: ``GradScaler("cuda", ...)`` (disabled, with a warning, on a
    machine without CUDA, as in PyTorch)."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ):
        warnings.warn(
            "torch.cuda.amp.GradScaler(args...) is deprecated. Please use "
            "torch.amp.GradScaler('cuda', args...) instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )
