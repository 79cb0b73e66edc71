"""More creation and random functions by PyTorch's names, each with ``dtype=`` and ``device=``:
full_like, empty, empty_like, rand_like, randn_like, randint_like, randperm, bernoulli,
normal. Random draws come from glassnet's seeded generators (``gn.manual_seed``): bernoulli and
normal draw on the tensor's device from that device's generator (``get_rng(device)``, no host
round trip), the others on the host; ``generator=`` (a ``gn.Generator``) draws from that
generator instead, on its device (which must be the result's), as PyTorch's ``generator=``."""

from __future__ import annotations

import numpy as np

from glassnet._torch_extras import check_memory_format
from glassnet.autograd.function import NoGrad, value_check
from glassnet.backend import to_dtype, xp_of
from glassnet.backend.dtypes import default_float
from glassnet.creation import _draw, _place, _shape, full, rand, randint, randn, zeros
from glassnet.generator import rng_for
from glassnet.tensor import Tensor

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "as_tensor",
    "broadcast_shapes",
    "combinations",
    "is_tensor",
    "logspace",
    "numel",
    "range",
    "scalar_tensor",
    "bernoulli",
    "empty",
    "empty_like",
    "full_like",
    "normal",
    "rand_like",
    "randint_like",
    "randn_like",
    "randperm",
]


def _like(t: Tensor, dtype, memory_format=None, where="*_like"):
    check_memory_format(memory_format, where, t.shape)  # a layout: the values are the same
    return t.shape, (dtype or t.dtype), t.device


