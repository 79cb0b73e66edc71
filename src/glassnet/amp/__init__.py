"""Mixed precision with PyTorch's names: ``glassnet.autocast`` and ``glassnet.amp.GradScaler``.

.. code-block:: python

    scaler = gn.amp.GradScaler("cuda")
    for x, y in loader:
        opt.zero_grad()
        with gn.autocast("cuda", dtype=gn.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)                 # before clipping: the true gradients
        gn.clip_grad_norm(model.parameters(), 1.0)
        scaler.step(opt)                     # skipped when a gradient is inf/NaN
        scaler.update()                      # backoff after a skip, growth after 2000 good steps

Under ``autocast`` the weights stay float32 ("master weights"): the matrix products
(:data:`LOW_PRECISION_OPS`) cast their inputs to float16 with differentiable casts, so their
gradients come back to the weights in float32; softmax, losses, normalizations and reductions
(:data:`FLOAT32_OPS`) run in float32; every other op runs in the dtype of its inputs (float16
with float32 gives float32). Float16 gradients can underflow to 0 (below 6e-8); the scaler
multiplies the loss by ``S`` (65536 at first) so they do not, and divides the gradients by
``S`` before the step; a step whose gradients overflowed (inf/NaN) is skipped and ``S``
halved; after ``growth_interval`` good steps in a row ``S`` doubles.

bfloat16 is not available: NumPy and CuPy have no bfloat16 dtype. On the CPU float16 works
but is slow (NumPy emulates half precision in software; there is no float16 BLAS): use it to
test, not to train faster.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from glassnet.autograd.autocast_mode import FLOAT32_OPS, LOW_PRECISION_OPS, STATE
from glassnet.backend import Device, cuda_available, xp_of
from glassnet.backend.dtypes import to_dtype

__all__ = ["FLOAT32_OPS", "GradScaler", "LOW_PRECISION_OPS", "autocast", "is_autocast_enabled"]


def is_autocast_enabled() -> bool:
    """True inside an enabled ``autocast`` block."""
    return STATE.dtype is not None


class autocast:  # noqa: N801 - PyTorch's name
    """Run the ops of a block in mixed precision on ``device_type`` (PyTorch's ``autocast``).

    Args:
        device_type: "cuda", "cpu" or "sim": ops whose inputs are on another kind of device
            are left alone.
        dtype: the low precision: float16. None (the default) is PyTorch's default, float16
            on "cuda" and bfloat16 on "cpu"; bfloat16 raises: neither NumPy nor CuPy has it
            (so ``autocast("cpu")`` needs ``dtype=float16``).
        enabled: False makes the block a no-op (handy for a flag); nothing is checked then.
        cache_enabled: accepted (PyTorch's cache of cast weights); no effect.

    Works as a context manager and as a decorator. Backward needs no autocast: each op's
    backward runs in the dtypes its forward used.
    """

    def __init__(
        self,
        device_type: str = "cuda",
        dtype=None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ):
        self.device_type = Device(device_type).type
        self.enabled = bool(enabled)
        self.cache_enabled = cache_enabled  # PyTorch's weight-cast cache: nothing to cache here
        if dtype is None:
            # PyTorch's default low precision: float16 on CUDA, bfloat16 on the CPU
            dtype = "bfloat16" if self.device_type == "cpu" else "float16"
        self.dtype = dtype
        if not self.enabled:  # a disabled block (autocast(..., enabled=use_amp)) checks nothing
            return
        if isinstance(dtype, str) and dtype.lower() in ("bfloat16", "bf16"):
            raise TypeError(
                f"autocast({self.device_type!r}): bfloat16 (PyTorch's default on the CPU) is "
                "not supported: NumPy and CuPy have no bfloat16 dtype; pass dtype=float16 (with "
                "a GradScaler), or enabled=False"
            )
        self.dtype = to_dtype(dtype)
        if self.dtype != np.float16:
            raise TypeError(f"autocast: dtype must be float16, got {self.dtype}")

    def __enter__(self):
        self._prev = (STATE.dtype, STATE.device_type)
        if self.enabled:
            STATE.dtype, STATE.device_type = self.dtype, self.device_type
        else:
            STATE.dtype = None
        return self

    def __exit__(self, *exc):
        STATE.dtype, STATE.device_type = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)

        return wrapper


class GradScaler:
    """Dynamic loss scaling for float16 training, with PyTorch's defaults and method names.

    Args:
        device: the device type the gradients live on ("cuda", the default, "cpu" or "sim").
            As in PyTorch, a "cuda" scaler on a machine without CUDA warns and disables
            itself (``GradScaler("cpu")`` scales on the CPU).
        init_scale: the first scale S (2**16).
        growth_factor: S is multiplied by this after ``growth_interval`` good steps (2.0).
        backoff_factor: S is multiplied by this after a step with inf/NaN gradients (0.5).
        growth_interval: good steps in a row before growing S (2000).
        enabled: False turns every method into a pass-through (``scale`` returns its input,
            ``step`` just steps).

    ``step`` reads one boolean from the device (whether a gradient was inf/NaN): one host
    transfer per step, as PyTorch's ``GradScaler.step`` makes. ``scale``, ``unscale_`` and
    ``update`` make none.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ):
        if not init_scale > 0 or not math.isfinite(init_scale):
            raise ValueError(f"GradScaler: init_scale must be a positive number, got {init_scale}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(
                f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}"
            )
        self.device = device
        if enabled and Device(device).type == "cuda" and not cuda_available():
            # PyTorch's rule: a CUDA scaler on a machine without CUDA turns itself off (scale
            # returns the loss, step just steps, get_scale() is 1.0)
            warnings.warn(
                "GradScaler is enabled, but CUDA is not available. Disabling. (Pass "
                "GradScaler('cpu') to scale float16 gradients on the CPU.)",
                UserWarning,
                stacklevel=2,
            )
            enabled = False
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._enabled = bool(enabled)
        self._per_optimizer: dict = {}  # id(optimizer) -> {"unscaled": bool, "found_inf": array}
        self._found_inf_this_step: bool | None = None

    # -- the four calls of a training step ----------------------------------------------------
    def scale(self, outputs):
        """``outputs * S`` (a tensor, or a list/tuple of them); no host transfer."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by S, in float32, and note on the
        device whether any is inf/NaN. Call it before clipping or inspecting gradients; at most
        once per optimizer between ``update`` calls (``step`` calls it if you did not)."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {"unscaled": False})
        if state["unscaled"]:
            raise RuntimeError(
                "GradScaler.unscale_() was already called on this optimizer since the last "
                "update(); call it once per step"
            )
        from glassnet.tensor import Tensor

        inv = 1.0 / self._scale
        ok = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                xp = xp_of(g)
                g32 = g.astype(np.float32) if g.dtype == np.float16 else g
                unscaled = g32 * g32.dtype.type(inv)
                finite = xp.isfinite(unscaled).all()
                ok = finite if ok is None else ok & finite
                p.grad = Tensor._make(unscaled.astype(g.dtype, copy=False), False)
        state["unscaled"] = True
        state["found_inf"] = ok  # a device boolean (None: no gradients), read by step()

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless a gradient was inf/NaN (then the step is skipped and the
        parameters stay as they were). Returns what ``optimizer.step`` returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._per_optimizer.setdefault(id(optimizer), {"unscaled": False})
        if not state["unscaled"]:
            self.unscale_(optimizer)
        ok = state.get("found_inf")
        finite = True if ok is None else bool(ok)  # the one host transfer of a step
        self._found_inf_this_step = (self._found_inf_this_step or False) or not finite
        state["stepped"] = True
        if finite:
            return optimizer.step(*args, **kwargs)
        return None

    def update(self, new_scale: float | None = None) -> None:
        """Adjust S after the step(s): times ``backoff_factor`` if a step was skipped (and
        the count of good steps restarts), times ``growth_factor`` after ``growth_interval``
        good steps in a row; or set it to ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._found_inf_this_step is not None:
            if self._found_inf_this_step:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._found_inf_this_step = None
        self._per_optimizer.clear()

    # -- inspection and checkpoints ----------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale S (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval and
        _growth_tracker (JSON-safe)."""
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state: dict) -> None:
        if not self._enabled:
            return
        if not isinstance(state, dict) or "scale" not in state:
            raise ValueError("GradScaler.load_state_dict: expected a dict from state_dict()")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])

    def __repr__(self) -> str:
        return (
            f"GradScaler(scale={self._scale}, growth_factor={self._growth_factor}, "
            f"backoff_factor={self._backoff_factor}, growth_interval={self._growth_interval})"
        )
