"""How a training loop is wired, as the watch sees it: which parameters the optimizer steps,
which are frozen (``requires_grad=False``) or left out of the optimizer, which modules behave
differently in training and eval mode (dropout, batch norm), how many optimizer steps ran
with the model in eval mode, and how many found no gradient at all.

Everything here is read once at the start (parameter sets) or counted with a Python
attribute test per step: no device reads.
"""

from __future__ import annotations

_MODE_MODULES = ("Dropout", "BatchNorm", "InstanceNorm")  # training != eval behaviour


class Wiring:
    """What the optimizer trains and how the loop ran it (see the module docstring).

    Attributes:
        stepped: names of the parameters the optimizer updates (all of the model's when the
            optimizer is unknown).
        unstepped: names of parameters that get gradients but are in no param group.
        frozen: names of parameters with ``requires_grad=False``.
        sizes: number of elements of each parameter, by name.
        mode_modules: modules whose output depends on ``model.train()`` / ``model.eval()``.
        eval_steps: optimizer steps taken while the model was in eval mode.
        gradless_steps: measured steps where no parameter held a gradient (``None``).
        steps_before_backward: steps taken before the backward of the step's loss.
        batch: the batch size of the first sampled classification batch.
        summed: the last loss op summed over the batch (``reduction="sum"``).
    """

    def __init__(self, model, optimizer, named: list):
        groups = getattr(optimizer, "param_groups", None)
        ids = {id(p) for g in groups for p in g["params"]} if groups else None
        self.sizes = {n: int(p.numel()) for n, p in named}
        self.frozen = [n for n, p in named if not p.requires_grad]
        self.unstepped = [n for n, p in named if p.requires_grad and ids is not None
                          and id(p) not in ids]  # fmt: skip
        self.stepped = {n for n, p in named if ids is None or id(p) in ids}
        self.mode_modules = [f"{n} ({type(m).__name__})" for n, m in model.named_modules()
                             if type(m).__name__.startswith(_MODE_MODULES)]  # fmt: skip
        self.eval_steps = 0
        self.gradless_steps = 0
        self.steps_before_backward = 0  # optimizer.step() before its loss's backward()
        self.batch: int | None = None
        self.summed = False  # the loss op's reduction is "sum"

    def share(self, names: list) -> float:
        """The share of the model's parameter elements held by ``names``."""
        total = sum(self.sizes.values())
        return sum(self.sizes[n] for n in names) / total if total else 0.0
