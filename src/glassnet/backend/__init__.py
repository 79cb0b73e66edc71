"""Array backends: NumPy on CPU, CuPy on NVIDIA GPUs, dtype rules and the one seeded RNG.

This is the only module that imports ``cupy``. Everything else asks for ``xp`` (the array
module of some data) and calls ``xp.*``, so one code path serves CPU and GPU.
"""

from glassnet.backend.debug import is_debug, set_debug
from glassnet.backend.determinism import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from glassnet.backend.device import (
    Device,
    DeviceMismatchError,
    check_same_device,
    cuda_available,
    device_of,
    get_default_device,
    get_xp,
    set_default_device,
    to_device,
    to_numpy,
    xp_of,
)
from glassnet.backend.dtypes import default_float, float32, float64, int64, is_float, to_dtype
from glassnet.backend.parallel import num_threads, parallel_for, set_num_threads
from glassnet.backend.random import get_rng, get_rng_state, manual_seed, set_rng_state

__all__ = [
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "use_deterministic_algorithms",
    "is_debug",
    "set_debug",
    "Device",
    "DeviceMismatchError",
    "check_same_device",
    "cuda_available",
    "get_default_device",
    "set_default_device",
    "default_float",
    "device_of",
    "float32",
    "float64",
    "get_rng",
    "get_rng_state",
    "get_xp",
    "int64",
    "is_float",
    "manual_seed",
    "num_threads",
    "parallel_for",
    "set_num_threads",
    "set_rng_state",
    "to_device",
    "to_numpy",
    "to_dtype",
    "xp_of",
]
