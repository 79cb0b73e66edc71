"""Layers: every ``Module`` subclass that ships with glassnet (re-exports only)."""

from glassnet.nn.layers.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from glassnet.nn.layers.bilinear import Bilinear
from glassnet.nn.layers.container import ModuleDict, ModuleList, Sequential
from glassnet.nn.layers.conv import Conv1d, Conv2d
from glassnet.nn.layers.dropout import Dropout
from glassnet.nn.layers.dropout_extra import (
    AlphaDropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    FeatureAlphaDropout,
)
from glassnet.nn.layers.embedding import Embedding, EmbeddingBag
from glassnet.nn.layers.flatten import Flatten, Unflatten
from glassnet.nn.layers.linear import Identity, Linear
from glassnet.nn.layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from glassnet.nn.layers.norm_extra import BatchNorm3d, LocalResponseNorm, RMSNorm
from glassnet.nn.layers.param_containers import ParameterDict, ParameterList
from glassnet.nn.layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
