"""Matrix multiplication with batching and broadcasting (NumPy ``matmul`` semantics)."""

from __future__ import annotations

import math

from glassnet.autograd.function import Function
from glassnet.ops._util import pair
from glassnet.tensor import Tensor


def _swap(a):
    return a.swapaxes(-1, -2)


def _rows(a):
    """``a`` with its leading axes merged into rows (no -1: an axis may be empty)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


class Matmul(Function):
    """Y = A B  (batched over leading axes);  dL/dA = dL/dY B^T,  dL/dB = A^T dL/dY

    1-D operands follow NumPy: a vector on the left is a row (1, n), on the right a column
    (n, 1), and the added axis is removed from the result.
    """

    def forward(self, a, b):
        self.A, self.B = a, b
        self.a_1d, self.b_1d = a.ndim == 1, b.ndim == 1
        if not (self.a_1d or self.b_1d):
            return a @ b
        A = a[None, :] if self.a_1d else a
        B = b[:, None] if self.b_1d else b
        self.A, self.B = A, B
        y = A @ B
        if self.b_1d:
            y = y[..., 0]
        if self.a_1d:
            y = y[..., 0, :] if not self.b_1d else y[..., 0]
        return y

    def backward(self, grad):
        A, B = self.A, self.B
        need_a, need_b = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        if A.ndim == 2 and B.ndim == 2 and not (self.a_1d or self.b_1d):  # plain matrices
            return (grad @ B.T if need_a else None), (A.T @ grad if need_b else None)
        g = grad
        if self.b_1d:
            g = g[..., None]
        if self.a_1d:
            g = g[..., None, :]
        ga = gb = None
        if need_a:
            ga = g @ _swap(B)
            if self.a_1d:
                ga = _rows(ga).sum(axis=0) if ga.ndim > 2 else ga[0]
        if need_b:
            if B.ndim == 2 and A.ndim > 2:
                # fold the batch axes into rows: one GEMM instead of a batched one plus a sum
                gb = _rows(A).T @ _rows(g)
            else:
                gb = _swap(A) @ g
            if self.b_1d:
                gb = gb[..., 0]
        return ga, gb

    def backward_graph(self, grad):
        from glassnet.ops.shape import reshape, swapaxes, unsqueeze

        a, b = self.inputs
        A = reshape(a, (1, a.shape[0])) if self.a_1d else a
        B = reshape(b, (b.shape[0], 1)) if self.b_1d else b
        g = grad
        if self.b_1d:
            g = unsqueeze(g, -1)
        if self.a_1d:
            g = unsqueeze(g, -2)
        ga = matmul(g, swapaxes(B, -1, -2))
        gb = matmul(swapaxes(A, -1, -2), g)
        if self.a_1d:
            ga = reshape(ga.sum(axis=tuple(range(ga.ndim - 1))), a.shape)
        if self.b_1d:
            gb = reshape(gb, gb.shape[:-1])
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's batching, broadcasting and 1-D rules."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = pair(a, b)
    sa, sb = a._data.shape, b._data.shape
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
    da, db = a._data.dtype, b._data.dtype
    if da != db and da.kind == db.kind == "f":
        raise TypeError(f"matmul: dtypes differ ({da} and {db}); cast one with .astype()")
    return Matmul.apply(a, b)
