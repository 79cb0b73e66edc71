"""``glassnet.optim.swa_utils``: Stochastic Weight Averaging and EMA, as ``torch.optim.swa_utils``.

- :class:`AveragedModel` keeps a copy of a model whose parameters are a running average of
  the model's: SWA (the equal-weight mean of every snapshot, the default) or an exponential
  moving average (``multi_avg_fn=get_ema_multi_avg_fn(decay)``).
- :class:`SWALR` anneals every group's lr to ``swa_lr`` over ``anneal_epochs`` steps.
- :func:`update_bn` recomputes the BatchNorm running statistics of the averaged model with
  one pass over the data (the averaged weights never saw those statistics).

The update rules (``n`` models averaged so far, ``W`` the model's current value)::

    SWA:  A <- A + (W - A) / (n + 1)            (A = W on the first update)
    EMA:  A <- decay * A + (1 - decay) * W      (A = W on the first update)

>>> import glassnet as gn
>>> model = gn.nn.Linear(2, 1)
>>> swa = AveragedModel(model)
>>> swa.update_parameters(model)
>>> int(swa.n_averaged)
1
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.nn.module import Module
from glassnet.optim.scheduler_base import LRScheduler, _format_param
from glassnet.tensor import Tensor

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _lerp_(start: Tensor, end: Tensor, weight: float) -> None:
    """start <- start + weight (end - start), in place, as PyTorch's CPU lerp rounds it (from
    ``end`` when weight >= 0.5, so weight 1 gives ``end`` exactly)."""
    diff = end - start
    if abs(weight) < 0.5:
        start.copy_(start + weight * diff)
    else:
        start.copy_(end - diff * (1.0 - weight))


def _is_float(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def get_ema_multi_avg_fn(decay: float = 0.999):
    """The EMA update of lists of tensors, in place: ``A <- decay A + (1 - decay) W``
    (PyTorch's ``get_ema_multi_avg_fn``); pass it as ``AveragedModel(multi_avg_fn=...)``."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged) -> None:
        with no_grad():
            if _is_float(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    _lerp_(p_ema, p_model, 1.0 - decay)
            else:  # integer buffers: the float blend, truncated by copy_ (PyTorch's rule)
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1.0 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """The SWA update of lists of tensors, in place: ``A <- A + (W - A) / (n + 1)``
    (PyTorch's ``get_swa_multi_avg_fn``)."""

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        with no_grad():
            if _is_float(averaged_param_list[0]):
                weight = 1.0 / (float(num_averaged) + 1.0)
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    _lerp_(p_avg, p_model, weight)
                return
            if isinstance(num_averaged, Tensor):
                raise RuntimeError(
                    "get_swa_multi_avg_fn: integer tensors cannot be averaged with a tensor "
                    "count (PyTorch's addcdiv refuses integer division); average only the "
                    "floating-point tensors, or use the default AveragedModel(avg_fn=None)"
                )
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                p_avg.add_(p_model - p_avg, alpha=1.0 / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """The EMA of one tensor: ``decay A + (1 - decay) W`` (returns a new tensor)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The running mean of one tensor: ``A + (W - A) / (n + 1)`` (returns a new tensor)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _group_by_device_and_dtype(averaged: list, current: list) -> list:
    """[(device, averaged tensors, current tensors)] per (device, dtype), in first-seen order."""
    groups: dict = {}
    for a, c in zip(averaged, current):
        key = (str(a.device), str(a.dtype))
        groups.setdefault(key, (a.device, [], []))
        groups[key][1].append(a)
        groups[key][2].append(c)
    return list(groups.values())


class _BothAveragingFunctions(ValueError, AssertionError):
    """PyTorch asserts here (AssertionError); glassnet's argument errors are ValueErrors: both."""


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s
    (PyTorch's ``torch.optim.swa_utils.AveragedModel``).

    Call ``update_parameters(model)`` after the optimizer steps you want averaged; the first
    call copies the weights, each later one averages them in with ``avg_fn`` (one tensor at a
    time, returns the new value), ``multi_avg_fn`` (lists of tensors, in place) or, when both
    are None, the equal-weight running mean (SWA). ``forward`` runs the copy. The buffers
    (BatchNorm statistics) are copied from ``model`` unless ``use_buffers=True``, which
    averages them too. ``state_dict()`` keys are ``n_averaged`` and ``module.<name>``.

    Args:
        model: the model to average (deep-copied).
        device: where to keep the copy (default: where ``model`` is).
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> new averaged``.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` in place.
        use_buffers: average the buffers too (default: copy them).
    """

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn=None,
        multi_avg_fn=None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise _BothAveragingFunctions(
                "AveragedModel: Only one of avg_fn and multi_avg_fn should be provided "
                "(avg_fn maps one tensor, multi_avg_fn updates lists in place)"
            )
        if not isinstance(model, Module):
            raise TypeError(
                f"AveragedModel expects a glassnet nn.Module, got {type(model).__name__}"
            )
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        from glassnet.creation import tensor

        self.register_buffer("n_averaged", tensor(0, dtype=np.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers with ``use_buffers``) in."""
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged, current = [], []
        copy_param = bool(self.n_averaged == 0)
        with no_grad():
            for p_averaged, p_model in zip(self_param, model_param):
                p_model_ = p_model.detach().to(p_averaged.device)
                averaged.append(p_averaged.detach())
                current.append(p_model_)
                if copy_param:
                    p_averaged.detach().copy_(p_model_)
            if int(self.n_averaged) > 0:
                self._average(averaged, current)
            if not self.use_buffers:  # keep the buffers in sync with the source model
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged.add_(1)

    def _average(self, averaged: list, current: list) -> None:
        if self.multi_avg_fn is None and self.avg_fn is not None:
            for p_averaged, p_model in zip(averaged, current):
                n_averaged = self.n_averaged.to(p_averaged.device)
                p_averaged.copy_(self.avg_fn(p_averaged, p_model, n_averaged))
            return
        for device, self_params, model_params in _group_by_device_and_dtype(averaged, current):
            n_averaged = self.n_averaged.to(device)
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(self_params, model_params, n_averaged)
            elif device.type == "cuda":  # PyTorch's foreach path on accelerators
                get_swa_multi_avg_fn()(self_params, model_params, n_averaged)
            else:
                avg_fn = get_swa_avg_fn()
                for p_averaged, p_model in zip(self_params, model_params):
                    p_averaged.copy_(avg_fn(p_averaged, p_model, n_averaged))


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass over
    ``loader`` (PyTorch's ``update_bn``): the statistics are reset, then each batch (a tensor,
    or the first item of a list/tuple) runs through ``model`` in training mode with
    ``momentum=None`` (the cumulative mean of all batches); momenta and the train/eval mode
    are restored. No gradient is recorded. InstanceNorm layers are left alone, as PyTorch's.
    """
    from glassnet.nn.layers.norm import _BatchNorm, _InstanceNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:  # noqa: A001 - PyTorch's name
            if isinstance(input, (list, tuple)):
                input = input[0]  # noqa: A001
            if device is not None:
                input = input.to(device)  # noqa: A001
            model(input)
    for bn_module, momentum in momenta.items():
        bn_module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal every group's lr from its current value to ``swa_lr`` over ``anneal_epochs``
    steps, then hold it (PyTorch's ``SWALR``).

    With ``alpha(t) = (1 - cos(pi t)) / 2`` ("cos") or ``t`` ("linear") and
    ``t = clip(step / max(1, anneal_epochs), 0, 1)``, each step sets
    ``lr = swa_lr * alpha(t) + lr_0 * (1 - alpha(t))``, where ``lr_0`` is recovered from the
    group's current lr and the previous step's alpha (so the schedule chains with others).

    Args:
        optimizer: the optimizer whose lr is set.
        swa_lr: the final lr, one number or one per parameter group.
        anneal_epochs: steps of annealing (an int >= 0; 0 switches at once).
        anneal_strategy: "cos" or "linear".
        last_epoch: the index of the last step (-1 for a fresh schedule).
    """

    def __init__(
        self,
        optimizer,
        swa_lr,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if (
            isinstance(anneal_epochs, bool)
            or not isinstance(anneal_epochs, int)
            or (anneal_epochs < 0)
        ):
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list[float]:
        """The next lr of every group (see the class docstring)."""
        self._warn_get_lr_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs)
        ]

    def state_dict(self) -> dict:
        """Every attribute but the optimizer and the anneal function (PyTorch's keys)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the attributes from ``state_dict()``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
