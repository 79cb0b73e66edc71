"""Convolutions (``conv1d``, ``conv2d``) by im2col: a strided window view and one GEMM per group.

For input x (N, C, *in), weight W (O, C/groups, *k) and bias b (O,), with stride s, zero padding
p and dilation d (per spatial axis):

    y[n, o, u] = b[o] + sum_{c, t} W[o, c, t] * x_pad[n, g(o) C/groups + c, u s + t d]
    out = floor((in + p_lo + p_hi - d (k - 1) - 1) / s) + 1

``im2col`` reads every window of x_pad through one ``as_strided`` view shaped
(C, *k, *out, N) (no data copied; batch last, see ``_ConvNd``), then one matrix product per
group does the sums. Backward:

    dL/dW = dL/dy  cols^T          (one GEMM per group)
    dL/db = sum over n, u of dL/dy
    dL/dx = col2im(W^T dL/dy)      (a loop over the prod(k) kernel positions, each adding one
                                    strided slice: windows overlap, so their gradients add up)
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.backend.parallel import one_blas_thread
from glassnet.ops import _conv_cpu, _fused_conv
from glassnet.tensor import Tensor

__all__ = ["conv1d", "conv2d"]


def _window_view(xp, xb, k, stride, dilation, out):
    """A (C, *k, *out, N) view of every window of the batch-last ``xb`` (C, *spatial, N)."""
    s = xb.strides
    sp = s[1:-1]
    shape = (xb.shape[0], *k, *out, xb.shape[-1])
    strides = (
        s[0],
        *(st * d for st, d in zip(sp, dilation)),
        *(st * sd for st, sd in zip(sp, stride)),
        s[-1],
    )
    return xp.lib.stride_tricks.as_strided(xb, shape=shape, strides=strides)


# OpenBLAS runs the GEMMs of a layer with few channels (M or N of 6, K of 25, the long axis of
# prod(out) * batch) at a third of its speed: it streams the long operand through memory.
# Splitting the long axis into blocks that stay in cache (~400 KB each) makes them 2x faster.
_BLOCK_BYTES = 400_000


def _block(k: int, n: int, small: int, itemsize: int) -> int | None:
    """Columns per block for a product with ``small`` rows/cols, ``k`` inner, ``n`` long."""
    block = _BLOCK_BYTES // (k * itemsize) // 256 * 256
    if small > 32 or block < 1024 or k * n * itemsize < 4 * _BLOCK_BYTES:
        return None  # measured: no gain for wide inner sizes (LeNet's second conv, k = 150)
    return block


def _gemm_wide(xp, a, b):
    """a @ b, (g, m, k) @ (g, k, n) with n long: computed in column blocks of b."""
    block = _block(a.shape[-1], b.shape[-1], a.shape[-2], b.itemsize) if xp is np else None
    if block is None or block >= b.shape[-1]:
        return xp.matmul(a, b)
    out = xp.empty((*a.shape[:-1], b.shape[-1]), dtype=xp.result_type(a, b))
    # each block is a small product: one BLAS thread (backend.parallel.product's measured rule)
    with one_blas_thread(a.shape[0] * a.shape[1] * a.shape[2] * block):
        for s in range(0, b.shape[-1], block):
            xp.matmul(a, b[..., s : s + block], out=out[..., s : s + block])
    return out


def _gemm_long_inner(xp, a, b):
    """a @ b, (g, k, n) @ (g, n, m) with the inner n long: a sum of blocked products."""
    block = _block(a.shape[-2], a.shape[-1], b.shape[-1], a.itemsize) if xp is np else None
    if block is None or block >= a.shape[-1]:
        return xp.matmul(a, b)
    with one_blas_thread(a.shape[0] * a.shape[1] * b.shape[2] * block):
        acc = xp.matmul(a[..., :block], b[..., :block, :])
        for s in range(block, a.shape[-1], block):
            acc += xp.matmul(a[..., s : s + block], b[..., s : s + block, :])
    return acc


def _im2col(xp, x, geom):
    """x (N, C, *in) -> cols (groups, C/groups * prod(k), prod(out) * N): every window, batch
    last, zero-padded. Linear in x; its adjoint is :func:`_col2im`."""
    n, c, o, k, spatial, out, stride, dilation, padding, groups = geom
    host = _conv_cpu.host(x)
    if any(lo or hi for lo, hi in padding):
        xb = xp.zeros((c, *spatial, n), dtype=x.dtype)
        inner = tuple(slice(lo, sz - hi) for (lo, hi), sz in zip(padding, spatial))
        xb[(slice(None), *inner)] = xp.moveaxis(x, 0, -1)
    elif host:
        xb = _conv_cpu.batch_last(x.reshape(n, -1)).reshape(c, *spatial, n)
    else:
        xb = xp.ascontiguousarray(xp.moveaxis(x, 0, -1))
    view = _window_view(xp, xb, k, stride, dilation, out)
    # the one copy of im2col: (groups, C/groups * prod(k), prod(out) * N), contiguous
    if not host:
        return view.reshape(groups, (c // groups) * int(np.prod(k)), -1)
    cols = np.empty(view.shape, dtype=x.dtype)
    _conv_cpu.copy_rows(cols, view, 1 + len(k))  # split along the first output axis
    return cols.reshape(groups, (c // groups) * int(np.prod(k)), -1)


def _col2im(xp, dcols, geom):
    """The adjoint of :func:`_im2col`: each window's entries are added back where they came
    from (one strided add per kernel position: overlapping windows accumulate). Channels are
    independent: on the CPU they are split over threads."""
    n, c, o, k, spatial, out, stride, dilation, padding, groups = geom
    dcols = dcols.reshape(c, *k, *out, n)
    dx = xp.zeros((c, *spatial, n), dtype=dcols.dtype)
    pairs = _kernel_slices(k, out, stride, dilation)

    def run(lo, hi):
        for src, dst in pairs:
            part = dx[lo:hi][dst]
            xp.add(part, dcols[lo:hi][src], out=part)

    if _conv_cpu.host(dcols):
        _conv_cpu.split(c, run, elements=2 * dcols.size, like=dcols)
    else:
        run(0, c)
    if not any(lo or hi for lo, hi in padding) and _conv_cpu.host(dx):
        return _conv_cpu.batch_first(dx.reshape(-1, n)).reshape(n, c, *spatial)
    inner = tuple(slice(lo, sz - hi) for (lo, hi), sz in zip(padding, spatial))
    dx = xp.moveaxis(dx, -1, 0)[(slice(None), slice(None), *inner)]
    return xp.ascontiguousarray(dx)


@functools.lru_cache(maxsize=64)
def _kernel_slices(k, out, stride, dilation):
    """For each kernel position of a (C, *k, *out, N) column array: (the index of its
    columns, the strided slice of the (C, *spatial, N) input its windows read)."""
    pairs = []
    for pos in itertools.product(*(range(kk) for kk in k)):
        sl = tuple(
            slice(t * d, t * d + s * (m - 1) + 1, s)
            for t, d, s, m in zip(pos, dilation, stride, out)
        )
        pairs.append(((slice(None), *pos), (slice(None), *sl)))
    return tuple(pairs)


class _ConvNd(Function):
    """Shared im2col convolution over 1 or 2 spatial axes (see the module docstring).

    Internally the batch axis goes last, (C, *spatial, N): a window row of the im2col copy is
    then out_w * N contiguous elements instead of out_w, which makes the copy (forward) and
    the col2im adds (backward) 2-4x faster on CPU for LeNet-sized layers.

    The backward is written once with ``ns``: matrix products with the weight and the
    im2col/col2im pair as a linear map and its adjoint (``ns.linear``), so under
    create_graph the same formulas give a differentiable graph (second derivatives of conv).
    """

    register = False

    def forward(
        self, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1
    ):
        xp = xp_of(x)
        n, c = x.shape[:2]
        o = weight.shape[0]
        k = weight.shape[2:]
        spatial = tuple(sz + lo + hi for sz, (lo, hi) in zip(x.shape[2:], padding))
        out = tuple(
            (sz - d * (kk - 1) - 1) // s + 1 for sz, kk, s, d in zip(spatial, k, stride, dilation)
        )
        self.geom = (n, c, o, k, spatial, out, stride, dilation, padding, groups)
        self.xp = xp
        self.kern = None
        if len(k) == 2:  # the direct kernels (glassnet[jit]) where they apply and pay
            self.kern = _fused_conv.plan(x, weight, bias, stride, padding, dilation, groups)
            if self.kern is not None:
                return _fused_conv.conv2d(self.kern, x, weight, bias, padding)
        self.cols = cols = _im2col(xp, x, self.geom)
        w = weight.reshape(groups, o // groups, cols.shape[1])
        y = _gemm_wide(xp, w, cols).reshape(o, -1)
        if bias is not None:
            y += bias[:, None]
        if _conv_cpu.host(y):
            return _conv_cpu.batch_first(y.reshape(-1, n)).reshape(n, o, *out)
        return xp.ascontiguousarray(xp.moveaxis(y.reshape(o, *out, n), -1, 0))

    def backward(self, ns, grad, x, weight, bias=None):
        n, c, o, k, spatial, out, stride, dilation, padding, groups = geom = self.geom
        need_x, need_w = self.needs_input_grad[:2]
        gx = gw = gb = None
        xp = self.xp
        need_b = bias is not None and self.needs_input_grad[2]
        if self.kern is not None and ns.eager:
            grads = self._kernel_backward(grad, x, weight, bias, need_x, need_w, need_b)
            if grads is not None:
                return grads
            self.cols = _im2col(xp, x, geom)  # x holds inf or NaN: the im2col path below
        # dL/dy (N, O, *out) -> batch-last (groups, O/groups, prod(out) * N)
        if ns.eager and _conv_cpu.host(grad):
            g = _conv_cpu.batch_last(grad.reshape(n, -1)).reshape(groups, o // groups, -1)
            if need_b:  # sums of contiguous rows
                gb = g.reshape(o, -1).sum(axis=1)
        else:
            g = ns.permute(grad, (*range(1, grad.ndim), 0))
            g = ns.reshape(g, (groups, o // groups, -1))
            if need_b:
                gb = ns.sum(grad, (0, *range(2, grad.ndim)))
        if need_w:  # dL/dW = dL/dy cols^T
            if ns.eager:  # cols @ g^T then transpose: OpenBLAS runs this shape ~2x faster
                gw = _gemm_long_inner(xp, self.cols, g.swapaxes(1, 2)).swapaxes(1, 2)
            else:
                cols = ns.linear(lambda a: _im2col(xp, a, geom), lambda a: _col2im(xp, a, geom), x)
                gw = g @ ns.swapaxes(cols, 1, 2)
            gw = ns.reshape(gw, weight.shape)
        if need_x:  # dL/dx = col2im(W^T dL/dy)
            w = ns.reshape(weight, (groups, o // groups, -1))
            dcols = ns.swapaxes(w, 1, 2) @ g
            gx = ns.linear(lambda a: _col2im(xp, a, geom), lambda a: _im2col(xp, a, geom), dcols)
        return (gx, gw) if bias is None else (gx, gw, gb)

    def _kernel_backward(self, grad, x, weight, bias, need_x, need_w, need_b):
        """The backward of a forward that ran the direct kernels (``ops._fused_conv``), or
        None when x holds inf or NaN (the weight gradient's kernel would drop them: the
        caller takes the im2col path, as without the kernels)."""
        kern, padding = self.kern, self.geom[8]
        grad = np.asarray(grad, dtype=x.dtype)
        gx = gw = gb = None
        if need_w or need_b:
            grads = _fused_conv.conv2d_grad_weight(kern, x, grad, weight.shape, padding)
            if grads is None:
                return None
            gw = grads[0] if need_w else None
            gb = grads[1] if need_b else None
        if need_x:
            gx = _fused_conv.conv2d_grad_input(kern, grad, weight, x.shape, padding)
        return (gx, gw) if bias is None else (gx, gw, gb)


class Conv1d(_ConvNd):
    """y[n, o, l] = b[o] + sum_{c, t} W[o, c, t] x_pad[n, c', l s + t d]  (c' in o's group)

    dL/dW[o, c, t] = sum_{n, l} dL/dy[n, o, l] x_pad[n, c', l s + t d];  dL/db = sum dL/dy;
    dL/dx = the transposed convolution of dL/dy with W (col2im over kernel positions).
    """

    name = "conv1d"


class Conv2d(_ConvNd):
    """y[n,o,i,j] = b[o] + sum_{c,p,q} W[o,c,p,q] x_pad[n, c', i s_h + p d_h, j s_w + q d_w]

    dL/dW[o,c,p,q] = sum_{n,i,j} dL/dy[n,o,i,j] x_pad[n, c', i s_h + p d_h, j s_w + q d_w];
    dL/db[o] = sum_{n,i,j} dL/dy[n,o,i,j];  dL/dx = col2im(W^T dL/dy): each kernel position adds
    its strided slice, so overlapping windows accumulate (c' runs over o's channel group).
    """

    name = "conv2d"


def _tuple(value, nd: int, what: str, op: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(
            f"{op}: {what} must be an int or a tuple of {nd} ints, got {value!r}"
        ) from None
    if len(out) != nd:
        raise ValueError(
            f"{op}: {what} must be an int or a tuple of {nd} ints, got {value!r}"
        ) from None
    return out


def _check_conv(op, nd, x, weight, bias, stride, padding, dilation, groups):
    """Validate arguments like PyTorch; return (stride, ((lo, hi), ...), dilation)."""
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    wlayout = (
        "(out_channels, in_channels/groups, kL)"
        if nd == 1
        else ("(out_channels, in_channels/groups, kH, kW)")
    )
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(x).__name__} and "
            f"{type(weight).__name__}"
        )
    if x.ndim != nd + 2:
        fix = " add a batch axis with x.unsqueeze(0)" if x.ndim == nd + 1 else ""
        raise ValueError(
            f"{op}: input of shape {x.shape} has {x.ndim} dims; expected {layout}.{fix}"
        )
    if weight.ndim != nd + 2:
        raise ValueError(
            f"{op}: weight of shape {weight.shape} has {weight.ndim} dims; expected {wlayout}"
        )
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, o = x.shape[1], weight.shape[0]
    if c % groups or o % groups:
        raise ValueError(
            f"{op}: in_channels={c} and out_channels={o} must both be divisible by groups={groups}"
        )
    if weight.shape[1] * groups != c:
        raise ValueError(
            f"{op}: input of shape {x.shape} has {c} channels but weight of shape {weight.shape} "
            f"expects {weight.shape[1] * groups} (= weight.shape[1] * groups={groups}); "
            "the input's axis 1 must equal in_channels"
        )
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (o,)):
        raise ValueError(
            f"{op}: bias must be a Tensor of shape ({o},), got "
            f"{getattr(bias, 'shape', type(bias).__name__)}"
        )
    for t in (weight, bias):
        if t is not None and t.dtype != x.dtype and _AUTOCAST.dtype is None:
            raise TypeError(
                f"{op}: input dtype {x.dtype} and parameter dtype {t.dtype} differ; "
                "cast one with .astype()"
            )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be >= 1")
    k = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if max(stride) != 1:
                raise ValueError(f"{op}: padding='same' needs stride=1, got stride={stride}")
            # PyTorch puts the odd extra pad on the high side
            tot = [d * (kk - 1) for d, kk in zip(dilation, k)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ValueError(
                f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"
            )
    else:
        p = _tuple(padding, nd, "padding", op)
        if min(p) < 0:
            raise ValueError(f"{op}: padding must be >= 0, got {padding!r}")
        pads = tuple((v, v) for v in p)
    for ax, (sz, kk, d, (lo, hi)) in enumerate(zip(x.shape[2:], k, dilation, pads)):
        span = d * (kk - 1) + 1
        if sz + lo + hi < span:
            raise ValueError(
                f"{op}: kernel of size {tuple(k)} (dilation {dilation}) spans {span} along "
                f"spatial axis {ax}, larger than the padded input ({sz} + {lo + hi} padding) of "
                f"input shape {x.shape}; use a smaller kernel or more padding"
            )
    return stride, pads, dilation


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, like PyTorch) over (N, C, L) input.

    y[n, o, l] = b[o] + sum_{c, t} W[o, c, t] x_pad[n, c, l * stride + t * dilation]

    Args:
        x: input (N, C_in, L).
        weight: (C_out, C_in / groups, kL).
        bias: (C_out,) or None.
        stride, padding, dilation: int or 1-tuple; padding may be 'same' or 'valid'.
        groups: split channels into this many independent groups.

    Returns:
        (N, C_out, L_out), L_out = (L + 2 padding - dilation (kL - 1) - 1) // stride + 1.

    >>> import glassnet as gn
    >>> x = gn.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> conv1d(x, gn.tensor([[[1.0, -1.0]]])).numpy()
    array([[[-1., -1., -1.]]], dtype=float32)
    """
    stride, pads, dilation = _check_conv(
        "conv1d", 1, x, weight, bias, stride, padding, dilation, groups
    )
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv1d.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=int(groups))


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, like PyTorch) over NCHW input.

    y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] x_pad[n, c, i s_h + p d_h, j s_w + q d_w]

    Args:
        x: input (N, C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: int or (h, w); padding may also be 'same' (stride 1
            only; an odd total pad puts the extra row/column at the bottom/right, like PyTorch)
            or 'valid' (no padding).
        groups: split channels into this many independent groups (groups = C_in: depthwise).

    Returns:
        (N, C_out, H_out, W_out), H_out = (H + 2 p_h - d_h (kH - 1) - 1) // s_h + 1.

    >>> import glassnet as gn
    >>> x = gn.ones(1, 1, 3, 3)
    >>> conv2d(x, gn.ones(2, 1, 2, 2), gn.tensor([0.0, 1.0])).shape
    (1, 2, 2, 2)
    >>> conv2d(x, gn.ones(1, 1, 3, 3), padding=1).numpy()[0, 0]
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]], dtype=float32)
    """
    stride, pads, dilation = _check_conv(
        "conv2d", 2, x, weight, bias, stride, padding, dilation, groups
    )
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=pads, dilation=dilation, groups=int(groups))
