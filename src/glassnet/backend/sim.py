"""A strict simulated device, ``"sim"``: a GPU stand-in that runs anywhere, for tests.

Arrays on it are NumPy arrays wrapped in :class:`SimArray`, which behaves like a CuPy array:

* NumPy ufuncs and functions (``np.exp(a)``, ``np.concatenate([a, b])``) work on sim arrays
  and return sim arrays (NumPy's ``__array_ufunc__`` / ``__array_function__`` protocols);
* mixing a sim array with a host ``numpy.ndarray`` in one call raises ``TypeError``, as CuPy
  does, and so does any *implicit* conversion to a host array (``np.asarray(a)``);
* every *explicit* transfer to the host (``a.get()``, ``to_device(a, "cpu")``, ``a.item()``,
  ``float(a)``, ``bool(a)``, ``a.tolist()``, printing) is counted in :data:`TRANSFERS`, so
  tests can assert a host-sync budget (for example "a compiled training step makes none");
* a float ``add.at`` (on a GPU: an atomic scatter-add, not reproducible) raises while
  deterministic algorithms are on (``glassnet.use_deterministic_algorithms``), and every
  ``ufunc.at`` is recorded in :data:`SCATTERS`, so the suite proves which path ops take.

The array module of a sim array (``xp_of(a)``) is :data:`sim_xp`, a namespace mirroring NumPy
whose functions return sim arrays, as ``cupy.*`` returns CuPy arrays. ``xp is np`` is False on
it, so every op takes its GPU branch: running the test suite on this device
(``GLASSNET_TEST_DEVICE=sim``) exercises the GPU code paths and catches host syncs and mixed
devices on a machine without a GPU. It is slow (a Python wrapper around every array call) and
exists for testing only.
"""

from __future__ import annotations

import copy as _copy
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


class TransferCounter:
    """Counts explicit device-to-host transfers of sim arrays (``count``; ``reset()``)."""

    def __init__(self):
        self.count = 0
        self.log: list[str] = []
        self.record = False

    def reset(self) -> None:
        self.count = 0
        self.log.clear()

    def add(self, what: str) -> None:
        self.count += 1
        if self.record:  # what, and the glassnet/test line that asked for it
            import traceback

            frames = [
                f for f in traceback.extract_stack()[:-2] if "backend/sim.py" not in f.filename
            ]
            where = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in frames[-3:])
            self.log.append(f"{what} @ {where}")


#: The global counter of device-to-host transfers made by sim arrays.
TRANSFERS = TransferCounter()

_IMPLICIT = (
    "implicit conversion of a 'sim' device array to a host NumPy array is not allowed (a GPU "
    "array would refuse it too); copy explicitly with tensor.numpy() / .cpu() or "
    "glassnet.backend.to_device(array, 'cpu')"
)


def _mixed(where: str) -> TypeError:
    return TypeError(
        f"{where}: a host numpy.ndarray was mixed with a 'sim' device array (a GPU array would "
        "refuse it too); move the host array to the device first (tensor.to(device) or "
        "xp.asarray(array))"
    )


def _unwrap(obj, where: str):
    """Sim arrays -> their NumPy array; a host ndarray -> TypeError; containers recursively."""
    if type(obj) is SimArray:
        return obj._a
    if isinstance(obj, np.ndarray):
        raise _mixed(where)
    if type(obj) in (list, tuple):
        return type(obj)(_unwrap(o, where) for o in obj)
    return obj


def _unwrap_lenient(obj):
    """Like :func:`_unwrap` but host arrays pass (an upload, which CuPy allows here)."""
    if type(obj) is SimArray:
        return obj._a
    if type(obj) in (list, tuple):
        return type(obj)(_unwrap_lenient(o) for o in obj)
    return obj


