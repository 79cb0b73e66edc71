"""The lowercase functional API (PyTorch's ``torch.nn.functional``), re-exported from ops.

Each op module declares its functions once (its ``__all__``); ``F`` is the union of the
neural-network modules' (activations, attention, convolution, losses, linear/dropout/
embedding, normalization, pooling).
"""

from glassnet.ops import activation as _activation
from glassnet.ops import activation_extra as _activation_extra
from glassnet.ops import attention as _attention
from glassnet.ops import bags as _bags
from glassnet.ops import conv as _conv
from glassnet.ops import conv_extra as _conv_extra
from glassnet.ops import inplace_forms as _inplace_forms
from glassnet.ops import loss as _loss
from glassnet.ops import loss_extra as _loss_extra
from glassnet.ops import loss_margin as _loss_margin
from glassnet.ops import loss_pointwise as _loss_pointwise
from glassnet.ops import nn as _nn
from glassnet.ops import nn_extra as _nn_extra
from glassnet.ops import nn_misc as _nn_misc
from glassnet.ops import normalization as _normalization
from glassnet.ops import pool as _pool
from glassnet.ops import pool_extra as _pool_extra
from glassnet.ops import resize as _resize
from glassnet.ops import spatial as _spatial
from glassnet.ops.activation import *  # noqa: F403

# issue 16 (activation_extra's softplus, with PyTorch's threshold, wins over activation's)
from glassnet.ops.activation_extra import *  # noqa: F403
from glassnet.ops.attention import *  # noqa: F403
from glassnet.ops.bags import *  # noqa: F403
from glassnet.ops.conv import *  # noqa: F403
from glassnet.ops.conv_extra import *  # noqa: F403
from glassnet.ops.distance import cdist, cosine_similarity, normalize, pairwise_distance, pdist
from glassnet.ops.inplace_forms import *  # noqa: F403
from glassnet.ops.loss import *  # noqa: F403
from glassnet.ops.loss_extra import *  # noqa: F403
from glassnet.ops.loss_margin import *  # noqa: F403
from glassnet.ops.loss_pointwise import *  # noqa: F403
from glassnet.ops.nn import *  # noqa: F403
from glassnet.ops.nn_extra import *  # noqa: F403
from glassnet.ops.nn_misc import *  # noqa: F403
from glassnet.ops.normalization import *  # noqa: F403
from glassnet.ops.pool import *  # noqa: F403
from glassnet.ops.pool_extra import *  # noqa: F403
from glassnet.ops.resize import *  # noqa: F403
from glassnet.ops.shape_extra import one_hot
from glassnet.ops.spatial import *  # noqa: F403

__all__ = [
    name
    for module in (
        _activation,
        _attention,
        _conv,
        _loss,
        _loss_pointwise,
        _nn,
        _normalization,
        _pool,
        _activation_extra,
        _conv_extra,
        _pool_extra,
        _loss_extra,
        _resize,
        _nn_misc,
        _spatial,
        _nn_extra,
        _bags,
        _loss_margin,
        _inplace_forms,
    )  # fmt: skip
    for name in module.__all__
]
__all__ = list(dict.fromkeys(__all__)) + ["cdist", "cosine_similarity", "normalize",
                                          "pairwise_distance", "pdist", "one_hot"]  # fmt: skip
