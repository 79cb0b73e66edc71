"""``Module``: the base class of layers and models.

Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it under that name,
so ``model.state_dict()`` keys are dotted attribute paths (``encoder.layers.1.norm.bias``),
the same as PyTorch's, and published weights load by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.engine import zero_grad_
from glassnet.autograd.grad_mode import CAPTURING, active_recorder
from glassnet.autograd.hooks import RemovableHandle
from glassnet.nn._module_access import AccessMixin
from glassnet.nn._module_state import StateDictMixin
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


class ModuleNameError(KeyError, ValueError):
    """A bad parameter, buffer or sub-module name: PyTorch's KeyError, and a ValueError."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _KwargsHook:
    """A hook registered with ``with_kwargs=True`` (it also receives the keyword inputs)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable) -> None:
        self.fn = fn


def _add_hook(hooks: list, fn: Callable, prepend: bool, with_kwargs: bool) -> RemovableHandle:
    if not callable(fn):
        raise TypeError(f"a module hook must be callable, got {type(fn).__name__}")
    entry = _KwargsHook(fn) if with_kwargs else fn
    hooks.insert(0, entry) if prepend else hooks.append(entry)
    return RemovableHandle(hooks, entry)


def _run_pre_hooks(module, args: tuple, kwargs: dict):
    """PyTorch's forward pre-hooks: global ones first; a result replaces the inputs."""
    _hook_in_capture(module)
    for hook in (*GLOBAL_FORWARD_PRE_HOOKS, *module._forward_pre_hooks):
        if type(hook) is _KwargsHook:
            result = hook.fn(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "a forward pre-hook registered with with_kwargs=True must return None "
                        f"or a tuple (args, kwargs), got {type(result).__name__}"
                    )
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    return args, kwargs


def _run_hooks(module, args: tuple, kwargs: dict, out):
    """PyTorch's forward hooks: global ones first; a non-None result replaces the output."""
    _hook_in_capture(module)
    for hook in (*GLOBAL_FORWARD_HOOKS, *module._forward_hooks):
        if type(hook) is _KwargsHook:
            result = hook.fn(module, args, kwargs, out)
        else:
            result = hook(module, args, out)
        if result is not None:
            out = result
    return out


def _call_with_backward_hooks(module, args: tuple, kwargs: dict):
    """A call of a module with full backward hooks (PyTorch's order: forward pre-hooks, the
    inputs wrapped, forward, forward hooks, the outputs wrapped)."""
    from glassnet.nn._backward_hooks import BackwardHook

    _hook_in_capture(module)
    hooks, pre_hooks = module._backward_hooks
    bw = BackwardHook(module, hooks, pre_hooks)
    args = bw.setup_input(args)
    out = module.forward(*args, **kwargs)
    if GLOBAL_FORWARD_HOOKS or module._forward_hooks:
        out = _run_hooks(module, args, kwargs, out)
    return bw.setup_output(out)


