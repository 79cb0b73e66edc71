"""Cyclical schedules: OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts.

Re-exported by :mod:`glassnet.optim.lr_scheduler`. These are closed forms in PyTorch too:
each step sets the lr from the step count (and, with ``cycle_momentum``, the momentum or
Adam's beta1), overwriting other changes.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable

from glassnet.optim.optimizer import Optimizer
from glassnet.optim.scheduler_base import LRScheduler, _check_optimizer, _format_param


def _momentum_setup(name: str, sched, optimizer: Optimizer, last_epoch: int, mx, base) -> tuple:
    """Check the optimizer has momentum or betas; at a fresh start set it to ``max_momentum``
    and record ``max_momentum``/``base_momentum`` in every group (PyTorch's layout)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            f"{name}: cycle_momentum=True but {type(optimizer).__name__} has neither momentum "
            "nor betas; pass cycle_momentum=False"
        )
    sched.use_beta1 = "betas" in optimizer.defaults
    maxs = _format_param("max_momentum", optimizer, mx)
    bases = _format_param("base_momentum", optimizer, base)
    if last_epoch == -1:
        for m, b, group in zip(maxs, bases, optimizer.param_groups):
            _set_momentum(sched, group, m)
            group["max_momentum"], group["base_momentum"] = m, b
    return maxs, bases


def _set_momentum(sched, group: dict, value: float) -> None:
    if sched.use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith, 2018): warm up to ``max_lr``, then anneal far below the start.

    Step it once per *batch*. With ``total_steps`` T and ``pct_start`` p (PyTorch's phases)::

        initial_lr = max_lr / div_factor;   min_lr = initial_lr / final_div_factor
        steps 0 .. pT-1:      initial_lr -> max_lr           (momentum max -> base)
        steps pT-1 .. T-1:    max_lr -> min_lr               (momentum base -> max)
        cos annealing from a to b at fraction f: b + (a - b) * (1 + cos(pi f)) / 2
        (three_phase: initial -> max over pT-1, max -> initial until 2pT-2, then -> min)

    With ``cycle_momentum`` (the default, as PyTorch) the optimizer's ``momentum`` (SGD,
    RMSprop) or ``betas[0]`` (Adam) moves opposite to the lr between ``base_momentum`` and
    ``max_momentum``.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=0.1, momentum=0.9)
        >>> sched = gn.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> round(sched.get_last_lr()[0], 6)   # max_lr / div_factor
        0.04
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{name}: pass total_steps, or both epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"{name}: total_steps must be an int >= 1, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.total_steps = total_steps
        ends = [float(pct_start * total_steps) - 1]
        if three_phase:
            ends += [float(2 * pct_start * total_steps) - 2, total_steps - 1]
            lr_keys = [("initial_lr", "max_lr"), ("max_lr", "initial_lr"), ("initial_lr", "min_lr")]
            mom_keys = [
                ("max_momentum", "base_momentum"),
                ("base_momentum", "max_momentum"),
                ("max_momentum", "max_momentum"),
            ]
        else:
            ends += [total_steps - 1]
            lr_keys = [("initial_lr", "max_lr"), ("max_lr", "min_lr")]
            mom_keys = [("max_momentum", "base_momentum"), ("base_momentum", "max_momentum")]
        self._schedule_phases = [
            {"end_step": e, "start_lr": lk[0], "end_lr": lk[1]}
            | {"start_momentum": mk[0], "end_momentum": mk[1]}
            for e, lk, mk in zip(ends, lr_keys, mom_keys)
        ]
        self._anneal_func_type = anneal_strategy
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, _format_param("max_lr", optimizer, max_lr)):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _momentum_setup(name, self, optimizer, last_epoch, max_momentum, base_momentum)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {t} times but total_steps is {self.total_steps}; "
                "raise total_steps (or epochs/steps_per_epoch) to cover the whole run"
            )
        lrs = []
        phases = self._schedule_phases
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(phases):
                end = phase["end_step"]
                if t <= end or i == len(phases) - 1:
                    pct = (t - start) / (end - start) if end != start else 1.0
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        a, b = group[phase["start_momentum"]], group[phase["end_momentum"]]
                        _set_momentum(self, group, self._anneal(a, b, pct))
                    break
                start = end
        return lrs


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith, 2017), PyTorch's ``CyclicLR``; step it once per batch.

    With ``total = step_size_up + step_size_down``, at step e::

        cycle = floor(1 + e / total);   x = 1 + e / total - cycle        (in [0, 1))
        s = x / r  if x <= r  else (x - 1) / (r - 1)       (r = step_size_up / total)
        lr = base_lr + (max_lr - base_lr) * s * scale
        scale = 1 ("triangular"), 1 / 2**(cycle - 1) ("triangular2"), gamma**e ("exp_range"),
                or scale_fn(cycle) / scale_fn(e) by scale_mode "cycle" / "iterations"

    With ``cycle_momentum`` (default) the momentum (or Adam's beta1) moves the other way:
    ``max_momentum - (max_momentum - base_momentum) * s * scale``. Construction sets every
    group's lr to ``base_lr``.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=0.1, momentum=0.9)
        >>> sched = gn.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 6)); sched.step()
        >>> lrs
        [0.1, 0.55, 1.0, 0.55, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr,
        max_lr,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum=0.8,
        max_momentum=0.9,
        last_epoch: int = -1,
    ) -> None:
        name = "CyclicLR"
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(
                f"{name}: mode must be 'triangular', 'triangular2' or 'exp_range' (or pass "
                f"scale_fn), got {mode!r}"
            )
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations'")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.max_momentums, self.base_momentums = _momentum_setup(
                name, self, optimizer, last_epoch, max_momentum, base_momentum
            )
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at ``x`` (the cycle number, or the step for "iterations")."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            s = x / self.step_ratio
        else:
            s = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [b + (m - b) * s * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            pairs = zip(self.base_momentums, self.max_momentums)
            moms = [m - (m - b) * s * scale for b, m in pairs]
            for group, mom in zip(self.optimizer.param_groups, moms):
                _set_momentum(self, group, mom)
        return lrs

    def state_dict(self) -> dict:
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = dict(fn.__dict__)  # a callable object's attributes
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        fn = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017)::

        lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``T_cur`` counts steps since the last restart; a restart comes after ``T_i`` steps, and
    each period is ``T_mult`` times the previous one (``T_0`` first). ``step(epoch)`` takes
    a fractional epoch (e.g. ``epoch + i / iters_per_epoch`` per batch).

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 6)); sched.step()
        >>> lrs
        [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        name = "CosineAnnealingWarmRestarts"
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"{name}: T_0 must be a positive int, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"{name}: T_mult must be an int >= 1, got {T_mult!r}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"{name}: eta_min must be a number, got {type(eta_min).__name__}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]

    def step(self, epoch=None) -> None:
        """Advance one step, or go to ``epoch`` (a float is allowed: a fraction of a period)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
