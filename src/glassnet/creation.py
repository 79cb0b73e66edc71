"""Creating tensors: from data, filled, ranges and random (from the one seeded generator)."""

from __future__ import annotations

import numpy as np

from glassnet._torch_extras import check_memory_format
from glassnet.autograd.api import grad  # noqa: F401 - gn.grad, PyTorch's torch.autograd.grad
from glassnet.autograd.function import NoGrad
from glassnet.autograd.grad_mode import CAPTURING
from glassnet.backend import get_rng, to_dtype
from glassnet.backend.dtypes import default_float
from glassnet.generator import rng_for
from glassnet.tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Make a tensor from a scalar, nested lists, a NumPy/CuPy array or a tensor (copied).

    Python floats become float32 (like PyTorch); float64 arrays keep float64; ints become int64.

    >>> import glassnet as gn
    >>> gn.tensor([[1.0, 2.0]]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data._data.copy()
    elif isinstance(data, np.ndarray):
        data = data.copy()
    return Tensor._new(data, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Wrap a NumPy array without copying (its dtype is kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array, requires_grad=requires_grad)


def _shape(shape, size=None):
    """The shape of ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(size=(2, 3))`` or a shape given
    as a 1-D int tensor (PyTorch accepts all four)."""
    if size is not None:
        if shape:
            raise TypeError(f"got a shape {shape} and size={size!r}; pass one of them")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], Tensor):
        shape = (shape[0].tolist(),)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"shape must be non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def _place(arr, device, requires_grad):
    return Tensor(arr, requires_grad=requires_grad, device=device)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    arr = np.zeros(_shape(shape, size), dtype=to_dtype(dtype) if dtype else default_float())
    return _place(arr, device, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    arr = np.ones(_shape(shape, size), dtype=to_dtype(dtype) if dtype else default_float())
    return _place(arr, device, requires_grad)


def full(shape=None, fill_value=None, dtype=None, device=None, requires_grad: bool = False, *,
         size=None) -> Tensor:  # fmt: skip
    """A tensor filled with ``fill_value`` (``size=`` is PyTorch's name for ``shape``)."""
    if size is not None:
        shape = size
    if shape is None or fill_value is None:
        raise TypeError("full: give the shape (size=) and fill_value")
    if isinstance(shape, Tensor):
        shape = tuple(shape.tolist())
    if dtype is None:
        dtype = default_float() if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    from glassnet.ops.fill_values import wrap_int

    fill_value = wrap_int(fill_value, to_dtype(dtype))  # uint8 -1: 255, as PyTorch
    arr = np.full(_shape((shape,) if isinstance(shape, int) else (tuple(shape),)), fill_value,
                  dtype=to_dtype(dtype))  # fmt: skip
    return _place(arr, device, requires_grad)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False, *, device=None,
               memory_format=None) -> Tensor:  # fmt: skip
    check_memory_format(memory_format, "zeros_like", input.shape)  # a layout: same values
    return zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)  # fmt: skip


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False, *, device=None,
               memory_format=None) -> Tensor:  # fmt: skip
    check_memory_format(memory_format, "ones_like", input.shape)  # a layout: same values
    return ones(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)  # fmt: skip


def eye(n: int, m: int | None = None, dtype=None, device=None) -> Tensor:
    """The identity matrix (n x m)."""
    return _place(np.eye(n, m, dtype=to_dtype(dtype) if dtype else default_float()), device, False)


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad: bool = False, *,
           stop=None) -> Tensor:  # fmt: skip
    """Evenly spaced values in [start, end), PyTorch's ``arange`` (ints give int64, floats the
    default float32); ``arange(end)`` counts from 0. ``stop`` is NumPy's name for ``end``."""
    if stop is not None:
        end = stop
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:  # PyTorch refuses an empty range of the wrong sign
        raise ValueError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    arr = np.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype))
    elif arr.dtype == np.float64:
        arr = arr.astype(default_float())
    return _place(arr, device, requires_grad)


