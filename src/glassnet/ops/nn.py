"""Neural-network primitives: ``linear`` (fused affine map), ``dropout``, ``embedding``."""

from __future__ import annotations

import numpy as np

from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.autograd.function import Function, value_check
from glassnet.backend import device_of, get_rng, is_debug, xp_of
from glassnet.backend import parallel as _parallel
from glassnet.backend.parallel import parallel_for, product
from glassnet.ops import _fused
from glassnet.ops._segment import scatter_add
from glassnet.ops._util import inplace_result
from glassnet.tensor import Tensor

__all__ = ["dropout", "embedding", "linear"]


class Linear(Function):
    """y = x W^T + b   (x: (..., in), W: (out, in), b: (out,))

    dL/dx = dL/dy W;  dL/dW = sum over leading axes of dL/dy^T x (one GEMM on the flattened
    rows);  dL/db = sum over leading axes of dL/dy.
    """

    def forward(self, x, weight, bias=None):
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])  # 2-D: no reshapes (hot path)
        y = product(x2, weight.T)  # small products on one BLAS thread (backend.parallel)
        if bias is not None and not _fused.add_row_vector(y, bias):
            y += bias
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, ns, grad, x, weight, bias=None):
        need = self.needs_input_grad
        flat = grad.ndim != 2
        g2 = ns.reshape(grad, (-1, grad.shape[-1])) if flat else grad
        gx = gw = gb = None
        if need[0]:
            gx = product(g2, weight) if ns.eager else g2 @ weight
            if flat:
                gx = ns.reshape(gx, x.shape)
        if need[1]:
            x2 = ns.reshape(x, (-1, x.shape[-1])) if flat else x
            # a fresh (out, in) array: safe to hand to weight.grad; or gn.compile's buffer
            out = self.grad_out.get(1) if self.grad_out and ns.eager else None
            if out is not None and out.dtype == g2.dtype == x2.dtype:
                gw = product(g2.T, x2, out=out)
            else:
                gw = product(g2.T, x2) if ns.eager else g2.T @ x2
        if bias is None:
            return gx, gw
        if need[2]:
            gb = _fused.column_sums(g2) if ns.eager else None
            if gb is None:
                gb = ns.sum(g2, 0)
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map y = x W^T + b over the last axis, PyTorch's ``F.linear``.

    Args:
        x: (..., in_features), any number of leading axes.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (..., out_features).

    >>> import glassnet as gn
    >>> x = gn.tensor([[1.0, 2.0]])
    >>> linear(x, gn.tensor([[1.0, 1.0], [0.0, -1.0]]), gn.tensor([0.5, 0.0])).numpy()
    array([[ 3.5, -2. ]], dtype=float32)
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"linear: input and weight must be Tensors, got {type(input).__name__} and "
            f"{type(weight).__name__}"
        )
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}"
        )
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {input.shape} does not match weight of shape {weight.shape}: "
            f"the input's last axis must be in_features={weight.shape[1]}; flatten it first "
            "(x.flatten(1)) or fix in_features"
        )
    if input.dtype != weight.dtype and _AUTOCAST.dtype is None:  # autocast casts in apply
        raise TypeError(
            f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ; "
            "cast one with .astype()"
        )
    if bias is None:
        return Linear.apply(input, weight)
    if not isinstance(bias, Tensor) or bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: bias must be a Tensor of shape ({weight.shape[0]},), got "
            f"{getattr(bias, 'shape', type(bias).__name__)}"
        )
    if bias.dtype != input.dtype and _AUTOCAST.dtype is None:
        raise TypeError(f"linear: bias dtype {bias.dtype} differs from input dtype {input.dtype}")
    return Linear.apply(input, weight, bias)


class Dropout(Function):
    """y = x * m / (1 - p),  m_i ~ Bernoulli(1 - p) (inverted dropout);  dy/dx = m / (1 - p)

    The scaled mask is saved as ``self.mask``; p = 1 zeros everything (mask of zeros).
    """

    def forward(self, x, p, rng=None):
        xp = xp_of(x)
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        # the generator of x's device (created once, seeded by manual_seed): no host draw;
        # or a gn.Generator's, on the same device (``generator=``)
        if rng is None:
            rng = get_rng(None if xp is np else device_of(x))
        u = rng.random(x.shape, dtype=dtype)
        if p < 1 and xp is np and x.flags.c_contiguous and x.dtype == u.dtype:
            return self._mask_in_parallel(x, u, p)
        keep = u >= p
        self.mask = keep * x.dtype.type(1.0 / (1.0 - p)) if p < 1 else xp.zeros_like(x)
        return x * self.mask

    def _mask_in_parallel(self, x, u, p):
        """The mask and the product from the drawn u, element blocks on the CPU threads.

        The random numbers are drawn in one call (above) from the one generator, so they do
        not depend on the thread count; only the compare and scale run in blocks, with the
        same operations as the one-call formula: the same bits as before, for any count."""
        scale = x.dtype.type(1.0 / (1.0 - p))
        mask, y = np.empty_like(x), np.empty_like(x)
        xf, uf, mf, yf = (a.reshape(-1) for a in (x, u, mask, y))

        def block(start, stop):
            np.multiply(uf[start:stop] >= p, scale, out=mf[start:stop])
            np.multiply(xf[start:stop], mf[start:stop], out=yf[start:stop])

        parallel_for(xf.size, block, item_size=4)
        self.mask = mask
        return y

    def backward(self, ns, grad, x):
        return grad * self.mask