def _wrap(obj):
    """NumPy arrays and scalars -> sim arrays (0-d for scalars, as CuPy); containers recurse."""
    if isinstance(obj, np.ndarray):
        return SimArray(obj)
    if isinstance(obj, np.generic):
        return SimArray(np.asarray(obj))
    if type(obj) in (list, tuple):
        return type(obj)(_wrap(o) for o in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # linalg.svd/qr/eigh's namedtuples
        return tuple(_wrap(o) for o in obj)
    return obj


# ufunc.at with these gives the same bits in any order (a max is a max); with any other ufunc
# on floats, a GPU's atomic updates make the result depend on their order.
_ORDER_FREE_AT = frozenset({"maximum", "minimum", "fmax", "fmin"})

#: Every ``ufunc.at`` call on a sim array, as "name dtype" (tests read it; ``clear()`` it).
SCATTERS: list[str] = []


def _check_scatter(ufunc, target) -> None:
    """Record a ``ufunc.at`` and refuse an order-dependent one on floats while deterministic
    algorithms are on: on a GPU it is an atomic scatter whose float result varies run to run,
    so no glassnet op may reach it there (glassnet.ops._segment does these sums instead)."""
    from glassnet.backend.determinism import are_deterministic_algorithms_enabled

    dtype = target.dtype if type(target) is SimArray else np.asarray(target).dtype
    SCATTERS.append(f"{ufunc.__name__} {dtype}")
    if (
        ufunc.__name__ not in _ORDER_FREE_AT
        and dtype.kind in "fc"
        and are_deterministic_algorithms_enabled()
    ):
        raise RuntimeError(
            f"numpy.{ufunc.__name__}.at on a 'sim' device array of {dtype}: on a GPU this is "
            "an atomic scatter whose float result changes from run to run, and deterministic "
            "algorithms are on (glassnet.use_deterministic_algorithms); use "
            "glassnet.ops._segment.scatter_add, or turn them off to allow it"
        )


_HOST_METHODS = frozenset({"tolist", "item", "tobytes", "tofile", "dump", "dumps"})


class SimArray(NDArrayOperatorsMixin):
    """A NumPy array living on the simulated device. See the module docstring."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100  # below Tensor's 1000: sim_array * tensor -> Tensor.__rmul__
    __hash__ = None

    def __init__(self, array: np.ndarray):
        self._a = array

    # -- the protocols that make it strict --------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        if method == "at":  # indices may be host arrays, as in indexing (CuPy's scatter ops)
            _check_scatter(ufunc, inputs[0])
            inputs = (_unwrap(inputs[0], where), _unwrap_lenient(inputs[1]),
                      *_unwrap(inputs[2:], where))  # fmt: skip
        else:
            inputs = _unwrap(inputs, where)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, where)
        if "where" in kwargs:
            kwargs["where"] = _unwrap(kwargs["where"], where)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if method == "at":
            return None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap(dict(kwargs), where)))

    # -- array attributes -------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: SimArray(self._a.T))
    base = property(lambda self: None if self._a.base is None else SimArray(self._a.base))

    @property
    def device(self):
        from glassnet.backend.device import SIM

        return SIM

    def __getattr__(self, name: str):
        # NumPy looks for __array_interface__ / __array_struct__ by attribute: never forward
        # dunders, or np.asarray would convert silently.
        if name.startswith("__") or name in ("_a", "ctypes", "data"):
            raise AttributeError(f"'SimArray' object has no attribute {name!r}")
        attr = getattr(self._a, name)
        if name in _HOST_METHODS:

            def to_host(*args, **kwargs):
                TRANSFERS.add(name)
                return attr(*args, **kwargs)

            return to_host
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            where = f"ndarray.{name}"
            return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))

        return method

    # -- explicit transfers (counted) -------------------------------------------------------
    def get(self) -> np.ndarray:
        """Copy to a host NumPy array (CuPy's name); counted in :data:`TRANSFERS`."""
        TRANSFERS.add("get")
        return self._a.copy()

    def __bool__(self) -> bool:
        TRANSFERS.add("bool")
        return bool(self._a)

    def __float__(self) -> float:
        TRANSFERS.add("float")
        return float(self._a)

    def __int__(self) -> int:
        TRANSFERS.add("int")
        return int(self._a)

    def __index__(self) -> int:
        TRANSFERS.add("index")
        return self._a.__index__()

    def __complex__(self) -> complex:
        TRANSFERS.add("complex")
        return complex(self._a)

    def __repr__(self) -> str:
        TRANSFERS.add("repr")
        return f"sim_array({np.array2string(self._a, separator=', ')}, dtype={self._a.dtype})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._a.ndim == 0:
            TRANSFERS.add("format")
            return format(self._a.item(), spec)
        return format(repr(self), spec)

    # -- container protocol -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for row in self._a:
            yield _wrap(row)

    def __getitem__(self, index):
        index = _unwrap_lenient(index)
        out = self._a[index]
        if isinstance(out, np.generic):  # one element: a 0-d view, as CuPy's (NumPy: a copy)
            out = self._a[(*index, ...) if isinstance(index, tuple) else (index, ...)]
        return _wrap(out)

    def __setitem__(self, index, value) -> None:
        self._a[_unwrap_lenient(index)] = _unwrap_lenient(value)

    def __copy__(self):
        return SimArray(self._a.copy())

    def __deepcopy__(self, memo):
        return SimArray(_copy.deepcopy(self._a, memo))

    def __reduce__(self):  # refuse pickling, like everything else in glassnet
        raise TypeError("sim arrays cannot be pickled; save tensors with glassnet.save")


class SimGenerator:
    """The random generator of the sim device: a NumPy ``Generator`` whose draws land on it."""

    def __init__(self, seed: int = 0):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name: str):
        attr = getattr(self._g, name)
        if not callable(attr):
            return attr

        def draw(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, name), **_unwrap(kwargs, name)))

        return draw


