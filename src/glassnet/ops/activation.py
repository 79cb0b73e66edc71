"""Activation functions: the nonlinearities between layers, each numerically stable.

Without a nonlinearity a stack of linear layers is one linear map; these put the bends in.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.backend.parallel import parallel_for
from glassnet.backend.special import erf_into as _erf_into
from glassnet.ops import _fused
from glassnet.ops._conv_cpu import split
from glassnet.ops._parallel import map_rows, rows_view
from glassnet.ops._util import floating, inplace_result, max_kept, normalize_axis
from glassnet.tensor import Tensor

__all__ = [
    "elu",
    "erf",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "swish",
    "tanh",
]


def _erf(xp, x):
    """erf without a SciPy dependency: SciPy's when present (exact), else the Numerical
    Recipes Chebyshev fit of erfc (fractional error < 1.2e-7, enough for float32; float64
    on the CPU takes libm's exact erf, element by element)."""
    if x.dtype == "float64" and xp.__name__ == "numpy":
        return np.asarray(_MATH_ERF(x), dtype=np.float64)
    out = xp.empty(x.shape, dtype=x.dtype)
    _erf_into(xp, x, out, xp.empty_like(out), xp.empty_like(out))
    return out


_MATH_ERF = np.frompyfunc(math.erf, 1, 1)  # libm's erf: exact in float64


# Elementwise chains over large activations (exact GELU: about 30 passes) run at memory speed
# when each pass streams the whole array; on cache-sized blocks (the same arithmetic per
# element, so the same bits) the temporaries stay in L2: 2x faster per million elements.
_BLOCK = 65536


# The unit of work split over threads: blocks start at multiples of 4096 elements (16 KiB of
# float32: SIMD- and cache-line aligned).
_CHUNK = 4096


def _blocks(xp, n: int):
    """Slices covering range(n) in cache-sized blocks (one block on GPUs)."""
    if xp.__name__ != "numpy" or n <= _BLOCK:
        return [slice(0, n)]
    return [slice(s, min(s + _BLOCK, n)) for s in range(0, n, _BLOCK)]


class Relu(Function):
    """y = max(0, x);  dy/dx = 1 if x > 0 else 0  (0 at x = 0, as PyTorch)"""

    def forward(self, x):
        xp = xp_of(x)
        flat = _flat_host(x)
        if flat is None or flat.size < _BLOCK:
            # the mask in x's float dtype: float * bool goes through NumPy's slow casting
            # loop (about 2.5x the time of float * float on small arrays)
            self.mask = (x > 0).astype(x.dtype)
            return xp.maximum(x, 0)  # x * mask would give -0.0 for negative x
        # large host arrays: a bool mask (measured on LeNet's 301k-element activations:
        # forward 0.17 -> 0.09 ms, backward 0.12 -> 0.10 ms), split over threads when large
        fused = _fused.relu(flat)  # glassnet[jit]: one pass, split over threads
        if fused is not None:
            self.mask = fused[1].reshape(x.shape)
            return fused[0].reshape(x.shape)
        mask, y = np.empty(flat.shape, dtype=bool), np.empty_like(flat)

        def run(lo, hi):
            np.greater(flat[lo:hi], 0, out=mask[lo:hi])
            np.maximum(flat[lo:hi], 0, out=y[lo:hi])

        split(flat.size, run, elements=3 * flat.size, like=flat)
        self.mask = mask.reshape(x.shape)
        return y.reshape(x.shape)

    def backward(self, ns, grad, x):
        mask = self.mask
        if mask.dtype != bool and mask.size < _BLOCK and ns.eager and grad.dtype == mask.dtype:
            return grad * mask  # a small array's float mask: one multiply, no blocks
        g = _flat_host(grad) if ns.eager and grad.shape == x.shape else None
        if g is None or g.dtype != x.dtype:
            if mask.dtype == bool:
                mask = mask.astype(x.dtype)
            return grad * mask  # an array mixes with a tensor as a constant
        fused = _fused.relu_backward(g, mask.reshape(-1)) if mask.dtype == bool else None
        if fused is not None:
            return fused.reshape(grad.shape)
        mask, dx = mask.reshape(-1), np.empty_like(g)

        def run(lo, hi):
            np.multiply(g[lo:hi], mask[lo:hi], out=dx[lo:hi])

        split(g.size, run, elements=3 * g.size, like=g)
        return dx.reshape(grad.shape)


def _flat_host(a):
    """``a`` flattened without a copy when it is a contiguous host NumPy array, else None."""
    if type(a) is not np.ndarray or not a.flags.c_contiguous:
        return None
    return a.reshape(-1)


class LeakyRelu(Function):
    """y = x if x > 0 else a x;  dy/dx = 1 if x > 0 else a   (a = negative_slope)"""

    def forward(self, x, slope):
        xp = xp_of(x)
        self.scale = xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
        return x * self.scale

    def backward(self, ns, grad, x):
        return grad * self.scale


class Elu(Function):
    """y = x if x > 0 else a (e^x - 1);  dy/dx = 1 if x > 0 else a e^x"""

    def forward(self, x, alpha):
        xp = xp_of(x)
        self.alpha, self.positive = alpha, x > 0
        neg = alpha * xp.expm1(xp.minimum(x, 0))  # min() keeps e^x from overflowing
        return xp.where(self.positive, x, neg)

    def backward(self, ns, grad, x):
        negative_side = self.alpha * ns.exp(ns.minimum(x, 0.0))
        return grad * ns.where(ns.const(self.positive), 1.0, negative_side)


class Erf(Function):
    """y = erf x = (2 / sqrt(pi)) int_0^x e^{-t^2} dt;  dy/dx = (2 / sqrt(pi)) e^{-x^2}"""

    def forward(self, x):
        return _erf(xp_of(x), x)

    def backward(self, ns, grad, x):
        return grad * (2 / math.sqrt(math.pi)) * ns.exp(-(x * x))


def _tanh_gelu_u(x):
    return math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)


