"""Neural-network building blocks: modules, layers, losses, initializers, regularizers."""

from glassnet.nn.module import (
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from glassnet.nn.parameter import Parameter

# sequence models
from glassnet.nn.layers.rnn import GRU, LSTM, RNN
