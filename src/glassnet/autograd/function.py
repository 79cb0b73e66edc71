"""``Function``: the base class of every differentiable op, and the registry of all ops.

An op is one subclass with ``forward`` and ``backward`` side by side. ``forward`` works on raw
``xp`` arrays; ``backward`` is written once, against a namespace ``ns`` (see
:mod:`glassnet.autograd.namespace`), and serves both first-order gradients and
``create_graph=True``:

.. code-block:: python

    class Exp(Function):
        '''y = e^x;  dy/dx = e^x = y'''

        saves_output = True                # backward receives the output after the inputs

        def forward(self, x):
            return xp_of(x).exp(x)

        def backward(self, ns, grad, x, y):
            return grad * y                # one gradient per input (a tuple for several)

``backward(ns, grad, *inputs[, output])`` receives the upstream gradient and the op's inputs
(and its output when ``saves_output``): raw arrays in first-order backward, Tensors under
``create_graph=True``, where evaluating the same formula records the backward pass as a graph.
It returns one gradient per input (``None`` where not needed: ``self.needs_input_grad[i]``,
computed once per node, says which inputs want one), shaped like the *broadcast* output; the
engine undoes broadcasting in one helper.

``Exp.apply(x)`` runs forward and, when grad mode is on and an input requires grad, makes the
instance the graph node of the output: it keeps its inputs (and their version numbers, to
catch in-place changes) until ``backward()`` frees it.

A subclass written in PyTorch's form (``@staticmethod forward(ctx, ...)``) is not an op: it is
handed to :mod:`glassnet.autograd.custom_function` and never registered.
"""

from __future__ import annotations

import inspect
import re

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.autograd.autocast_mode import cast_inputs as _autocast_inputs
from glassnet.autograd.grad_mode import _ENABLED, _RECORDER, CAPTURING
from glassnet.autograd.inference import InferenceTensorSaved as _InferenceTensorSaved
from glassnet.autograd.inference import (
    record_with_inference_inputs as _record_with_inference_inputs,
)
from glassnet.backend.device import MULTI_DEVICE_TYPES as _MULTI
from glassnet.backend.device import check_devices as _check_devices
from glassnet.tensor import Tensor

#: Adapters for subclasses written in PyTorch's ctx form (static ``forward(ctx, ...)``):
#: :mod:`glassnet.autograd.custom_function` registers its own (imported by the package).
CTX_FORM_ADAPTERS: list = []

#: Every op class by name: the gradcheck suite covers each entry.
OPS: dict[str, type[Function]] = {}

