"""glassnet: a deep-learning framework you can see through."""

from glassnet._version import __version__
from glassnet.autograd import (
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from glassnet.autograd.anomaly_mode import set_detect_anomaly as set_anomaly_enabled
from glassnet.backend import (
    Device,
    are_deterministic_algorithms_enabled,
    cuda_available,
    is_debug,
    is_deterministic_algorithms_warn_only_enabled,
    set_debug,
    use_deterministic_algorithms,
)
from glassnet.backend.dtypes import (
    bool_,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from glassnet.backend.parallel import num_threads as get_num_threads
from glassnet.backend.parallel import set_num_threads
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
    add,
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    broadcast_to,
    cat,
    clamp,
    clip,
    clone,
    concat,
    cos,
    div,
    erf,
    exp,
    expand,
    flatten,
    gather,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    norm,
    pad,
    permute,
    pow,
    prod,
    relu,
    repeat_interleave,
    reshape,
    rsqrt,
    sigmoid,
    sin,
    softmax,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    take_along_axis,
    tanh,
    tile,
    transpose,
    unsqueeze,
    var,
    where,
)
from glassnet.ops.activation_extra import celu, hardshrink, prelu, rrelu, selu, threshold  # noqa: F401
from glassnet.ops.composite import *  # noqa: F403
from glassnet.ops.distance import (  # noqa: F401
    cdist,
    cosine_similarity,
    dist,
    norm_except_dim,
    pairwise_distance,
    pdist,
)
from glassnet.ops.gamma import *  # noqa: F403
from glassnet.ops.indexing import *  # noqa: F403
from glassnet.ops.indexing_extra import *  # noqa: F403
from glassnet.ops.joins import *  # noqa: F403
from glassnet.ops.linalg_extra import *  # noqa: F403
from glassnet.ops.linalg_solve import *  # noqa: F403
from glassnet.ops.logical import *  # noqa: F403
from glassnet.ops.math_extra import *  # noqa: F403
from glassnet.ops.promotion import *  # noqa: F403
from glassnet.ops.rounding import *  # noqa: F403
from glassnet.ops.scan import *  # noqa: F403
from glassnet.ops.shape_extra import *  # noqa: F403
from glassnet.ops.special import *  # noqa: F403 - issue 16: PyTorch's wider op set
from glassnet.ops.statistics import *  # noqa: F403
from glassnet.ops.views import *  # noqa: F403
from glassnet.tensor import Tensor

# PyTorch's dtype objects and aliases (NumPy dtypes: t.dtype == gn.float32, gn.zeros(2,
# dtype=gn.long)); inside this file they shadow the builtins, which it does not use.
bool = bool_  # noqa: A001
float, double, half = float32, float64, float16  # noqa: A001
long, int, short = int64, int32, int16  # noqa: A001
cfloat, cdouble = complex64, complex128
device = Device

from glassnet import (  # noqa: E402
    _tensor_extra,  # noqa: E402, F401 - //=, unsqueeze_(), copy_ broadcasting, stride(), ...
    _tensor_misc,  # noqa: E402, F401 - nbytes, itemsize, apply_, map_, narrow_copy, svd, qr
    _tensor_random,  # noqa: E402, F401 - uniform_(), normal_(), random_(), ...
    _tensor_torch,  # noqa: E402, F401 - size(), new_*, to(), x._data, ...
    functional,
    nn,
    ops,
    runtime,
)
from glassnet._keras import install as _install_keras  # noqa: E402
from glassnet._torch_extras import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    multinomial,
    preserve_format,
)
from glassnet._torch_settings import *  # noqa: E402, F403
from glassnet.creation_extra import *  # noqa: E402, F403
from glassnet.ops.foreach import FOREACH as _FOREACH  # noqa: E402
from glassnet.ops.inplace_forms import TORCH_FORMS as _TORCH_FORMS  # noqa: E402

globals().update(_TORCH_FORMS)  # torch.relu_(x), torch.clamp_(x, 0, 1), ...: x.relu_(), ...
globals().update(_FOREACH)  # torch._foreach_lerp_(ema, params, w), ...: a loop of x.lerp_

