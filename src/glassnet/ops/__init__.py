"""Differentiable primitives: one ``Function`` subclass per op, with a lowercase wrapper."""

from glassnet.autograd import namespace as _namespace  # noqa: E402
from glassnet.autograd.function import OPS, Function
from glassnet.ops import methods as _methods  # noqa: E402
from glassnet.ops.activation import (
    elu,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)
from glassnet.ops.attention import attention_weights, scaled_dot_product_attention
from glassnet.ops.conv import conv1d, conv2d
from glassnet.ops.elementwise import (
    abs,
    add,
    cast,
    clamp,
    clip,
    clone,
    cos,
    div,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    not_equal,
    pow,
    rsqrt,
    sin,
    sqrt,
    square,
    sub,
    to_device,
    where,
)
from glassnet.ops.graph_namespace import GraphNamespace as _GraphNamespace  # noqa: E402
from glassnet.ops.linalg import matmul
from glassnet.ops.loss import (
    cross_entropy,
    nll_loss,
)
from glassnet.ops.loss_pointwise import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from glassnet.ops.nn import dropout, embedding, linear
from glassnet.ops.normalization import batch_norm, group_norm, layer_norm
from glassnet.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from glassnet.ops.reduction import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from glassnet.ops.repeat import repeat, repeat_interleave, tile
from glassnet.ops.shape import (
    broadcast_to,
    cat,
    concat,
    expand,
    expand_dims,
    flatten,
    gather,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    take_along_axis,
    transpose,
    unsqueeze,
    view,
)

_namespace.GRAPH = _GraphNamespace()  # backward(create_graph=True) evaluates formulas on tensors
_methods.bind(globals())  # x + y, x.sum(), x.T, ... on Tensor
