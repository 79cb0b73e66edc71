"""PyTorch's ``torch.func.vmap``: map a function over a batch dimension of its inputs.

PyTorch runs ``func`` once on batched tensors; glassnet runs it once per batch entry and
stacks the results, which gives the same values (and gradients: indexing and ``stack`` are
differentiable), for any ``func`` whose entries do not interact, which is what vmap means:

    vmap(f, in_dims, out_dims)(x)  =  stack([f(x[b]) for b in range(B)], dim=out_dims)

where ``x[b]`` takes entry b along ``in_dims`` (inputs with ``in_dims`` None are passed
whole to every call). ``randomness`` is PyTorch's: ``"error"`` raises if ``func`` draws
from the global random generator, ``"same"`` replays one draw for every entry,
``"different"`` draws anew for each. ``chunk_size`` only tunes PyTorch's memory use.
"""

from __future__ import annotations

import functools

from glassnet.backend import random as _random
from glassnet.func._pytree import broadcast_prefix, flatten, unflatten
from glassnet.tensor import Tensor

__all__ = ["vmap"]


def _check_dims(dims, what: str, name: str) -> None:
    if dims is None or (isinstance(dims, int) and not isinstance(dims, bool)):
        return
    if isinstance(dims, (tuple, list, dict)):
        for d in dims.values() if isinstance(dims, dict) else dims:
            _check_dims(d, what, name)
        return
    raise ValueError(
        f"{what}: expected `{name}` to be int or a (potentially nested) tuple matching the "
        f"structure of {'inputs' if name == 'in_dims' else 'outputs'}, got: {type(dims)}."
    )


def _take(t: Tensor, dim: int, b: int) -> Tensor:
    return t[(slice(None),) * dim + (b,)]


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over dimension ``in_dims`` of its inputs, results stacked along
    ``out_dims``: per-sample gradients are ``vmap(grad(loss), in_dims=(None, 0, 0))``.

    ``in_dims`` is an int or None for all positional inputs, or a tuple with one entry per
    input (itself nested like that input: ``({'w': None}, 0)``); keyword arguments are not
    mapped. ``out_dims`` is an int or None (an output that does not depend on the batch),
    or a tuple with one entry per output.

    >>> import glassnet as gn
    >>> from glassnet.func import vmap
    >>> x, y = gn.tensor([[1.0, 2.0], [3.0, 4.0]]), gn.tensor([1.0, 10.0])
    >>> vmap(gn.dot, in_dims=(1, None))(x, y).tolist()   # column b of x dot y
    [31.0, 42.0]
    """
    what = f"vmap({getattr(func, '__name__', func)!s}, in_dims={in_dims}, ...)(<inputs>)"
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    _check_dims(in_dims, what, "in_dims")
    _check_dims(out_dims, what, "out_dims")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        if not args:
            raise ValueError(
                f"{what}: got no inputs. Maybe you forgot to add inputs, or you are trying to "
                "vmap over a function with no inputs. The latter is unsupported."
            )
        if isinstance(in_dims, (tuple, list)) and len(in_dims) != len(args):
            raise ValueError(
                f"{what}: in_dims is not compatible with the structure of `inputs`: in_dims "
                f"has {len(in_dims)} entries but {len(args)} inputs were given"
            )
        leaves, spec = flatten(args)
        dims = broadcast_prefix(in_dims, args, what)
        sizes = []
        for i, (leaf, d) in enumerate(zip(leaves, dims)):
            if d is None:
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(
                    f"{what}: Got in_dim={d} for an input but the input is of type "
                    f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use None "
                    "as the respective in_dim"
                )
            if not -leaf.ndim <= d < leaf.ndim:
                raise ValueError(
                    f"{what}: Got in_dim={d} for some input, but that input is a Tensor of "
                    f"dimensionality {leaf.ndim} so expected in_dim to satisfy "
                    f"-{leaf.ndim} <= in_dim < {leaf.ndim}."
                )
            dims[i] = d % leaf.ndim
            sizes.append(leaf.shape[dims[i]])
        if not sizes:
            raise ValueError(f"{what}: Expected at least one Tensor to vmap over")
        if len(set(sizes)) != 1:
            raise ValueError(
                f"{what}: Expected all tensors to have the same size in the mapped dimension, "
                f"got sizes {sizes} for the mapped dimension"
            )
        if sizes[0] == 0:
            raise NotImplementedError(
                f"{what}: the batch is empty (size 0 in the mapped dimension); glassnet's vmap "
                "calls func once per entry, so it cannot infer the output shape of an empty "
                "batch. Skip the call for an empty batch"
            )
        results = []
        start = _random.get_rng_state() if randomness != "different" else None
        for b in range(sizes[0]):
            if randomness == "same":
                _random.set_rng_state(start)
            sliced = [leaf if d is None else _take(leaf, d, b) for leaf, d in zip(leaves, dims)]
            results.append(func(*unflatten(spec, sliced), **kwargs))
            if randomness == "error" and _random.get_rng_state() != start:
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap"
                )
        return _stack_outputs(results, out_dims, what)

    return wrapped


def _stack_outputs(results, out_dims, what):
    from glassnet.ops import stack

    out_leaves, out_spec = flatten(results[0])
    per_entry = []
    for r in results:
        leaves, s = flatten(r)
        if s != out_spec:
            raise ValueError(f"{what}: func returned outputs of different structures per entry")
        per_entry.append(leaves)
    dims = broadcast_prefix(out_dims, results[0], f"{what}: out_dims")
    stacked = []
    for k, d in enumerate(dims):
        column = [leaves[k] for leaves in per_entry]
        if d is None:
            first = column[0]
            same = all(
                c is first
                or (isinstance(c, Tensor) and isinstance(first, Tensor) and c.shape == first.shape
                    and bool((c == first).all()))
                or (not isinstance(c, Tensor) and c == first)
                for c in column
            )  # fmt: skip
            if not same:
                raise ValueError(
                    f"{what}: out_dims=None for output {k}, but it differs between batch "
                    "entries; give it an int out_dim"
                )
            stacked.append(first)
            continue
        if not isinstance(column[0], Tensor):
            raise ValueError(
                f"{what}: vmap: `f` must only return Tensors, got type {type(column[0])}. Did "
                "you mean to set out_dims= to None for output?"
            )
        ndim = column[0].ndim + 1
        if not -ndim <= d < ndim:
            raise ValueError(
                f"{what}: Got out_dim={d} for output {k}, but the stacked output has "
                f"{ndim} dimensions, so expected -{ndim} <= out_dim < {ndim}"
            )
        stacked.append(stack(column, dim=d % ndim))
    return unflatten(out_spec, stacked)
