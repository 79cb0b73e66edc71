"""PyTorch's ``torch.func.functional_call``: run a module with other tensors in place of its
parameters and buffers.

``functional_call(model, {"fc.weight": w}, (x,))`` computes ``model(x)`` as if
``model.fc.weight`` were ``w``: gradients flow to ``w`` (not to the module's own
parameter), which turns a module into a pure function of its weights, for ``grad``,
``vmap`` (per-sample gradients), meta-learning and ensembling. The module's own tensors are
put back afterwards, also when the call raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from glassnet.tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def _owner(module, dotted: str):
    """(sub-module, attribute name) of a dotted parameter or buffer name."""
    *path, name = dotted.split(".")
    owner = module
    for p in path:
        owner = getattr(owner, p)
    return owner, name


def _get(owner, name):
    for store in ("_parameters", "_buffers"):
        d = owner.__dict__.get(store)
        if d is not None and name in d:
            return store, d[name]
    return None, owner.__dict__.get(name, _MISSING)


def _put(owner, name, store, value) -> None:
    """Set without Module.__setattr__'s checks (a plain tensor may stand for a Parameter)."""
    if store is None:
        if value is _MISSING:
            owner.__dict__.pop(name, None)
        else:
            object.__setattr__(owner, name, value)
    else:
        owner.__dict__[store][name] = value
    changed = getattr(type(owner), "_changed", None)
    if changed is not None:  # a compiled step that called this module captures again
        changed(owner)


def _merge(parameter_and_buffer_dicts) -> dict:
    if isinstance(parameter_and_buffer_dicts, Mapping):
        return dict(parameter_and_buffer_dicts)
    if isinstance(parameter_and_buffer_dicts, Sequence) and not isinstance(
        parameter_and_buffer_dicts, str
    ):
        if not all(isinstance(d, Mapping) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        seen: dict = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                seen[k] = seen.get(k, 0) + 1
        repeated = [k for k, n in seen.items() if n > 1]
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call "
                "is ambiguous"
            )
        return {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    raise ValueError(
        f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
        f"{type(parameter_and_buffer_dicts)}"
    )


def _untie(module, given: dict) -> dict:
    """PyTorch's tie_weights: a value given for one name of a tensor the module shares
    under several names (tied embeddings) stands for all of them."""
    names_of: dict = {}
    for store in ("named_parameters", "named_buffers"):
        for name, t in getattr(module, store)(remove_duplicate=False):
            names_of.setdefault(id(t), []).append(name)
    out = dict(given)
    for names in names_of.values():
        if len(names) < 2:
            continue
        values = {k: given[k] for k in names if k in given}
        if not values:
            continue
        distinct = {id(v) for v in values.values()}
        if len(distinct) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(values)}, which are "
                "tied. Consider using tie_weights=False"
            )
        value = next(iter(values.values()))
        for k in names:
            out[k] = value
    return out


def _check_strict(module, given: dict) -> None:
    expected = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    expected += [n for n, _ in module.named_buffers(remove_duplicate=False)]
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in set(expected)]
    msgs = []
    if unexpected:
        msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if msgs:
        raise RuntimeError(
            f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(msgs)
        )


def functional_call(
    module,
    parameter_and_buffer_dicts,
    args=None,
    kwargs=None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts`` (a dict
    from dotted names, ``model.named_parameters()`` style, to tensors, or a tuple of such
    dicts) standing for the module's parameters and buffers of those names.

    ``args`` that is not a tuple is the one positional argument. With ``tie_weights`` a
    tensor the module shares under several names is replaced under all of them by a value
    given for any; ``strict=True`` requires exactly the module's names.

    >>> import glassnet as gn
    >>> from glassnet.func import functional_call
    >>> lin = gn.nn.Linear(2, 1)
    >>> w = {"weight": gn.tensor([[1.0, 2.0]]), "bias": gn.tensor([0.5])}
    >>> functional_call(lin, w, (gn.tensor([[3.0, 4.0]]),)).tolist()
    [[11.5]]
    """
    given = _merge(parameter_and_buffer_dicts)
    for k, v in given.items():
        if not isinstance(k, str):
            raise TypeError(f"functional_call: keys must be dotted names (str), got {k!r}")
        if not isinstance(v, Tensor):
            raise TypeError(
                f"functional_call: the value for {k!r} is a {type(v).__name__}; give tensors"
            )
    if strict:
        _check_strict(module, given)
    if tie_weights:
        given = _untie(module, given)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    saved = []
    try:
        for name, value in given.items():
            owner, attr = _owner(module, name)
            store, original = _get(owner, attr)
            saved.append((owner, attr, store, original))
            _put(owner, attr, store, value)
        return module(*args, **kwargs)
    finally:
        for owner, attr, store, original in reversed(saved):
            _put(owner, attr, store, original)


def stack_module_state(models) -> tuple[dict, dict]:
    """``(params, buffers)``: each parameter and buffer of ``models`` (modules of one class,
    all in training or all in eval mode) stacked along a new first axis, for ensembling with
    ``vmap(functional_call)``. Stacked parameters are new leaves that require grad."""
    from glassnet.ops import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        out = {}
        for k in named[0]:
            tensors = [n[k] for n in named]
            grads = {t.requires_grad for t in tensors}
            if len(grads) > 1:
                raise RuntimeError(f"Expected {k} from each model to have the same .requires_grad")
            result = stack([t.detach() for t in tensors])
            out[k] = result.requires_grad_(True) if grads == {True} else result
        return out

    params = stacked([dict(m.named_parameters()) for m in models])
    return params, stacked([dict(m.named_buffers()) for m in models])
