"""``Module``: the base class of layers and models.

Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it under that name,
so ``model.state_dict()`` keys are dotted attribute paths (``encoder.layers.1.norm.bias``),
the same as PyTorch's, and published weights load by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

import numpy as np

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.engine import zero_grad_
from glassnet.autograd.grad_mode import CAPTURING, active_recorder, no_grad
from glassnet.autograd.hooks import RemovableHandle
from glassnet.backend import Device, to_device, to_dtype
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

# Hooks on every module call, for diagnostics that watch a whole model (layer names for ops,
# activation statistics). Empty lists cost one truthiness test per call.
GLOBAL_FORWARD_PRE_HOOKS: list = []
GLOBAL_FORWARD_HOOKS: list = []


def register_module_forward_pre_hook(fn: Callable) -> RemovableHandle:
    """Call ``fn(module, inputs)`` before every module's forward."""
    GLOBAL_FORWARD_PRE_HOOKS.append(fn)
    return RemovableHandle(GLOBAL_FORWARD_PRE_HOOKS, fn)


def register_module_forward_hook(fn: Callable) -> RemovableHandle:
    """Call ``fn(module, inputs, output)`` after every module's forward."""
    GLOBAL_FORWARD_HOOKS.append(fn)
    return RemovableHandle(GLOBAL_FORWARD_HOOKS, fn)


def _module_in_capture(module) -> None:
    """A module runs while ``gn.compile`` captures: its ``training`` flag becomes part of the
    program's key (after ``model.eval()`` a compiled step runs eval-mode dropout)."""
    recorder = active_recorder()
    if recorder is not None and id(module) not in recorder.modules:
        recorder.modules[id(module)] = (module, module.training)
        object.__setattr__(module, "_compiled", True)  # its later changes count (__setattr__)


def _assigned_in_capture(module, name: str) -> None:
    """The step itself assigns module state (``self.last = out`` in forward): a replay would
    not, so the step runs eagerly (a lazy layer's first build is not such a change)."""
    recorder = active_recorder()
    if recorder is not None:
        recorder.bad = (
            f"the step assigns {type(module).__name__}.{name}, which a replay would not "
            "update, so the step runs eagerly"
        )


def _hook_in_capture(module) -> None:
    """A module hook runs while ``gn.compile`` captures: the step must stay eager (a replay
    runs the recorded ops only, never the hooks)."""
    recorder = active_recorder()
    if recorder is not None:
        recorder.bad = (
            f"a forward hook of {type(module).__name__} runs in the step; a replay would "
            "skip it, so the step runs eagerly (remove the hook to compile it)"
        )


