"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``."""

from __future__ import annotations

import numpy as np

import glassnet.functional as F
from glassnet.autograd.grad_mode import no_grad
from glassnet.creation import ones, zeros
from glassnet.nn.layers._validate import (
    check_channels,
    check_float_input,
    check_positive,
    check_rank,
)
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: parameters, buffers, the running-statistics update."""

    _ranks: tuple = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(num_features, "num_features", name)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:  # bias=False: a scale without shift (PyTorch 2.13's keyword)
            self.weight = Parameter(ones(num_features))
            if bias:
                self.bias = Parameter(zeros(num_features))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch counter 0."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.fill_(0.0)
                self.running_var.fill_(1.0)
                self.num_batches_tracked.fill_(0)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def _check_input(self, x: Tensor) -> None:
        name = self._name()
        check_float_input(x, name, self.weight if self.affine else self.running_mean)
        check_rank(x, name, self._ranks, self._layout)
        check_channels(x, name, self.num_features, self._layout)
        per_channel = x.numel() // self.num_features
        if self.training and per_channel <= 1:
            raise ValueError(
                f"{name} got input of shape {tuple(x.shape)}: training needs more than 1 value "
                "per channel to compute a batch variance; use a batch of at least 2 or call "
                "model.eval() to use the running statistics"
            )

    def _count_batch(self) -> float:
        """The running statistics' update factor for this step: ``momentum``, or 1 / batches
        seen with ``momentum=None`` (a cumulative average); counts the batch in training."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average of all batches so far
                factor = 1.0 / int(self.num_batches_tracked.item())
        return factor

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        factor = self._count_batch()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


_BN_MATH = """
    Math, per channel c over the batch (and spatial) axes, in training:
    mu = mean(x), s2 = mean((x - mu)^2) (biased), x_hat = (x - mu) / sqrt(s2 + eps),
    y = gamma x_hat + beta. The running statistics are updated as
    running_mean <- (1 - momentum) running_mean + momentum mu and
    running_var <- (1 - momentum) running_var + momentum s2 * m / (m - 1) (unbiased, m values
    per channel); ``momentum=None`` uses the cumulative average (momentum = 1 / batches seen).
    In eval mode mu, s2 are the running statistics. Backward (training):
    dL/dx = gamma / sqrt(s2 + eps) (g - mean(g) - x_hat mean(g x_hat)) with g = dL/dy.
    Parameters gamma = 1, beta = 0 at init; buffers running_mean, running_var,
    num_batches_tracked (saved in the state_dict under PyTorch's names).
"""


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C (Ioffe & Szegedy 2015).

    Use it after Linear/Conv1d layers to keep activations well scaled and speed up training.
    """

    __doc__ = (
        (__doc__ or "")
        + _BN_MATH
        + """
    >>> import glassnet as gn
    >>> bn = gn.nn.BatchNorm1d(3)
    >>> y = bn(gn.randn(16, 3))
    >>> bool(abs(y.numpy().mean(axis=0)).max() < 1e-5)   # each channel centred
    True
    >>> int(bn.num_batches_tracked.item())
    1
    """
    )

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) images, per channel C (statistics over N, H, W).

    Use it between Conv2d and the activation in CNNs.
    """

    __doc__ = (
        (__doc__ or "")
        + _BN_MATH
        + """
    >>> import glassnet as gn
    >>> gn.nn.BatchNorm2d(8)(gn.randn(4, 8, 5, 5)).shape
    (4, 8, 5, 5)
    """
    )

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` axes of each sample (Ba et al. 2016).

    Use it in Transformers and RNNs: unlike BatchNorm it does not depend on the batch.

    Math: mu and s2 (biased) over the normalized axes, x_hat = (x - mu) / sqrt(s2 + eps),
    y = gamma x_hat + beta (gamma, beta of shape ``normalized_shape``, init 1 and 0);
    dL/dx = (1 / sqrt(s2 + eps)) (g - mean(g) - x_hat mean(g x_hat)) with g = gamma dL/dy.

    >>> import glassnet as gn
    >>> ln = gn.nn.LayerNorm(4)
    >>> y = ln(gn.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> [round(v, 3) for v in y.numpy()[0].tolist()]
    [-1.342, -0.447, 0.447, 1.342]
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        for n in self.normalized_shape:
            check_positive(n, "normalized_shape", "LayerNorm")
        if eps <= 0:
            raise ValueError(f"LayerNorm: eps must be > 0, got {eps}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        name = f"LayerNorm({self.normalized_shape})"
        check_float_input(x, name, self.weight)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"{name} got input of shape {tuple(x.shape)}: its last {k} axes must be "
                f"{self.normalized_shape}; check the feature size of the layer before it"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups and normalize each group of each sample
    over its channels and spatial positions (Wu & He 2018); works with any batch size.

    Math: for sample n and group g, mu and s2 (biased) over the group's C/G channels and all
    positions, y = gamma_c (x - mu) / sqrt(s2 + eps) + beta_c (per-channel gamma = 1, beta = 0
    at init). ``num_groups=1`` is LayerNorm over (C, H, W); ``num_groups=C`` is InstanceNorm.

    >>> import glassnet as gn
    >>> gn.nn.GroupNorm(2, 4)(gn.randn(3, 4, 5)).shape
    (3, 4, 5)
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
        *, bias: bool = True
    ) -> None:  # fmt: skip
        super().__init__()
        check_positive(num_groups, "num_groups", "GroupNorm")
        check_positive(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups}); divisors of {num_channels} are "
                f"{[d for d in range(1, num_channels + 1) if num_channels % d == 0]}"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine,
        )  # fmt: skip
        if affine:
            self.weight = Parameter(ones(num_channels))
            if bias:
                self.bias = Parameter(zeros(num_channels))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        name = f"GroupNorm({self.num_groups}, {self.num_channels})"
        check_float_input(x, name, self.weight)
        check_rank(x, name, tuple(range(2, 8)), "(N, C, *)")
        check_channels(x, name, self.num_channels, "(N, C, *)")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d/2d/3d: BatchNorm's parameters, buffers and checks, with
    PyTorch's instance-norm defaults (no affine, no running statistics) and statistics per
    sample."""

    _spatial = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        name = self._name()
        check_float_input(x, name, self.weight)
        k = self._spatial
        check_rank(x, name, (k + 1, k + 2), self._layout)
        unbatched = x.ndim == k + 1
        if unbatched:
            x = x.unsqueeze(0)
        check_channels(x, name, self.num_features, self._layout)
        # PyTorch: running statistics normalize only in eval mode when tracked; momentum=None
        # leaves them as they are (0.0), and num_batches_tracked is not counted here
        out = F.instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            use_input_stats=self.training or not self.track_running_stats,
            momentum=0.0 if self.momentum is None else self.momentum, eps=self.eps,
        )  # fmt: skip
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L): each sample's channel over its length
    (Ulyanov et al. 2016). ``affine`` adds per-channel gamma/beta; ``track_running_stats``
    keeps running statistics, used in eval mode.

    >>> import glassnet as gn
    >>> gn.nn.InstanceNorm1d(3)(gn.randn(2, 3, 5)).shape
    (2, 3, 5)
    """

    _spatial, _layout = 1, "(N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) images: each sample's channel over
    its positions (style transfer, GANs). Math: y = gamma_c (x - mu_nc) / sqrt(s2_nc + eps)
    + beta_c with mu_nc, s2_nc (biased) over H, W."""

    _spatial, _layout = 2, "(N, C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) volumes."""

    _spatial, _layout = 3, "(N, C, D, H, W)"
