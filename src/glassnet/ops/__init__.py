"""Differentiable primitives: one ``Function`` subclass per op, with a lowercase wrapper.

Each op module declares its public functions once, in its ``__all__``; this package
re-exports them all (``glassnet.ops.__all__`` is their union), ``glassnet.functional``
re-exports the neural-network ones and ``glassnet`` the tensor-level ones.
"""

from glassnet.autograd import namespace as _namespace
from glassnet.autograd.function import OPS, Function
from glassnet.ops import activation as _activation
from glassnet.ops import activation_extra as _activation_extra
from glassnet.ops import attention as _attention
from glassnet.ops import bags as _bags
from glassnet.ops import composite as _composite
from glassnet.ops import conv as _conv
from glassnet.ops import conv_extra as _conv_extra
from glassnet.ops import distance as _distance
from glassnet.ops import elementwise as _elementwise
from glassnet.ops import gamma as _gamma
from glassnet.ops import getitem as _getitem
from glassnet.ops import indexing as _indexing
from glassnet.ops import indexing_extra as _indexing_extra
from glassnet.ops import joins as _joins
from glassnet.ops import linalg as _linalg
from glassnet.ops import linalg_extra as _linalg_extra
from glassnet.ops import linalg_solve as _linalg_solve
from glassnet.ops import logical as _logical
from glassnet.ops import loss as _loss
from glassnet.ops import loss_extra as _loss_extra
from glassnet.ops import loss_margin as _loss_margin
from glassnet.ops import loss_pointwise as _loss_pointwise
from glassnet.ops import math_extra as _math_extra
from glassnet.ops import methods as _methods
from glassnet.ops import nn as _nn
from glassnet.ops import nn_extra as _nn_extra
from glassnet.ops import nn_misc as _nn_misc
from glassnet.ops import normalization as _normalization
from glassnet.ops import pool as _pool
from glassnet.ops import pool_extra as _pool_extra
from glassnet.ops import promotion as _promotion
from glassnet.ops import reduction as _reduction
from glassnet.ops import repeat as _repeat
from glassnet.ops import rounding as _rounding
from glassnet.ops import scan as _scan
from glassnet.ops import selection as _selection
from glassnet.ops import shape as _shape
from glassnet.ops import shape_extra as _shape_extra
from glassnet.ops import spatial as _spatial
from glassnet.ops import special as _special
from glassnet.ops import statistics as _statistics
from glassnet.ops import views as _views
from glassnet.ops.activation import *  # noqa: F403
from glassnet.ops.activation_extra import *  # noqa: F403
from glassnet.ops.attention import *  # noqa: F403
from glassnet.ops.bags import *  # noqa: F403
from glassnet.ops.composite import *  # noqa: F403
from glassnet.ops.conv import *  # noqa: F403
from glassnet.ops.conv_extra import *  # noqa: F403
from glassnet.ops.distance import *  # noqa: F403
from glassnet.ops.elementwise import *  # noqa: F403
from glassnet.ops.gamma import *  # noqa: F403
from glassnet.ops.getitem import *  # noqa: F403
from glassnet.ops.graph_namespace import GraphNamespace as _GraphNamespace
from glassnet.ops.indexing import *  # noqa: F403
from glassnet.ops.indexing_extra import *  # noqa: F403
from glassnet.ops.joins import *  # noqa: F403
from glassnet.ops.linalg import *  # noqa: F403
from glassnet.ops.linalg_extra import *  # noqa: F403
from glassnet.ops.linalg_solve import *  # noqa: F403
from glassnet.ops.logical import *  # noqa: F403
from glassnet.ops.loss import *  # noqa: F403
from glassnet.ops.loss_extra import *  # noqa: F403
from glassnet.ops.loss_margin import *  # noqa: F403
from glassnet.ops.loss_pointwise import *  # noqa: F403
from glassnet.ops.math_extra import *  # noqa: F403
from glassnet.ops.nn import *  # noqa: F403
from glassnet.ops.nn_extra import *  # noqa: F403
from glassnet.ops.nn_misc import *  # noqa: F403
from glassnet.ops.normalization import *  # noqa: F403
from glassnet.ops.pool import *  # noqa: F403
from glassnet.ops.pool_extra import *  # noqa: F403
from glassnet.ops.promotion import *  # noqa: F403
from glassnet.ops.reduction import *  # noqa: F403
from glassnet.ops.repeat import *  # noqa: F403
from glassnet.ops.rounding import *  # noqa: F403
from glassnet.ops.scan import *  # noqa: F403
from glassnet.ops.selection import *  # noqa: F403
from glassnet.ops.shape import *  # noqa: F403
from glassnet.ops.shape_extra import *  # noqa: F403
from glassnet.ops.spatial import *  # noqa: F403
from glassnet.ops.special import *  # noqa: F403
from glassnet.ops.statistics import *  # noqa: F403
from glassnet.ops.views import *  # noqa: F403

_MODULES = (_activation, _attention, _conv, _elementwise, _getitem, _linalg, _loss,
            _loss_pointwise, _nn, _normalization, _pool, _reduction, _repeat, _selection,
            _shape, _activation_extra, _composite, _distance, _indexing, _linalg_extra,
            _logical, _loss_extra, _rounding, _scan, _shape_extra, _special, _conv_extra,
            _pool_extra, _math_extra, _statistics, _linalg_solve, _gamma, _nn_misc,
            _nn_extra, _views, _indexing_extra, _joins, _promotion, _spatial, _bags,
            _loss_margin)  # fmt: skip
__all__ = ["OPS", "Function", *dict.fromkeys(name for m in _MODULES for name in m.__all__)]

# names two modules define: the PyTorch-complete one is the public op (div takes
# rounding_mode=, equal is torch.equal's one bool, norm is torch.norm with p=/dim=, softplus
# has PyTorch's threshold, erf casts int input to float)
div, equal, norm = _rounding.div, _logical.equal, _distance.norm
softplus, erf = _activation_extra.softplus, _special.erf
conv1d, conv2d = _conv_extra.conv1d, _conv_extra.conv2d  # + unbatched input
max_pool2d, avg_pool2d = _pool_extra.max_pool2d, _pool_extra.avg_pool2d  # + PyTorch's options

_namespace.GRAPH = _GraphNamespace()  # backward(create_graph=True) evaluates formulas on tensors
_methods.bind(globals())  # x + y, x.sum(), x.T, ... on Tensor