def _sim_default_rng(seed=None):
    return SimGenerator(seed)


# Functions that take host data and put it on the device (CuPy's uploads).
_UPLOADS = frozenset({"asarray", "array", "ascontiguousarray", "asanyarray", "asfortranarray"})


class _SimNamespace(types.ModuleType):
    """``numpy`` (or one of its submodules) with results placed on the sim device."""

    def __init__(self, module, name: str):
        super().__init__(name)
        self._module = module

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            value = _SimNamespace(attr, f"{self.__name__}.{name}")
        elif isinstance(attr, (np.ufunc, type)) or not callable(attr):
            value = attr  # ufuncs dispatch through SimArray.__array_ufunc__; types and constants
        elif name in _UPLOADS:
            value = _upload(attr)
        else:
            value = _on_device(attr, f"{self.__name__}.{name}")
        object.__setattr__(self, name, value)  # cache
        return value


def _upload(func):
    def upload(obj, *args, **kwargs):
        result = func(_unwrap_lenient(obj), *args, **kwargs)
        if type(obj) is SimArray and result is obj._a:
            return obj  # asarray of a device array: itself, as in NumPy and CuPy
        return _wrap(result)

    return upload


def _on_device(func, where: str):
    def call(*args, **kwargs):
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    call.__name__ = getattr(func, "__name__", where)
    return call


#: The array module of the sim device (its ``xp``), like ``cupy`` for CUDA.
sim_xp = _SimNamespace(np, "glassnet.sim")
sim_xp.ndarray = SimArray
sim_xp.random = types.SimpleNamespace(default_rng=_sim_default_rng, Generator=SimGenerator)


def to_sim(array) -> SimArray:
    """Put host data on the sim device (an upload; not counted)."""
    if type(array) is SimArray:
        return array
    return SimArray(np.asarray(array))


def to_host(array) -> np.ndarray:
    """Copy a sim array to the host (counted)."""
    return array.get()
