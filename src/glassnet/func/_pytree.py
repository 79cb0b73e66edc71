"""Nested containers of tensors (PyTorch's "pytrees"): flatten to a list of leaves and back.

A tree is a tuple, a list or a dict (keys kept in insertion order) of trees, or a leaf
(anything else: a tensor, a number, None). ``flatten(tree)`` gives ``(leaves, spec)``;
``unflatten(spec, leaves)`` rebuilds the same structure around new leaves.
"""

from __future__ import annotations

_LEAF = None  # the spec of a leaf


def flatten(tree) -> tuple[list, object]:
    """``(leaves, spec)``: the leaves of ``tree`` in depth-first order and its structure."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, (tuple, list)):
        return (type(tree), [_flatten(t, leaves) for t in tree])
    if isinstance(tree, dict):
        return (dict, [(k, _flatten(v, leaves)) for k, v in tree.items()])
    leaves.append(tree)
    return _LEAF


def unflatten(spec, leaves) -> object:
    """The tree of structure ``spec`` (from :func:`flatten`) holding ``leaves`` in order."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is _LEAF:
        return next(it)
    kind, children = spec
    if kind is dict:
        return {k: _build(s, it) for k, s in children}
    items = [_build(s, it) for s in children]
    if kind is list or kind is tuple:
        return kind(items)
    return kind(*items)  # a namedtuple


def broadcast_prefix(prefix, tree, what: str) -> list:
    """One entry of ``prefix`` per leaf of ``tree``: ``prefix`` is a leaf (it applies to every
    leaf below it) or a container of the same structure as ``tree`` down to its own leaves
    (``in_dims=(0, None)`` for ``f(x, params)``, ``in_dims=({'a': 0, 'b': None},)``)."""
    out: list = []
    _broadcast(prefix, tree, out, what)
    return out


def _broadcast(prefix, tree, out, what):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * len(flatten(tree)[0]))
        return
    same_kind = (
        isinstance(tree, dict)
        if isinstance(prefix, dict)
        else (isinstance(tree, (tuple, list)) and not isinstance(tree, dict))
    )
    if not same_kind or len(prefix) != len(tree):
        raise ValueError(
            f"{what}: {prefix!r} does not match the structure of its input, a "
            f"{type(tree).__name__} of {len(tree) if hasattr(tree, '__len__') else 1} "
            "entries; give one int or None per entry (or one for the whole input)"
        )
    if isinstance(prefix, dict):
        if set(prefix) != set(tree):
            raise ValueError(
                f"{what}: the keys of {prefix!r} are not the keys of its input "
                f"({sorted(tree)}); give one int or None per key"
            )
        for k in tree:
            _broadcast(prefix[k], tree[k], out, what)
    else:
        for p, t in zip(prefix, tree):
            _broadcast(p, t, out, what)