_make = Tensor._make
_enabled = _ENABLED.get


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Function:
    """Base class of differentiable ops. See the module docstring for the contract.

    Class attributes a subclass may set:
        name: registry name (default: the class name in snake_case).
        is_view: the output shares memory with ``inputs[0]`` (reshape, transpose, slicing);
            output and input then share one version counter, so in-place changes through
            either are seen.
        saves_output: backward reads the output (passed after the inputs), so an in-place
            change of the output after forward must be reported.
        register: set False for abstract helpers that are not ops.

    Set on each graph node by ``apply``: ``inputs`` (the input tensors), ``needs_input_grad``
    (a bool per input), ``arrays`` (what first-order backward receives after ``grad``).
    ``gn.compile`` may also set ``grad_out``: {input position: an empty array shaped and typed
    like that input}, where a first-order backward may write that input's gradient and return
    the array itself (a parameter's flat gradient buffer: no copy into it afterwards). Ops may
    ignore it.
    """

    name: str = "function"
    grad_out: dict | None = None
    is_view: bool = False
    saves_output: bool = False
    register: bool = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            for adapt in CTX_FORM_ADAPTERS:  # PyTorch's ctx form: not an op (custom_function)
                adapt(cls)
            return
        if not cls.__dict__.get("register", True):
            cls.register = True  # subclasses of an abstract helper register by default
            return
        name = cls.__dict__.get("name") or _snake(cls.__name__)
        if name in OPS and OPS[name] is not cls:
            raise ValueError(f"op name {name!r} is already registered by {OPS[name].__qualname__}")
        cls.name = name
        OPS[name] = cls

    # -- the two methods every op defines -------------------------------------------------
    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, ns, grad, *values):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- running an op ----------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors, recording a graph node when a gradient will be needed."""
        if _AUTOCAST.dtype is not None:  # glassnet.autocast: per-op precision (amp.py)
            inputs = _autocast_inputs(cls.name, inputs)
        if CAPTURING[0]:  # some thread is capturing a step for glassnet.compile: is it this one?
            recorder = _RECORDER.get()
            if recorder is not None:
                return recorder.apply(cls, inputs, params)
        fn = cls.__new__(cls)
        # This is the hot path of every op. One and two inputs are spelled out: in CPython
        # 3.11 a list comprehension costs about as much as a small op's arithmetic.
        n = len(inputs)
        if n == 2:
            a, b = inputs
            ad, bd = a._data, b._data
            if type(ad) is not type(bd) or type(ad) in _MULTI:
                _check_devices(cls.name, inputs)  # one device for all inputs, or a clear error
            data = fn.forward(ad, bd, **params)
            track = (a.requires_grad or b.requires_grad) and _enabled()
        elif n == 1:
            a = inputs[0]
            ad = a._data
            data = fn.forward(ad, **params)
            track = a.requires_grad and _enabled()
        else:
            _check_devices(cls.name, inputs)
            arrays = [t._data for t in inputs]
            data = fn.forward(*arrays, **params)
            needs = tuple([t.requires_grad for t in inputs])
            track = any(needs) and _enabled()
        out = _make(data, track)
        if cls.is_view:
            out._vc = inputs[0]._vc
        if track:
            fn.inputs = inputs
            try:  # free when nothing is raised; an inference tensor's version raises
                if n == 2:  # which inputs want a gradient: computed once per node (tinygrad)
                    fn.needs_input_grad = (a.requires_grad, b.requires_grad)
                    fn.versions = (a._vc[0], b._vc[0])
                    fn.arrays = (ad, bd, data) if cls.saves_output else (ad, bd)
                else:
                    fn.needs_input_grad = (a.requires_grad,) if n == 1 else needs
                    fn.versions = tuple([t._vc[0] for t in inputs])
                    if n == 1:
                        fn.arrays = (ad, data) if cls.saves_output else (ad,)
                    else:
                        fn.arrays = (*arrays, data) if cls.saves_output else tuple(arrays)
                if cls.saves_output:
                    fn.out_version = out._vc[0]
            except _InferenceTensorSaved:  # saving an inference tensor for backward
                _record_with_inference_inputs(fn, inputs, out)
            out._ctx = fn
        if _hooks.FORWARD_HOOKS:
            for hook in tuple(_hooks.FORWARD_HOOKS):
                hook(fn, inputs, out)
        return out

    @property
    def track(self) -> bool:
        """True when this node was recorded in the graph (an input required grad, grad mode
        on); until ``backward()`` frees it."""
        return "inputs" in self.__dict__

    def release(self) -> None:
        """Drop everything saved for backward; a second backward then raises a clear error."""
        self.__dict__.clear()

    @property
    def released(self) -> bool:
        return "inputs" not in self.__dict__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} node>"


class LinearMap(Function):
    """y = f(v) for a linear map f given with its adjoint f^T;  dL/dv = f^T(dL/dy)

    The graph form of ``ns.linear(f, f_adjoint, v)``: scatters and gathers, pooling routes and
    col2im are linear in the gradient they move, so their derivative is their adjoint, which
    is again a ``linear_map`` (with f and f^T swapped): differentiable to any order.
    """

    def forward(self, v, f, f_adjoint):
        self.f, self.f_adjoint = f, f_adjoint
        return f(v)

    def backward(self, ns, grad, v):
        return ns.linear(self.f_adjoint, self.f, grad)


def value_check(check, *args) -> None:
    """Run ``check(*args)``, a check of input *values* that raises on bad data (a class index
    out of range, a probability above 1), the way an op wrapper checks before ``apply``.

    In eager mode this is ``check(*args)``. While ``glassnet.compile`` captures a step it is
    recorded with its arguments, and every replay runs it again on that call's arrays: a
    replay skips the wrappers, so without this a compiled step would take data that eager
    mode rejects (a negative class index wraps around to the last class in NumPy).
    ``check`` must be a module-level function (the same object in every call); ``args`` are
    the tensors/arrays the check reads and plain values.
    """
    if CAPTURING[0]:
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.check(check, args)
            return
    check(*args)


class NoGrad(Function):
    """``fn(*arrays, **params)`` for a result without a gradient (comparisons, argmax, masks,
    index results): not an op of the registry, but recorded by ``gn.compile`` like one, so a
    replay computes it again from that call's arrays. (A result made by ``Tensor._make`` in a
    wrapper would be a constant of the recording: a padding mask captured on two unpadded
    batches would stay all True.) ``fn`` must be the same object in every call (a module-level
    function or a ufunc) and ``params`` plain values."""

    name = "no_grad"
    register = False

    @classmethod
    def apply(cls, *inputs, fn, **params):
        if CAPTURING[0]:
            recorder = _RECORDER.get()
            if recorder is not None:
                return recorder.apply(cls, inputs, {"fn": fn, **params})
        return Tensor._make(fn(*[t._data for t in inputs], **params), False)

    def forward(self, *arrays, fn, **params):
        return fn(*arrays, **params)

    def backward(self, ns, grad, *values):  # pragma: no cover - never tracked
        raise RuntimeError(f"{self.name}: no gradient")


def no_grad_result(fn, *inputs, **params) -> Tensor:
    """``Tensor(fn(*arrays, **params))`` without a gradient, recomputed on each replay of a
    compiled step (:class:`NoGrad`)."""
    return NoGrad.apply(*inputs, fn=fn, **params)


def value_result(data, what: str) -> Tensor:
    """``Tensor(data)`` (no gradient) for a result a replay cannot compute again (indices
    from a sort, a shape that depends on the values): a compiled step that makes one runs
    eagerly, since a replay would reuse the captured ``data``."""
    not_replayable(what)
    return Tensor._make(data, False)


def not_replayable(what: str) -> None:
    """A wrapper computes ``what`` from the values (positions, coordinates) and hands it to
    an op as an array: a step that ``gn.compile`` captures now runs eagerly, and says so."""
    if CAPTURING[0]:
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.bad = (
                f"the step computes {what}, which a replay cannot compute again (it would "
                "reuse the first call's result), so the step runs eagerly"
            )


def explain_op(name: str) -> str:
    """Return the math (docstring) of a registered op by name."""
    try:
        cls = OPS[name]
    except KeyError:
        raise ValueError(f"no op named {name!r}; known ops: {', '.join(sorted(OPS))}") from None
    return (cls.__doc__ or "").strip()


# -- PyTorch's names in torch.autograd.function --------------------------------------------
class FunctionCtx:
    """The ``ctx`` object ``forward`` and ``backward`` share (PyTorch's ``FunctionCtx``).

    Attributes set by glassnet: ``needs_input_grad`` (one bool per ``forward`` argument:
    is it a tensor that requires grad). Anything else may be stored on it freely
    (``ctx.constant = 3``).
    """

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()
        self.materialize_grads = True
        self._non_differentiable: list = []

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for ``backward``; read them back as ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: argument {i} is a {type(t).__name__}; only tensors or "
                    "None can be saved. Store other values as attributes (ctx.value = ...)"
                )
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that have no gradient (e.g. indices): they are returned with
        ``requires_grad=False`` and ``backward`` receives zeros for them."""
        self._non_differentiable.extend(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch compatibility; gradients of unused outputs are always zeros."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch compatibility (in-place changes are tracked by version)."""


def once_differentiable(backward):
    """PyTorch's decorator for a ``backward`` that is not itself differentiable: it runs with
    grad recording off, so ``backward(create_graph=True)`` through it gives no second-order
    graph (glassnet then treats the result as a constant)."""

    def wrapper(ctx, *grads):
        token = _ENABLED.set(False)
        try:
            return backward(ctx, *grads)
        finally:
            _ENABLED.reset(token)

    wrapper.__name__ = getattr(backward, "__name__", "backward")
    wrapper.__doc__ = backward.__doc__
    return wrapper
