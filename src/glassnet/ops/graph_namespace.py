"""The graph namespace: ``ns`` for ``backward(create_graph=True)``, glassnet's own ops.

Every function here has the signature of its :class:`~glassnet.autograd.namespace.ArrayNamespace`
twin and returns Tensors recorded in the graph, so that an op's one ``backward`` formula,
evaluated on tensors, builds the graph of the backward pass. ``glassnet.ops`` registers an
instance as ``glassnet.autograd.namespace.GRAPH`` on import.
"""

from __future__ import annotations

from glassnet.autograd.function import LinearMap
from glassnet.autograd.namespace import kept_shape
from glassnet.backend import xp_of
from glassnet.ops import activation, elementwise, linalg, reduction, selection, shape
from glassnet.tensor import Tensor


class GraphNamespace:
    """``ns`` whose values are Tensors: each function is a differentiable op."""

    eager = False

    exp = staticmethod(elementwise.exp)
    log = staticmethod(elementwise.log)
    log1p = staticmethod(elementwise.log1p)
    sqrt = staticmethod(elementwise.sqrt)
    abs = staticmethod(elementwise.abs)
    sin = staticmethod(elementwise.sin)
    cos = staticmethod(elementwise.cos)
    where = staticmethod(selection.where)
    maximum = staticmethod(selection.maximum)
    minimum = staticmethod(selection.minimum)
    clip = staticmethod(selection.clip)
    to_device = staticmethod(elementwise.to_device)
    tanh = staticmethod(activation.tanh)
    sigmoid = staticmethod(activation.sigmoid)
    softplus = staticmethod(activation.softplus)
    erf = staticmethod(activation.erf)
    matmul = staticmethod(linalg.matmul)
    reshape = staticmethod(shape.reshape)
    broadcast_to = staticmethod(shape.broadcast_to)
    sum_to = staticmethod(shape.sum_to)
    swapaxes = staticmethod(shape.swapaxes)

    exp_ = staticmethod(elementwise.exp)  # the in-place helpers are out of place on tensors

    @staticmethod
    def mul_(a, b):
        return a * b

    @staticmethod
    def add_(a, b):
        return a + b

    @staticmethod
    def sub_(a, b):
        return a - b

    @staticmethod
    def const(a) -> Tensor:
        return Tensor._make(a, False)

    @staticmethod
    def sign(x: Tensor) -> Tensor:
        return Tensor._make(xp_of(x._data).sign(x._data), False)

    @staticmethod
    def linear(f, f_adjoint, v: Tensor) -> Tensor:
        return LinearMap.apply(v, f=f, f_adjoint=f_adjoint)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return reduction.sum(x, axis, keepdims)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        return reduction.mean(x, axis, keepdims)

    @staticmethod
    def permute(x, axes):
        return shape.Transpose.apply(x, axes=tuple(axes))

    @staticmethod
    def cast(x, dtype):
        return elementwise.cast(x, dtype)

    @staticmethod
    def unreduce(g, in_shape, axes, keepdims):
        return shape.reshape(g, kept_shape(in_shape, axes, keepdims, g.shape))

    def spread(self, g, in_shape, axes, keepdims):
        return shape.broadcast_to(self.unreduce(g, in_shape, axes, keepdims), in_shape)

    @staticmethod
    def softmax(x, axis):
        return activation.softmax(x, axis)

    @staticmethod
    def log_softmax(x, axis):
        return activation.log_softmax(x, axis)
