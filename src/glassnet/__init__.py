"""glassnet: a deep-learning framework you can see through."""

from glassnet._version import __version__
from glassnet.autograd import (
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from glassnet.backend import Device, cuda_available, manual_seed
from glassnet.creation import (
    arange,
    eye,
    from_numpy,
    full,
    grad,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from glassnet.ops import (
    abs,
    argmax,
    argmin,
    broadcast_to,
    cat,
    clamp,
    clip,
    concat,
    cos,
    exp,
    expand,
    flatten,
    gather,
    log,
    log1p,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    pad,
    permute,
    reshape,
    sigmoid,
    sin,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    sum,
    take_along_axis,
    tanh,
    transpose,
    unsqueeze,
    where,
)
from glassnet.tensor import Tensor

float16, float32, float64, int32, int64 = "float16", "float32", "float64", "int32", "int64"

from glassnet import functional, nn, ops, optim, runtime, testing  # noqa: E402
from glassnet.compile import CompiledStep, compile  # noqa: E402
from glassnet.diagnostics import (  # noqa: E402
    AnomalyDetector,
    NonFiniteError,
    backprop_steps,
    detect_anomaly,
    explain,
    gradcheck,
    graph,
    record_layers,
)
from glassnet.io import load, save  # noqa: E402
from glassnet.optim import clip_grad_norm, clip_grad_value  # noqa: E402
from glassnet.testing import check_grad  # noqa: E402
