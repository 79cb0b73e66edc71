"""``Tensor``: an ``xp`` array that remembers how it was computed, so it can be differentiated.

A tensor holds ``data`` (a NumPy or CuPy array), and when it was produced by an op from inputs
that require grad, ``_ctx``: the op's graph node. ``loss.backward()`` walks those nodes back to
the leaves (tensors you created, such as weights) and stores dloss/dleaf in ``leaf.grad``.

This module is the bottom of the autograd layer: it imports the engine, never the ops. The
methods that run ops (``x + y``, ``x.sum()``, ``x.T``, ``x.clone()``, ...) are attached by
:mod:`glassnet.ops.methods`, one layer up, when ``glassnet.ops`` is imported (``import
glassnet`` does it).
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import engine as _engine
from glassnet.autograd import hooks as _hooks
from glassnet.autograd import inplace as _inplace
from glassnet.autograd import overlap as _overlap
from glassnet.autograd.grad_mode import CAPTURING, active_recorder, inference_check
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.backend import Device, device_of, to_device, to_dtype, xp_of
from glassnet.backend.device import _DEFAULT
from glassnet.backend.dtypes import check_int_range, default_complex, default_float, inplace_ufunc
from glassnet.backend.printing import format_array
from glassnet.backend.sim import SimArray

_NUMPY_DATA = (np.ndarray, np.generic)
_NDARRAY = np.ndarray
_NP_SCALAR = np.generic
_asarray = np.asarray


def _is_cupy(data) -> bool:
    return type(data).__module__.startswith("cupy")


def _as_array(data, dtype=None, device=None):
    """Convert user data to an array with glassnet's dtype rules (float -> float32)."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray) or type(data) is SimArray or _is_cupy(data):
        arr = data
    elif isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(default_float())  # Python floats become float32, like PyTorch
        elif arr.dtype == np.complex128 and dtype is None:
            arr = arr.astype(default_complex())  # and Python complex numbers complex64
        elif arr.dtype.kind in "OUSV":
            raise TypeError(
                f"cannot make a tensor from {type(data).__name__} holding {arr.dtype} values; "
                "expected numbers (a scalar, nested lists or an array)"
            )
        check_int_range(arr, dtype)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype), copy=False)
    elif arr.dtype.kind == "i" and arr.dtype != np.int64 and not isinstance(data, _NUMPY_DATA):
        arr = arr.astype(np.int64)
    if device is None:  # host data goes to the default device; device arrays stay put
        device = _DEFAULT[0]
        if device.type == "cpu" or not isinstance(arr, np.ndarray):
            return arr
    return to_device(arr, device)


