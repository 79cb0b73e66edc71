"""Array-level entry points of the direct convolution kernels (:mod:`glassnet.backend._jit_conv`).

:func:`plan` says whether a ``conv2d`` call takes the kernels: host NumPy float32/float64
arrays of one dtype, the kernels enabled and Numba installed (:mod:`glassnet.backend.jit`),
stride 1, dilation 1, one group (any zero padding), and a layer small enough that the
kernels measured faster than the im2col path (:data:`MAX_TAPS`, :data:`MAX_OUT_CHANNELS`).
Every other call keeps the im2col path of :mod:`glassnet.ops.conv`; both agree to float32
rounding.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend.jit import usable
from glassnet.backend.kernel_threads import run_rows

#: Largest C kh kw (taps per output) and output channels the kernels take. Measured at one
#: thread, forward + backward, im2col path -> kernels (ms): LeNet's layers (25 and 150 taps,
#: 6 and 16 channels) 1.7 -> 0.7 and 2.6 -> 1.8; 3 -> 32 channels 3x3 on 64x64, batch 32:
#: 34 -> 21; 16 -> 16 5x5 (400 taps) on 32x32: 26 -> 8.8; 32 -> 64 3x3 (288 taps) on 32x32:
#: 28.5 -> 25; but 56 -> 64 3x3 (504 taps) on 16x16: 5.8 -> 5.9, no gain (the grad input
#: then sums over 576 taps). Wider layers keep the GEMM path, where OpenBLAS is at its best.
MAX_TAPS = 448
MAX_OUT_CHANNELS = 64


def _kernels(*arrays):
    if usable(*arrays) is None:
        return None
    from glassnet.backend import _jit_conv

    return _jit_conv


def plan(x, weight, bias, stride, padding, dilation, groups):
    """The kernel module if this conv2d call takes the kernels, else None."""
    if x.ndim != 4 or stride != (1, 1) or dilation != (1, 1) or groups != 1:
        return None
    o, c, kh, kw = weight.shape
    if c * kh * kw > MAX_TAPS or o > MAX_OUT_CHANNELS or x.size == 0 or weight.size == 0:
        return None
    return _kernels(x, weight, *(() if bias is None else (bias,)))


def _work(n, o, u, taps):
    # one sample costs about o u taps / 16 vector multiply-adds (elementwise-op elements)
    return n * (o * u * taps // 16 + 1)


def conv2d(kern, x, weight, bias, padding):
    """y = conv2d(x, weight) + bias by the kernels (``kern`` from :func:`plan`)."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    (pt, pb), (pl, pr) = padding
    hp, wp = h + pt + pb, w + pl + pr
    ho, wo = hp - kh + 1, wp - kw + 1
    x = np.ascontiguousarray(x)
    w2 = np.ascontiguousarray(weight).reshape(o, -1)
    b = np.zeros(1, x.dtype) if bias is None else np.ascontiguousarray(bias)
    out = np.empty((n, o, ho, wo), x.dtype)
    rows4 = -(-o // 4) * 4 == -(-o // 2) * 2  # tiles of 4 x 32 unless 2 x 64 waste fewer rows
    args = (x, w2, b, bias is not None, out, pt, pl, hp, wp, rows4)
    run_rows(kern.conv_forward, n, *args, work=_work(n, o, ho * wp, w2.shape[1]))
    return out


def conv2d_grad_input(kern, grad, weight, x_shape, padding):
    """dL/dx (of ``x_shape``) from dL/dy: the flipped weight's convolution (see the kernel)."""
    n, c, h, w = x_shape
    o, _, kh, kw = weight.shape
    (pt, pb), (pl, pr) = padding
    hp, wp = h + pt + pb, w + pl + pr
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    wf = np.ascontiguousarray(flipped).reshape(c, -1)
    g = np.ascontiguousarray(grad)
    dx = np.empty(x_shape, grad.dtype)
    rows4 = -(-c // 4) * 4 == -(-c // 2) * 2
    args = (g, wf, dx, pt, pl, hp, wp, rows4)
    run_rows(kern.conv_grad_input, n, *args, work=_work(n, c, hp * wp, wf.shape[1]))
    return dx


#: Bytes of input and gradient that one chunk of the weight-gradient kernel reads per pass:
#: chunks stay in the L1 cache (48 KiB here; measured on LeNet's layers).
CHUNK_BYTES = 24 << 10


def conv2d_grad_weight(kern, x, grad, weight_shape, padding):
    """(dL/dW of ``weight_shape``, dL/db): partial sums over fixed chunks of samples (their
    size set by the shapes alone), added in chunk order: the same bits for any thread count.
    None when x holds an inf or a NaN (the caller then takes the im2col product, whose sums
    never read 0 * inf)."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight_shape
    (pt, pb), (pl, pr) = padding
    hp, wp = h + pt + pb, w + pl + pr
    ho = grad.shape[2]
    lanes_o = o >= 12  # output channels in the lanes; else positions, with lane sums
    per_sample = c * hp * wp + (ho * grad.shape[3] * 16 if lanes_o else 2 * ho * wp)
    chunk = min(16, max(1, CHUNK_BYTES // (per_sample * x.itemsize)))
    parts = np.empty((-(-n // chunk), o, c * kh * kw), x.dtype)
    bparts = np.empty((parts.shape[0], o), x.dtype)
    finite = np.empty(parts.shape[0], bool)
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(grad)
    args = (x, g, parts, bparts, finite, pt, pl, hp, wp, chunk, lanes_o)
    work = _work(n, o, ho * wp, c * kh * kw)
    run_rows(kern.conv_wgrad, n, *args, work=work, grain=chunk)
    if not finite.all():
        return None
    gw, gb = parts[0].copy(), bparts[0].copy()
    for k in range(1, parts.shape[0]):
        gw += parts[k]
        gb += bparts[k]
    return gw.reshape(weight_shape), gb


def max_pool_2x2_backward(x, y, grad, dx):
    """dx (zeros where no window reaches, or every element covered) filled with dL/dx of 2x2
    max pooling with stride 2 by the kernel, split over (sample, channel) planes; False when
    the kernel does not apply."""
    if usable(x, y, grad, dx) is None or x.size == 0:
        return False
    if not all(a.flags.c_contiguous for a in (x, y, grad, dx)):
        return False
    from glassnet.backend import _jit_conv as kern

    planes = x.shape[0] * x.shape[1]
    x3, dx3 = x.reshape(planes, *x.shape[2:]), dx.reshape(planes, *x.shape[2:])
    y3, g3 = y.reshape(planes, *y.shape[2:]), grad.reshape(planes, *y.shape[2:])
    run_rows(kern.max_pool_2x2_backward, planes, x3, y3, g3, dx3, work=2 * x.size)
    return True


def max_pool_2x2(x, out):
    """y of 2x2 max pooling with stride 2 (``out`` = (Ho, Wo)) by the kernel, split over
    planes, or None where it does not apply."""
    if usable(x) is None or x.size == 0 or not x.flags.c_contiguous:
        return None
    from glassnet.backend import _jit_conv as kern

    planes = x.shape[0] * x.shape[1]
    y = np.empty((*x.shape[:2], *out), x.dtype)
    x3, y3 = x.reshape(planes, *x.shape[2:]), y.reshape(planes, *out)
    run_rows(kern.max_pool_2x2, planes, x3, y3, work=x.size)
    return y
