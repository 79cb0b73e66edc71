"""Weight initializers (PyTorch's ``torch.nn.init``): fill a tensor in place, return it.

Every initializer draws from glassnet's one seeded generator (``gn.manual_seed``), so a model
built twice with the same seed has bit-identical weights. They run under ``no_grad`` and bump
the tensor's version counter, so they work on ``Parameter`` objects that require grad.

The fans of a weight of shape ``(out, in, *kernel)`` are ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)`` (PyTorch's convention; a Linear weight is ``(out, in)``).
Why the variances: a layer ``y = W x`` with i.i.d. zero-mean weights of variance ``s^2`` has
``Var(y) = fan_in * s^2 * E[x^2]``; keeping it constant from layer to layer gives
``s^2 = gain^2 / fan_in`` (He/Kaiming), or the compromise with the backward pass
``s^2 = gain^2 * 2 / (fan_in + fan_out)`` (Glorot/Xavier).

>>> import glassnet as gn
>>> from glassnet import nn
>>> _ = gn.manual_seed(0)
>>> w = nn.init.kaiming_normal_(gn.zeros(256, 512), nonlinearity="relu")
>>> round(float(w.numpy().std()), 2)   # sqrt(2 / 512) = 0.0625
0.06
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import get_rng, to_device, xp_of
from glassnet.generator import rng_for
from glassnet.tensor import Tensor

__all__ = [
    "dirac_",
    "sparse_",
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")  # fmt: skip


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (PyTorch's table).

    ========================  ==========================================
    linear, conv*, sigmoid    1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope^2)), slope 0.01 by default
    selu                      3/4
    ========================  ==========================================

    >>> round(calculate_gain("leaky_relu", 0.2), 4)
    1.3868
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu"
    )


def _fans(tensor: Tensor, fn: str) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(
            f"{fn}: fan in and fan out need a tensor with at least 2 dims (out, in, ...), "
            f"got shape {tuple(tensor.shape)}; use uniform_/normal_/zeros_ for biases"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str, fn: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor, fn)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values, fn: str) -> Tensor:
    """Copy ``values`` (host, or drawn on the tensor's device by a ``generator``) into
    ``tensor`` in place, under no_grad."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn} expects a glassnet Tensor, got {type(tensor).__name__}")
    with no_grad():
        if xp_of(values) is xp_of(tensor._data):
            arr = values.astype(tensor.dtype, copy=False)
        else:
            arr = to_device(np.asarray(values, dtype=tensor.dtype), tensor.device)
        tensor._data[...] = arr
        tensor._vc[0] += 1
    return tensor


def _rng(fn: str, tensor: Tensor, generator):
    """glassnet's host generator (``generator=None``: seeded by ``manual_seed``, identical
    draws on every device), or ``generator``, which draws on the tensor's device."""
    return get_rng() if generator is None else rng_for(fn, generator, tensor.device)


def _uniform(rng, a, b, shape):
    return a + (b - a) * rng.random(shape)  # numpy's Generator.uniform, on any device


def _normal(rng, mean, std, shape):
    return mean + std * rng.standard_normal(shape)  # numpy's Generator.normal, on any device