def _legacy_shape(first, rest):
    """The zeros of ``Tensor(2, 3)`` (PyTorch's sizes form; ``Tensor()`` is empty)."""
    shape = () if first is None else (first, *rest)
    if not all(type(n) is int and n >= 0 for n in shape):
        raise TypeError(
            f"Tensor(*sizes) takes non-negative ints, got {shape}; to make a tensor from data "
            "use gn.tensor(data)"
        )
    return np.zeros(shape or (0,), dtype=default_float())


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Create tensors with :func:`glassnet.tensor` (or ``zeros``, ``randn``, ...). Arithmetic,
    indexing and the methods below build a graph when an input has ``requires_grad=True``.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()          # y = sum x_i^2
    >>> y.backward()               # dy/dx_i = 2 x_i
    >>> x.grad.numpy()
    array([2., 4., 6.], dtype=float32)
    """

    # _owned (unset until the engine sets it): the array of a gradient tensor that the
    # engine allocated, which it may add into in place (autograd.engine._accumulate)
    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_vc", "_retains_grad", "_hooks",
                 "name", "_owned", "__weakref__")  # fmt: skip
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data=None, *sizes, requires_grad: bool = False, dtype=None, device=None,
                 name=None):  # fmt: skip
        """``Tensor(data)`` is PyTorch's legacy constructor: Python numbers and lists become the
        default float dtype (``Tensor([1, 2])`` is float32, as ``torch.Tensor``), ints alone are
        a shape (``Tensor(2, 3)``: a (2, 3) float32 tensor, zeros here where PyTorch leaves it
        uninitialized; ``Tensor()`` is empty); arrays and tensors keep their dtype. Prefer
        ``gn.tensor(data)``, which infers the dtype (ints stay int64)."""
        if sizes and not (len(sizes) == 1 and isinstance(sizes[0], bool)):
            data = _legacy_shape(data, sizes)
        elif sizes:  # Tensor(data, requires_grad): glassnet's older positional form
            requires_grad = sizes[0]
        elif data is None or (type(data) is int and dtype is None):
            data = _legacy_shape(data, ())
        elif dtype is None and isinstance(data, (list, tuple, float, bool)):
            dtype = default_float()
        self._init(data, requires_grad, dtype, device, name)

    @classmethod
    def _new(cls, data, requires_grad=False, dtype=None, device=None) -> Tensor:
        """A tensor by ``gn.tensor``'s rules (ints stay int64, floats become float32)."""
        t = object.__new__(cls)
        t._init(data, requires_grad, dtype, device, None)
        return t

    def _init(self, data, requires_grad, dtype, device, name):
        arr = _as_array(data, dtype, device)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {arr.dtype}; "
                "pass dtype='float32' (or convert with .astype('float32'))"
            )
        self._data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._vc = [0]
        self._retains_grad = False
        self._hooks = None
        self.name = name

    @staticmethod
    def _make(data, requires_grad: bool):
        """Fast internal constructor: ``data`` is already a valid array. Always a plain
        ``Tensor`` (never a subclass such as ``Parameter``), whichever class it is called on.

        NumPy's arithmetic on 0-d arrays returns NumPy scalars (``np.float32``), which are
        immutable and share no memory: such a result is stored as a 0-d array, so 0-d
        tensors take in-place writes (``fill_``, ``clamp_``, ``x[...] = v``) and ``view(1)``
        as in PyTorch (``(one * -1).view(1)``, ``w.grad.zero_()`` of a 0-d parameter)."""
        if data.__class__ is not _NDARRAY and isinstance(data, _NP_SCALAR):
            data = _asarray(data)
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._vc = [0]
        t._retains_grad = False
        t._hooks = None
        t.name = None
        return t

    # -- properties ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self) -> Device:
        return device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (weights, inputs)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The graph node (op instance) that produced this tensor, or None for leaves."""
        return self._ctx

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """Iterate over the first axis, as PyTorch (each item a tensor, in the graph)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor; use .item() to get its value")
        for i in range(self.shape[0]):
            yield self[i]

    def __repr__(self) -> str:
        body = format_array(np.asarray(self.numpy()), "tensor(")  # gn.set_printoptions
        extra = ""
        if self.dtype != np.float32:
            extra += f", dtype={self.dtype}"
        if self.device.type != "cpu":
            extra += f", device='{self.device}'"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        if CAPTURING[0]:
            _read_on_host(self, "bool()")
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        if CAPTURING[0]:
            _read_on_host(self, "a NumPy conversion")
        if not isinstance(self._data, _NUMPY_DATA):
            raise TypeError(
                f"cannot convert a tensor on {self.device} to a NumPy array implicitly (it "
                "would be a hidden copy to the host); call .numpy() (or .cpu()) first"
            )
        arr = self._data
        return arr if dtype is None else arr.astype(dtype)

    __hash__ = object.__hash__

    # -- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (a copy from the GPU; a view on CPU, so do not mutate)."""
        if CAPTURING[0]:
            _read_on_host(self, ".numpy()")
        return to_device(self._data, "cpu")

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, got shape {self.shape}; "
                "reduce it first (e.g. .sum() or .mean())"
            )
        if CAPTURING[0]:
            _read_on_host(self, ".item()")
        return self._data.reshape(()).item()

    def detach(self) -> Tensor:
        """A tensor sharing this data but cut from the graph (no gradient flows through)."""
        if CAPTURING[0]:
            recorder = active_recorder()
            if recorder is not None:  # recorded: a replay passes on that call's array
                return recorder.detach(self)
        out = Tensor._make(self._data, False)
        out._vc = self._vc
        return out

    # -- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False,
                 inputs=None, *, grad=None):  # fmt: skip
        """Compute d(self)/d(leaf) for every leaf that requires grad; add it to ``leaf.grad``.

        Args:
            gradient: dL/dself, required when self has more than one element (``grad=`` is
                glassnet's older name for it).
            retain_graph: keep the graph so ``backward`` can run through it again (default:
                ``create_graph``).
            create_graph: record the backward pass too, so gradients can be differentiated.
            inputs: a tensor or tensors: accumulate into their ``.grad`` only, no other.
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: pass gradient= (or grad=, its older name), not both")
            gradient = grad
        if inputs is None:
            if retain_graph is None:
                retain_graph = create_graph
            _engine.run_backward(self, gradient, retain_graph, create_graph)
        else:
            retain = create_graph if retain_graph is None else retain_graph
            wanted = _engine.check_inputs(inputs, "backward")
            _engine.run_backward(self, gradient, retain, create_graph, wanted, None, True)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf on which ``retain_grad()`` was called (False for leaves, which
        always keep ``.grad``), as PyTorch's."""
        return self._retains_grad and self._ctx is not None

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed; it may return a new grad.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = fn
        if self._ctx is None:  # a weight's hook: a compiled step must run eagerly from now on
            _hooks.changed()
        return _HookHandle(self._hooks, key)

    def zero_grad(self) -> None:
        self.grad = None

    # -- in place (bump the version counter, so stale graphs are detected) ------------------
    def _check_inplace(self, opname: str) -> None:
        if self._vc.__class__ is not list:
            inference_check("write")
        if _GRAD.enabled and self.requires_grad:
            raise RuntimeError(
                f"{opname}: in-place change of a tensor that requires grad while grad mode is "
                "on; wrap it in `with gn.no_grad():` (for weight updates) or use the "
                "out-of-place op"
            )

    def _records_inplace(self, args) -> bool:
        """(Grad mode on) True when an in-place change must be recorded in the graph, as
        PyTorch records it (see ``glassnet.autograd.inplace``)."""
        if self.requires_grad:
            return self._ctx is not None
        if self._data.dtype.kind not in "fc":  # an int or bool tensor never carries a grad
            return False
        return any(isinstance(a, Tensor) and a.requires_grad for a in args)

    def _rebase(self, opname: str, compute, *args, keep_old: bool = True) -> Tensor:
        return _inplace.rebase(self, opname, compute, *args, keep_old=keep_old)

    def _bump(self) -> None:
        if self._vc.__class__ is not list:  # an inference tensor (a write past _check_inplace)
            inference_check("write")
        self._vc[0] += 1
        if _GRAD.recorder is not None:  # glassnet.compile is capturing: not replayable
            _GRAD.recorder.inplace(self)

    def _inplace_value(self, other):
        return other._data if isinstance(other, Tensor) else other

    def add_(self, other, alpha: float = 1.0) -> Tensor:
        if (self._ctx is not None or (isinstance(other, Tensor) and other.requires_grad)) and (
            _GRAD.enabled and self._records_inplace((other,))
        ):
            return self._rebase("add_", _inplace.plus, other, alpha)
        self._check_inplace("add_")
        v = self._inplace_value(other)
        v = v if alpha == 1.0 else alpha * v
        if not _viewed(self._data, v) or not _overlap.arith(self._data, np.add, v, "add_"):
            inplace_ufunc(self._data, np.add, v, "add_")
        self._bump()
        return self

    def sub_(self, other, alpha: float = 1.0) -> Tensor:
        if (self._ctx is not None or (isinstance(other, Tensor) and other.requires_grad)) and (
            _GRAD.enabled and self._records_inplace((other,))
        ):
            return self._rebase("sub_", _inplace.minus, other, alpha)
        self._check_inplace("sub_")
        v = self._inplace_value(other)
        v = v if alpha == 1.0 else alpha * v
        if not _viewed(self._data, v) or not _overlap.arith(self._data, np.subtract, v, "sub_"):
            inplace_ufunc(self._data, np.subtract, v, "sub_")
        self._bump()
        return self

    def mul_(self, other) -> Tensor:
        if (self._ctx is not None or (isinstance(other, Tensor) and other.requires_grad)) and (
            _GRAD.enabled and self._records_inplace((other,))
        ):
            return self._rebase("mul_", _inplace.times, other)
        self._check_inplace("mul_")
        v = self._inplace_value(other)
        if not _viewed(self._data, v) or not _overlap.arith(self._data, np.multiply, v, "mul_"):
            inplace_ufunc(self._data, np.multiply, v, "mul_")
        self._bump()
        return self

    def div_(self, other) -> Tensor:
        if (self._ctx is not None or (isinstance(other, Tensor) and other.requires_grad)) and (
            _GRAD.enabled and self._records_inplace((other,))
        ):
            return self._rebase("div_", _inplace.over, other)
        self._check_inplace("div_")
        v = self._inplace_value(other)
        if not _viewed(self._data, v) or not _overlap.arith(self._data, np.divide, v, "div_"):
            inplace_ufunc(self._data, np.divide, v, "div_")
        self._bump()
        return self

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self._data[...] = value
        self._bump()
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def copy_(self, src) -> Tensor:
        self._check_inplace("copy_")
        v = self._inplace_value(src)
        if tuple(np.shape(v)) != self.shape:
            raise ValueError(f"copy_: source shape {np.shape(v)} != destination {self.shape}")
        self._data[...] = to_device(xp_of(v).asarray(v), self.device)
        self._bump()
        return self

    def __setitem__(self, index, value) -> None:
        self._check_inplace("__setitem__")
        if isinstance(index, Tensor):
            index = index._data
        self._data[index] = self._inplace_value(value)
        self._bump()

    # x op= y is in place, as PyTorch: recorded on an intermediate, refused on a leaf that
    # requires grad (an out-of-place result would leave other references to x unchanged)
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


def _viewed(data, v) -> bool:
    """Whether an in-place op's array or operand is a view (then see glassnet.autograd.overlap)."""
    return getattr(data, "base", None) is not None or getattr(v, "base", None) is not None


def _read_on_host(t: Tensor, how: str) -> None:
    """Python reads a tensor's value while ``gn.compile`` captures a step: the step may branch
    on it, and a replay would follow the captured branch whatever the value, so it stays
    eager. Reading a constant that the step's ops use (not an input, not trained) is fine."""
    recorder = active_recorder()
    if recorder is not None and recorder.computed(t):
        recorder.bad = (
            f"the step reads a computed tensor's value in Python ({how}), and may branch on "
            "it; a replay cannot, so the step runs eagerly (read values such as "
            "loss.item() outside the compiled function)"
        )


class _HookHandle:
    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        if self._hooks.pop(self._key, None) is not None:
            _hooks.changed()
