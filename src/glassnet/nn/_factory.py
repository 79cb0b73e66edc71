"""PyTorch's factory keyword arguments ``device=`` and ``dtype=`` for layers with parameters.

PyTorch's modules with parameters take ``device=None, dtype=None`` after their own
arguments, by keyword or position (``nn.Linear(3, 4, dtype=torch.float64)``,
``nn.Linear(3, 4, True, None, torch.float64)``): the parameters and floating-point buffers are made
with that dtype on that device. Here it is implemented once: :func:`install` wraps the
``__init__`` of every layer named in :data:`FACTORY_LAYERS`; the wrapped constructor builds the
layer as usual and then moves it with :meth:`Module.to`, which casts floating-point parameters
and buffers (integer buffers such as ``num_batches_tracked`` keep their dtype, as in PyTorch)
and moves them to the device, raising the usual clear error for an unavailable device.

One difference from PyTorch: the initial values are drawn in float32 and then cast, so a
float64 layer's initial weights have float32 resolution (training then runs in float64).
"""

from __future__ import annotations

import functools
import inspect

from glassnet.backend import to_dtype

__all__ = ["FACTORY_LAYERS", "apply_factory_kwargs", "install"]

# The layers whose PyTorch constructor takes ``device=`` and ``dtype=``; names glassnet does
# not define (yet) are skipped by install(), so a layer added later only needs its name here.
FACTORY_LAYERS = (
    "Linear", "Bilinear", "LazyLinear",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "LayerNorm", "GroupNorm", "RMSNorm",
    "Embedding", "EmbeddingBag",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer",
    "PReLU",
)  # fmt: skip


def apply_factory_kwargs(module, device=None, dtype=None) -> None:
    """Give ``module``'s parameters and float buffers ``dtype`` and put them on ``device``.

    ``dtype`` must be a floating-point dtype (a glassnet dtype such as ``glassnet.float64``,
    a NumPy dtype or a string); a lazy layer (``Linear(None, n)``) applies them when it builds.
    """
    name = type(module).__name__
    if dtype is not None:
        try:
            dt = to_dtype(dtype)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: invalid dtype={dtype!r}: {err}") from None
        if dt.kind != "f":
            raise TypeError(
                f"{name}: dtype={dt} is not a floating-point dtype; parameters must be "
                "floats: pass dtype=glassnet.float32 or glassnet.float64 (as in PyTorch)"
            )
    if not module._built:  # lazy: no parameters yet; build() applies these
        object.__setattr__(module, "_factory_kwargs", {"device": device, "dtype": dtype})
        return
    module.to(device=device, dtype=dtype)


def _with_factory_kwargs(cls) -> None:
    init = cls.__init__
    sig = inspect.signature(init)
    if "device" in sig.parameters or "dtype" in sig.parameters:
        return  # the layer handles them itself
    params = list(sig.parameters.values())
    # PyTorch's device and dtype follow the layer's own positional parameters (its
    # glassnet-only ones are keyword-only): Linear(3, 4, True, None, torch.float64)
    n_pos = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params) - 1  # without self
    name = cls.__name__

    @functools.wraps(init)
    def __init__(self, *args, device=None, dtype=None, **kwargs):
        if len(args) > n_pos:
            extra = args[n_pos:]
            if len(extra) > 2:
                raise TypeError(
                    f"{name}() takes at most {n_pos + 2} positional arguments (its own, then "
                    f"device and dtype) but {len(args)} were given"
                )
            if device is not None or (len(extra) == 2 and dtype is not None):
                raise TypeError(f"{name}() got multiple values for device or dtype")
            args, device = args[:n_pos], extra[0]
            dtype = extra[1] if len(extra) == 2 else dtype
        init(self, *args, **kwargs)
        if device is not None or dtype is not None:
            apply_factory_kwargs(self, device, dtype)

    at = n_pos + 1  # after self and the layer's positional parameters
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
             for n in ("device", "dtype")]  # fmt: skip
    __init__.__signature__ = sig.replace(parameters=params[:at] + extra + params[at:])
    cls.__init__ = __init__


def install(namespace: dict) -> None:
    """Add ``device=``/``dtype=`` to the constructors of the FACTORY_LAYERS in ``namespace``."""
    for name in FACTORY_LAYERS:
        cls = namespace.get(name)
        if isinstance(cls, type) and not cls.__dict__.get("_factory_installed"):
            _with_factory_kwargs(cls)
            cls._factory_installed = True
