"""The standard deviation from a variance, with PyTorch's gradient at a zero deviation."""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of


class StdOfVar(Function):
    """y = sqrt(v) for a variance v;  dy/dv = 1 / (2 y), taken as 0 where y = 0 (PyTorch's
    std_backward: a constant input gets a zero gradient, not 0 * inf = nan)"""

    saves_output = True

    def forward(self, v):
        y = xp_of(v).sqrt(v)
        self.zero = y == 0
        return y

    def backward(self, ns, grad, v, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return ns.where(ns.const(self.zero), 0.0, grad / (2 * y))
