"""Learning-rate schedules: PyTorch's ``torch.optim.lr_scheduler``, chainable.

Call ``scheduler.step()`` once per epoch (or per batch for OneCycleLR, CyclicLR and warmups)
*after* ``optimizer.step()``. As in PyTorch, each ``step()`` derives the new lr from the
group's **current** lr (ExponentialLR: ``lr * gamma``), so schedulers compose: two on one
optimizer multiply their factors, and a manual ``group["lr"] = ...`` between steps is kept.
With nothing else changing the lr the sequence equals the closed form given in each
docstring; ``step(epoch)`` (deprecated) jumps to that closed form. LambdaLR, OneCycleLR,
CyclicLR and CosineAnnealingWarmRestarts are closed forms in PyTorch too (they overwrite).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from glassnet.optim.optimizer import Optimizer
from glassnet.optim.scheduler_base import (
    LRScheduler,
    _format_param,
    _group_values,
    _lambdas_state,
    _load_lambdas_state,
)
from glassnet.optim.schedulers_compose import ChainedScheduler, ReduceLROnPlateau, SequentialLR
from glassnet.optim.schedulers_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "LinearWarmup",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


def _lambdas(name: str, optimizer: Optimizer, lr_lambda) -> list:
    fns = _format_param("lr_lambda", optimizer, lr_lambda)
    if not all(callable(f) for f in fns):
        raise TypeError(f"{name}: lr_lambda must be a function of the epoch (or a list of them)")
    return fns


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function, or a list of one per group.

    A closed form in PyTorch too: it overwrites other changes to the lr. ``state_dict()``
    saves functions as None (a callable object's ``__dict__`` is saved).

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
        >>> sched.step(); sched.get_last_lr()
        [0.5]
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1
    ) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        return [b * f(self.last_epoch) for f, b in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        return _lambdas_state(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_lambdas_state(self, state_dict)


class MultiplicativeLR(LRScheduler):
    """lr = lr * lr_lambda(epoch) at every step after the first (chainable).

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.5)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1
    ) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        groups = self.optimizer.param_groups
        return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, groups)]

    def state_dict(self) -> dict:
        return _lambdas_state(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_lambdas_state(self, state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps.

    Closed form: lr = initial_lr * gamma ** (epoch // step_size).

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
        if step_size == 0:
            raise ValueError("StepLR: step_size must be a nonzero number of steps, got 0")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone (twice at a milestone listed twice).

    Closed form: lr = initial_lr * gamma ** (number of milestones <= epoch).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        if self.last_epoch not in self.milestones:
            return _group_values(self.optimizer, "lr")
        k = self.milestones[self.last_epoch]
        return [g["lr"] * self.gamma**k for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        k = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma**k for b in self.base_lrs]

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        # Through JSON the Counter's keys come back as strings.
        self.milestones = Counter(
            {(int(k) if isinstance(k, str) else k): v for k, v in dict(self.milestones).items()}
        )


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` until step ``total_iters``, then restore it.

    Closed form: lr = initial_lr * (factor if epoch < total_iters else 1).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor!r}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in groups]
        if self.last_epoch != self.total_iters:
            return _group_values(self.optimizer, "lr")
        if self.factor == 0:
            raise ValueError(
                "ConstantLR: factor=0 cannot be undone at total_iters (lr / 0); use "
                "LambdaLR(opt, lambda e: 0.0 if e < total_iters else 1.0)"
            )
        return [g["lr"] * (1.0 / self.factor) for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Move the lr factor linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then hold it (chainable: each step multiplies by the ratio of
    consecutive factors).

    Closed form: lr = initial_lr * (s + (e - s) * min(epoch, total_iters) / total_iters).
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
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(f"{name}: start_factor must be in (0, 1], got {start_factor!r}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"{name}: end_factor must be in [0, 1], got {end_factor!r}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        d = self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [g["lr"] * ratio for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        f = self.start_factor + (self.end_factor - self.start_factor) * frac
        return [b * f for b in self.base_lrs]


class LinearWarmup(LinearLR):
    """Warm up linearly from ``start_factor * lr`` to ``lr`` over ``warmup_steps`` steps.

    ``LinearLR`` with ``end_factor=1`` (a glassnet name): step it once per batch. Large
    learning rates (and Adam's early, noisy second-moment estimates) are safer after a warmup.

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
        if not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise ValueError(
                f"LinearWarmup: warmup_steps must be an int >= 1, got {warmup_steps!r}"
            )
        super().__init__(optimizer, start_factor, 1.0, warmup_steps, last_epoch)


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step. Closed form: lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr polynomially to 0 over ``total_iters`` steps, then hold it.

    Closed form: lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power;
    chainable: each step multiplies by ((1 - e/T) / (1 - (e-1)/T)) ** power.
    """

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        t, e = self.total_iters, self.last_epoch
        decay = ((1.0 - e / t) / (1.0 - (e - 1) / t)) ** self.power
        return [g["lr"] * decay for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * (1.0 - frac) ** self.power for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr to ``eta_min`` over ``T_max`` steps.

    Closed form: lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
    (past T_max it rises again along the cosine). ``step()`` uses PyTorch's recursive form::

        lr_e = eta_min + (lr_{e-1} - eta_min) * (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T))

    (at the bottom of a period, where that ratio is 0/0, it adds
    ``(initial_lr - eta_min) * (1 - cos(pi / T)) / 2`` instead).

    Example:
        >>> import glassnet as gn
        >>> opt = gn.optim.SGD([gn.nn.Parameter(gn.zeros(1))], lr=1.0)
        >>> sched = gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> for _ in range(2): sched.step()
        >>> [round(v, 6) for v in sched.get_last_lr()]   # halfway: (1 + cos(pi/2)) / 2
        [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_max == 0:
            raise ValueError("CosineAnnealingLR: T_max must be a nonzero number of steps, got 0")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_get_lr_outside_step()
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and e > 0:
            return [lo + (b - lo) * (1 + math.cos(e * math.pi / t)) / 2 for b in self.base_lrs]
        if (e - 1 - t) % (2 * t) == 0:
            return [
                g["lr"] + (b - lo) * (1 - math.cos(math.pi / t)) / 2
                for b, g in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
        return [ratio * (g["lr"] - lo) + lo for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]