def _check_float(tensor: Tensor, fn: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn} expects a glassnet Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{fn}: needs a floating-point tensor, got dtype {tensor.dtype}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12."""
    _check_float(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: needs a <= b, got a={a}, b={b}")
    return _fill(
        tensor, _uniform(_rng("uniform_", tensor, generator), a, b, tensor.shape), "uniform_"
    )


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2): variance std^2."""
    _check_float(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(
        tensor, _normal(_rng("normal_", tensor, generator), mean, std, tensor.shape), "normal_"
    )


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val`` (variance 0)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"constant_ expects a glassnet Tensor, got {type(tensor).__name__}")
    return _fill(tensor, np.full(tensor.shape, val), "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal), preserving y = x."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)),
    so Var = a^2 / 3 = gain^2 * 2 / (fan_in + fan_out)."""
    _check_float(tensor, "xavier_uniform_")
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(
        tensor,
        _uniform(_rng("xavier_uniform_", tensor, generator), -bound, bound, tensor.shape),
        "xavier_uniform_",
    )


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_float(tensor, "xavier_normal_")
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(
        tensor,
        _normal(_rng("xavier_normal_", tensor, generator), 0.0, std, tensor.shape),
        "xavier_normal_",
    )


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a),
    so Var = gain^2 / fan (fan = fan_in or fan_out by ``mode``).

    With ``a=sqrt(5)`` (PyTorch's Linear/Conv default) the gain is sqrt(1/3) and
    b = 1 / sqrt(fan_in).
    """
    _check_float(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode, "kaiming_uniform_")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan else 0.0
    return _fill(
        tensor,
        _uniform(_rng("kaiming_uniform_", tensor, generator), -bound, bound, tensor.shape),
        "kaiming_uniform_",
    )


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).

    For ReLU networks use ``nonlinearity="relu"``: std = sqrt(2 / fan_in).
    """
    _check_float(tensor, "kaiming_normal_")
    fan = _fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0
    return _fill(
        tensor,
        _normal(_rng("kaiming_normal_", tensor, generator), 0.0, std, tensor.shape),
        "kaiming_normal_",
    )


def _host_rng(fn: str, generator):
    """The host generator for draws that host math (QR, permutations) consumes: glassnet's,
    or ``generator`` when it is a CPU generator (a device generator raises, naming both)."""
    return get_rng() if generator is None else rng_for(fn, generator, "cpu")


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013).

    The tensor is viewed as ``(rows, cols) = (shape[0], prod(shape[1:]))``; a Gaussian matrix
    is QR-factorised and Q's columns are multiplied by sign(diag(R)), which makes the result
    uniformly (Haar) distributed. Rows are orthonormal when rows <= cols (W W^T = gain^2 I),
    columns otherwise (W^T W = gain^2 I); each entry has variance gain^2 / max(rows, cols).
    """
    _check_float(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(
            f"orthogonal_: needs a tensor with at least 2 dims, got shape {tuple(tensor.shape)}"
        )
    rows = tensor.shape[0]
    cols = tensor.numel() // rows if rows else 0
    flat = _host_rng("orthogonal_", generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape), "orthogonal_")


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
) -> Tensor:
    """N(mean, std^2) restricted to [a, b] (absolute bounds, as in PyTorch), by redrawing the
    values that fall outside.

    With alpha = (a - mean) / std, beta = (b - mean) / std, Z = Phi(beta) - Phi(alpha) and phi
    the standard normal density, the variance is
    std^2 * [1 + (alpha phi(alpha) - beta phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z)^2].
    """
    _check_float(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: needs a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be > 0, got {std}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    if mass < 1e-3:
        raise ValueError(
            f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); "
            "move the bounds within a few std of the mean"
        )
    rng = _host_rng("trunc_normal_", generator)
    out = rng.normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out, "trunc_normal_")


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity convolution: a 3-, 4- or 5-D weight (out, in, *kernel) with 1 at the
    kernel's centre where out index = in index within each of ``groups`` groups, 0 elsewhere,
    so a convolution with it copies its input channels."""
    if not isinstance(tensor, Tensor) or tensor.ndim not in (3, 4, 5):
        raise ValueError("dirac_: needs a 3-, 4- or 5-D tensor (a convolution weight)")
    out_ch = tensor.shape[0]
    if groups < 1 or out_ch % groups:
        raise ValueError(f"dirac_: dim 0 ({out_ch}) must be divisible by groups ({groups})")
    per = out_ch // groups
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per, tensor.shape[1])):
            values[(g * per + d, d) + centre] = 1.0
    return _fill(tensor, values, "dirac_")


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """A 2-D tensor of N(0, std^2) values with ceil(sparsity * rows) entries of each column set
    to 0 (random rows; Martens 2010)."""
    _check_float(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparse_: sparsity must be in [0, 1], got {sparsity}")
    rows, cols = tensor.shape
    rng = _host_rng("sparse_", generator)
    values = rng.normal(0.0, std, (rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0.0
    return _fill(tensor, values, "sparse_")
