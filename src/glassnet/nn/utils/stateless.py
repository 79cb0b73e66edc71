"""``functional_call``: run a module with some of its parameters and buffers replaced
(``torch.func.functional_call``, also ``torch.nn.utils.stateless.functional_call``).

MAML-style meta-learning and model ensembling call a module with weights computed in the
graph (``w - lr * grad``): during the call the module reads the given tensors instead of its
own (gradients flow to them), and afterwards it holds its own again.
"""

from __future__ import annotations

from glassnet.nn.module import Module
from glassnet.tensor import Tensor

__all__ = ["functional_call"]


def _slot(module: Module, key: str):
    """(the submodule's store dict, the name in it) for a dotted parameter/buffer name."""
    *path, name = key.split(".")
    owner = module
    for part in path:
        child = owner._modules.get(part) if isinstance(owner, Module) else None
        if child is None:
            raise KeyError(
                f"functional_call: '{key}' names no parameter or buffer of "
                f"{type(module).__name__} (no submodule '{part}')"
            )
        owner = child
    for store in (owner._parameters, owner._buffers):
        if name in store:
            return store, name
    raise KeyError(
        f"functional_call: '{key}' names no parameter or buffer of {type(module).__name__}"
    )


def functional_call(module: Module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):  # fmt: skip
    """``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameter_and_buffer_dicts`` (a dict, or a tuple/list of dicts) replaced by the given
    tensors for the call.

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: ``{"0.weight": tensor, ...}`` (state_dict names).
        args: the positional arguments (a tuple, or one value).
        kwargs: the keyword arguments.
        tie_weights: a parameter registered under several names (tied weights) is replaced
            under all of them when one is given (PyTorch's default).
        strict: every parameter and buffer must be given.

    Returns:
        what ``module`` returns.
    """
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = (dicts,)
    given: dict = {}
    for d in dicts:
        for key, value in d.items():
            if key in given:
                raise ValueError(f"functional_call: '{key}' appears in more than one dict")
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"functional_call: '{key}' must be a Tensor, got {type(value).__name__}"
                )
            given[key] = value
    own = dict(module.named_parameters(remove_duplicate=False))
    own.update(module.named_buffers(remove_duplicate=False))
    if strict:
        missing = sorted(set(own) - set(given))
        unexpected = sorted(set(given) - set(own))
        if missing or unexpected:
            raise RuntimeError(
                "functional_call (strict=True): "
                + (f"missing keys {missing}" if missing else "")
                + ("; " if missing and unexpected else "")
                + (f"unexpected keys {unexpected}" if unexpected else "")
            )
    if tie_weights:
        by_id = {id(own[k]): v for k, v in given.items() if k in own}
        for key, value in own.items():
            if key not in given and id(value) in by_id:
                given[key] = by_id[id(value)]
    swapped = []
    try:
        for key, value in given.items():
            store, name = _slot(module, key)
            swapped.append((store, name, store[name]))
            store[name] = value
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, name, value in reversed(swapped):
            store[name] = value
