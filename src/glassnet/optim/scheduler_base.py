"""The base of the learning-rate schedules (:mod:`glassnet.optim.lr_scheduler`): an
``LRScheduler`` sets every group's ``lr`` from ``last_epoch`` in closed form."""

from __future__ import annotations

from glassnet.optim.optimizer import Optimizer


def _per_group(name: str, what: str, value, n: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: expected {n} values of {what} (one per group), got {value}")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr.

    Subclasses implement ``get_lr() -> list[float]`` from ``self.base_lrs`` (each group's
    ``initial_lr``) and ``self.last_epoch``.

    Attributes:
        last_epoch: steps taken so far (0 right after construction).
        base_lrs: the learning rate of each group when the schedule started.
    """

    _skip_in_state: tuple = ("optimizer",)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name} expects a glassnet optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{name}: last_epoch={last_epoch} resumes a schedule, but parameter "
                        f"group {i} has no 'initial_lr'; load the optimizer state first or use "
                        "last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance one step and set the learning rate of every group."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions): numbers and lists, JSON-friendly."""
        return {k: v for k, v in self.__dict__.items() if k not in self._skip_in_state}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
