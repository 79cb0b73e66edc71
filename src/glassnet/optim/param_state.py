"""Pieces of :class:`glassnet.optim.Optimizer` kept apart: the per-parameter state mapping
(``opt.state``) and PyTorch's step hooks (``register_step_pre_hook`` / ``_post_hook``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from glassnet.autograd.grad_mode import active_recorder
from glassnet.tensor import Tensor

__all__ = ["ParamState", "StepHookHandle", "hooked_step"]


class ParamState:
    """Per-parameter state, looked up by the parameter itself: ``opt.state[p]["exp_avg"]``.

    Keys are compared by identity (a tensor's ``==`` is elementwise, so it cannot be a plain
    dict key safely); the parameter is kept alongside its state so its id stays unique.
    Reading ``opt.state[p]`` for a parameter without state makes an empty dict, as PyTorch's
    ``defaultdict(dict)`` does, so a PyTorch-style ``step()`` (``state = self.state[p]; if
    len(state) == 0: ...``) works; ``get`` treats an empty state as none (the built-in
    optimizers then run ``init_state``).
    """

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Tensor, dict]] = {}

    def __getitem__(self, param: Tensor) -> dict:
        entry = self._by_id.get(id(param))
        if entry is None:
            entry = self._by_id[id(param)] = (param, {})
        return entry[1]

    def __setitem__(self, param: Tensor, value: dict) -> None:
        self._by_id[id(param)] = (param, value)

    def __contains__(self, param) -> bool:
        return id(param) in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Tensor]:
        return (p for p, _ in self._by_id.values())

    def get(self, param: Tensor, default=None):
        """The state of ``param``, or ``default`` when it has none (or an empty one)."""
        entry = self._by_id.get(id(param))
        return default if entry is None or not entry[1] else entry[1]

    def items(self) -> Iterator[tuple[Tensor, dict]]:
        return iter(list(self._by_id.values()))

    def clear(self) -> None:
        self._by_id.clear()


class StepHookHandle:
    """Returned by ``register_step_pre_hook``/``register_step_post_hook``: ``remove()``
    unregisters the hook (also a context manager)."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def hooked_step(step: Callable) -> Callable:
    """Wrap an optimizer's ``step`` so the registered step hooks run around it (PyTorch's
    order: pre hooks may return new ``(args, kwargs)``; post hooks see the final ones). A
    step that calls ``super().step()`` runs the hooks once; with no hooks it costs a check."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        pre, post = self.__dict__.get("_step_pre_hooks"), self.__dict__.get("_step_post_hooks")
        if not (pre or post) or self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        if active_recorder() is not None:
            raise NotImplementedError(
                f"{type(self).__name__}.step: step hooks are not replayed by glassnet.compile; "
                "remove them (handle.remove()) or call the hook's work in the compiled function"
            )
        self._in_hooked_step = True
        try:
            for hook in list((pre or {}).values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "an optimizer step pre-hook must return None or a tuple of "
                            f"(new_args, new_kwargs), but got {result!r}"
                        )
                    args, kwargs = result
            out = step(self, *args, **kwargs)
            for hook in list((post or {}).values()):
                hook(self, args, kwargs)
            return out
        finally:
            self._in_hooked_step = False

    wrapper._glassnet_hooked = True
    return wrapper


def custom_state(param: Tensor, saved: dict) -> dict:
    """A loaded state entry for an optimizer that defines its own ``step`` and keeps tensors
    in ``self.state[p]`` (LARS, LAMB, ... written as PyTorch subclasses): tensors stay
    tensors, as PyTorch's ``load_state_dict`` gives them back. Floating values take the
    parameter's dtype and device; ``step`` keeps its dtype; others move to its device;
    numbers and everything else are kept. No ``step`` is added."""
    from glassnet.backend import to_device, xp_of

    out = {}
    for key, value in saved.items():
        data = value._data if isinstance(value, Tensor) else value
        if hasattr(data, "shape") and hasattr(data, "dtype"):
            data = to_device(xp_of(data).asarray(data), param.device).copy()
            if key != "step" and data.dtype.kind == "f":
                data = data.astype(param.dtype, copy=False)
            value = Tensor._make(data, False)
        out[key] = value
    return out
