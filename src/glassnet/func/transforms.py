"""PyTorch's ``torch.func`` derivative transforms: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``jacfwd`` and ``hessian``, on glassnet's reverse-mode engine.

Each transform returns a new function. The differentiated arguments (``argnums``) may be
tensors or nested tuples, lists and dicts of tensors (a dict of parameters); each call gives
them fresh stand-ins (see ``_core``), so transforms compose: ``grad(grad(f))`` is f'',
``vmap(grad(loss), in_dims=(None, 0, 0))`` gives per-sample gradients. For f: R^n -> R^m with
Jacobian J:

    grad(f)(x)          = df/dx              (f returns a 0-dim tensor)
    vjp(f, x)[1](v)     = v^T J
    jvp(f, (x,), (v,))  = (f(x), J v)       (exact, by the double-backward trick)
    jacrev(f)(x)        = J                  (one backward pass per output element)
    jacfwd(f)(x)        = J                  (PyTorch uses forward mode; glassnet has only
                                              reverse mode and gives the same values by it)
    hessian(f)(x)       = d^2 f / dx^2       (jacfwd(jacrev(f)))
"""

from __future__ import annotations

import functools

from glassnet.func import _core
from glassnet.func._pytree import flatten, unflatten
from glassnet.tensor import Tensor

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp"]


def _argnums(argnums, n_args: int, what: str) -> tuple[tuple, bool]:
    """The normalised argnums as a tuple, and whether the caller gave a tuple."""
    is_tuple = isinstance(argnums, tuple)
    items = argnums if is_tuple else (argnums,)
    if not items:
        raise RuntimeError(f"{what}: argnums must be non-empty")
    out = []
    for a in items:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(
                f"{what}: argnums must be int or Tuple[int, ...], got: {type(a).__name__}"
            )
        if not -n_args <= a < n_args:
            raise RuntimeError(
                f"Got argnums={argnums}, but only {n_args} positional inputs were given to "
                f"{what}; argnums must index them"
            )
        out.append(a % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{what}: argnums must be unique, got {argnums}")
    return tuple(out), is_tuple


def _prepare(args, argnums, what):
    """(args with stand-ins at argnums, flat stand-ins, rebuild(flat) -> argnums structure)."""
    nums, is_tuple = _argnums(argnums, len(args), what)
    diff = tuple(args[i] for i in nums) if is_tuple else args[nums[0]]
    leaves, spec = flatten(diff)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"{what}: the differentiated arguments must be tensors (or tuples, lists and "
                f"dicts of tensors); got a {type(leaf).__name__}. Pass it as a tensor, or "
                "move it out of argnums"
            )
    stand_ins = [_core.variable(t) for t in leaves]
    new_diff = unflatten(spec, stand_ins)
    new_args = list(args)
    for k, i in enumerate(nums):
        new_args[i] = new_diff[k] if is_tuple else new_diff
    return tuple(new_args), stand_ins, functools.partial(unflatten, spec)


def _split_aux(output, has_aux: bool, what: str):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{what}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return output