def dropout(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    y = x * m / (1 - p) with m ~ Bernoulli(1 - p) drawn from glassnet's seeded generator
    (``gn.manual_seed``), so E[y] = x and evaluation needs no rescaling. Returns ``x`` itself
    when ``training`` is False or p = 0.

    Args:
        x: any shape, floating point.
        p: drop probability, 0 <= p <= 1.
        training: apply dropout (True) or pass x through (False).
        inplace: write the result into ``x`` and return ``x`` (PyTorch's); where ``x``
            requires grad under grad mode the out-of-place result is returned instead.
        generator: a ``gn.Generator`` on x's device to draw the mask from (glassnet's
            extension; default glassnet's seeded generator of x's device).

    >>> import glassnet as gn
    >>> x = gn.ones(2, 3)
    >>> dropout(x, 0.5, training=False) is x
    True
    >>> sorted(set(dropout(x, 0.5).numpy().ravel().tolist()) - {0.0, 2.0})
    []
    """
    if not isinstance(p, (int, float, np.floating, np.integer)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"dropout: input must be floating point, got {input.dtype}")
    if not training or p == 0:
        return input
    if generator is not None:  # glassnet's extension: PyTorch's F.dropout has no generator=
        from glassnet.generator import rng_for

        rng = rng_for("dropout", generator, input.device)
        return inplace_result(input, Dropout.apply(input, p=float(p), rng=rng), inplace)
    return inplace_result(input, Dropout.apply(input, p=float(p)), inplace)


# np.add.at adds row by row through a generic indexed loop: 2.5 ms for a (2048, 128) gradient
# into 65 rows. Sorting the indices and summing each run of equal ones with add.reduceat is 8x
# faster from a few hundred rows on (its sums are pairwise: equal to float rounding).
_SORTED_SCATTER_MIN = 256


def _sorted_scatter_add(out, index, rows):
    """out[index[i]] += rows[i] for every i (index 1-D, repeats allowed), by sorted runs.

    Runs of equal indices go to distinct rows of ``out``: blocks of runs are summed on the
    CPU threads, each run from the same rows in the same order as in one call."""
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], len(ordered))

    def runs(first, last):
        lo, hi = starts[first], ends[last - 1]
        sums = np.add.reduceat(rows[order[lo:hi]], starts[first:last] - lo, axis=0)
        out[ordered[starts[first:last]]] += sums

    row_size = rows[0].size if len(rows) else 1
    item = row_size * max(1, len(ordered) // len(starts))
    # blocks of 4x the usual work: a (2048, 128) gradient into 65 rows took 0.47 ms inline
    # and 0.58 ms in 4 blocks on 2 threads; (8192, 256) into 1,000 rows 15.8 against 4.6
    block = 4 * _parallel.MIN_BLOCK_ELEMENTS
    parallel_for(len(starts), runs, item_size=item, min_items=-(-block // item))


class Embedding(Function):
    """y[..., :] = W[i[...], :]  (row lookup);  dL/dW[r] = sum over positions with i = r of dL/dy

    Repeated indices accumulate their gradients (scatter-add); the ``padding_idx`` row gets
    none.
    """

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq=False):
        self.flat = indices.reshape(-1)
        self.padding_idx = padding_idx
        self.scale = None
        if scale_grad_by_freq:  # 1 / (count of each position's index in this batch)
            xp = xp_of(self.flat)
            _, inverse, counts = xp.unique(self.flat, return_inverse=True, return_counts=True)
            self.scale = (1.0 / counts[inverse.reshape(-1)])[:, None].astype(weight.dtype)
        return weight.take(self.flat, axis=0).reshape(*indices.shape, weight.shape[1])

    def backward(self, ns, grad, weight):
        flat, shape = self.flat, weight.shape
        g2 = ns.reshape(grad, (-1, shape[1]))
        if self.scale is not None:
            g2 = g2 * ns.const(self.scale)
        if self.padding_idx is not None:
            g2 = g2 * ns.const((flat != self.padding_idx)[:, None].astype(g2.dtype))
        return ns.linear(lambda g: _scatter_rows(g, flat, shape), lambda g: g[flat], g2)


def _scatter_rows(rows, index, shape):
    """zeros(shape) with rows[i] added to row index[i] (repeats accumulate).

    On the CPU by sorted runs (or ``np.add.at`` for few rows); on a device by the shared
    scatter-add (``glassnet.ops._segment``: sorted pairwise segment sums, without atomic adds
    while deterministic algorithms are on, so GPU runs are bit-reproducible)."""
    xp = xp_of(rows)
    if xp is not np:
        return scatter_add(xp, rows, shape, index)
    out = xp.zeros(shape, dtype=rows.dtype)
    if index.size >= _SORTED_SCATTER_MIN:
        _sorted_scatter_add(out, index, rows)
    else:
        xp.add.at(out, index, rows)
    return out


def _check_rows(idx, shape) -> None:
    """Every index a row of a weight of ``shape``: a value check, in debug mode (on for CPU
    arrays). NumPy's indexing would take a negative index as counting from the last row."""
    if not idx.size or not is_debug(idx):
        return
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= shape[0]:
        raise ValueError(
            f"embedding: indices of shape {idx.shape} range over [{lo}, {hi}] "
            f"but weight of shape {shape} has rows 0..{shape[0] - 1}; "
            "every index must be in [0, num_embeddings): make num_embeddings at least "
            "the vocabulary size (max id + 1)"
        )


def embedding(
    input,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight``: y[..., :] = weight[indices[...], :] (PyTorch's F.embedding).

    Args:
        indices: integer tensor/array/list of any shape, values in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: a row that gets no gradient (negative counts from the end), or None.
        max_norm: renormalize, in place and without gradient, each looked-up row whose
            ``norm_type``-norm exceeds it: W[i] *= max_norm / (||W[i]|| + 1e-7) (PyTorch's
            ``embedding_renorm_``; ``weight`` is modified).
        scale_grad_by_freq: divide each position's gradient by the number of times its
            index occurs in ``indices``.
        sparse: sparse gradients are not supported (``False`` only).

    Returns:
        (*indices.shape, embedding_dim).

    >>> import glassnet as gn
    >>> w = gn.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> embedding(gn.tensor([[2, 1, 2]]), w).numpy()
    array([[[3., 4.],
            [1., 2.],
            [3., 4.]]], dtype=float32)
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be a 2-D Tensor (num_embeddings, "
            f"embedding_dim), got {getattr(weight, 'shape', type(weight).__name__)}"
        )
    xp = xp_of(weight._data)
    idx = input._data if isinstance(input, Tensor) else xp.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: indices must be integers, got dtype {idx.dtype} (shape "
            f"{idx.shape}); convert them with .astype('int64')"
        )
    v = weight.shape[0]
    value_check(_check_rows, idx, weight.shape)  # again on each replay of a compiled step
    if sparse:
        raise NotImplementedError(
            "embedding: sparse=True (sparse gradients) is not supported; use sparse=False "
            "(the dense gradient has the same values)"
        )
    if padding_idx is not None:
        if not isinstance(padding_idx, (int, np.integer)) or not -v <= padding_idx < v:
            raise ValueError(
                f"embedding: padding_idx must be an int in [{-v}, {v}), got {padding_idx!r}"
            )
        padding_idx = int(padding_idx) % v
    if max_norm is not None:
        embedding_renorm_(weight, idx, float(max_norm), float(norm_type))
    if scale_grad_by_freq:
        return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
                               scale_grad_by_freq=True)  # fmt: skip
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx)


def embedding_renorm_(weight: Tensor, indices, max_norm: float, norm_type: float = 2.0):
    """Rows ``indices`` of ``weight`` whose ``norm_type``-norm exceeds ``max_norm`` are scaled
    in place, without gradient, by max_norm / (norm + 1e-7) (PyTorch's embedding_renorm_)."""
    xp = xp_of(weight._data)
    rows = xp.unique(indices._data if isinstance(indices, Tensor) else xp.asarray(indices))
    if not rows.size:
        return weight
    sel = weight._data[rows]
    norms = xp.linalg.norm(sel.astype(np.float64), ord=norm_type, axis=1)
    over = norms > max_norm
    if bool(over.any()):
        scale = (max_norm / (norms[over] + 1e-7)).astype(sel.dtype)
        weight._data[rows[over]] = sel[over] * scale[:, None]
        weight._bump()  # the version counter: a graph that saved the old rows raises
    return weight