def empty(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor in PyTorch (its values may be anything); here zeros
    (deterministic, and as fast on NumPy). Do not rely on the zeros: PyTorch does not."""
    return zeros(*shape, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
               memory_format=None) -> Tensor:  # fmt: skip
    """``empty`` with t's shape (and dtype and device unless given)."""
    shape, dt, dev = _like(input, dtype, memory_format, "empty_like")
    return zeros(shape, dtype=dt, device=device or dev, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad=False, *,
              memory_format=None) -> Tensor:  # fmt: skip
    """A tensor of t's shape (and dtype and device unless given) filled with ``fill_value``."""
    shape, dt, dev = _like(input, dtype, memory_format, "full_like")
    return full(shape, fill_value, dtype=dt, device=device or dev, requires_grad=requires_grad)


def rand_like(t: Tensor, *, generator=None, dtype=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:  # fmt: skip
    """Uniform samples in [0, 1) of t's shape (a float dtype: t's when it is float)."""
    shape, dt, dev = _like(t, dtype, memory_format, "rand_like")
    dt = dt if to_dtype(dt).kind == "f" else default_float()
    return rand(shape, generator=generator, dtype=dt, device=device or dev,
                requires_grad=requires_grad)  # fmt: skip


def randn_like(t: Tensor, *, generator=None, dtype=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:  # fmt: skip
    """Standard normal samples of t's shape (a float dtype: t's when it is float)."""
    shape, dt, dev = _like(t, dtype, memory_format, "randn_like")
    dt = dt if to_dtype(dt).kind == "f" else default_float()
    return randn(shape, generator=generator, dtype=dt, device=device or dev,
                 requires_grad=requires_grad)  # fmt: skip


def randint_like(t: Tensor, low: int = 0, high: int | None = None, *, generator=None,
                 dtype=None, device=None, requires_grad: bool = False,
                 memory_format=None) -> Tensor:  # fmt: skip
    """Integers in [low, high) of t's shape (``randint_like(t, high)`` draws from [0, high)),
    in t's dtype unless ``dtype`` is given."""
    if high is None:
        low, high = 0, low
    shape, dt, dev = _like(t, dtype, memory_format, "randint_like")
    out = randint(low, high, shape, device=device or dev, generator=generator)
    out = out if out.dtype == to_dtype(dt) else out.astype(dt)
    return out.requires_grad_(True) if requires_grad else out


def randperm(n: int, *, generator=None, dtype="int64", device=None, requires_grad: bool = False):
    """A random permutation of 0..n-1 (int64 by default), from ``generator`` when given."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")

    def draw(rng):
        if hasattr(rng, "permutation"):
            return rng.permutation(int(n))
        keys = rng.random(int(n))  # pragma: no cover - a generator without permutation
        return xp_of(keys).argsort(keys)  # pragma: no cover

    arr, device = _draw("randperm", generator, device, draw)
    return _place(arr.astype(to_dtype(dtype)), device, requires_grad)


def _source(op: str, generator, device):
    """The generator to draw from for a tensor on ``device``: ``generator`` (on that device)
    when given, else glassnet's generator of the device."""
    return rng_for(op, generator, device)


def bernoulli(input: Tensor, *, generator=None) -> Tensor:
    """0/1 draws with P(1) = p elementwise (p in [0, 1]), in p's dtype; no gradient. Drawn on
    p's device (u < p with u uniform in [0, 1)), or from ``generator``."""
    value_check(_check_probabilities, input)  # a compiled step checks, and draws, every call
    return NoGrad.apply(input, fn=_bernoulli, generator=generator, device=input.device)


def _check_probabilities(p: Tensor) -> None:
    data = p._data
    if data.size and bool(((data < 0) | (data > 1) | xp_of(data).isnan(data)).any()):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")


def _bernoulli(p, generator, device):
    return (_source("bernoulli", generator, device).random(p.shape) < p).astype(p.dtype)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):  # fmt: skip
    """Normal samples: elementwise N(mean, std^2) for tensor ``mean``/``std`` (broadcast, drawn
    on their device), or of shape ``size`` for numbers. No gradient flows through the draw."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        xp = xp_of(ref._data)
        if bool((xp.asarray(s) < 0).any()):
            raise ValueError("normal: std must be non-negative")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        z = _source("normal", generator, ref.device).standard_normal(shape)
        draws = m + s * z
        return Tensor._make(draws.astype(dtype and to_dtype(dtype) or ref.dtype), False)
    if size is None:
        raise TypeError("normal: give size= when mean and std are numbers")
    if std < 0:
        raise ValueError(f"normal: std must be non-negative, got {std}")
    dt = to_dtype(dtype) if dtype else default_float()
    size = _shape((size,) if isinstance(size, int) else (tuple(size),))
    z, device = _draw("normal", generator, device, lambda g: g.standard_normal(size))
    return _place((mean + std * z).astype(dt), device, requires_grad)


# -- PyTorch's remaining creation and tensor-query functions ------------------------------------
def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``torch.as_tensor``: ``data`` itself when it is a tensor of that dtype and device (no
    copy), else a tensor by ``gn.tensor``'s rules (a NumPy array is shared when it can be)."""
    if isinstance(data, Tensor):
        same_dtype = dtype is None or to_dtype(dtype) == data.dtype
        if same_dtype and (device is None or str(device) == str(data.device)):
            return data
        out = data if same_dtype else data.to(to_dtype(dtype))
        return out if device is None else out.to(device)
    if isinstance(data, np.ndarray) and device is None:
        return Tensor(data if dtype is None else data.astype(to_dtype(dtype), copy=False))
    return Tensor._new(data, dtype=dtype, device=device)


def is_tensor(obj) -> bool:
    """True for a glassnet tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:  # noqa: A002 - PyTorch's name
    """The number of elements (``torch.numel``)."""
    return input.numel()


def broadcast_shapes(*shapes) -> tuple:
    """The shape the given shapes broadcast to (``torch.broadcast_shapes``; NumPy's rules)."""
    try:
        return tuple(np.broadcast_shapes(*((s,) if isinstance(s, int) else tuple(s)
                                           for s in shapes)))  # fmt: skip
    except ValueError:
        raise ValueError(
            f"broadcast_shapes: shapes {shapes} cannot be broadcast together"
        ) from None


def scalar_tensor(s, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of ``s`` in the default float dtype unless ``dtype`` says otherwise."""
    return Tensor._new(s, dtype=dtype or default_float(), device=device,
                       requires_grad=requires_grad)  # fmt: skip


def range(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A001
    """``torch.range`` (deprecated there): like ``arange`` but with ``end`` included, and the
    default float dtype even for int arguments. Prefer ``arange(start, end + step, step)``."""
    if end is None:
        start, end = 0, start
    n = int(np.floor((end - start) / step)) + 1 if step else 0
    if step == 0 or n < 0:
        raise ValueError(
            f"range: upper bound and lower bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    arr = (start + step * np.arange(n)).astype(to_dtype(dtype) if dtype else default_float())
    return _place(arr, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``steps`` values base^t for t evenly spaced from ``start`` to ``end`` inclusive."""
    arr = np.logspace(start, end, steps, base=base)
    return _place(arr.astype(to_dtype(dtype) if dtype else default_float()), device, requires_grad)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    """``torch.combinations``: the length-``r`` combinations of a 1-D tensor's elements, one
    per row (in itertools order); differentiable, as a gather of the input."""
    import itertools

    from glassnet.ops.getitem import getitem

    if input.ndim != 1:
        raise ValueError(f"combinations expects a 1-D tensor, got shape {tuple(input.shape)}")
    if r < 0:
        raise ValueError(f"combinations: r must be non-negative, got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(np.arange(input.shape[0]).tolist(), r)), dtype=np.int64)
    return getitem(input, idx.reshape(-1, r))


def _legacy_type(name: str, dtype: str):
    def make(*args, device=None) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            return as_tensor(data, dtype=dtype, device=device) if isinstance(data, Tensor) \
                else Tensor._new(data, dtype=dtype, device=device)  # fmt: skip
        return zeros(*(args or (0,)), dtype=dtype, device=device)  # sizes (PyTorch: uninitialized)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"``torch.{name}``: ``{name}(data)`` is ``gn.tensor(data, dtype={dtype})``, "
                    f"``{name}(*sizes)`` a {dtype} tensor of zeros of that shape.")  # fmt: skip
    return make


FloatTensor = _legacy_type("FloatTensor", "float32")
DoubleTensor = _legacy_type("DoubleTensor", "float64")
HalfTensor = _legacy_type("HalfTensor", "float16")
LongTensor = _legacy_type("LongTensor", "int64")
IntTensor = _legacy_type("IntTensor", "int32")
ShortTensor = _legacy_type("ShortTensor", "int16")
CharTensor = _legacy_type("CharTensor", "int8")
ByteTensor = _legacy_type("ByteTensor", "uint8")
BoolTensor = _legacy_type("BoolTensor", "bool")
