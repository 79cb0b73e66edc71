"""Matrix multiplication with batching and broadcasting (NumPy ``matmul`` semantics)."""

from __future__ import annotations

import math

from glassnet.autograd.function import Function
from glassnet.backend.parallel import product
from glassnet.ops._util import pair
from glassnet.tensor import Tensor

__all__ = ["matmul"]


def _rows(ns, a):
    """``a`` with its leading axes merged into rows (no -1: an axis may be empty)."""
    return ns.reshape(a, (math.prod(a.shape[:-1]), a.shape[-1]))


def _matmul(a, b):  # tensors under create_graph (their @ records the op)
    return a @ b


class Matmul(Function):
    """Y = A B  (batched over leading axes);  dL/dA = dL/dY B^T,  dL/dB = A^T dL/dY

    1-D operands follow NumPy: a vector on the left is a row (1, n), on the right a column
    (n, 1), and the added axis is removed from the result.
    """

    def forward(self, a, b):
        if a.ndim == 2 and b.ndim == 2:
            return product(a, b)  # small products on one BLAS thread (backend.parallel)
        if a.ndim != 1 and b.ndim != 1:
            return a @ b
        A = a[None, :] if a.ndim == 1 else a
        B = b[:, None] if b.ndim == 1 else b
        y = A @ B
        if b.ndim == 1:
            y = y[..., 0]
        if a.ndim == 1:
            y = y[..., 0, :] if b.ndim != 1 else y[..., 0]
        return y

    def backward(self, ns, grad, a, b):
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # plain matrices: the hot path
            mm = product if ns.eager else _matmul
            return (mm(grad, b.T) if need_a else None), (mm(a.T, grad) if need_b else None)
        A = ns.reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
        B = ns.reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = ns.reshape(g, (*g.shape, 1))
        if a.ndim == 1:
            g = ns.reshape(g, (*g.shape[:-1], 1, g.shape[-1]))
        ga = gb = None
        if need_a:
            ga = g @ ns.swapaxes(B, -1, -2)
            if a.ndim == 1:  # sum the broadcast batch axes and the added row
                ga = ns.reshape(ns.sum(_rows(ns, ga), 0), a.shape)
        if need_b:
            if B.ndim == 2 and A.ndim > 2:
                # fold the batch axes into rows: one GEMM instead of a batched one plus a sum
                gb = _rows(ns, A).T @ _rows(ns, g)
            else:
                gb = ns.swapaxes(A, -1, -2) @ g
            if b.ndim == 1:
                gb = ns.reshape(gb, gb.shape[:-1])
        return ga, gb


def matmul(input, other) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's batching, broadcasting and 1-D rules."""
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        input, other = pair(input, other)
    sa, sb = input._data.shape, other._data.shape
    if not sa or not sb:
        raise ValueError(
            f"matmul: both operands need at least 1 dim, got shapes {sa} and {sb}; "
            "use * for scaling by a scalar"
        )
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != k_b:
        raise ValueError(
            f"matmul: shapes {sa} @ {sb} do not align: the last axis of the left "
            f"({sa[-1]}) must equal the {'only' if len(sb) == 1 else 'second-to-last'} axis of "
            f"the right ({k_b})"
        )
    da, db = input._data.dtype, other._data.dtype
    if da != db and da.kind == db.kind == "f":
        raise TypeError(f"matmul: dtypes differ ({da} and {db}); cast one with .astype()")
    return Matmul.apply(input, other)
