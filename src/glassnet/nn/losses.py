"""Loss modules: thin ``Module`` wrappers of the functional losses, with PyTorch's arguments.

``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, target)``. Each forward calls the
``glassnet.functional`` loss of the same name; its docstring holds the formula and gradient.
``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (per-element losses).
A class ``weight`` is registered as a buffer, so ``model.to(...)`` moves it too.

Constructor arguments follow PyTorch's positional order, including its deprecated
``size_average`` and ``reduce``: when either is given they set ``reduction`` by PyTorch's
legacy rule (None counts as True; ``reduce=False`` gives "none", else "mean" if
``size_average`` else "sum") with a DeprecationWarning.
"""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._simple import as_tensor_or_none
from glassnet.nn.module import Module
from glassnet.ops._loss_checks import legacy_reduction
from glassnet.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce, reduction, stacklevel=4)
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction

    def _set_tensor(self, name: str, value) -> None:
        self.register_buffer(name, as_tensor_or_none(value))

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of raw logits (N, C) (or (N, C, d1, ...)) against class indices
    (N,) or class probabilities (N, C).

    l_n = -w_{t_n} log softmax(x_n)_{t_n}; with label_smoothing e the target becomes
    (1 - e) one_hot + e / C. dl/dx_n = w_{t_n} (softmax(x_n) - one_hot(t_n)). "mean" divides by
    the summed weights of non-ignored targets (PyTorch).

    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> loss = nn.CrossEntropyLoss()(gn.zeros(2, 4), gn.tensor([1, 3]))
    >>> round(loss.item(), 4)   # log(4)
    1.3863
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}"
            )
        self._set_tensor("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002 - PyTorch's name
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (use after ``LogSoftmax``):
    l_n = -w_{t_n} x_{n, t_n}; dl/dx_{n, t_n} = -w_{t_n}."""

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_tensor("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)  # fmt: skip


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities p in [0, 1]:
    l = -w [t log p + (1 - t) log(1 - p)] (logs clamped at -100, as PyTorch);
    dl/dp = w (p - t) / (p (1 - p)). Prefer ``BCEWithLogitsLoss`` (more stable)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._set_tensor("weight", weight)

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy of logits x in one stable op:
    l = w [pw t softplus(-x) + (1 - t) softplus(x)]; for pw = 1, dl/dx = w (sigmoid(x) - t).
    ``pos_weight`` (one per class, last axis) weights the positive term.

    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> round(nn.BCEWithLogitsLoss()(gn.zeros(3), gn.ones(3)).item(), 4)   # log 2
    0.6931
    """

    def __init__(
        self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
        pos_weight=None
    ) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self._set_tensor("weight", weight)
        self._set_tensor("pos_weight", pos_weight)

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)  # fmt: skip


class MSELoss(_Loss):
    """Mean squared error: l = (x - t)^2; dl/dx = 2 (x - t) (divided by the count for "mean").

    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> nn.MSELoss()(gn.tensor([1.0, 3.0]), gn.tensor([0.0, 0.0])).item()
    5.0
    """

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: l = |x - t|; dl/dx = sign(x - t) (0 at x = t)."""

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """l = 0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta), d = x - t;
    dl/dx = d, or delta sign(d) beyond delta. Robust regression: quadratic near 0, linear
    for outliers."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = delta

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"delta={self.delta}"]))


class SmoothL1Loss(_Loss):
    """l = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = x - t (Huber / beta);
    dl/dx = d / beta, or sign(d) beyond beta."""

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"beta={self.beta}"]))


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence with ``input`` = log q (log-probabilities) and target p:
    l = p (log p - input) (``log_target=True``: target given as log p); dl/dinput = -p.
    Use ``reduction="batchmean"`` for the true KL per sample (PyTorch's "mean" divides by
    every element, not by the batch size)."""

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
    ) -> None:
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__(reduction="mean")
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