class Module:
    """Base class for all layers and models: subclass it, create parameters and sub-modules
    in ``__init__`` (or lazily in ``build``), and compute the output in ``forward``.

    >>> import glassnet as gn
    >>> class TwoLayer(gn.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = gn.nn.Linear(4, 8)
    ...         self.out = gn.nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.out(gn.ops.relu(self.hidden(x)))
    >>> [name for name, _ in TwoLayer().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_built", True)

    # -- registration -----------------------------------------------------------------------
    def _changed(self) -> None:
        """A layer, weight or buffer of a module that a compiled step has called was added or
        removed: compiled steps capture again (``hooks.GENERATION``)."""
        if "_compiled" in self.__dict__:
            _hooks.changed()

    def _require_init(self) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before assigning "
                "parameters or sub-modules"
            )

    def __setattr__(self, name: str, value) -> None:
        if "_compiled" in self.__dict__ and (
            not name.startswith("_") or isinstance(value, (Tensor, Module))
        ):  # a new layer, weight, buffer or setting (dropout.p) of a module that a compiled
            _hooks.changed()  # step has called: compiled steps capture again
            if CAPTURING[0] and self.__dict__.get("_built", True):
                _assigned_in_capture(self, name)
        if isinstance(value, Parameter):
            self._require_init()
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self.__dict__.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._require_init()
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self.__dict__.pop(name, None)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter '{name}' of "
                    f"{type(self).__name__}: assign a Parameter (or None)"
                )
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer '{name}' must be a Tensor, got {type(value).__name__}")
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules and value is None:
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._changed()
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or a placeholder None) under ``name``."""
        self._require_init()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter expects a Parameter, got {type(param).__name__}")
        self._parameters[name] = param
        self._changed()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not trained but is saved (e.g. BatchNorm running means)."""
        self._require_init()
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer '{name}' must be a Tensor, got {type(tensor).__name__}")
        self._buffers[name] = tensor
        self._changed()
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name`` (dots are not allowed in names)."""
        self._require_init()
        if "." in name or not name:
            raise ValueError(f"module name must be non-empty and contain no '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module expects a Module, got {type(module).__name__}")
        self._modules[name] = module
        self._changed()

    # -- calling ------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def build(self, *input_shapes) -> None:
        """Create parameters that depend on the input shape (lazy layers); called once."""

    def __call__(self, *args, **kwargs):
        if not self._built:
            self.build(*[a.shape for a in args if isinstance(a, Tensor)])
            object.__setattr__(self, "_built", True)
        if CAPTURING[0]:
            _module_in_capture(self)
        if GLOBAL_FORWARD_PRE_HOOKS or self._forward_pre_hooks:
            _hook_in_capture(self)
            for hook in (*GLOBAL_FORWARD_PRE_HOOKS, *self._forward_pre_hooks):
                hook(self, args)
        out = self.forward(*args, **kwargs)
        if GLOBAL_FORWARD_HOOKS or self._forward_hooks:
            _hook_in_capture(self)
            for hook in (*GLOBAL_FORWARD_HOOKS, *self._forward_hooks):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_pre_hook(self, fn: Callable) -> RemovableHandle:
        """Call ``fn(module, inputs)`` before this module's forward."""
        self._forward_pre_hooks.append(fn)
        return RemovableHandle(self._forward_pre_hooks, fn)

    def register_forward_hook(self, fn: Callable) -> RemovableHandle:
        """Call ``fn(module, inputs, output)`` after this module's forward; a non-None
        return value replaces the output."""
        self._forward_hooks.append(fn)
        return RemovableHandle(self._forward_hooks, fn)

    # -- traversal ----------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set | None = None) -> Iterator:
        """Yield ``(dotted_name, module)`` for this module and all descendants (depth first)."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in memo:
                continue
            memo.add(id(module))
            yield name, module
            children = [
                (f"{name}.{k}" if name else k, m)
                for k, m in module._modules.items()
                if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator:
        """Yield ``(dotted_name, parameter)``; a parameter shared by two layers appears once."""
        seen: set = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator:
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Parameters and persistent buffers by dotted name (tensors sharing the data)."""
        out: OrderedDict = OrderedDict()
        for mod_name, module in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[pre + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[pre + name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> tuple[list, list]:
        """Copy values into this module's parameters and buffers, matched by dotted name.

        Raises ValueError listing every missing key, unexpected key and shape mismatch
        (``strict=False`` ignores missing and unexpected keys, never shape mismatches).
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict()
        targets = {}
        for mod_name, module in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is not None:
                        targets[pre + name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, v in state_dict.items():
            if k in targets:
                shape = tuple(v.shape)
                if shape != targets[k].shape:
                    mismatched.append(f"{k}: checkpoint {shape} vs model {targets[k].shape}")
        problems = []
        if mismatched:
            problems.append("shape mismatch: " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__} failed: " + " | ".join(problems)
            )
        with no_grad():
            for k, v in state_dict.items():
                if k in targets:
                    t = targets[k]
                    arr = v._data if isinstance(v, Tensor) else np.asarray(v)
                    t._data[...] = to_device(arr, t.device).astype(t.dtype, copy=False)
                    t._vc[0] += 1
        return missing, unexpected

    # -- modes and utilities ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on this module and children."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (dropout off, running statistics)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default, as PyTorch), or to
        zeros in place with ``set_to_none=False``."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                zero_grad_(p.grad)  # in place, the same tensor (autograd.engine)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self; e.g. custom init."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    def to(self, device=None, dtype=None) -> Module:
        """Move parameters and buffers to ``device`` and/or cast float ones to ``dtype``."""
        dev = Device(device) if device is not None else None
        dt = to_dtype(dtype) if dtype is not None else None
        for t in (*self.parameters(), *self.buffers()):
            arr = t._data
            if dt is not None and arr.dtype.kind == "f":
                arr = arr.astype(dt)
            if dev is not None:
                arr = to_device(arr, dev)
            if arr is not t._data:
                t._data = arr
                t.grad = None
                t._vc[0] += 1
        return self

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64 (PyTorch's ``Module.double``)."""
        return self.to(dtype="float64")

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self.to(dtype="float32")

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self.to(dtype="float16")

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def summary(self, input_shape, dtype="float32", device=None):
        """Table of sub-modules, output shapes and parameter counts from one forward pass on
        zeros of ``input_shape`` (batch axis included); see :func:`glassnet.nn.summary`."""
        from glassnet.nn.summary import summary

        return summary(self, input_shape, dtype=dtype, device=device)

    # -- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            return lines[0] + ")"
        for name, m in children:
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + "\n)"
