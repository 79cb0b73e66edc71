"""``glassnet.nn.utils``: PyTorch's module path for gradient clipping, parameter vectors and
``rnn`` (``pad_sequence``; packed sequences raise NotImplementedError).

The clipping functions live in :mod:`glassnet.optim.clip` (the optim layer sits above nn);
they are looked up on first use, so importing ``glassnet.nn`` never imports the optimizers.
"""

from glassnet.nn.utils import rnn, stateless
from glassnet.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from glassnet.nn.utils.weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "remove_weight_norm",
    "rnn",
    "stateless",
    "vector_to_parameters",
    "weight_norm",
]

_CLIP = (
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
)


def __getattr__(name: str):
    if name in _CLIP:
        from glassnet.optim import clip

        return getattr(clip, name)
    raise AttributeError(f"module 'glassnet.nn.utils' has no attribute {name!r}")