class Module(StateDictMixin, AccessMixin):
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
        object.__setattr__(self, "_backward_hooks", [])  # [hooks, pre-hooks] once registered
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

    def _check_name(self, name, kind: str, store: str) -> None:
        """PyTorch's checks on a new parameter, buffer or sub-module name."""
        self._require_init()
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or not name:
            raise ModuleNameError(f'{kind} name can\'t be empty or contain ".", got {name!r}')
        if hasattr(self, name) and name not in getattr(self, store):
            raise ModuleNameError(
                f"attribute '{name}' already exists on {type(self).__name__}: pick another "
                f"{kind} name"
            )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or a placeholder None) under ``name``."""
        self._check_name(name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter expects a Parameter, got {type(param).__name__}")
        self._parameters[name] = param
        self._changed()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not trained but is saved (e.g. BatchNorm running means)."""
        self._check_name(name, "buffer", "_buffers")
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
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module expects a Module, got {type(module).__name__}")
        self._check_name(name, "module", "_modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module expects a Module, got {type(module).__name__}")
        self._modules[name] = module
        self._changed()

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of :meth:`add_module` (PyTorch's)."""
        self.add_module(name, module)

    def __dir__(self):
        keys = [*dir(type(self)), *self.__dict__, *self._parameters, *self._modules]
        keys += list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

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
            args, kwargs = _run_pre_hooks(self, args, kwargs)
        if self._backward_hooks:
            return _call_with_backward_hooks(self, args, kwargs)
        out = self.forward(*args, **kwargs)
        if GLOBAL_FORWARD_HOOKS or self._forward_hooks:
            out = _run_hooks(self, args, kwargs, out)
        return out

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before this module's forward, as PyTorch: a non-None
        return value replaces the positional inputs (a non-tuple becomes a 1-tuple). With
        ``with_kwargs=True`` it is ``hook(module, args, kwargs)`` and may return a new
        ``(args, kwargs)``; ``prepend=True`` runs it before the hooks already registered."""
        return _add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after this module's forward (with
        ``with_kwargs=True``: ``hook(module, args, kwargs, output)``), as PyTorch; a non-None
        return value replaces the output. ``always_call=True`` is not supported."""
        if always_call:
            raise NotImplementedError(
                "register_forward_hook(always_call=True) is not supported by glassnet: catch "
                "the exception around the module call instead"
            )
        return _add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. this
        module's positional inputs have been computed, as PyTorch: ``grad_input`` has one
        entry per positional argument (None for a non-tensor), ``grad_output`` one per
        output; a non-None return value (a tuple like ``grad_input``) replaces the gradients
        passed on to the inputs. The module's inputs and outputs are then copies made by
        identity nodes (see ``glassnet.nn._backward_hooks``). Returns a removable handle."""
        return self._add_backward_hook(0, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False):
        """Call ``hook(module, grad_output)`` when the gradients w.r.t. this module's outputs
        have been computed, before they flow into the module, as PyTorch; a non-None return
        value (a tuple like ``grad_output``) replaces them. Returns a removable handle."""
        return self._add_backward_hook(1, hook, prepend)

    def _add_backward_hook(self, kind: int, hook: Callable, prepend: bool):
        if not self._backward_hooks:
            self._backward_hooks.extend(([], []))
        return _add_hook(self._backward_hooks[kind], hook, prepend, False)

    def register_backward_hook(self, hook: Callable):
        """PyTorch's deprecated form (its grad_input is the last op's, not the module's):
        not supported; use :meth:`register_full_backward_hook`."""
        raise NotImplementedError(
            "Module.register_backward_hook (deprecated in PyTorch: its grad_input belongs to "
            "the module's last op) is not supported by glassnet: use "
            "register_full_backward_hook(hook), whose grad_input is w.r.t. the module's inputs"
        )

    # -- traversal ----------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module and all descendants, pre-order, as
        PyTorch (same signature): a module reachable twice is yielded once unless
        ``remove_duplicate=False``; ``memo`` is a set of modules to skip (and fills up)."""
        if memo is None:
            memo = set()
        elif not isinstance(memo, set):
            raise TypeError(
                f"named_modules(memo, prefix, remove_duplicate): memo is a set of modules, got "
                f"{type(memo).__name__}; pass the prefix by keyword: named_modules(prefix=...)"
            )
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                sub = f"{prefix}.{name}" if prefix else name
                yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator:
        """Yield ``(name, child)``; a child registered under two names is yielded once."""
        memo: set = set()
        for name, m in self._modules.items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen: set = set()
        for mod_name, module in modules:
            for name, t in getattr(module, store).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate=True):
        """Yield ``(dotted_name, parameter)``; a parameter shared by two layers appears once
        (under its first name) unless ``remove_duplicate=False``, as PyTorch."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate=True):
        """Yield ``(dotted_name, buffer)``, persistent or not, each once by default."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and utilities ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on this module and children."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for m in self.children():  # each child's own train() runs, as PyTorch
            m.train(mode)
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
        """Call ``fn`` on every sub-module and then on self, in PyTorch's order: each child's
        ``apply`` in registration order (post-order), then ``fn(self)``; e.g. custom init
        (the order fixes which random numbers each layer draws)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

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
        # PyTorch's layout: a one-line extra_repr stays on the first line only when there are
        # no children; otherwise each extra_repr line and each child get a line of their own.
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = list(self._modules.items())  # every name, shared modules too (PyTorch's)
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        for name, m in children:
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
