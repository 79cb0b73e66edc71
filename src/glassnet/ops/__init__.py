"""Differentiable primitives: one ``Function`` subclass per op, with a lowercase wrapper.

Each op module declares its public functions once, in its ``__all__``; this package
re-exports them all (``glassnet.ops.__all__`` is their union), ``glassnet.functional``
re-exports the neural-network ones and ``glassnet`` the tensor-level ones.
"""

from glassnet.autograd import namespace as _namespace
from glassnet.autograd.function import OPS, Function
from glassnet.ops import activation as _activation
from glassnet.ops import attention as _attention
from glassnet.ops import conv as _conv
from glassnet.ops import elementwise as _elementwise
from glassnet.ops import linalg as _linalg
from glassnet.ops import loss as _loss
from glassnet.ops import loss_pointwise as _loss_pointwise
from glassnet.ops import methods as _methods
from glassnet.ops import nn as _nn
from glassnet.ops import normalization as _normalization
from glassnet.ops import pool as _pool
from glassnet.ops import reduction as _reduction
from glassnet.ops import repeat as _repeat
from glassnet.ops import shape as _shape
from glassnet.ops.activation import *  # noqa: F403
from glassnet.ops.attention import *  # noqa: F403
from glassnet.ops.conv import *  # noqa: F403
from glassnet.ops.elementwise import *  # noqa: F403
from glassnet.ops.graph_namespace import GraphNamespace as _GraphNamespace
from glassnet.ops.linalg import *  # noqa: F403
from glassnet.ops.loss import *  # noqa: F403
from glassnet.ops.loss_pointwise import *  # noqa: F403
from glassnet.ops.nn import *  # noqa: F403
from glassnet.ops.normalization import *  # noqa: F403
from glassnet.ops.pool import *  # noqa: F403
from glassnet.ops.reduction import *  # noqa: F403
from glassnet.ops.repeat import *  # noqa: F403
from glassnet.ops.shape import *  # noqa: F403

_MODULES = (_activation, _attention, _conv, _elementwise, _linalg, _loss, _loss_pointwise, _nn,
            _normalization, _pool, _reduction, _repeat, _shape)  # fmt: skip
__all__ = ["OPS", "Function", *[name for m in _MODULES for name in m.__all__]]

_namespace.GRAPH = _GraphNamespace()  # backward(create_graph=True) evaluates formulas on tensors
_methods.bind(globals())  # x + y, x.sum(), x.T, ... on Tensor
