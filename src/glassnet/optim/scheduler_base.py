"""The base of the learning-rate schedules (:mod:`glassnet.optim.lr_scheduler`).

PyTorch's schedulers are *chainable*: ``step()`` derives each group's new lr from the lr the
group has now (``lr * gamma`` for ExponentialLR), so two schedulers on one optimizer compose
and a manual ``group["lr"] = ...`` between steps is kept. The deprecated ``step(epoch)`` sets
``last_epoch = epoch`` and uses the scheduler's closed form (``_get_closed_form_lr``: a
function of ``base_lrs`` and ``last_epoch`` only) where it has one.
"""

from __future__ import annotations

import warnings

from glassnet.optim.optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "scheduler.step(epoch) is deprecated (as in PyTorch): it sets last_epoch=epoch and uses "
    "the scheduler's closed form where it has one instead of the chainable form; call "
    "scheduler.step() without an argument once per epoch (or batch)"
)


def _format_param(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups: {name} has "
                f"{len(value)} values, the optimizer has {n} parameter groups"
            )
        return list(value)
    return [value] * n


def _group_values(optimizer: Optimizer, key: str) -> list:
    """``[group[key] for every group]`` (KeyError where a group lacks the key)."""
    return [group[key] for group in optimizer.param_groups]


def _check_optimizer(name: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} expects a glassnet optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class (PyTorch's ``LRScheduler``): ``step()`` advances ``last_epoch`` and sets
    every group's lr to ``get_lr()``.

    Subclasses implement ``get_lr()`` in the chainable form (from each group's *current*
    ``lr``; ``self._is_initial`` is True during the step made by the constructor) and, where
    a closed form exists, ``_get_closed_form_lr()`` (from ``self.base_lrs`` and
    ``self.last_epoch``), which ``step(epoch)`` uses.

    Construction with ``last_epoch=-1`` records each group's ``initial_lr`` (kept if already
    there) and makes the initial step (``last_epoch`` becomes 0); ``last_epoch >= 0`` resumes
    a schedule and needs ``initial_lr`` in every group (a loaded optimizer state has it).

    Attributes:
        last_epoch: steps taken so far (0 right after construction).
        base_lrs: each group's ``initial_lr`` when the schedule started.
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming scheduler with last_epoch >= 0 ({type(self).__name__}, "
                        f"last_epoch={last_epoch}): load the optimizer's state_dict first "
                        "(it holds initial_lr), or use last_epoch=-1 for a fresh run"
                    )
        self.base_lrs = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and make the constructor's step (in initial mode)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The next lr of every group (called by ``step()``; read ``get_last_lr()`` instead)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def _warn_get_lr_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()` (get_lr() computes the next step's lr from the current one)",
                UserWarning,
                stacklevel=3,
            )

    def step(self, epoch: int | None = None) -> None:
        """Advance one step and set the learning rate of every group.

        ``step(epoch)`` (deprecated, as in PyTorch) sets ``last_epoch = epoch`` and uses the
        closed form where the scheduler has one.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(
                f"{type(self).__name__}: the optimizer has {len(groups)} parameter groups but "
                f"the scheduler was built for {len(values)}; build the scheduler after the "
                "last add_param_group"
            )
        for group, lr in zip(groups, values):
            group["lr"] = float(lr)
        self._last_lr = _group_values(self.optimizer, "lr")

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (PyTorch's keys), numbers and lists."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the attributes from ``state_dict()`` (the optimizer is not touched)."""
        self.__dict__.update(state_dict)


def _lambdas_state(sched, skip: tuple = ("optimizer", "lr_lambdas")) -> dict:
    """state_dict of LambdaLR/MultiplicativeLR: a function is saved as None, a callable
    object as a copy of its ``__dict__`` (PyTorch's rule)."""
    import types

    out = {k: v for k, v in sched.__dict__.items() if k not in skip}
    out["lr_lambdas"] = [
        None if isinstance(fn, types.FunctionType) else dict(fn.__dict__) for fn in sched.lr_lambdas
    ]
    return out


def _load_lambdas_state(sched, state_dict: dict) -> None:
    state = dict(state_dict)
    saved = state.pop("lr_lambdas", [])
    sched.__dict__.update(state)
    for fn, attrs in zip(sched.lr_lambdas, saved):
        if attrs is not None:
            fn.__dict__.update(attrs)