def _release_tree(tree, private):
    leaves, spec = flatten(tree)
    return unflatten(spec, _core.release(leaves, private))


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``f -> (df/d args[argnums], f(args))`` for an ``f`` returning a 0-dim tensor;
    ``((grads), (value, aux))`` with ``has_aux=True``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = "grad_and_value(f)(*args)"
        args, stand_ins, rebuild = _prepare(args, argnums, what)
        with _core.enable_grad():
            output, aux = _split_aux(func(*args, **kwargs), has_aux, what)
        if not isinstance(output, Tensor):
            raise RuntimeError(f"{what}: Expected f(*args) to return a Tensor, got {type(output)}")
        if output.ndim != 0:
            raise RuntimeError(
                f"{what}: Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{output.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        grads = _core.gradients(output, stand_ins)
        grads = rebuild(_core.release(grads, stand_ins))
        (value,) = _core.release([output], stand_ins)
        if has_aux:
            return grads, (value, _release_tree(aux, stand_ins))
        return grads, value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``f -> df/d args[argnums]`` for an ``f`` returning a 0-dim tensor (a tuple of
    gradients for a tuple of argnums, the same dict for a dict argument); ``(grad, aux)``
    with ``has_aux=True``.

    >>> import glassnet as gn
    >>> from glassnet.func import grad
    >>> float(grad(grad(lambda x: x ** 3))(gn.tensor(2.0)))   # 6 x
    12.0
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` is the tuple of v^T df/dprimal_i for
    cotangents v shaped like the output (a tensor, or the same tuple/dict of tensors);
    ``(output, vjp_fn, aux)`` with ``has_aux=True``."""
    what = "vjp(f, *primals)"
    leaves, spec = flatten(primals)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise ValueError(f"{what}: expected the primals to be tensors, got {type(leaf)}")
    stand_ins = [_core.variable(t) for t in leaves]
    with _core.enable_grad():
        output, aux = _split_aux(func(*unflatten(spec, stand_ins)), has_aux, what)
    out_leaves, out_spec = flatten(output)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(
                f"{what}: Expected f to be a function that has only Tensors as outputs, got "
                f"{type(o)}"
            )

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph=None):
        ct_leaves, ct_spec = flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                "of outputs to the function"
            )
        for i, (c, o) in enumerate(zip(ct_leaves, out_leaves)):
            if not isinstance(c, Tensor) or c.shape != o.shape:
                got = tuple(c.shape) if isinstance(c, Tensor) else type(c).__name__
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {got} and output[{i}] "
                    f"has a shape of {tuple(o.shape)}."
                )
        grads = _core.gradients(out_leaves, stand_ins, ct_leaves, retain_graph, create_graph)
        return unflatten(spec, _core.release(grads, stand_ins))

    released = unflatten(out_spec, _core.release(out_leaves, stand_ins))
    if has_aux:
        return released, vjp_fn, _release_tree(aux, stand_ins)
    return released, vjp_fn


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """``f -> J``: for each output of ``f`` (a tensor, or a tuple/dict of them), its Jacobian
    against ``args[argnums]`` (structured like that argument), blocks of shape
    ``output.shape + input.shape``. ``chunk_size`` only tunes PyTorch's memory use."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """``f -> J`` as :func:`jacrev` (same structure and values): PyTorch computes it by
    forward mode, glassnet by reverse mode."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )
    return _jacobian(func, argnums, has_aux, "jacfwd")


def _jacobian(func, argnums, has_aux, name):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = f"{name}(f)(*args)"
        args, stand_ins, rebuild = _prepare(args, argnums, what)
        with _core.enable_grad():
            output, aux = _split_aux(func(*args, **kwargs), has_aux, what)
        out_leaves, out_spec = flatten(output)
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(
                    f"{what}: Expected f to be a function that has only Tensors as outputs, "
                    f"got {type(o)}"
                )
        jac = [
            rebuild(_core.release(_core.jacobian_blocks(o, stand_ins), stand_ins))
            for o in out_leaves
        ]
        jac = unflatten(out_spec, jac)
        return (jac, _release_tree(aux, stand_ins)) if has_aux else jac

    return wrapper


def hessian(func, argnums=0):
    """``f -> d^2 f / d args[argnums]^2``: ``jacfwd(jacrev(f, argnums), argnums)``, blocks of
    shape ``output.shape + input.shape + input.shape``."""
    return jacfwd(jacrev(func, argnums), argnums)


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(f(*primals), J v)`` for tangents v shaped like ``primals`` (both tuples), by the
    double-backward trick (exact): J v = d/du <J^T u, v>. ``(output, jvp_out, aux)`` with
    ``has_aux=True``."""
    what = "jvp(f, primals, tangents)"
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, tuple):
            raise RuntimeError(
                f"{what}: Expected {name} to be a tuple. E.g. it should be valid to call "
                "f(*primals)."
            )
    if strict:
        raise RuntimeError(f"{what}: strict=True is not supported (as in PyTorch).")
    leaves, spec = flatten(primals)
    t_leaves, t_spec = flatten(tangents)
    if t_spec != spec:
        raise RuntimeError(
            f"{what}: Expected primals and tangents to have the same python structure."
        )
    for p, t in zip(leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor) or p.shape != t.shape:
            raise RuntimeError(
                f"{what}: Expected primals and tangents to be tensors of the same shapes, got "
                f"{getattr(p, 'shape', type(p))} and {getattr(t, 'shape', type(t))}"
            )
    stand_ins = [_core.variable(t) for t in leaves]
    with _core.enable_grad():
        output, aux = _split_aux(func(*unflatten(spec, stand_ins)), has_aux, what)
        out_leaves, out_spec = flatten(output)
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(
                    f"{what}: Expected f to be a function that has only Tensors as outputs, "
                    f"got {type(o)}"
                )
        us = [_core.zeros_like(o).requires_grad_(True) for o in out_leaves]
        back = _core.gradients(out_leaves, stand_ins, us, True, True)
    forward = _core.gradients(back, us, t_leaves)
    result = (
        unflatten(out_spec, _core.release(out_leaves, stand_ins)),
        unflatten(out_spec, _core.release(forward, stand_ins)),
    )
    return (*result, _release_tree(aux, stand_ins)) if has_aux else result
