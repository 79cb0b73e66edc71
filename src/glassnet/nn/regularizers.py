"""Weight penalties added to the loss: L1, L2 and both (Keras's ``keras.regularizers``).

Two ways to use them:

- on a whole model: ``loss = data_loss + nn.regularizers.L2(1e-4)(model)`` penalizes every
  weight matrix and kernel (see :func:`penalized_parameters`: parameters named ``weight``,
  ``weight_*`` or ``*_weight`` with at least 2 dimensions; biases and the 1-D scales of
  BatchNorm/LayerNorm/GroupNorm are left alone, as they should be);
- per layer: ``nn.Linear(64, 32, kernel_regularizer=nn.regularizers.L2(1e-4))`` and add
  :func:`regularization_loss` ``(model)`` to the loss (the training loop does, and reports it
  apart from the data loss).

Conventions: ``L2(l2)`` is ``l2 * sum(w^2)`` (Keras's), so its gradient is ``2 * l2 * w``.
PyTorch's ``SGD(weight_decay=wd)`` adds ``wd * w`` to the gradient: it equals ``L2(wd / 2)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from glassnet.backend import xp_of
from glassnet.ops import abs as _abs
from glassnet.ops import sum as _sum
from glassnet.tensor import Tensor

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "Regularizer",
    "get",
    "penalized_parameters",
    "regularization_loss",
]


def _is_module(obj) -> bool:
    return hasattr(obj, "named_parameters") and hasattr(obj, "named_modules")


def _is_kernel_name(name: str) -> bool:
    return name == "weight" or name.startswith("weight_") or name.endswith("_weight")


def penalized_parameters(model) -> Iterator[tuple[str, Tensor]]:
    """Yield ``(dotted_name, parameter)`` for the weight matrices and kernels of ``model``.

    A parameter is penalized when its own name is ``weight``, ``weight_*`` (RNN
    ``weight_ih_l0``) or ``*_weight`` (``in_proj_weight``) and it has at least 2 dimensions:
    Linear, Conv, Embedding and recurrent weights. Biases and the 1-D ``weight`` of norm layers
    are excluded (shrinking a norm layer's scale towards 0 fights the normalization).
    """
    for name, p in model.named_parameters():
        if _is_kernel_name(name.rsplit(".", 1)[-1]) and p.ndim >= 2:
            yield name, p


class Regularizer:
    """Base class: ``reg(tensor)`` returns the penalty; ``reg(model)`` sums it over kernels.

    Subclasses implement ``penalty(tensor) -> Tensor`` (a scalar, differentiable).
    """

    def penalty(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define penalty()")

    def __call__(self, target) -> Tensor:
        if isinstance(target, Tensor):
            return self.penalty(target)
        if _is_module(target):
            tensors = [p for _, p in penalized_parameters(target)]
            what = f"{type(target).__name__} (it has no weight matrices or kernels)"
        elif isinstance(target, Iterable):
            tensors = list(target)
            what = "an empty list"
            if not all(isinstance(t, Tensor) for t in tensors):
                raise TypeError(f"{self!r}: expected tensors, got {[type(t) for t in tensors]}")
        else:
            raise TypeError(
                f"{self!r} expects a Tensor, a Module or a list of tensors, "
                f"got {type(target).__name__}"
            )
        if not tensors:
            raise ValueError(f"{self!r}: nothing to penalize in {what}")
        total = self.penalty(tensors[0])
        for t in tensors[1:]:
            total = total + self.penalty(t)
        return total

    def get_config(self) -> dict:
        """The constructor arguments, for saving in checkpoint metadata."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_coef(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r} (e.g. 1e-4)")
    return float(value)


class L1(Regularizer):
    r"""L1 penalty ``l1 * sum(|w|)``; gradient ``l1 * sign(w)`` (0 at w = 0).

    Pushes weights to exactly zero (sparse weights, feature selection).

    Example:
        >>> import glassnet as gn
        >>> w = gn.tensor([1.0, -2.0], requires_grad=True)
        >>> gn.nn.regularizers.L1(0.5)(w).item()
        1.5
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _check_coef("L1", "l1", l1)

    def penalty(self, x: Tensor) -> Tensor:
        return _sum(_abs(x)) * self.l1

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    r"""L2 penalty ``l2 * sum(w^2)`` (Keras's convention); gradient ``2 * l2 * w``.

    Shrinks all weights smoothly towards zero ("weight decay"). PyTorch's
    ``SGD(weight_decay=wd)`` equals ``L2(wd / 2)``; with Adam prefer ``AdamW``'s decoupled
    decay (see docs/regularization.md).

    Example:
        >>> import glassnet as gn
        >>> w = gn.tensor([1.0, -2.0], requires_grad=True)
        >>> gn.nn.regularizers.L2(0.5)(w).item()
        2.5
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _check_coef("L2", "l2", l2)

    def penalty(self, x: Tensor) -> Tensor:
        return _sum(x * x) * self.l2

    def get_config(self) -> dict:
        return {"l2": self.l2}


class L1L2(Regularizer):
    r"""Both penalties (elastic net): ``l1 * sum(|w|) + l2 * sum(w^2)``.

    Example:
        >>> import glassnet as gn
        >>> w = gn.tensor([1.0, -2.0])
        >>> gn.nn.regularizers.L1L2(l1=0.5, l2=0.5)(w).item()
        4.0
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check_coef("L1L2", "l1", l1)
        self.l2 = _check_coef("L1L2", "l2", l2)

    def penalty(self, x: Tensor) -> Tensor:
        return _sum(_abs(x)) * self.l1 + _sum(x * x) * self.l2

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier) -> Regularizer | None:
    """Resolve a layer's regularizer argument: None, a Regularizer, a callable on a tensor, or
    a name (``"l1"``, ``"l2"``, ``"l1_l2"``, with Keras's default coefficients)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key not in _BY_NAME:
            raise ValueError(
                f"unknown regularizer {identifier!r}; expected one of {sorted(_BY_NAME)} or an "
                "instance such as nn.regularizers.L2(1e-4)"
            )
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"a regularizer must be None, a name, a Regularizer or a callable, got "
        f"{type(identifier).__name__}"
    )


def regularization_loss(model) -> Tensor:
    """Sum of the penalties declared on layers (``kernel_regularizer``/``bias_regularizer``).

    Each module with a ``kernel_regularizer`` contributes ``reg(module.weight)``; with a
    ``bias_regularizer``, ``reg(module.bias)``. Add the result to the data loss; it is a
    0-d tensor that is 0 (and needs no grad) when no layer declares a penalty.

    Example:
        >>> import glassnet as gn
        >>> layer = gn.nn.Linear(2, 1, kernel_regularizer=gn.nn.regularizers.L2(0.5))
        >>> w = layer.weight.numpy()
        >>> bool(abs(regularization_loss(layer).item() - 0.5 * (w**2).sum()) < 1e-6)
        True
    """
    if not _is_module(model):
        raise TypeError(f"regularization_loss expects a Module, got {type(model).__name__}")
    total = None
    for _, module in model.named_modules():
        for attr, pname in (("kernel_regularizer", "weight"), ("bias_regularizer", "bias")):
            reg = get(module.__dict__.get(attr))
            if reg is None:
                continue
            p = module._parameters.get(pname)
            if p is None:
                continue
            term = reg(p)
            total = term if total is None else total + term
    if total is None:
        first = next(model.parameters(), None)
        xp = np if first is None else xp_of(first._data)
        return Tensor._make(xp.asarray(0.0, dtype=np.float32), False)
    return total
