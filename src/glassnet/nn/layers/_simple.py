"""A ``Module`` class made from a functional op and PyTorch's constructor signature.

Most of PyTorch's parameter-free modules (activations, distances, most losses, pooling,
resizing) store their constructor arguments and pass them to the functional op of the same
name. :func:`simple_module` builds such a class from the op and the ordered constructor
parameters, so that positional arguments land where PyTorch puts them, required ones raise
PyTorch's TypeError when left out, and ``inspect.signature`` shows PyTorch's signature.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np

from glassnet.backend import default_float
from glassnet.nn.module import Module
from glassnet.ops._loss_checks import legacy_reduction
from glassnet.tensor import Tensor

#: the default of a required constructor argument
REQUIRED = inspect.Parameter.empty


def as_tensor_or_none(value):
    """A loss's ``weight``-like argument as a buffer tensor: lists and float64 arrays become
    float32 (like ``gn.tensor``); tensors are kept."""
    if value is None or isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    return Tensor(arr.astype(default_float()) if arr.dtype.kind in "fiu" else arr)


def bind_arguments(name: str, params: dict, args: tuple, kwargs: dict, keyword_only=()) -> dict:
    """PyTorch's argument binding for a constructor with ordered ``params`` (name -> default,
    REQUIRED for required ones) followed by the ``keyword_only`` names: Python's TypeErrors
    for too many, unknown, repeated or missing arguments."""
    names = [k for k in params if k not in keyword_only]
    if len(args) > len(names):
        raise TypeError(
            f"{name}() takes {len(names)} positional arguments but {len(args)} were given"
        )
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in params:
            raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
        if key in bound:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        bound[key] = value
    missing = [k for k, d in params.items() if d is REQUIRED and k not in bound]
    if missing:
        raise TypeError(
            f"{name}() missing {len(missing)} required argument(s): "
            + ", ".join(repr(k) for k in missing)
        )
    return {k: bound.get(k, d) for k, d in params.items()}


def simple_module(
    name: str, fn, doc: str, *, buffers=(), keyword_only=(), prepare=None, **params
) -> type:
    """A Module class whose forward is ``fn(*inputs, **its arguments)``.

    ``params``: PyTorch's constructor parameters in order, with their defaults (REQUIRED for
    required ones); ``size_average``/``reduce`` among them are PyTorch's deprecated loss pair,
    folded into ``reduction`` (``legacy_reduction``) and not passed to ``fn``. ``buffers``:
    arguments registered as buffers (a loss's ``weight``, so ``state_dict`` has it).
    ``keyword_only``: parameters PyTorch takes by keyword only. ``prepare(bound)``: adjusts
    the bound arguments (deprecated aliases) before they are stored.
    """

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        bound = bind_arguments(name, params, args, kwargs, keyword_only)
        if "size_average" in bound:
            sa, rd = bound.pop("size_average"), bound.pop("reduce")
            bound["reduction"] = legacy_reduction(sa, rd, bound["reduction"], stacklevel=3)
        if prepare is not None:
            prepare(bound)
        object.__setattr__(self, "_fn_keys", tuple(bound))
        for key, value in bound.items():
            if key in buffers:
                self.register_buffer(key, as_tensor_or_none(value))
            else:
                object.__setattr__(self, key, value)

    def forward(self, *inputs):
        return fn(*inputs, **{k: getattr(self, k) for k in self._fn_keys})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fn_keys if k not in buffers)

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD)]
        + [
            P(k, P.KEYWORD_ONLY if k in keyword_only else P.POSITIONAL_OR_KEYWORD, default=d)
            for k, d in params.items()
        ]  # fmt: skip
    )
    namespace = {"__init__": __init__, "forward": forward, "__doc__": doc,
                 "extra_repr": extra_repr,
                 "__module__": sys._getframe(1).f_globals["__name__"]}  # fmt: skip
    return type(name, (Module,), namespace)
