"""``Optimizer``: the base class that owns the update loop; subclasses supply only the math.

An optimizer subclass implements two methods (the MLX design):

- ``init_state(param, group) -> dict``: the per-parameter state (moment buffers, ...), made
  the first time ``param`` has a gradient;
- ``update(param, grad, state, group) -> None``: one in-place update of ``param._data`` from
  the raw gradient array ``grad``, with its equations in the docstring.

Everything else lives here, once: parameter groups with per-group options (PyTorch layout),
defaults merged into groups, the per-parameter step counter ``state["step"]``, skipping
parameters without a gradient, running under ``no_grad``, bumping version counters,
``zero_grad``, ``state_dict``/``load_state_dict`` and the optional update-to-weight ratios.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet.autograd.engine import zero_grad_
from glassnet.autograd.grad_mode import active_recorder, enable_grad, no_grad
from glassnet.backend import to_device, xp_of
from glassnet.optim.fused import fused_step
from glassnet.optim.param_state import ParamState, StepHookHandle, custom_state, hooked_step
from glassnet.tensor import Tensor

__all__ = ["Optimizer", "ParamState", "check_hyper", "l2_grad", "params_with_grad"]

# Group entries that are not hyperparameters: names, and what learning-rate schedulers store.
_EXTRA_GROUP_KEYS = (
    "params",
    "param_names",
    "initial_lr",
    "max_lr",
    "min_lr",
    "max_momentum",
    "base_momentum",
)

# PyTorch's keyword-only optimizer options and their defaults. ``maximize`` changes the update
# (the base class negates the gradient); ``foreach``/``fused`` choose PyTorch kernels and
# ``capturable`` CUDA-graph capture, so here they are accepted hints with no effect on numbers;
# ``differentiable`` (autograd through the step) is not supported and raises.
TORCH_FLAGS = {
    "foreach": None,
    "fused": None,
    "capturable": False,
    "differentiable": False,
    "maximize": False,
}


def _check_param(p, where: str) -> None:
    if not isinstance(p, Tensor):
        raise TypeError(
            f"{where}: expected parameters (glassnet Tensors), got {type(p).__name__}; "
            "pass model.parameters()"
        )
    if p._ctx is not None:
        raise ValueError(
            f"{where}: cannot optimize a non-leaf tensor of shape {p.shape} (it was computed "
            "by an op); optimize the leaf tensors (weights) it was computed from"
        )
    if p.dtype.kind != "f":
        raise TypeError(f"{where}: parameters must hold floats, got dtype {p.dtype}")


_HOOK_IDS = itertools.count()


class Optimizer:
    """Base class of all optimizers: holds parameter groups and state, runs the update loop.

    Args:
        params: an iterable of parameters (``model.parameters()``), of ``(name, parameter)``
            pairs (``model.named_parameters()``, names then label ``update_ratios``), or of
            dicts ``{"params": [...], "lr": ...}``, one per group, whose options override the
            defaults for that group.
        defaults: every hyperparameter of the optimizer and its default value.
        **torch_flags: PyTorch's keyword options, those listed in the class's ``torch_flags``
            (as in PyTorch): ``maximize=True`` ascends (the gradient is negated first, so one
            SGD step moves ``w + lr * g``); ``foreach`` and ``fused`` (kernel choices) and
            ``capturable`` (CUDA graphs) are accepted hints with no effect on the numbers;
            ``differentiable=True`` raises NotImplementedError. They are stored in every group,
            as PyTorch stores them.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` and every option.
        state: per-parameter state (``opt.state[p]``), with ``"step"``: updates so far.
        step_count: number of ``step()`` calls.
        track_update_ratios: when True, ``step()`` records ``|dw| / |w|`` (Frobenius norms)
            of every updated parameter in ``update_ratios`` (name or index -> float); about
            1e-3 is healthy, much larger means the learning rate is too high. Off by default:
            it costs a copy and two norms per parameter.

    Example (groups with their own options; state created at the first update):
        >>> import glassnet as gn
        >>> a, b = gn.nn.Parameter(gn.ones(2)), gn.nn.Parameter(gn.ones(3))
        >>> opt = gn.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01)
        >>> [g["lr"] for g in opt.param_groups]
        [0.01, 0.1]
        >>> a.grad = gn.ones(2)
        >>> opt.step()                      # b has no grad: skipped
        >>> opt.state[a]["step"], b in opt.state
        (1, False)
    """

    #: which of PyTorch's keyword options (:data:`TORCH_FLAGS`) this optimizer accepts: the
    #: ones PyTorch's optimizer of the same name has.
    torch_flags: tuple[str, ...] = ()
    #: True when ``update`` is elementwise (each element of the new parameter and state depends
    #: only on the same element of the parameter, gradient and state): ``step`` then runs it on
    #: blocks of flat buffers (optim/fused.py). A subclass that overrides ``update`` must
    #: say it again (it is read at or below the class that defines ``update``).
    elementwise: bool = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_glassnet_hooked", False):
            cls.step = hooked_step(step)  # a subclass's own step runs the step hooks too

    def register_step_pre_hook(self, hook: Callable) -> StepHookHandle:
        """PyTorch's step pre-hook: ``hook(optimizer, args, kwargs)`` runs before each
        ``step()``; it returns None or new ``(args, kwargs)``. ``handle.remove()`` drops it."""
        return self._add_step_hook("_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable) -> StepHookHandle:
        """PyTorch's step post-hook: ``hook(optimizer, args, kwargs)`` runs after each
        ``step()``. ``handle.remove()`` drops it."""
        return self._add_step_hook("_step_post_hooks", hook)

    def _add_step_hook(self, attr: str, hook: Callable) -> StepHookHandle:
        if not callable(hook):
            raise TypeError(f"{attr[1:-1]}: expected a function, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault(attr, {})
        key = next(_HOOK_IDS)
        hooks[key] = hook
        return StepHookHandle(hooks, key)

    def __init__(self, params, defaults: dict[str, Any], **torch_flags) -> None:
        name = type(self).__name__
        unknown = [k for k in torch_flags if k not in self.torch_flags]
        if unknown:
            raise TypeError(
                f"{name}() got unexpected keyword argument(s) {unknown}; it accepts "
                f"{sorted(self.torch_flags) or 'none'} of PyTorch's optimizer options "
                "(as PyTorch's optimizer of the same name does)"
            )
        defaults = dict(defaults)
        for key in self.torch_flags:
            defaults.setdefault(key, torch_flags.get(key, TORCH_FLAGS[key]))
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of tensors, got a single "
                f"{type(params).__name__} of shape {params.shape}; "
                f"wrap it in a list: {name}([p], ...)"
            )
        if isinstance(params, dict):
            raise TypeError(
                f"{name}: params must be an iterable of tensors or of group dicts, got one dict; "
                f"wrap it in a list: {name}([{{'params': ...}}], ...)"
            )
        if hasattr(params, "named_parameters") and hasattr(params, "forward"):
            raise TypeError(f"{name}: got a Module; pass model.parameters() instead")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state = ParamState()
        self.step_count = 0
        self.track_update_ratios = False
        self.update_ratios: dict = {}
        self._fused: dict = {}  # id(group) -> flat buffers of its fused step (optim/fused.py)
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list; pass model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ---------------------------------------------------------------------------
    def validate(self, group: dict) -> None:
        """Raise ValueError on invalid hyperparameters of ``group``; subclasses extend it."""
        lr = group.get("lr")
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr < 0:
            raise ValueError(
                f"{type(self).__name__}: invalid learning rate lr={lr!r}; expected a number "
                ">= 0 (typical values: 1e-3 for Adam, 1e-2 to 1e-1 for SGD)"
            )
        if group.get("differentiable"):
            raise NotImplementedError(
                f"{type(self).__name__}: differentiable=True (autograd through the optimizer "
                "step) is not supported by glassnet; use differentiable=False (the default)"
            )
        wd = group.get("weight_decay", 0.0)
        if wd < 0:
            raise ValueError(
                f"{type(self).__name__}: invalid weight_decay={wd!r}; expected a number >= 0"
            )

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller lr for a backbone)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group expects a dict, got {type(param_group)}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        plist, names = [], []
        for item in params:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                names.append(item[0])
                item = item[1]
            else:
                names.append(getattr(item, "name", None))
            _check_param(item, name)
            plist.append(item)
        if not plist:
            raise ValueError(f"{name}: a parameter group has an empty 'params' list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in plist}) != len(plist) or any(id(p) in seen for p in plist):
            raise ValueError(
                f"{name}: some parameters appear more than once (in one group or in two "
                "groups); each parameter may belong to only one group"
            )
        unknown = [k for k in group if k not in self.defaults and k not in _EXTRA_GROUP_KEYS]
        if unknown:
            raise ValueError(
                f"{name}: unknown option(s) {unknown} in a parameter group; "
                f"known options: {sorted(self.defaults)}"
            )
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        group["params"] = plist
        group["param_names"] = names
        self.validate(group)
        self.param_groups.append(group)

    # -- the update loop ------------------------------------------------------------------
    def init_state(self, param: Tensor, group: dict) -> dict:
        """Return the initial state of ``param`` (called at its first update)."""
        return {}

    def update(self, param: Tensor, grad, state: dict, group: dict) -> None:
        """Update ``param._data`` in place from the gradient array ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def whole_range_kernel(self, group: dict, size: int) -> bool:
        """Whether ``update`` runs one fused kernel (``glassnet[jit]``) for ``group``'s
        settings on ``size`` elements of host float arrays: the fused and ``gn.compile``'s
        flat steps then update the whole flat buffer in one call, split over OpenMP's
        threads, not in cache-sized blocks."""
        return False

    def apply_update(self, param: Tensor, grad, state: dict, group: dict) -> None:
        """``update`` with ``-grad`` when ``group["maximize"]`` (PyTorch's rule: the gradient is
        negated before anything else, weight decay included), else with ``grad``."""
        if group.get("maximize"):
            grad = -grad
        self.update(param, grad, state, group)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient (one optimization step).

        Args:
            closure: optional function that zeroes grads, recomputes the loss, calls
                ``backward()`` and returns the loss (PyTorch's convention).

        Returns:
            The closure's loss, or None.
        """
        recorder = active_recorder()
        if recorder is not None:  # glassnet.compile is capturing this thread's step
            return recorder.step(self, closure)
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        track = self.track_update_ratios
        if track:
            self.update_ratios = {}
        index = 0
        with no_grad():
            for group in self.param_groups:
                if not track and fused_step(self, group):  # flat buffers (optim/fused.py)
                    index += len(group["params"])
                    continue
                for p, pname in zip(group["params"], group["param_names"]):
                    g = p.grad
                    if g is None:
                        index += 1
                        continue
                    grad = g._data
                    if grad.shape != p._data.shape:
                        raise ValueError(
                            f"{type(self).__name__}.step: parameter {pname or index} has shape "
                            f"{p.shape} but its grad has shape {grad.shape}"
                        )
                    state = self.state.get(p)
                    if state is None:
                        state = self.init_state(p, group)
                        state["step"] = 0
                        self.state[p] = state
                    state["step"] += 1
                    before = p._data.copy() if track else None
                    self.apply_update(p, grad, state, group)
                    p._vc[0] += 1
                    if track:
                        self.update_ratios[pname or index] = _ratio(before, p._data)
                    index += 1
        self.step_count += 1
        return loss

    step = hooked_step(step)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient, or with ``set_to_none=False`` zero it in place
        (the same ``p.grad`` tensor, as PyTorch: a reference held to it sees the zeros)."""
        recorder = active_recorder()
        if recorder is not None:  # glassnet.compile is capturing this thread's step
            return recorder.zero_grad(self, set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    zero_grad_(p.grad)

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer state in PyTorch's layout, with parameters replaced by indices.

        ``{"state": {index: {"step": int, name: xp array, ...}},
        "param_groups": [{option: value, ..., "params": [index, ...]}]}``. Indices count
        parameters across groups in order; arrays are copies; everything else is a plain
        number, bool, string, list or tuple, so it serializes to JSON + arrays.
        """
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k not in ("params", "param_names")}
            ids = []
            for p in group["params"]:
                st = self.state.get(p)
                if st is not None:
                    state[index] = {k: _copy_value(v) for k, v in st.items()}
                ids.append(index)
                index += 1
            packed["params"] = ids
            if any(n is not None for n in group["param_names"]):
                packed["param_names"] = list(group["param_names"])
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by :meth:`state_dict` into this optimizer.

        The optimizer must have been built over the same parameters (same groups, sizes and
        shapes). Arrays are copied to each parameter's device; JSON lists become tuples where
        the default is a tuple (``betas``). String keys ("0") are accepted for indices.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict expects a dict with 'state', 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups but this optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {gi} has {len(saved['params'])} saved "
                    f"parameters but {len(group['params'])} in this optimizer"
                )
            by_index.update({int(i): p for i, p in zip(saved["params"], group["params"])})
        new_state = ParamState()
        own_step = type(self).update is Optimizer.update  # a subclass's step keeps tensors
        for key, saved_st in state_dict.get("state", {}).items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {key}")
            if own_step:
                new_state[p] = custom_state(p, saved_st)
                continue
            st = {}
            for k, v in saved_st.items():
                if isinstance(v, Tensor):
                    v = v._data
                if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
                    if v.shape != p.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state '{k}' of parameter {key} has "
                            f"shape {tuple(v.shape)} but the parameter has shape {p.shape}"
                        )
                    v = to_device(np.asarray(v) if isinstance(v, list) else v, p.device)
                    v = v.astype(p.dtype, copy=True)
                elif hasattr(v, "shape"):
                    v = v.item()
                st[k] = v
            st["step"] = int(st.get("step", 0))
            new_state[p] = st
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k in ("params", "param_names"):
                    continue
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                group[k] = v
            self.validate(group)
        self.state = new_state
        steps = [st.get("step") for _, st in new_state.items()]
        self.step_count = max((int(s) for s in steps if s is not None), default=0)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


def _copy_value(v):
    if hasattr(v, "copy") and hasattr(v, "shape"):
        return v.copy()
    return v


def _ratio(before, after) -> float:
    xp = xp_of(after)
    w = float(xp.linalg.norm(before.ravel()))
    dw = float(xp.linalg.norm((after - before).ravel()))
    if w == 0.0:
        return 0.0 if dw == 0.0 else math.inf
    return dw / w


def l2_grad(grad, weight, weight_decay: float):
    """g + wd * w in a new array (one allocation); the gradient itself is never modified."""
    out = xp_of(weight).multiply(weight, weight_decay)
    out += grad
    return out


def params_with_grad(parameters) -> list[Tensor]:
    """The tensors of ``parameters`` (a tensor or an iterable of them) that have a grad."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for p in parameters:
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            p = p[1]
        if not isinstance(p, Tensor):
            raise TypeError(f"expected tensors (model.parameters()), got {type(p).__name__}")
        if p.grad is not None:
            out.append(p)
    return out


def check_hyper(
    owner: str,
    name: str,
    value,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = True,
    hint: str = "",
) -> None:
    """Raise a ValueError naming ``owner`` unless ``low <= value (<|<=) high``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok:
        ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        rng = f"{lo}{low}, {high}{hi}" if high is not None else f"{'>' if low_open else '>='} {low}"
        raise ValueError(f"{owner}: invalid {name}={value!r}; expected a number in {rng}{hint}")