_install_keras()  # model.compile/fit/evaluate/predict/doctor on every nn.Module

# gn.compile is the function; importing it eagerly keeps a later `import glassnet.compile`
# (the module of the same name) from rebinding the package attribute to the module.
from glassnet.compile import CompiledStep, compile  # noqa: E402

# Loaded on first use, to keep `import glassnet` fast (the start-up budget is 0.3 s, and NumPy
# alone takes half of it): name -> (module, attribute or None for the module itself).
_LAZY = {
    "optim": ("glassnet.optim", None),
    "amp": ("glassnet.amp", None),
    "distributions": ("glassnet.distributions", None),
    "autocast": ("glassnet.amp", "autocast"),
    "linalg": ("glassnet.linalg", None),
    "special": ("glassnet.special", None),
    "testing": ("glassnet.testing", None),
    "diagnostics": ("glassnet.diagnostics", None),
    "data": ("glassnet.data", None),
    "io": ("glassnet.io", None),
    "clip_grad_norm": ("glassnet.optim", "clip_grad_norm"),
    "clip_grad_value": ("glassnet.optim", "clip_grad_value"),
    "save": ("glassnet.io.serialization", "save"),
    "load": ("glassnet.io.serialization", "load"),
    "save_checkpoint": ("glassnet.io.checkpoint", "save"),
    "load_checkpoint": ("glassnet.io.checkpoint", "load"),
    "cuda": ("glassnet.cuda", None),
    "accelerator": ("glassnet.accelerator", None),
    "jit": ("glassnet.jit", None),
    "func": ("glassnet.func", None),
    "Size": ("glassnet._size", "Size"),
    "_assert": ("glassnet._size", "_assert"),
    "version": ("glassnet.version", None),
    "backends": ("glassnet.backends", None),
    "set_float32_matmul_precision": ("glassnet.backends", "set_float32_matmul_precision"),
    "get_float32_matmul_precision": ("glassnet.backends", "get_float32_matmul_precision"),
    "onnx": ("glassnet.onnx", None),
    "distributed": ("glassnet.distributed", None),
    "utils": ("glassnet.utils", None),
    "vmap": ("glassnet.func", "vmap"),
    "return_types": ("glassnet.return_types", None),
    "svd": ("glassnet.ops.linalg_qr", "svd"),
    "qr": ("glassnet.ops.linalg_qr", "qr_root"),
    "Generator": ("glassnet.generator", "Generator"),
    **{
        name: ("glassnet.generator", name)
        for name in (
            "default_generator",
            "get_rng_state",
            "initial_seed",
            "manual_seed",
            "seed",
            "set_rng_state",
        )  # fmt: skip
    },
    "check_grad": ("glassnet.testing", "check_grad"),
    **{
        name: ("glassnet.diagnostics", name)
        for name in (
            "AnomalyDetector",
            "NonFiniteError",
            "backprop_steps",
            "detect_anomaly",
            "doctor",
            "lr_find",
            "watch",
            "explain",
            "gradcheck",
            "graph",
            "record_layers",
        )  # fmt: skip
    },
}


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        if name == "bfloat16":
            raise AttributeError(
                "module 'glassnet' has no attribute 'bfloat16': NumPy and CuPy have no "
                "bfloat16 dtype; use glassnet.float16 (autocast, with a GradScaler) or float32"
            ) from None
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}") from None
    import importlib

    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))


def _wire_cuda_amp() -> None:
    """``torch.cuda.amp.autocast`` / ``GradScaler`` (PyTorch's deprecated spellings): the
    ``glassnet.cuda`` module sits below ``amp``, so the root attaches ``amp`` to it and makes
    ``import glassnet.cuda.amp`` / ``from glassnet.cuda.amp import autocast`` work."""
    import sys

    from glassnet import cuda as cuda_module
    from glassnet.amp import cuda_amp

    cuda_module.amp = cuda_amp
    sys.modules["glassnet.cuda.amp"] = cuda_amp


_wire_cuda_amp()
