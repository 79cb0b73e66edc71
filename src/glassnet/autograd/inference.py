"""PyTorch's inference tensors: the tensors made inside ``inference_mode()``.

Outside inference mode such a tensor cannot be saved for backward (PyTorch: "Inference
tensors cannot be saved for backward"), changed in place, or made to require grad; views and
``detach()`` of it are inference tensors too, and ops on it make normal tensors.

An inference tensor's version counter is an :class:`InferenceVersion`: reading it outside
inference mode raises. Recording an op reads its inputs' versions, so an op that would save an
inference tensor raises there, at no cost to ops on normal tensors. The ops that save no
input for backward (``add``, ``sub``, ``concat``, ``stack``, ``where``, ``broadcast_to``)
record it, as PyTorch (``x_inference + w`` works): the node keeps an alias of it.

Nothing changes until inference mode is first entered: :func:`install` then makes the tensor
constructors look at the mode (one context-variable read per new tensor from then on, about
20 ns; a test holds the copy of ``Tensor._make`` to the original's fields).
"""

from __future__ import annotations

import sys

from glassnet.autograd.grad_mode import _INFERENCE, INSTALL_INFERENCE
from glassnet.tensor import Tensor

__all__ = ["InferenceVersion", "install", "is_inference"]

#: ops whose backward reads no input's value: an inference tensor may be their input (PyTorch)
NOT_SAVED = frozenset({"add", "sub", "concat", "stack", "where", "broadcast_to"})

_SAVED = (
    "Inference tensors cannot be saved for backward (op '{op}'), as in PyTorch: the tensor was "
    "made inside inference_mode(). Make a clone (x.clone()) outside inference mode to get a "
    "normal tensor for autograd, or use no_grad() instead of inference_mode()"
)


class InferenceTensorSaved(RuntimeError):
    """An op would save an inference tensor for backward (raised while it is recorded)."""


class InferenceVersion(list):
    """The version counter of an inference tensor: reading it outside inference mode (what
    recording an op does) raises."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((0,))

    def __getitem__(self, i):
        if not _INFERENCE.get():
            raise InferenceTensorSaved(_SAVED)
        return list.__getitem__(self, i)


def is_inference(t) -> bool:
    return t._vc.__class__ is InferenceVersion


def record_with_inference_inputs(fn, inputs, out) -> None:
    """Record node ``fn`` whose inputs include an inference tensor (``Function.apply`` lands
    here when reading its version raised): the ops of :data:`NOT_SAVED` keep an alias of it
    with a version counter of its own; any other op raises PyTorch's error."""
    if fn.name not in NOT_SAVED:
        raise RuntimeError(_SAVED.format(op=fn.name)) from None
    kept = []
    for t in inputs:
        if is_inference(t):
            t = Tensor._make(t._data, False)  # made outside inference mode: a normal tensor
        kept.append(t)
    fn.inputs = tuple(kept)
    fn.needs_input_grad = tuple(t.requires_grad for t in kept)
    fn.versions = tuple(t._vc[0] for t in kept)
    arrays = tuple(t._data for t in kept)
    fn.arrays = (*arrays, out._data) if fn.saves_output else arrays
    if fn.saves_output:
        fn.out_version = out._vc[0]
    out._ctx = fn


_INSTALLED = [False]
#: Tensor._make as it was before :func:`install` (a test holds the copy to its fields)
PLAIN_MAKE: list = []


def install() -> None:
    """Make ``Tensor._make`` and the constructors mark the tensors made in inference mode
    (called when inference mode is first entered; programs that never use it pay nothing)."""
    if _INSTALLED[0]:
        return
    # the modules by name, not imported here: they import this one (no import cycle)
    _function = sys.modules["glassnet.autograd.function"]
    _tensor = sys.modules[Tensor.__module__]

    ndarray, scalar, asarray = _tensor._NDARRAY, _tensor._NP_SCALAR, _tensor._asarray
    plain_init = Tensor._init
    new = object.__new__
    mode = _INFERENCE.get

    # Tensor._make's body (not a wrapper around it: a call more would cost every op ~50 ns)
    def _make(data, requires_grad: bool):
        if data.__class__ is not ndarray and isinstance(data, scalar):
            data = asarray(data)
        t = new(Tensor)
        t._data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._vc = InferenceVersion() if mode() else [0]
        t._retains_grad = False
        t._hooks = None
        t.name = None
        return t

    def _init(self, data, requires_grad, dtype, device, name):
        plain_init(self, data, requires_grad, dtype, device, name)
        if mode():
            self._vc = InferenceVersion()

    PLAIN_MAKE.append(Tensor._make)
    _make.__doc__ = Tensor._make.__doc__
    Tensor._make = staticmethod(_make)
    Tensor._init = _init
    _function._make = _make
    _INSTALLED[0] = True


INSTALL_INFERENCE.append(install)
