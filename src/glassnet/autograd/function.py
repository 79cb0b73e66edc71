"""``Function``: the base class of every differentiable op, and the registry of all ops.

An op is one subclass with ``forward`` and ``backward`` side by side, both on raw ``xp`` arrays:

.. code-block:: python

    class Exp(Function):
        '''y = e^x;  dy/dx = e^x = y'''

        def forward(self, x):
            self.y = xp_of(x).exp(x)      # saved under a name backward reads
            return self.y

        def backward(self, grad):
            return (grad * self.y,)        # one gradient per input

        def backward_graph(self, grad):    # optional: differentiable backward
            return (grad * exp(self.inputs[0]),)

``Exp.apply(x)`` runs forward and, when grad mode is on and an input requires grad, makes the
instance the graph node of the output: it keeps its inputs (and the inputs' version numbers,
to catch in-place changes) until ``backward()`` frees it.

``backward`` returns gradients shaped like the *output's broadcast*; the engine undoes
broadcasting in one helper, so ops never reduce over broadcast axes themselves.

``backward_graph`` receives and returns tensors and is used by ``backward(create_graph=True)``
to build a graph of the backward pass (higher-order derivatives). Ops without it raise a clear
error in that mode.

A subclass written in PyTorch's form (``@staticmethod forward(ctx, ...)``) is not an op: it is
handed to :mod:`glassnet.autograd.custom_function` and never registered.
"""

from __future__ import annotations

import inspect
import re

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.autograd.autocast_mode import cast_inputs as _autocast_inputs
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.backend.device import MULTI_DEVICE_TYPES as _MULTI
from glassnet.backend.device import check_devices as _check_devices

#: Every op class by name: the gradcheck suite covers each entry.
OPS: dict[str, type[Function]] = {}

_Tensor = None  # bound by glassnet.tensor to avoid an import cycle


def _bind_tensor_class(cls) -> None:
    global _Tensor
    _Tensor = cls


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Function:
    """Base class of differentiable ops. See the module docstring for the contract.

    Class attributes a subclass may set:
        name: registry name (default: the class name in snake_case).
        is_view: the output shares memory with ``inputs[0]`` (reshape, transpose, slicing);
            output and input then share one version counter, so in-place changes through
            either are seen.
        saves_output: backward reads the output, so an in-place change of the output after
            forward must be reported.
        register: set False for abstract helpers that are not ops.
    """

    name: str = "function"
    is_view: bool = False
    saves_output: bool = False
    register: bool = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            from glassnet.autograd import custom_function  # PyTorch's ctx form: not an op

            custom_function.adapt(cls)
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

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward_graph(self, grad):
        """Differentiable backward on tensors; override to support ``create_graph=True``."""
        raise RuntimeError(
            f"op '{self.name}' does not support higher-order gradients "
            "(backward(create_graph=True)); use ops that do, or differentiate once"
        )

    # -- running an op ----------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors, recording a graph node when a gradient will be needed."""
        if _AUTOCAST.dtype is not None:  # glassnet.autocast: per-op precision (amp.py)
            inputs = _autocast_inputs(cls.name, inputs)
        fn = cls.__new__(cls)
        track = False
        if _GRAD.enabled:
            for t in inputs:
                if t.requires_grad:
                    track = True
                    break
        fn.track = track
        # This is the hot path of every op. One and two inputs are spelled out: in CPython
        # 3.11 a list comprehension costs about as much as a small op's arithmetic.
        n = len(inputs)
        if n == 2:
            a, b = inputs
            if type(a.data) is not type(b.data) or type(a.data) in _MULTI:
                _check_devices(cls.name, inputs)  # one device for all inputs, or a clear error
            data = fn.forward(a.data, b.data, **params)
        elif n == 1:
            data = fn.forward(inputs[0].data, **params)
        else:
            _check_devices(cls.name, inputs)
            data = fn.forward(*[t.data for t in inputs], **params)
        out = _Tensor._make(data, track)
        if cls.is_view:
            out._vc = inputs[0]._vc
        if track:
            fn.inputs = inputs
            if n == 2:
                fn.versions = (a._vc[0], b._vc[0])
            else:
                fn.versions = tuple([t._vc[0] for t in inputs])
            if cls.saves_output:
                fn.out_version = out._vc[0]
            out._ctx = fn
        if _hooks.FORWARD_HOOKS:
            for hook in tuple(_hooks.FORWARD_HOOKS):
                hook(fn, inputs, out)
        return out

    def release(self) -> None:
        """Drop everything saved for backward; a second backward then raises a clear error."""
        self.__dict__.clear()

    @property
    def released(self) -> bool:
        return "inputs" not in self.__dict__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} node>"


def explain_op(name: str) -> str:
    """Return the math (docstring) of a registered op by name."""
    try:
        cls = OPS[name]
    except KeyError:
        raise ValueError(f"no op named {name!r}; known ops: {', '.join(sorted(OPS))}") from None
    return (cls.__doc__ or "").strip()


# PyTorch's names in torch.autograd.function; imported last (the module subclasses Function)
from glassnet.autograd.custom_function import FunctionCtx, once_differentiable  # noqa: E402, F401
