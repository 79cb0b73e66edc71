"""Neural-network building blocks: modules, layers, losses, initializers, regularizers."""

from glassnet.nn import _factory, functional, init, regularizers, utils
from glassnet.nn.layers import (
    ELU,
    GELU,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    EmbeddingBag,
    Flatten,
    GroupNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ModuleDict,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)

# sequence models
from glassnet.nn.layers.attention import MultiheadAttention
from glassnet.nn.layers.bilinear import Bilinear
from glassnet.nn.layers.dropout_extra import (
    AlphaDropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    FeatureAlphaDropout,
)

# issue 16: modules for the wider op set
from glassnet.nn.layers.extra import (  # noqa: E402
    CELU,
    GLU,
    SELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool3d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CTCLoss,
    Fold,
    GaussianNLLLoss,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HingeEmbeddingLoss,
    LogSigmoid,
    MarginRankingLoss,
    MaxPool1d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    Mish,
    MultiLabelSoftMarginLoss,
    PairwiseDistance,
    PixelShuffle,
    PixelUnshuffle,
    PoissonNLLLoss,
    PReLU,
    ReLU6,
    RReLU,
    SoftMarginLoss,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
    TripletMarginLoss,
    Unfold,
    Upsample,
)
from glassnet.nn.layers.linear import LazyLinear
from glassnet.nn.layers.norm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from glassnet.nn.layers.norm_extra import BatchNorm3d, LocalResponseNorm, RMSNorm
from glassnet.nn.layers.padding import *  # noqa: F403
from glassnet.nn.layers.param_containers import ParameterDict, ParameterList
from glassnet.nn.layers.rnn import GRU, LSTM, RNN
from glassnet.nn.layers.rnn_cell import GRUCell, LSTMCell, RNNCell
from glassnet.nn.layers.transformer import TransformerEncoder, TransformerEncoderLayer
from glassnet.nn.layers.transformer_decoder import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
)
from glassnet.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from glassnet.nn.module import (
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from glassnet.nn.parameter import Parameter
from glassnet.nn.regularizers import regularization_loss
from glassnet.nn.summary import Summary, summary

# device=/dtype= factory arguments on the layers with parameters (PyTorch's); last, so that
# every layer above is defined.
_factory.install(globals())
