"""PyTorch's ``torch._foreach_*`` functions: one op applied to every tensor of a list
(``torch._foreach_lerp_(ema_params, params, 1 - decay)`` in EMA code, ``_foreach_add_`` /
``_foreach_mul_`` in hand-written optimizers). PyTorch fuses them into few kernels; here each
is a loop over the tensors' own methods, so the results are those of ``x.lerp_(y, w)`` etc.

The second operand may be a list (one per tensor: tensors or numbers), or one number or
tensor used for every tensor, as in PyTorch. The ``_`` forms change the tensors in place and
return None; the others return a list of new tensors.
"""

from __future__ import annotations

from glassnet.tensor import Tensor

__all__: list[str] = []  # attached to the package root by name (see FOREACH)


def _tensors(name: str, tensors) -> list:
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"torch.{name}: expected a list or tuple of tensors, got {tensors!r:.80}")
    return list(tensors)


def _per_tensor(name: str, n: int, other) -> list:
    if isinstance(other, (list, tuple)):
        if len(other) != n:
            raise ValueError(
                f"torch.{name}: got {len(other)} operands for {n} tensors; give one per tensor"
            )
        return list(other)
    return [other] * n


def _binary(method: str, inplace: bool):
    name = f"_foreach_{method}{'_' if inplace else ''}"

    def form(self, other, **kwargs):
        xs = _tensors(name, self)
        ys = _per_tensor(name, len(xs), other)
        if inplace and not hasattr(Tensor, f"{method}_"):  # maximum/minimum: no method
            for x, y in zip(xs, ys):
                x.copy_(getattr(x, method)(y, **kwargs))
            return None
        fn = f"{method}_" if inplace else method
        out = [getattr(x, fn)(y, **kwargs) for x, y in zip(xs, ys)]
        return None if inplace else out

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``[x.{method}{'_' if inplace else ''}(y) for x, y in zip(self, other)]``."
    return form


def _ternary(method: str, inplace: bool):
    name = f"_foreach_{method}{'_' if inplace else ''}"

    def form(self, tensor1, tensor2, value=1):
        xs = _tensors(name, self)
        n = len(xs)
        a, b = _per_tensor(name, n, tensor1), _per_tensor(name, n, tensor2)
        vs = _per_tensor(name, n, value)
        fn = f"{method}_" if inplace else method
        out = [getattr(x, fn)(p, q, value=v) for x, p, q, v in zip(xs, a, b, vs)]
        return None if inplace else out

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``x.{method}(t1, t2, value=v)`` for each tensor of the list."
    return form


def _unary(method: str, inplace: bool):
    name = f"_foreach_{method}{'_' if inplace else ''}"

    def form(self):
        xs = _tensors(name, self)
        out = [getattr(x, f"{method}_" if inplace else method)() for x in xs]
        return None if inplace else out

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"``x.{method}{'_' if inplace else ''}()`` for each tensor of the list."
    return form


def _foreach_lerp_(self, tensors1, weight) -> None:
    """``x.lerp_(end, weight)`` for each tensor: x <- x + weight (end - x)."""
    xs = _tensors("_foreach_lerp_", self)
    ends = _per_tensor("_foreach_lerp_", len(xs), tensors1)
    for x, e, w in zip(xs, ends, _per_tensor("_foreach_lerp_", len(xs), weight)):
        x.lerp_(e, w)


def _foreach_lerp(self, tensors1, weight) -> list:
    """``x.lerp(end, weight)`` for each tensor: x + weight (end - x), new tensors."""
    xs = _tensors("_foreach_lerp", self)
    ends = _per_tensor("_foreach_lerp", len(xs), tensors1)
    weights = _per_tensor("_foreach_lerp", len(xs), weight)
    return [x.lerp(e, w) for x, e, w in zip(xs, ends, weights)]


def _foreach_copy_(self, src, non_blocking: bool = False) -> None:
    """``x.copy_(s)`` for each pair."""
    xs = _tensors("_foreach_copy_", self)
    for x, s in zip(xs, _per_tensor("_foreach_copy_", len(xs), src)):
        x.copy_(s)


def _foreach_norm(self, ord=2, dtype=None) -> list:  # noqa: A002
    """The vector ``ord``-norm of each tensor (0-d tensors), as ``torch.linalg.vector_norm``."""
    from glassnet import linalg

    xs = _tensors("_foreach_norm", self)
    return [linalg.vector_norm(x, ord, dtype=dtype) for x in xs]


FOREACH = {"_foreach_lerp_": _foreach_lerp_, "_foreach_lerp": _foreach_lerp,
           "_foreach_copy_": _foreach_copy_, "_foreach_norm": _foreach_norm}  # fmt: skip
for _m in ("add", "sub", "mul", "div", "maximum", "minimum", "pow", "clamp_min", "clamp_max"):
    for _inplace in (True, False):
        _f = _binary(_m, _inplace)
        FOREACH[_f.__name__] = _f
for _m in ("addcmul", "addcdiv"):
    for _inplace in (True, False):
        _f = _ternary(_m, _inplace)
        FOREACH[_f.__name__] = _f
for _m in ("sqrt", "neg", "abs", "exp", "log", "reciprocal", "sign", "zero"):
    for _inplace in (True, False):
        if _m == "zero" and not _inplace:
            continue
        _f = _unary(_m, _inplace)
        FOREACH[_f.__name__] = _f
