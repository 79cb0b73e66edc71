"""Batch normalization whose statistics cover the batches of every process (PyTorch's
``SyncBatchNorm``), given a sum all-reduce over the processes.

Per channel c, over the N_r x (spatial) values of each rank r, M = sum_r M_r values in all::

    mean = (sum_r sum x) / M,   var = (sum_r sum (x - mean)^2) / M   (biased; two reductions,
                                                                      not E[x^2] - mean^2)
    xhat = (x - mean) / sqrt(var + eps),   y = xhat w + b

Backward (g = dL/dy w), with the two per-channel sums reduced over the processes::

    dL/dx = rstd (g - S_g / M - xhat S_gx / M),  S_g = sum_r sum g,  S_gx = sum_r sum g xhat
    dL/dw, dL/db: this process's sums only, as PyTorch: the data-parallel wrapper averages
    parameter gradients itself.
"""

from __future__ import annotations

from glassnet.backend import xp_of
from glassnet.ops.normalization import _AffineNorm

__all__: list[str] = []


class SyncBatchNorm(_AffineNorm):
    """Batch norm with statistics all-reduced over the processes (see the module docstring):
    ``reduce(array)`` sums an array over the processes (in place, returning it)."""

    register = False  # a layer's op, not a public function

    def forward(self, x, *params, reduce, eps, has_weight, has_bias, stats):
        xp = xp_of(x)
        self.reduce, self.has_weight, self.has_bias = reduce, has_weight, has_bias
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        local = x.size // x.shape[1]
        first = reduce(xp.concatenate([x.sum(axis=self.axes), xp.asarray([local], x.dtype)]))
        count = float(first[-1])
        mean = (first[:-1] / count).astype(x.dtype).reshape(self.cshape)
        centered = x - mean
        var = reduce((centered * centered).sum(axis=self.axes)) / count
        self.rstd = (1 / xp.sqrt(var + eps)).astype(x.dtype).reshape(self.cshape)
        self.count = count
        self.xhat = centered * self.rstd
        stats.update(mean=mean.reshape(-1), var=var.astype(x.dtype), count=count)
        return self._affine(self.xhat, params, self.cshape)

    def backward(self, ns, grad, x, *params):
        if not ns.eager:
            raise NotImplementedError(
                "SyncBatchNorm: a second derivative (create_graph=True) through the "
                "synchronized statistics is not supported; use BatchNorm for it"
            )
        w = self._weight(ns, params, self.cshape)
        g = grad if w is None else grad * w
        xp, channels = xp_of(g), g.shape[1]
        sums = xp.concatenate([g.sum(axis=self.axes), (g * self.xhat).sum(axis=self.axes)])
        sums = self.reduce(sums) / self.count
        mean_g, mean_gx = (
            s.astype(g.dtype).reshape(self.cshape) for s in (sums[:channels], sums[channels:])
        )
        dx = (g - mean_g - self.xhat * mean_gx) * self.rstd
        return (dx, *self._param_grads(ns, grad, self.xhat, self.axes, (channels,)))
