"""``glassnet.nn.utils``: PyTorch's module path for gradient clipping, parameter vectors,
``rnn`` (``pad_sequence``, ``pack_padded_sequence``, ``PackedSequence``), weight normalization
(legacy ``weight_norm`` / ``remove_weight_norm``, and ``parametrizations.weight_norm``),
``spectral_norm`` / ``remove_spectral_norm`` and ``parametrize``.

The clipping functions live in :mod:`glassnet.optim.clip` (the optim layer sits above nn);
they are looked up on first use, so importing ``glassnet.nn`` never imports the optimizers.
"""

from glassnet.nn.utils import parametrizations, parametrize, rnn, stateless
from glassnet.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from glassnet.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm
from glassnet.nn.utils.weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "skip_init",
    "spectral_norm",
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


# torch.nn.utils names glassnet does not implement: using one raises NotImplementedError
_MISSING = {
    "fuse_conv_bn_eval": "keep the Conv and BatchNorm layers separate (the same function)",
    "fuse_conv_bn_weights": "keep the Conv and BatchNorm layers separate (the same function)",
    "fuse_linear_bn_eval": "keep the Linear and BatchNorm layers separate (the same function)",
    "fuse_linear_bn_weights": "keep the Linear and BatchNorm layers separate",
    "convert_conv2d_weight_memory_format": "glassnet has one memory layout; drop the call",
    "convert_conv3d_weight_memory_format": "glassnet has one memory layout; drop the call",
}


def _missing(message: str):
    def not_implemented(*args, **kwargs):
        raise NotImplementedError(message)

    not_implemented.__doc__ = message
    return not_implemented


def skip_init(module_cls, *args, **kwargs):
    """PyTorch's ``skip_init``: a ``module_cls(*args, **kwargs)`` whose parameters the caller
    initializes. PyTorch leaves them as uninitialized memory (arbitrary values); glassnet runs
    the usual init, one of those arbitrary outcomes."""
    return module_cls(*args, **kwargs)


def __getattr__(name: str):
    if name == "stateless":  # torch.nn.utils.stateless.functional_call, on first use
        import importlib

        return importlib.import_module("glassnet.nn.utils.stateless")
    if name in _CLIP:
        from glassnet.optim import clip

        return getattr(clip, name)
    if name in _MISSING:  # a stub, so hasattr() and imports work; calling it raises
        return _missing(f"torch.nn.utils.{name} is not implemented in glassnet: {_MISSING[name]}")
    raise AttributeError(f"module 'glassnet.nn.utils' has no attribute {name!r}")
