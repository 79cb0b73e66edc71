"""Norms and distances: vector_norm, matrix_norm, norm, normalize, cosine_similarity,
pairwise_distance, cdist, pdist. Compositions of differentiable ops.

p-norms are computed as m (sum |x/m|^p)^(1/p) with m = max |x| held constant: the same value
and derivatives (the formula is exact for any m), but x^2 cannot overflow for large x or
underflow for tiny x. At x = 0 the gradient is 0 (PyTorch's subgradient), not 0/0.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import Function, no_grad_result
from glassnet.backend import xp_of
from glassnet.ops import elementwise as _el
from glassnet.ops import reduction as _red
from glassnet.ops import selection as _sel
from glassnet.ops._util import floating, normalize_axis
from glassnet.ops.linalg_extra import svd_factor
from glassnet.ops.shape import permute, reshape, unsqueeze
from glassnet.tensor import Tensor

__all__ = [
    "cdist",
    "cosine_similarity",
    "dist",
    "matrix_norm",
    "norm",
    "norm_except_dim",
    "normalize",
    "pairwise_distance",
    "pdist",
    "vector_norm",
]


def _count_nonzero(x, axes, keepdims):
    return xp_of(x).asarray((x != 0).sum(axis=axes, keepdims=keepdims), dtype=x.dtype)


def _scale(x, axes):
    """max |x| over ``axes`` (kept), or 1 where that is 0 or not finite: the norm's scale."""
    xp = xp_of(x)
    m = xp.abs(x).max(axis=axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim)
    return xp.where((m == 0) | ~xp.isfinite(m), 1, m).astype(x.dtype)


def vector_norm(input: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """||x||_p over ``dim`` (all elements when None): (sum |x_i|^p)^(1/p); ord = inf/-inf
    give max/min |x_i|, ord = 0 the number of nonzeros.

    d||x||_p/dx_i = sign(x_i) |x_i|^(p-1) / ||x||_p^(p-1) (x_i / ||x|| for p = 2); 0 at x = 0.
    """
    if dtype is not None:
        input = input.astype(dtype)
    input = floating(input)
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None  # PyTorch: dim=() is every dim, as None (not "no dim")
    axes = normalize_axis(dim, input.shape, "vector_norm")
    if isinstance(ord, str) or ord is None:
        raise ValueError(f"vector_norm: ord must be a number (or inf), got {ord!r}")
    ord = float(ord)
    if (ord < 0 or ord == math.inf) and any(input.shape[i] == 0 for i in axes):
        raise ValueError(
            f"vector_norm: the {ord:g} norm over an empty dim of a tensor of shape "
            f"{input.shape} has no identity (PyTorch raises too)"
        )
    a = _el.abs(input)
    if ord == math.inf:
        return _red.amax(a, axes, keepdim) if input.numel() else _red.sum(a, axes, keepdim)
        # (an empty tensor here has no empty dim reduced: the result is empty too)
    if ord == -math.inf:
        return _red.amin(a, axes, keepdim)
    if ord == 0:
        return no_grad_result(_count_nonzero, input, axes=axes, keepdims=keepdim)
    if ord == 1:
        return _red.sum(a, axes, keepdim)
    m = no_grad_result(_scale, input, axes=axes)  # recorded: a replay rescales its own x
    scaled = a / m
    s = _red.sum(scaled * scaled if ord == 2 else scaled**ord, axes, True)
    zero = s == 0
    safe = _sel.where(zero, 1.0, s)
    root = _el.sqrt(safe) if ord == 2 else safe ** (1.0 / ord)
    out = _sel.where(zero, 0.0, root) * m
    if keepdim:
        return out
    return reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))


def matrix_norm(input: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """Matrix norms over the two ``dim`` axes: "fro" (sqrt of the sum of squares), 1 / -1
    (max / min column sum of |a|), inf / -inf (max / min row sum), and from the singular values
    s_i of the SVD a = U diag(s) V^T: "nuc" (sum_i s_i), 2 (max s_i), -2 (min s_i).

    Their gradients are U V^T, u_1 v_1^T and u_k v_k^T; where singular values tie for the max
    (min), the gradient is their average, (1/t) sum u_i v_i^T, as PyTorch's. Second derivatives
    go through the SVD's derivative: finite for distinct singular values (nonzero too where the
    matrix is not square); repeated ones give inf/nan, as PyTorch's."""
    if dtype is not None:
        input = input.astype(dtype)
    if len(dim) != 2:
        raise ValueError(f"matrix_norm: dim must name two dims, got {dim!r}")
    r, c = (normalize_axis(d, input.shape, "matrix_norm")[0] for d in dim)
    if ord == "fro":
        return vector_norm(input, 2, (r, c), keepdim)
    if ord in ("nuc", 2, -2):
        lead = [i for i in range(input.ndim) if i not in (r, c)]
        out = _SingularNorm.apply(permute(input, (*lead, r, c)), ord=ord)
        if keepdim:
            for d in sorted((r, c)):
                out = unsqueeze(out, d)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        over, across = (r, c) if ord in (1, -1) else (c, r)
        sums = _red.sum(_el.abs(input), over, True)
        pick = _red.amax if ord > 0 else _red.amin
        out = pick(sums, across, True)
        if keepdim:
            return out
        return reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in (r, c)))
    raise ValueError(f"matrix_norm: unknown ord {ord!r}")