def linspace(start: float, end: float = None, steps: int = None, dtype=None, device=None,
             requires_grad: bool = False, *, stop=None, num=None) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (PyTorch's names;
    NumPy's ``stop`` and ``num`` are aliases)."""
    end = stop if stop is not None else end
    steps = num if num is not None else steps
    if end is None or steps is None:
        raise TypeError("linspace: give start, end and steps")
    arr = np.linspace(start, end, steps).astype(to_dtype(dtype) if dtype else default_float())
    return _place(arr, device, requires_grad)


def _draw(op, generator, device, draw):
    """``draw(rng)`` from glassnet's host generator, placed on ``device`` (so a seeded model
    starts identical on every device), or, with ``generator``, from that generator on its own
    device (which must be the one asked for): no host round trip."""
    if generator is None:
        return draw(get_rng()), device
    return draw(rng_for(op, generator, device)), generator.device


def randn(*shape, generator=None, dtype=None, device=None, requires_grad: bool = False,
          size=None) -> Tensor:  # fmt: skip
    """Standard normal samples from glassnet's seeded generator (see ``gn.manual_seed``), or
    from ``generator`` (a ``gn.Generator`` on the device asked for)."""
    dt = to_dtype(dtype) if dtype else default_float()
    if dt.kind != "f":
        raise TypeError(f"randn: dtype must be a floating-point dtype, got {dt} (PyTorch has no "
                        "randn kernel for it); draw floats and cast, or use randint")  # fmt: skip
    return _random("randn", _shape(shape, size), dt, generator, device, requires_grad)


def rand(*shape, generator=None, dtype=None, device=None, requires_grad: bool = False,
          size=None) -> Tensor:  # fmt: skip
    """Uniform samples in [0, 1) from glassnet's seeded generator, or from ``generator``."""
    dt = to_dtype(dtype) if dtype else default_float()
    if dt.kind != "f":
        raise TypeError(f"rand: dtype must be a floating-point dtype, got {dt} (PyTorch has no "
                        "rand kernel for it); draw floats and cast, or use randint")  # fmt: skip
    return _random("rand", _shape(shape, size), dt, generator, device, requires_grad)


def randint(low: int, high=None, size=None, device=None, *, generator=None, dtype=None,
            requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Integers in [low, high) (int64 unless ``dtype``); ``randint(high, size)`` draws from
    [0, high), as PyTorch's ``torch.randint``; from ``generator`` when given."""
    if size is None:
        if high is None:
            raise TypeError("randint: give (high, size) or (low, high, size)")
        low, high, size = 0, low, high
    shape = (size,) if isinstance(size, int) else tuple(size)
    dt = np.dtype(np.int64) if dtype is None else to_dtype(dtype)
    return _random("randint", shape, dt, generator, device, requires_grad, low=low, high=high)


def _random(kind, size, dt, generator, device, requires_grad, low=0, high=None) -> Tensor:
    """A draw from glassnet's generator (or ``generator``). A draw inside a step that
    ``gn.compile`` captures is recorded like an op, so each replay draws afresh, at the same
    point of the generator's stream as an eager step (a weight made there is not replayed)."""
    if CAPTURING[0] and not requires_grad:
        return NoGrad.apply(fn=_draw_array, kind=kind, size=size, dtype=dt.str,
                            generator=generator, device=device, low=low, high=high)  # fmt: skip
    arr, device = _drawn(kind, size, dt, generator, device, low, high)
    return _place(arr, device, requires_grad)


def _drawn(kind, size, dt, generator, device, low, high):
    if kind == "randn":
        arr, device = _draw(kind, generator, device, lambda g: g.standard_normal(size))
    elif kind == "rand":
        arr, device = _draw(kind, generator, device, lambda g: g.random(size))
    else:
        draw = lambda g: g.integers(low, high, size=size, dtype=np.int64)  # noqa: E731
        arr, device = _draw(kind, generator, device, draw)
    return arr.astype(dt, copy=False), device


def _draw_array(kind, size, dtype, generator, device, low, high):
    """The array of a draw, on its device (``NoGrad``'s function)."""
    arr, device = _drawn(kind, size, np.dtype(dtype), generator, device, low, high)
    return _place(arr, device, False)._data
