"""``glassnet.nn.utils``: PyTorch's module path for gradient clipping, parameter vectors and
``rnn`` (``pad_sequence``, packed sequences).

The clipping functions live in :mod:`glassnet.optim.clip` (the optim layer sits above nn);
they are looked up on first use, so importing ``glassnet.nn`` never imports the optimizers.
"""

from glassnet.nn.utils import rnn
from glassnet.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "rnn",
    "stateless",
    "vector_to_parameters",
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
    if name == "stateless":  # torch.nn.utils.stateless.functional_call, on first use
        import importlib

        return importlib.import_module("glassnet.nn.utils.stateless")
    if name in _CLIP:
        from glassnet.optim import clip

        return getattr(clip, name)
    raise AttributeError(f"module 'glassnet.nn.utils' has no attribute {name!r}")