class _SingularNorm(Function):
    """Over the last two dims, from the SVD a = U diag(s) V^T (singular values descending):
    y = sum_i s_i (ord "nuc"), max_i s_i (ord 2) or min_i s_i (ord -2);
    dy/da = U diag(w) V^T with w = 1 (nuc), or w spread evenly over the singular values that
    tie for the max (min): u_1 v_1^T when s_1 is alone (d s_i / d a = u_i v_i^T).

    The second derivative differentiates U diag(w) V^T through the SVD's derivative
    (:class:`~glassnet.ops.linalg_extra.SvdFactor`): it needs distinct singular values (nonzero
    as well where m != n); repeated ones give inf/nan, as PyTorch's.
    """

    name = "matrix_norm"

    def forward(self, a, ord):
        xp = xp_of(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        if ord == "nuc":
            w = xp.ones_like(s)
            y = s.sum(axis=-1)
        else:
            # PyTorch takes amax / amin of the singular values: ties share the gradient evenly
            y = s.max(axis=-1) if ord == 2 else s.min(axis=-1)
            hit = (s == y[..., None]).astype(s.dtype)
            w = hit / hit.sum(axis=-1, keepdims=True)
        self.w = w
        self.dyda = (u * w[..., None, :]) @ vh
        return y

    def backward(self, ns, grad, a):
        if ns.eager:
            dyda = self.dyda
        else:  # U diag(w) V^T from differentiable SVD factors (w is piecewise constant)
            w = ns.const(self.w[..., None, :])
            dyda = ns.matmul(svd_factor(a, "u") * w, svd_factor(a, "vh"))
        return ns.reshape(grad, grad.shape + (1, 1)) * dyda


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None, **numpy_names):
    """PyTorch's ``torch.norm``: "fro" (2-norm of all elements, or of a 2-dim ``dim``), a
    number p (vector p-norm over ``dim``), or "nuc". NumPy's ``ord=``/``axis=``/``keepdims=``
    are accepted too."""
    if "ord" in numpy_names:
        p = numpy_names.pop("ord")
    if "axis" in numpy_names:
        dim = numpy_names.pop("axis")
    if "keepdims" in numpy_names:
        keepdim = numpy_names.pop("keepdims")
    if numpy_names:
        raise TypeError(f"norm: unexpected arguments {sorted(numpy_names)}")
    if p is None or p == "fro":
        return vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        return matrix_norm(input, "nuc", dim or (-2, -1), keepdim, dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """PyTorch's ``torch.norm_except_dim``: the ``pow``-norm of ``v`` over every dim but
    ``dim``, kept as size-1 dims (shape (1, ..., v.shape[dim], ..., 1)): the ``g`` of weight
    normalization. ``dim=-1`` means no dim is kept, as PyTorch's (the norm of the whole tensor,
    0-d), not the last dim; any other negative ``dim`` counts from the end.

    >>> import glassnet as gn
    >>> norm_except_dim(gn.ones(3, 2, 2), 2, 0).shape
    (3, 1, 1)
    """
    if not isinstance(dim, int):
        raise TypeError(f"norm_except_dim: dim must be an int, got {type(dim).__name__}")
    if dim == -1:
        return vector_norm(v, pow)
    keep = normalize_axis(dim, v.shape, "norm_except_dim")[0]
    others = tuple(i for i in range(v.ndim) if i != keep)
    if not others:  # a 1-d v: the norm of each single element (vector_norm reads () as all)
        return _el.abs(v)
    return vector_norm(v, pow, others, keepdim=True)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """||a - b||_p over all elements (broadcast)."""
    return vector_norm(input - other, p)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors (zero vectors stay zero)."""
    n = vector_norm(input, p, dim, keepdim=True)
    return input / _sel.clip(n, min=eps)


def _lift_to(n, eps):
    """max(n, eps) - n: what lifts a norm below ``eps`` up to it (no gradient)."""
    return xp_of(n).maximum(n, eps) - n


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (broadcasting x1, x2).

    As PyTorch's, the norms are raised to ``eps`` outside the graph (its clamp_min_ under
    no_grad): below ``eps`` the value divides by eps but the gradient still flows through the
    norm as if unclamped (d||x||/dx = x/||x||), not the zero gradient of a clamp."""
    n1 = vector_norm(x1, 2, dim, keepdim=True)
    n2 = vector_norm(x2, 2, dim, keepdim=True)
    n1 = n1 + no_grad_result(_lift_to, n1, eps=eps)
    n2 = n2 + no_grad_result(_lift_to, n2, eps=eps)
    return _red.sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (eps keeps the gradient finite at x1 = x2)."""
    return vector_norm(x1 - x2 + eps, p, -1, keepdim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """All distances ||x1[..., i, :] - x2[..., j, :]||_p: (..., P, M), (..., R, M) -> (..., P, R).

    Zero distances get a zero gradient (as PyTorch)."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(
            f"cdist: inputs must be (..., P, M) and (..., R, M) with the same M, got shapes "
            f"{x1.shape} and {x2.shape}"
        )
    diff = unsqueeze(x1, -2) - unsqueeze(x2, -3)  # (..., P, R, M)
    return vector_norm(diff, p, -1)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The distances between all pairs of rows i < j of an (N, M) tensor, as N(N-1)/2 values."""
    if input.ndim != 2:
        raise ValueError(f"pdist: input must be (N, M), got shape {input.shape}")
    i, j = np.triu_indices(input.shape[0], 1)
    xp = xp_of(input._data)
    return vector_norm(input[xp.asarray(i)] - input[xp.asarray(j)], p, -1)