class Gelu(Function):
    """y = x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2
    dy/dx = Phi(x) + x phi(x),  phi(x) = e^{-x^2/2} / sqrt(2 pi)

    ``approximate="tanh"``: y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
    dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    """

    def forward(self, x, approximate):
        xp = xp_of(x)
        self.approximate = approximate
        if approximate == "tanh":
            self.t = xp.tanh(_tanh_gelu_u(x))
            return 0.5 * x * (1 + self.t)
        if (fused := _fused.gelu(x)) is not None:  # the optional fused kernel (backend.jit)
            y, self.cdf = fused
            return y
        # Phi(x) = (1 + erf(x / sqrt 2)) / 2 and y = x Phi(x), block by block (see _BLOCK),
        # the blocks spread over the CPU threads (elementwise: the same bits for any count)
        flat = xp.ascontiguousarray(x).reshape(-1)
        cdf, y = xp.empty_like(flat), xp.empty_like(flat)

        def chunk(start, stop):
            lo, hi = start * _CHUNK, min(stop * _CHUNK, flat.size)
            blocks = _blocks(xp, hi - lo)
            size = blocks[0].stop
            u, t, poly = (xp.empty(size, dtype=x.dtype) for _ in range(3))
            for b in blocks:
                m, b = b.stop - b.start, slice(lo + b.start, lo + b.stop)
                xb, cb = flat[b], cdf[b]
                xp.divide(xb, math.sqrt(2), out=u[:m])
                _erf_into(xp, u[:m], cb, t[:m], poly[:m])
                cb += 1
                cb *= 0.5
                xp.multiply(xb, cb, out=y[b])

        parallel_for(-(-flat.size // _CHUNK), chunk, item_size=_CHUNK * 16, like=flat)
        self.cdf = cdf.reshape(x.shape)
        return y.reshape(x.shape)

    def backward(self, ns, grad, x):
        # tanh(u) and Phi(x) are kept by forward; under create_graph they are recomputed from
        # the input tensor, so that their own derivatives are in the graph
        if self.approximate == "tanh":
            t = self.t if ns.eager else ns.tanh(_tanh_gelu_u(x))
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        if ns.eager and (dx := _fused.gelu_backward(x, self.cdf, grad)) is not None:
            return dx
        if ns.eager and type(x) is np.ndarray and grad.shape == x.shape:
            return _gelu_grad(x, self.cdf, grad)
        cdf = self.cdf if ns.eager else 0.5 * (1 + ns.erf(x * (1 / math.sqrt(2))))
        # grad (Phi(x) + x phi(x)), phi(x) = e^{-x^2/2} / sqrt(2 pi): on arrays in one buffer
        # (ns.mul_ and friends write into the fresh x * x), on tensors out of place
        d = ns.exp_(ns.mul_(x * x, -0.5))  # e^{-x^2/2}
        d = ns.mul_(ns.mul_(d, 1 / math.sqrt(2 * math.pi)), x)  # x phi(x)
        return ns.mul_(ns.add_(d, cdf), grad)


def _gelu_grad(x, cdf, grad):
    """grad (Phi(x) + x phi(x)) on NumPy arrays, in parallel over element blocks: the same
    operations, in the same order, as the ``ns`` formula in ``Gelu.backward``."""
    xf, cf, gf = (np.ascontiguousarray(a).reshape(-1) for a in (x, cdf, grad))
    out = np.empty(xf.shape, dtype=x.dtype)  # as the in-place formula: x's dtype

    def chunk(start, stop):
        lo, hi = start * _CHUNK, min(stop * _CHUNK, xf.size)
        d, xb = out[lo:hi], xf[lo:hi]
        np.multiply(xb, xb, out=d)
        d *= -0.5
        np.exp(d, out=d)  # e^{-x^2/2}
        d *= 1 / math.sqrt(2 * math.pi)
        d *= xb  # x phi(x)
        d += cf[lo:hi]
        d *= gf[lo:hi]

    parallel_for(-(-xf.size // _CHUNK), chunk, item_size=_CHUNK * 4)
    return out.reshape(x.shape)


class Silu(Function):
    """y = x sigmoid(x) (swish);  dy/dx = s + x s (1 - s),  s = sigmoid(x)"""

    def forward(self, x):
        self.s = _sigmoid(xp_of(x), x)
        return x * self.s

    def backward(self, ns, grad, x):
        s = self.s if ns.eager else ns.sigmoid(x)
        return grad * (s + x * s * (1 - s))


def _sigmoid(xp, x):
    # 1/(1+e^-x) overflows e^-x for x << 0; the two-branch form never exponentiates a
    # positive number: for x < 0 use e^x / (1 + e^x).
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """y = 1 / (1 + e^{-x});  dy/dx = y (1 - y)"""

    saves_output = True

    def forward(self, x):
        return _sigmoid(xp_of(x), x)

    def backward(self, ns, grad, x, y):
        return grad * y * (1 - y)


class Tanh(Function):
    """y = tanh x = (e^x - e^-x)/(e^x + e^-x);  dy/dx = 1 - y^2"""

    saves_output = True

    def forward(self, x):
        return xp_of(x).tanh(x)

    def backward(self, ns, grad, x, y):
        return grad * (1 - y * y)


class Softplus(Function):
    """y = ln(1 + e^{beta x}) / beta;  dy/dx = sigmoid(beta x)

    Computed as max(z, 0) + log1p(e^{-|z|}), z = beta x, which never overflows.
    """

    def forward(self, x, beta):
        xp = xp_of(x)
        z = beta * x
        self.beta = beta
        return (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta

    def backward(self, ns, grad, x):
        return grad * ns.sigmoid(self.beta * x)


def _max_or_zero(x, axis):
    """The max along ``axis`` (kept), or 0 for an empty tensor (whose max does not exist)."""
    return max_kept(x, axis) if x.size else 0


class Softmax(Function):
    """y_i = e^{x_i - m} / sum_j e^{x_j - m}, m = max_j x_j (stability; cancels exactly)
    dL/dx_i = y_i (dL/dy_i - sum_j dL/dy_j y_j)

    Along the last axis of a NumPy array, rows are split over the CPU threads.
    """

    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        if _last(x, axis) and (y := _fused.softmax_last(x)) is not None:  # backend.jit
            return y
        return _by_rows(_softmax, x, axis, (x,), cost=4)

    def backward(self, ns, grad, x, y):
        fused = _fused.softmax_backward_last(y, grad) if ns.eager and _last(y, self.axis) else None
        if fused is not None:
            return fused
        if ns.eager:
            return _by_rows(_softmax_grad, grad, self.axis, (grad, y), cost=4)
        return y * (grad - ns.sum(grad * y, self.axis, True))


def _softmax(x, axis=-1):
    xp = xp_of(x)
    e = xp.exp(x - _max_or_zero(x, axis))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_grad(grad, y, axis=-1):
    return y * (grad - (grad * y).sum(axis=axis, keepdims=True))


def _log_softmax(x, axis=-1):
    xp = xp_of(x)
    if not x.size:
        return x.copy()
    shifted = x - max_kept(x, axis)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _log_softmax_grad(grad, y, axis=-1):
    return grad - np.exp(y) * grad.sum(axis=axis, keepdims=True)


def _by_rows(fn, x, axis, arrays, cost):
    """fn(*arrays, axis) computed on blocks of rows in parallel when ``axis`` is the last
    axis of C-contiguous NumPy arrays; otherwise in one call."""
    last = (x.ndim - 1,)
    if axis not in (last, last[0], -1) or not x.size:
        return fn(*arrays, axis=axis)
    rows = [rows_view(a, 1) for a in arrays]
    if any(r is None for r in rows):
        return fn(*arrays, axis=axis)
    return map_rows(fn, rows, item_size=x.shape[-1], cost=cost).reshape(x.shape)


def _last(x, axis) -> bool:
    """Whether ``axis`` (an int or a 1-tuple) is x's last axis (the fused kernels' case)."""
    axis = axis[0] if isinstance(axis, tuple) and len(axis) == 1 else axis
    return isinstance(axis, int) and x.ndim > 0 and axis in (-1, x.ndim - 1)


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x) (computed with the max subtracted: no overflow)
    dL/dx_i = dL/dy_i - softmax(x)_i sum_j dL/dy_j,  softmax(x) = e^y

    Along the last axis of a NumPy array, rows are split over the CPU threads.
    """

    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        return _by_rows(_log_softmax, x, axis, (x,), cost=4)

    def backward(self, ns, grad, x, y):
        if ns.eager and xp_of(grad) is np:
            return _by_rows(_log_softmax_grad, grad, self.axis, (grad, y), cost=4)
        return grad - ns.exp(y) * ns.sum(grad, self.axis, True)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Rectified linear unit max(0, x). ``inplace=True``: see :func:`ops._util.inplace_result`
    (written into ``x`` unless ``x`` requires grad under grad mode)."""
    out = Relu.apply(input)
    return inplace_result(input, out, True) if inplace else out


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    out = LeakyRelu.apply(input, slope=negative_slope)
    return inplace_result(input, out, True) if inplace else out


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Exponential linear unit."""
    out = Elu.apply(input, alpha=alpha)
    return inplace_result(input, out, True) if inplace else out


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; ``approximate="tanh"`` for the GPT-2 approximation.

    Exact GELU on the CPU runs as one fused kernel with ``glassnet[jit]`` installed
    (docs/performance.md; ``GLASSNET_JIT=0`` turns it off), with the same results."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    out = Silu.apply(input)
    return inplace_result(input, out, True) if inplace else out


swish = silu


def erf(x: Tensor) -> Tensor:
    """The error function erf(x) = (2 / sqrt(pi)) int_0^x e^{-t^2} dt."""
    return Erf.apply(x)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic sigmoid 1 / (1 + e^-x)."""
    return Sigmoid.apply(input if input._data.dtype.kind == "f" else floating(input))


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(input if input._data.dtype.kind == "f" else floating(input))


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """Smooth ReLU: ln(1 + e^(beta x)) / beta."""
    return Softplus.apply(x, beta=beta)


def _softmax_dim(op: str, x: Tensor, dim, axis, dtype):
    if axis is not None:
        dim = axis
    if dim is None:
        if x.ndim > 2:
            raise TypeError(
                f"{op}: pass dim= for a {x.ndim}-d input of shape {x.shape}; PyTorch's deprecated "
                "implicit choice would be dim 0 for 3-d and 1 for 4-d input, so glassnet asks"
            )
        dim = -1  # PyTorch's implicit choice for 0-, 1- and 2-d input
    if dtype is not None:
        x = x.astype(dtype)
    return x, normalize_axis(dim, x.shape, op)


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None, *, axis=None
) -> Tensor:
    """Normalized exponentials along ``dim`` (sums to 1); ``axis`` is an alias.

    Over the last axis on the CPU, a fused per-row kernel with ``glassnet[jit]`` installed
    (docs/performance.md), with the same results."""
    input, axes = _softmax_dim("softmax", input, dim, axis, dtype)
    return Softmax.apply(input, axis=axes)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None, *, axis=None
) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably; ``axis`` is an alias."""
    input, axes = _softmax_dim("log_softmax", input, dim, axis, dtype)
    return LogSoftmax.apply(input, axis=axes)
