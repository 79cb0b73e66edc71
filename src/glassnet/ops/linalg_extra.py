"""Products by PyTorch's names: einsum, tensordot, outer, bmm, baddbmm, addmm, addmv, mv, dot.

Each is built from ``matmul``, ``permute``, ``reshape``, ``sum`` and ``diagonal``, so its
derivatives are theirs; einsum contracts its operands pairwise as batched matrix products.
"""

from __future__ import annotations

import math

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops.linalg import matmul
from glassnet.ops.shape import broadcast_to, permute, reshape
from glassnet.ops.views import diagonal
from glassnet.tensor import Tensor

__all__ = [
    "addmm",
    "addmv",
    "baddbmm",
    "bmm",
    "dot",
    "einsum",
    "ger",
    "inner",
    "mm",
    "mv",
    "outer",
    "tensordot",
    "vdot",
]


def _check_dims(op: str, t: Tensor, nd: int, what: str) -> None:
    if t.ndim != nd:
        raise ValueError(f"{op}: {what} must be {nd}-D, got shape {t.shape}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors."""
    _check_dims("mm", input, 2, "input")
    _check_dims("mm", mat2, 2, "mat2")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting."""
    _check_dims("bmm", input, 3, "input")
    _check_dims("bmm", mat2, 3, "mat2")
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product (n, m) @ (m,) -> (n,)."""
    _check_dims("mv", input, 2, "input")
    _check_dims("mv", vec, 1, "vec")
    return matmul(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    _check_dims("dot", input, 1, "input")
    _check_dims("dot", tensor, 1, "other")
    return matmul(input, tensor)


def vdot(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.vdot``: the dot product of two 1-D tensors (real tensors: no conjugation)."""
    return dot(input, other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims: y[i.., j..] = sum_k a[i.., k] b[j.., k]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """y[i, j] = a[i] b[j] for 1-D a, b."""
    _check_dims("outer", input, 1, "input")
    _check_dims("outer", vec2, 1, "vec2")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


ger = outer


def _scaled_sum(op, input, product, beta, alpha) -> Tensor:
    if product.dtype.kind in "iu":  # PyTorch casts beta and alpha to the integer dtype
        beta, alpha = int(beta), int(alpha)
    out = product if alpha == 1 else alpha * product
    if beta == 0:
        # PyTorch ignores input's values (nan and inf in it do not propagate) but not input
        # itself: it broadcasts, promotes, and gets a zero gradient
        return out + _sel.where(False, input, 0)
    scaled = input if beta == 1 else beta * input
    return scaled + out


def addmm(input, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha (mat1 @ mat2), input broadcast to the product's shape."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def baddbmm(input, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1):
    """beta input + alpha bmm(batch1, batch2)."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addmv(input, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta input + alpha (mat @ vec)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of a with the first of b, or the listed pairs
    ``([a dims], [b dims])``: one matrix product after moving those dims together."""
    if isinstance(dims, int):
        if dims < 0:
            raise ValueError(f"tensordot: dims must be non-negative, got {dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(
                f"tensordot: dim {i} of a {a.shape} has size {a.shape[i]} but dim {j} of b "
                f"{b.shape} has {b.shape[j]}"
            )
    ra = [i for i in range(a.ndim) if i not in da]
    rb = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    am = reshape(permute(a, ra + da) if a.ndim else a, (math.prod(a.shape[i] for i in ra), k))
    bm = reshape(permute(b, db + rb) if b.ndim else b, (k, math.prod(b.shape[j] for j in rb)))
    return reshape(matmul(am, bm), tuple(a.shape[i] for i in ra) + tuple(b.shape[j] for j in rb))


# -- einsum ---------------------------------------------------------------------------------------
def _parse(equation: str, operands) -> tuple[list[list[str]], list[str]]:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: the equation {equation!r} has {len(terms)} operands but "
            f"{len(operands)} tensors were given"
        )
    ell_nd = 0
    for term, t in zip(terms, operands):
        if "..." in term:
            ell_nd = max(ell_nd, t.ndim - (len(term) - 3))
    ell = [f"\x00{i}" for i in range(ell_nd)]  # private names for the ellipsis dims
    parsed = []
    for term, t in zip(terms, operands):
        if not all(c.isalpha() for c in term.replace("...", "")):
            raise ValueError(f"einsum: subscripts must be letters, got {term!r}")
        if "..." in term:
            head, tail = term.split("...")
            n = t.ndim - len(head) - len(tail)
            idx = list(head) + ell[ell_nd - n :] + list(tail)
        else:
            idx = list(term)
        if len(idx) != t.ndim:
            raise ValueError(
                f"einsum: operand {term!r} names {len(idx)} dims but the tensor has shape {t.shape}"
            )
        parsed.append(idx)
    if arrow:
        if "..." in rhs:
            head, tail = rhs.split("...")
            out = list(head) + ell + list(tail)
        else:
            out = list(rhs)
    else:
        counts: dict = {}
        for idx in parsed:
            for c in idx:
                counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1 and not c.startswith("\x00"))
    known = {c for idx in parsed for c in idx}
    for c in out:
        if c not in known:
            raise ValueError(f"einsum: output subscript {c!r} appears in no operand")
    return parsed, out


def _take_diagonals(t: Tensor, idx: list[str]) -> tuple[Tensor, list[str]]:
    while len(set(idx)) != len(idx):
        c = next(c for c in idx if idx.count(c) > 1)
        i = idx.index(c)
        j = idx.index(c, i + 1)
        t = diagonal(t, 0, i, j)
        idx = [d for k, d in enumerate(idx) if k not in (i, j)] + [c]
    return t, idx


def _sum_out(t: Tensor, idx: list[str], needed: set) -> tuple[Tensor, list[str]]:
    axes = tuple(i for i, c in enumerate(idx) if c not in needed)
    if not axes:
        return t, idx
    return _red.sum(t, axes), [c for c in idx if c in needed]


def _contract(a, ia, b, ib, keep: set):
    sizes = {}
    for t, idx in ((a, ia), (b, ib)):
        for c, n in zip(idx, t.shape):
            if sizes.get(c, n) != n and 1 not in (sizes.get(c), n):
                raise ValueError(f"einsum: subscript {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = max(sizes.get(c, n), n)
    batch = [c for c in ia if c in ib and c in keep]
    con = [c for c in ia if c in ib and c not in keep]
    a_only = [c for c in ia if c not in ib]
    b_only = [c for c in ib if c not in ia]

    def arrange(t, idx, order, rows, cols):
        t = permute(t, [idx.index(c) for c in order]) if idx != order else t
        full = tuple(sizes[c] for c in order)
        if t.shape != full:
            t = broadcast_to(t, full)
        nb = math.prod(sizes[c] for c in batch)
        return reshape(t, (nb, math.prod(sizes[c] for c in rows),
                           math.prod(sizes[c] for c in cols)))  # fmt: skip

    am = arrange(a, ia, batch + a_only + con, a_only, con)
    bm = arrange(b, ib, batch + con + b_only, con, b_only)
    out_idx = batch + a_only + b_only
    return reshape(matmul(am, bm), tuple(sizes[c] for c in out_idx)), out_idx


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum("bij,bjk->bik", a, b)``; repeated subscripts in one
    operand take diagonals, subscripts missing from the output are summed, ``...`` stands for
    broadcast dims. Contracts left to right, each pair as one batched matmul."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    parsed, out = _parse(equation, operands)
    items = []
    for k, (t, idx) in enumerate(zip(operands, parsed)):
        t, idx = _take_diagonals(t, idx)
        others = {c for j, p in enumerate(parsed) if j != k for c in p}
        t, idx = _sum_out(t, idx, set(out) | others)
        items.append((t, idx))
    t, idx = items[0]
    for k in range(1, len(items)):
        later = {c for _, p in items[k + 1 :] for c in p}
        b, ib = items[k]
        t, idx = _contract(t, idx, b, ib, set(out) | later)
    t, idx = _sum_out(t, idx, set(out))
    perm = [idx.index(c) for c in out]
    return permute(t, perm) if perm != list(range(len(perm))) else t


# -- SVD factors, differentiable to any order ----------------------------------------------------
class SvdFactor(Function):
    """One factor of the reduced SVD a = U diag(s) V^T over the last two dims (m x n,
    k = min(m, n), s descending): ``part`` "u" (m x k), "s" (k) or "vh" (k x n).

    Backward is PyTorch's SVD derivative (real case), with E_ij = s_j^2 - s_i^2 (1 on the
    diagonal), skew(X) = X - X^T, and F = the gradient of this factor:
      s:  dL/da = U diag(F) V^T
      u:  dL/da = U [(skew(U^T F) / E) diag(s)] V^T, plus (I - U U^T) F diag(1/s) V^T if m > n
      vh: dL/da = U [diag(s) (skew(V^T F^T) / E)] V^T, plus U diag(1/s) F (I - V V^T) if m < n
    The factors are recomputed by this op under ``create_graph``, so the derivative is itself
    differentiable. Finite only for distinct (and, for the m != n terms, nonzero) singular
    values: repeated ones divide by E_ij = 0 (inf or nan), as in PyTorch. U and V are defined
    up to the sign of each pair (u_i, v_i): only functions invariant to it (u_i v_i^T, U V^T)
    have meaningful derivatives.
    """

    name = "svd_factor"

    def forward(self, a, part):
        xp = xp_of(a)
        self.u, self.s, self.vh = xp.linalg.svd(a, full_matrices=False)
        self.part = part
        return {"u": self.u, "s": self.s, "vh": self.vh}[part]

    def backward(self, ns, grad, a):
        if ns.eager:
            u, s, vh = self.u, self.s, self.vh
        else:
            u, s, vh = (SvdFactor.apply(a, part=p) for p in ("u", "s", "vh"))
        m, n = a.shape[-2], a.shape[-1]
        k = s.shape[-1]
        row = ns.reshape(s, s.shape[:-1] + (1, k))  # s_j along a row
        col = ns.reshape(s, s.shape[:-1] + (k, 1))  # s_i down a column
        t = ns.swapaxes
        if self.part == "s":
            return ns.matmul(u * ns.reshape(grad, grad.shape[:-1] + (1, k)), vh)
        xp = xp_of(self.s)
        e = row * row - col * col + ns.const(xp.eye(k, dtype=self.s.dtype))
        if self.part == "u":
            uf = ns.matmul(t(u, -1, -2), grad)
            inner = (uf - t(uf, -1, -2)) / e * row
            if m > n:
                gs = grad / row
                left = ns.matmul(u, inner) + gs - ns.matmul(u, ns.matmul(t(u, -1, -2), gs))
                return ns.matmul(left, vh)
            return ns.matmul(ns.matmul(u, inner), vh)
        vf = ns.matmul(vh, t(grad, -1, -2))
        inner = col * ((vf - t(vf, -1, -2)) / e)
        if m < n:
            gs = grad / col
            right = ns.matmul(inner, vh) + gs - ns.matmul(ns.matmul(gs, t(vh, -1, -2)), vh)
            return ns.matmul(u, right)
        return ns.matmul(ns.matmul(u, inner), vh)


def svd_factor(a: Tensor, part: str) -> Tensor:
    """U, s or V^T of the reduced SVD of ``a`` (see :class:`SvdFactor`)."""
    if part not in ("u", "s", "vh"):
        raise ValueError(f"svd_factor: part must be 'u', 's' or 'vh', got {part!r}")
    return SvdFactor.apply(a, part=part)
