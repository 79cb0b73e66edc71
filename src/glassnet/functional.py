"""The lowercase functional API (PyTorch's ``torch.nn.functional``), re-exported from ops."""

from glassnet.ops.activation import (  # noqa: F401
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)

# issue 16: PyTorch's wider nn.functional set
from glassnet.ops.activation_extra import *  # noqa: E402, F401, F403
from glassnet.ops.activation_extra import log_softmin  # noqa: E402, F401
from glassnet.ops.attention import attention_weights, scaled_dot_product_attention  # noqa: F401
from glassnet.ops.conv import conv1d, conv2d  # noqa: F401
from glassnet.ops.distance import (  # noqa: E402, F401
    cdist,
    cosine_similarity,
    normalize,
    pairwise_distance,
    pdist,
)
from glassnet.ops.loss import (  # noqa: F401
    cross_entropy,
    nll_loss,
)
from glassnet.ops.loss_extra import *  # noqa: E402, F401, F403
from glassnet.ops.loss_pointwise import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from glassnet.ops.nn import dropout, embedding, linear  # noqa: F401
from glassnet.ops.normalization import batch_norm, group_norm, layer_norm  # noqa: F401
from glassnet.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from glassnet.ops.resize import *  # noqa: E402, F401, F403
from glassnet.ops.shape_extra import one_hot  # noqa: E402, F401
