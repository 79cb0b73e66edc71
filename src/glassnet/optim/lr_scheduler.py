"""Learning-rate schedules (PyTorch's ``torch.optim.lr_scheduler``, closed forms).

Call ``scheduler.step()`` once per epoch (or per batch for OneCycleLR and warmups) *after*
``optimizer.step()``. Each scheduler sets ``group["lr"] = f(last_epoch)`` from the group's
``initial_lr`` in closed form, so a schedule is a plain function of the step count and
resumes exactly from ``state_dict()``. Combine a warmup with a decay with
:class:`SequentialLR`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence

from glassnet.optim.optimizer import Optimizer
from glassnet.optim.scheduler_base import LRScheduler, _per_group

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "LinearWarmup",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function, or a list of one per group.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
        >>> sched.step(); sched.get_last_lr()
        [0.5]
    """

    _skip_in_state = ("optimizer", "lr_lambdas")

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1
    ) -> None:
        n = len(optimizer.param_groups)
        self.lr_lambdas = _per_group("LambdaLR", "lr_lambda", lr_lambda, n)
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the epoch (or a list)")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [b * f(self.last_epoch) for b, f in zip(self.base_lrs, self.lr_lambdas)]


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size): divide by 1/gamma every step_size.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> [round(v, 6) for v in lrs]
        [1.0, 1.0, 0.1, 0.1]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        self.step_size, self.gamma = step_size, float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (number of milestones <= epoch)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        k = bisect_right(self.milestones, self.last_epoch)
        return [b * self.gamma**k for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        if not gamma > 0:
            raise ValueError(f"ExponentialLR: gamma must be > 0, got {gamma!r} (e.g. 0.95)")
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    Decays smoothly from the initial lr to ``eta_min`` over ``T_max`` steps (PyTorch's closed
    form; past T_max it rises again along the cosine).

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> for _ in range(2): sched.step()
        >>> sched.get_last_lr()         # halfway: (1 + cos(pi/2)) / 2
        [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,  # noqa: N803
        last_epoch: int = -1,
    ) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0 steps, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr * (s + (e - s) * min(epoch, total_iters) / total_iters).

    Moves the factor linearly from ``start_factor`` s to ``end_factor`` e over
    ``total_iters`` steps, then holds it (PyTorch's ``LinearLR``).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        if not 0 < start_factor <= 1:
            raise ValueError(f"{name}: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"{name}: end_factor must be in [0, 1], got {end_factor!r}")
        if not isinstance(total_iters, int) or total_iters < 1:
            raise ValueError(
                f"{name}: the number of steps must be an int >= 1, got {total_iters!r}"
            )
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        frac = min(self.last_epoch, self.total_iters) / self.total_iters
        f = self.start_factor + (self.end_factor - self.start_factor) * frac
        return [b * f for b in self.base_lrs]


class LinearWarmup(LinearLR):
    """Warm up linearly from ``start_factor * lr`` to ``lr`` over ``warmup_steps`` steps.

    ``LinearLR`` with ``end_factor=1``: step it once per batch. Large learning rates (and
    Adam's early, noisy second-moment estimates) are safer after a warmup.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.Adam([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.LinearWarmup(opt, warmup_steps=4, start_factor=0.2)
        >>> lrs = []
        >>> for _ in range(6):
        ...     lrs.append(round(sched.get_last_lr()[0], 6)); sched.step()
        >>> lrs
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        start_factor: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        super().__init__(optimizer, start_factor, 1.0, warmup_steps, last_epoch)


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from ``milestones[i-1]`` on, each restarted at its milestone.

    Example: 100 warmup steps then cosine decay over 900::

        warm = LinearWarmup(opt, warmup_steps=100)
        cos = CosineAnnealingLR(opt, T_max=900)
        sched = SequentialLR(opt, [warm, cos], milestones=[100])
    """

    _skip_in_state = ("optimizer", "schedulers")

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                f"milestones, got {list(milestones)}"
            )
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("SequentialLR: every scheduler must drive the same optimizer")
        self.schedulers = list(schedulers)
        self.milestones = [int(m) for m in milestones]
        for group in optimizer.param_groups:
            group["lr"] = group.get("initial_lr", group["lr"])  # undo the schedulers' first step
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        i = bisect_right(self.milestones, self.last_epoch)
        start = self.milestones[i - 1] if i > 0 else 0
        sched = self.schedulers[i]
        sched.last_epoch = self.last_epoch - start
        lrs = sched.get_lr()
        sched._last_lr = list(lrs)
        return lrs

    def state_dict(self) -> dict:
        out = super().state_dict()
        out["schedulers"] = [s.state_dict() for s in self.schedulers]
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        for s, sd in zip(self.schedulers, state.pop("schedulers", [])):
            s.load_state_dict(sd)
        super().load_state_dict(state)


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
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        groups = optimizer.param_groups
        n = len(groups)
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
        self._phases = [
            {"end_step": e, "lr": lk, "momentum": mk} for e, lk, mk in zip(ends, lr_keys, mom_keys)
        ]
        if last_epoch == -1:
            for group, m in zip(groups, _per_group(name, "max_lr", max_lr, n)):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"{name}: cycle_momentum=True but {type(optimizer).__name__} has neither "
                    "momentum nor betas; pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                maxs = _per_group(name, "max_momentum", max_momentum, n)
                bases = _per_group(name, "base_momentum", base_momentum, n)
                for group, mx, bs in zip(groups, maxs, bases):
                    self._set_momentum(group, mx)
                    group["max_momentum"], group["base_momentum"] = mx, bs
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {t} times but total_steps is {self.total_steps}; "
                "raise total_steps (or epochs/steps_per_epoch) to cover the whole run"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._phases):
                end = phase["end_step"]
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start) if end != start else 1.0
                    a, b = phase["lr"]
                    lrs.append(self._anneal(group[a], group[b], pct))
                    if self.cycle_momentum:
                        ma, mb = phase["momentum"]
                        self._set_momentum(group, self._anneal(group[ma], group[mb], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for a while.

    Call ``step(metric)`` once per epoch with the validation loss (``mode="min"``) or
    accuracy (``mode="max"``). PyTorch's rules: the metric improves when
    ``metric < best * (1 - threshold)`` (mode min, threshold_mode "rel"; "abs": ``best -
    threshold``; mode max mirrors it). After more than ``patience`` epochs without
    improvement, ``lr = max(lr * factor, min_lr)`` (changes smaller than ``eps`` are
    skipped), then ``cooldown`` epochs pass before counting again.

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
        >>> for loss in [1.0, 1.0, 1.0]:
        ...     sched.step(loss)
        >>> sched.get_last_lr()
        [0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr=0.0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name} expects a glassnet optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(
                f"{name}: mode must be 'min' (losses) or 'max' (accuracy), got {mode!r}"
            )
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        if not 0 <= factor < 1:
            raise ValueError(f"{name}: factor must be in [0, 1) to reduce the lr, got {factor!r}")
        self.optimizer = optimizer
        self.min_lrs = _per_group(name, "min_lr", min_lr, len(optimizer.param_groups))
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self._last_lr = list(self.base_lrs)

    def is_better(self, current: float, best: float) -> bool:
        t, rel = self.threshold, self.threshold_mode == "rel"
        if self.mode == "min":
            return current < (best * (1 - t) if rel else best - t)
        return current > (best * (1 + t) if rel else best + t)

    def step(self, metrics=None) -> None:  # type: ignore[override]
        """Record this epoch's metric and reduce the lr if it has plateaued."""
        if metrics is None:
            raise TypeError("ReduceLROnPlateau.step needs the metric: sched.step(val_loss)")
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
