"""The namespaces that op derivatives are written against: one formula, two kinds of values.

An op's ``backward(ns, grad, *inputs)`` is written once, with Python operators (``+ - * / @``,
indexing, ``.T``, ``.ndim``, ``.shape``) and the functions of ``ns``:

- first-order ``backward()`` passes an :class:`ArrayNamespace`: values are raw ``xp`` arrays
  and ``ns.exp`` is ``xp.exp`` (no Tensor, no graph node: the fast path);
- ``backward(create_graph=True)`` passes the graph namespace (``glassnet.ops`` registers it):
  values are Tensors and ``ns.exp`` is glassnet's differentiable ``exp``, so evaluating the
  same formula records a graph of the backward pass, which can be differentiated again.

``ns.eager`` tells them apart where an op keeps a value from its forward (a softmax, a
normalized input) instead of recomputing it: reuse the saved array eagerly, recompute it from
the input tensors under ``create_graph`` so that its own derivative is in the graph.
``ns.const(a)`` marks an array that does not depend on the inputs (masks, indices, class
weights): eagerly the array itself, in a graph a tensor that takes no gradient.

``ns.linear(f, f_adjoint, v)`` applies a linear map given as a pair of array functions, the
map and its adjoint (the transpose): eagerly ``f(v)``; in a graph a ``linear_map`` node whose
backward is ``f_adjoint``. Scatters, gathers and pooling routes are written this way, so they
are differentiable to any order without a class of their own.

``ns.mul_(a, b)``, ``ns.add_(a, b)``, ``ns.sub_(a, b)`` and ``ns.exp_(a)`` are ``a * b``,
``a + b``, ``a - b`` and ``exp(a)`` where ``a`` is a temporary the formula made itself (so
nothing else holds it) and already has the result's shape and dtype: on arrays they write the
result into ``a`` (the same arithmetic, bit for bit, without allocating and streaming a new
array per step), on tensors they are the ordinary out-of-place ops. A long elementwise
derivative then runs in one buffer on the fast path and still builds its graph under
``create_graph``, from the same one formula.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import to_device, xp_of

#: the namespace of differentiable tensor ops, registered by ``glassnet.ops`` on import
GRAPH = None


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting copies x along new leading axes and along axes of size 1; the gradient of a
    copy is the sum of the gradients of its copies.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"internal error: gradient {grad.shape} smaller than input {shape}")
    axes = [i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1]
    if lead:
        axes = list(range(lead)) + axes
    # keepdims=False drops the leading axes; the kept axes of size 1 come back by reshape
    return grad.sum(axis=tuple(axes)).reshape(shape)


def kept_shape(shape, axes, keepdims: bool, reduced_shape) -> tuple:
    """The shape of a reduction's result with the reduced ``axes`` kept as size 1."""
    if keepdims or not axes:
        return tuple(reduced_shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class ArrayNamespace:
    """``ns`` for first-order backward: the functions of one array module (NumPy or CuPy)."""

    eager = True

    def __init__(self, xp):
        self.xp = xp
        for name in ("exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sign",
                     "where", "maximum", "minimum", "clip", "matmul", "broadcast_to"):  # fmt: skip
            setattr(self, name, getattr(xp, name))

    @staticmethod
    def const(a):
        return a

    @staticmethod
    def linear(f, f_adjoint, v):
        return f(v)

    def sum(self, x, axis=None, keepdims=False):
        return self.xp.asarray(x.sum(axis=axis, keepdims=keepdims))

    def mean(self, x, axis=None, keepdims=False):
        return self.xp.asarray(x.mean(axis=axis, keepdims=keepdims))

    sum_to = staticmethod(unbroadcast)

    # in place into a fresh temporary ``a`` of the result's shape and dtype (module docstring)
    @staticmethod
    def mul_(a, b):
        a *= b
        return a

    @staticmethod
    def add_(a, b):
        a += b
        return a

    @staticmethod
    def sub_(a, b):
        a -= b
        return a

    def exp_(self, a):
        return self.xp.exp(a, out=a)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def permute(x, axes):
        return x.transpose(axes)

    @staticmethod
    def swapaxes(x, a, b):
        return x.swapaxes(a, b)

    @staticmethod
    def cast(x, dtype):
        return x.astype(dtype)

    def spread(self, g, shape, axes, keepdims):
        """A reduction's gradient copied back along the reduced ``axes`` to ``shape``.

        Written into a fresh array: ``broadcast_to`` costs ~3 us of argument checks, which
        dominates a small sum's backward, and its view would be copied at a leaf anyway.
        """
        out = self.xp.empty(shape, dtype=g.dtype)
        out[...] = g.reshape(kept_shape(shape, axes, keepdims, g.shape)) if g.ndim else g
        return out

    def unreduce(self, g, shape, axes, keepdims):
        """``g`` with the reduced axes put back as size 1 (broadcasts against ``shape``)."""
        return g.reshape(kept_shape(shape, axes, keepdims, g.shape))

    def sigmoid(self, x):
        # 1/(1+e^-x) overflows e^-x for x << 0; this form never exponentiates a positive number
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def softplus(self, x):
        xp = self.xp  # max(x, 0) + log(1 + e^{-|x|}): never overflows
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def softmax(self, x, axis):
        e = self.xp.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, x, axis):
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - self.xp.log(self.xp.exp(shifted).sum(axis=axis, keepdims=True))

    to_device = staticmethod(to_device)


_ARRAY_NS: dict = {}


def array_namespace(a) -> ArrayNamespace:
    """The :class:`ArrayNamespace` of ``a``'s array module (cached by array type)."""
    ns = _ARRAY_NS.get(type(a))
    if ns is None:
        xp = xp_of(a)
        ns = _ARRAY_NS.get(xp)
        if ns is None:
            ns = _ARRAY_NS[xp] = ArrayNamespace(xp)
        _ARRAY_NS[type(a)] = ns
    return ns


NUMPY = array_namespace(np.empty(0))
