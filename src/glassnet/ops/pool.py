"""2-D pooling over NCHW input: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Max and average pooling loop over the kh*kw kernel positions, never over pixels: position
(p, q) of every window is the strided slice ``x_pad[:, :, p::s_h, q::s_w]`` (cropped to the
output size), so the forward is kh*kw elementwise ``maximum``/``add`` calls on whole arrays and
the backward kh*kw strided adds (overlapping windows accumulate).
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops import _fused_conv
from glassnet.ops._conv_cpu import split
from glassnet.tensor import Tensor

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"]


def _slices(k, stride, out):
    """For each kernel position (p, q): the (rows, cols) slice picking it in every window."""
    (kh, kw), (sh, sw), (ho, wo) = k, stride, out
    return [
        (p * kw + q, slice(p, p + sh * (ho - 1) + 1, sh), slice(q, q + sw * (wo - 1) + 1, sw))
        for p in range(kh)
        for q in range(kw)
    ]


def _out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


class MaxPool2d(Function):
    """y[n,c,i,j] = max_{p,q} x_pad[n, c, i s_h + p, j s_w + q]   (x_pad: -inf padding)

    dL/dx = dL/dy routed to the arg-max of each window. Ties: the gradient goes to the first
    maximal position in row-major window order (as in PyTorch), not split between them.
    Overlapping windows that share a maximum add their gradients there.
    """

    def forward(self, x, kernel_size, stride, padding):
        xp = xp_of(x)
        n, c, h, w = x.shape
        (ph, pw) = padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf)
        out = (
            _out_size(h, kernel_size[0], stride[0], ph),
            _out_size(w, kernel_size[1], stride[1], pw),
        )
        self.sl = sl = _slices(kernel_size, stride, out)
        self.pairs = None
        self.two_by_two = False
        if kernel_size == stride == (2, 2) and type(x) is np.ndarray:  # LeNet's pooling
            y, self.pairs = _max_pool_2x2(x, out)
            self.two_by_two = True  # pairs is None when the jit kernel ran
            self.x_pad, self.y, self.pad = x, y, (0, 0)
            self.kernel_size, self.stride = kernel_size, stride
            return y
        y = xp.empty((n, c, *out), dtype=x.dtype)

        def run(lo, hi):  # samples are independent: large batches split over threads
            xs, ys = x[lo:hi], y[lo:hi]
            for i, (_, rows, cols) in enumerate(sl):
                if i == 0:
                    ys[...] = xs[:, :, rows, cols]
                else:
                    xp.maximum(ys, xs[:, :, rows, cols], out=ys)

        split(n, run, elements=x.size + y.size, like=x)
        self.x_pad, self.y, self.pad = x, y, (ph, pw)
        self.kernel_size, self.stride = kernel_size, stride
        return y

    def _route(self, xp, lo=0, hi=None):
        """For each kernel position: the mask of windows (of samples [lo, hi)) whose (first)
        maximum sits there."""
        x, y = self.x_pad[lo:hi], self.y[lo:hi]
        free = None  # windows whose max has not been claimed by an earlier position
        route = []
        for _, rows, cols in self.sl:
            # not (x < y) rather than x == y: a NaN window still routes its gradient (to its
            # first position), as a NaN there should show up in dL/dx
            hit = xp.logical_not(xp.less(x[:, :, rows, cols], y))
            if free is None:
                free = ~hit
            else:
                hit &= free
                free ^= hit
            route.append((rows, cols, hit))
        return route

    def backward(self, ns, grad, x):
        # dL/dx is linear in dL/dy (each window's gradient goes to its arg-max), its adjoint a
        # gather from the same positions: differentiable to any order through ns.linear
        xp = xp_of(self.y)
        shape, (ph, pw) = self.x_pad.shape, self.pad
        overlap = any(k > s for k, s in zip(self.kernel_size, self.stride))
        if ns.eager and type(grad) is np.ndarray:  # by sample (large batches: threads)
            if self.two_by_two:
                return _max_pool_2x2_backward(self.x_pad, self.y, self.pairs, grad)
            return self._backward_host(grad, overlap)
        route = self._route(xp)

        def scatter(g):
            dx = xp.zeros(shape, dtype=g.dtype)
            for rows, cols, hit in route:
                if overlap:
                    dx[:, :, rows, cols] += g * hit
                else:  # each input belongs to one window: write straight into dx
                    xp.multiply(g, hit, out=dx[:, :, rows, cols])
            return dx[:, :, ph : shape[2] - ph, pw : shape[3] - pw] if ph or pw else dx

        def gather(dx):
            dx = xp.pad(dx, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else dx
            return sum(dx[:, :, rows, cols] * hit for rows, cols, hit in route)

        return ns.linear(scatter, gather, grad)

    def _backward_host(self, grad, overlap):
        """dL/dx on the CPU: the route and scatter of ``backward`` on blocks of samples."""
        shape, (ph, pw) = self.x_pad.shape, self.pad
        (kh, kw), (ho, wo) = self.kernel_size, self.y.shape[2:]
        covered = not overlap and ho * kh == shape[2] and wo * kw == shape[3]
        # windows that tile the input write every element: no zero fill needed
        dx = (np.empty if covered else np.zeros)(shape, dtype=grad.dtype)

        def run(lo, hi):
            g, d = grad[lo:hi], dx[lo:hi]
            for rows, cols, hit in self._route(np, lo, hi):
                if overlap:
                    d[:, :, rows, cols] += g * hit
                else:
                    np.multiply(g, hit, out=d[:, :, rows, cols])

        split(shape[0], run, elements=3 * dx.size, like=grad)
        return dx[:, :, ph : shape[2] - ph, pw : shape[3] - pw] if ph or pw else dx


def _windows_2x2(a, out):
    """(N, C, Ho, 2, Wo, 2) view of the 2x2 windows of ``a`` (a trailing odd row or
    column, in no window, left out)."""
    n, c = a.shape[:2]
    ho, wo = out
    return a[:, :, : 2 * ho, : 2 * wo].reshape(n, c, ho, 2, wo, 2)


def _max_pool_2x2(x, out):
    """Max pooling over 2x2 windows with stride 2 on the CPU, as a tree: each window row's
    pair maximum r[.., a, j] = max(x[2i + a, 2j], x[2i + a, 2j + 1]), then y = max(r[0], r[1]).
    The same values as the general path's fold over the four positions (``maximum`` keeps
    its first argument on ties and the first NaN) in two passes instead of four. Large
    batches are split over threads by sample. Returns y and r (kept for backward), or y and
    None from the glassnet[jit] kernel (one pass; its backward needs no r)."""
    y = _fused_conv.max_pool_2x2(x, out)
    if y is not None:
        return y, None
    n, c = x.shape[:2]
    y = np.empty((n, c, *out), dtype=x.dtype)
    pairs = np.empty((n, c, out[0], 2, out[1]), dtype=x.dtype)

    def run(lo, hi):
        w = _windows_2x2(x[lo:hi], out)
        np.maximum(w[..., 0], w[..., 1], out=pairs[lo:hi])
        np.maximum(pairs[lo:hi, :, :, 0], pairs[lo:hi, :, :, 1], out=y[lo:hi])

    split(n, run, elements=x.size + pairs.size + y.size, like=x)
    return y, pairs


def _max_pool_2x2_backward(x, y, pairs, grad):
    """dL/dx of :func:`_max_pool_2x2`: the first maximum of each window in row-major order
    takes dL/dy (the general path's rule: the first position p with not x_p < y). It is in
    the bottom row when the top row's maximum is below y (never for a NaN y), and in the
    right column of its row when that row's first element is below y."""
    n, c, h, w = x.shape
    out = y.shape[2:]
    covered = 2 * out[0] == h and 2 * out[1] == w
    dx = (np.empty if covered else np.zeros)(x.shape, dtype=grad.dtype)
    if _fused_conv.max_pool_2x2_backward(x, y, grad, dx):  # glassnet[jit], where it applies
        return dx
    if pairs is None:  # the kernel ran the forward, but not the backward (a strided grad)
        xw = _windows_2x2(x, out)
        pairs = np.maximum(xw[..., 0], xw[..., 1])

    def run(lo, hi):
        xw, ys, g = _windows_2x2(x[lo:hi], out), y[lo:hi], grad[lo:hi]
        dw = _windows_2x2(dx[lo:hi], out)
        bottom = pairs[lo:hi, :, :, 0] < ys
        top = ~bottom
        for row, in_row in ((0, top), (1, bottom)):
            right = xw[:, :, :, row, :, 0] < ys
            np.multiply(g, in_row & ~right, out=dw[:, :, :, row, :, 0])
            np.multiply(g, in_row & right, out=dw[:, :, :, row, :, 1])

    split(n, run, elements=3 * dx.size, like=grad)
    return dx


class AvgPool2d(Function):
    """y[n,c,i,j] = (1 / D_ij) sum_{p,q} x_pad[n, c, i s_h + p, j s_w + q]   (zero padding)

    D_ij = kh*kw (count_include_pad=True) or the number of real (unpadded) inputs in the
    window.  dL/dx[window of (i, j)] += dL/dy[i, j] / D_ij.
    """

    def forward(self, x, kernel_size, stride, padding, count_include_pad):
        xp = xp_of(x)
        n, c, h, w = x.shape
        ph, pw = padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        out = (
            _out_size(h, kernel_size[0], stride[0], ph),
            _out_size(w, kernel_size[1], stride[1], pw),
        )
        self.sl = _slices(kernel_size, stride, out)
        y = None
        for _, rows, cols in self.sl:
            win = x[:, :, rows, cols]
            y = win.astype(x.dtype, copy=True) if y is None else xp.add(y, win, out=y)
        if count_include_pad or not (ph or pw):
            self.scale = x.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
        else:
            ones = xp.pad(xp.ones((h, w), dtype=x.dtype), ((ph, ph), (pw, pw)))
            count = sum(ones[rows, cols] for _, rows, cols in self.sl)
            self.scale = 1.0 / count
        y *= self.scale
        self.pad_shape, self.pad = x.shape, (ph, pw)
        return y

    def backward(self, ns, grad, x):
        # linear in dL/dy: each window spreads its gradient / D back over its inputs; the
        # adjoint of that spread is the pooling itself
        xp, scale, sl = xp_of(grad if ns.eager else grad._data), self.scale, self.sl
        shape, (ph, pw) = self.pad_shape, self.pad

        def spread(g):
            gs = g * scale
            dx = xp.zeros(shape, dtype=g.dtype)
            for _, rows, cols in sl:
                dx[:, :, rows, cols] += gs
            return dx[:, :, ph : shape[2] - ph, pw : shape[3] - pw] if ph or pw else dx

        def pool(dx):
            dx = xp.pad(dx, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else dx
            return sum(dx[:, :, rows, cols] for _, rows, cols in sl) * scale

        return ns.linear(spread, pool, grad)


def _bin_matrix(xp, size: int, out: int, dtype):
    """A (out, size) averaging matrix: row i averages PyTorch's bin
    [floor(i size / out), ceil((i + 1) size / out))."""
    m = np.zeros((out, size))
    for i in range(out):
        lo, hi = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return xp.asarray(m.astype(dtype))


class AdaptiveAvgPool2d(Function):
    """y[n,c,i,j] = mean of x[n, c, rows_i, cols_j], bins rows_i = [floor(iH/Ho), ceil((i+1)H/Ho))

    Averaging a rectangle is separable, so y = A_h x A_w^T with (Ho, H) and (Wo, W) averaging
    matrices; dL/dx = A_h^T dL/dy A_w.
    """

    def forward(self, x, output_size):
        xp = xp_of(x)
        h, w = x.shape[2:]
        self.ah = _bin_matrix(xp, h, output_size[0], x.dtype)
        self.aw = _bin_matrix(xp, w, output_size[1], x.dtype)
        return xp.matmul(xp.matmul(self.ah, x), self.aw.T)

    def backward(self, ns, grad, x):
        return ns.const(self.ah.T) @ grad @ ns.const(self.aw)


def _pair(value, op, what):
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a pair of ints, got {value!r}") from None
    if len(out) != 2:
        raise ValueError(f"{op}: {what} must be an int or a pair of ints, got {value!r}")
    return out


def _check_pool(op, x, kernel_size, stride, padding):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        fix = "; add a batch axis with x.unsqueeze(0)" if x.ndim == 3 else ""
        raise ValueError(
            f"{op}: input of shape {x.shape} has {x.ndim} dims; expected (N, C, H, W){fix}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    k = _pair(kernel_size, op, "kernel_size")
    s = k if stride is None else _pair(stride, op, "stride")
    p = _pair(padding, op, "padding")
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(
            f"{op}: need kernel_size >= 1, stride >= 1 and padding >= 0; got "
            f"kernel_size={k}, stride={s}, padding={p}"
        )
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    h, w = x.shape[2:]
    if h + 2 * p[0] < k[0] or w + 2 * p[1] < k[1]:
        raise ValueError(
            f"{op}: kernel_size {k} is larger than the padded input "
            f"({h + 2 * p[0]}, {w + 2 * p[1]}) of input shape {x.shape}; use a "
            "smaller kernel or more padding"
        )
    return k, s, p


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """2-D max pooling: the largest value of each kh x kw window (NCHW).

    y[n, c, i, j] = max_{p < kh, q < kw} x_pad[n, c, i s_h + p, j s_w + q], padding with -inf.
    The gradient flows only to each window's maximum; on ties, to the first one in row-major
    window order (PyTorch's rule).

    Args:
        x: (N, C, H, W).
        kernel_size: int or (kh, kw).
        stride: int or pair; defaults to kernel_size (non-overlapping windows).
        padding: int or pair, at most half the kernel size.

    Returns:
        (N, C, H_out, W_out), H_out = (H + 2 p_h - kh) // s_h + 1.

    >>> import glassnet as gn
    >>> x = gn.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2).numpy()
    array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """
    k, s, p = _check_pool("max_pool2d", x, kernel_size, stride, padding)
    return MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p)


def avg_pool2d(
    x: Tensor, kernel_size, stride=None, padding=0, count_include_pad: bool = True
) -> Tensor:
    """2-D average pooling: the mean of each kh x kw window (NCHW).

    y[n, c, i, j] = (1/D) sum_{p, q} x_pad[n, c, i s_h + p, j s_w + q], zero padding; D is
    kh*kw, or with count_include_pad=False the number of unpadded elements in the window.

    Args:
        x: (N, C, H, W).
        kernel_size: int or (kh, kw).
        stride: int or pair; defaults to kernel_size.
        padding: int or pair, at most half the kernel size.
        count_include_pad: count the zero padding in the divisor (PyTorch's default).

    Returns:
        (N, C, H_out, W_out), H_out = (H + 2 p_h - kh) // s_h + 1.

    >>> import glassnet as gn
    >>> avg_pool2d(gn.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]], dtype=float32)
    """
    k, s, p = _check_pool("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2d.apply(
        x, kernel_size=k, stride=s, padding=p, count_include_pad=bool(count_include_pad)
    )


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (Ho, Wo), whatever the input size (NCHW).

    Output cell i along H averages rows [floor(i H / Ho), ceil((i + 1) H / Ho)) (PyTorch's
    bins; they may overlap by one when Ho does not divide H), and likewise along W.

    Args:
        x: (N, C, H, W).
        output_size: int or (Ho, Wo); None in the pair keeps that input size.

    Returns:
        (N, C, Ho, Wo).

    >>> import glassnet as gn
    >>> adaptive_avg_pool2d(gn.arange(6.0).reshape(1, 1, 2, 3), 1).numpy()
    array([[[[2.5]]]], dtype=float32)
    """
    op = "adaptive_avg_pool2d"
    if not isinstance(input, Tensor) or input.ndim != 4:
        raise ValueError(
            f"{op}: expected a Tensor of shape (N, C, H, W), got "
            f"{getattr(input, 'shape', type(input).__name__)}"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(
        int(input.shape[2 + i]) if o is None else int(o) for i, o in enumerate(output_size)
    )
    if min(size) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return AdaptiveAvgPool2d.apply(input, output_size=size)
