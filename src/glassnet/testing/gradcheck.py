"""Gradient checking: compare backward() with central finite differences in float64.

For f: R^n -> R^m and a random projection w, L(x) = sum_k w_k f_k(x). The analytical
gradient dL/dx comes from ``backward(grad=w)``; the numerical one from

    dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps),

whose error is O(eps^2). float64 keeps rounding error (~1e-16 / eps) far below tolerance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from glassnet.autograd.function import OPS, Function
from glassnet.autograd.grad_mode import enable_grad, no_grad
from glassnet.backend import xp_of
from glassnet.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytical and numerical gradients disagree; the message says where."""


def _to_tensors(inputs, wrt):
    """Each input as a float64 tensor of its own memory: the differences perturb one input's
    elements in place, which must neither reach another input that shares memory with it
    (``[x, x[::-1]]``: the numerical derivative would be the total one) nor the caller's
    arrays."""
    tensors = []
    for i, a in enumerate(inputs):
        arr = a.numpy() if isinstance(a, Tensor) else a
        arr = np.array(arr, copy=True)
        is_float = arr.dtype.kind == "f"
        if is_float and arr.dtype != np.float64:
            arr = arr.astype(np.float64)
        need = is_float and (wrt is None or i in wrt)
        tensors.append(Tensor(arr, requires_grad=need))
    return tensors


def central_difference(loss, x, index, eps: float) -> float:
    """(L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for element ``index`` of array ``x``,
    perturbed in place and restored; ``loss()`` evaluates L at the current ``x``."""
    orig = x[index].copy()  # CuPy's x[index] is a 0-d view: it would follow the perturbation
    x[index] = orig + eps
    plus = loss()
    x[index] = orig - eps
    minus = loss()
    x[index] = orig
    return (plus - minus) / (2 * eps)


def _call(fn, tensors, params):
    if isinstance(fn, type) and issubclass(fn, Function):
        return fn.apply(*tensors, **params)
    return fn(*tensors, **params)


def check_grad(
    fn: Callable | type[Function],
    inputs: Sequence,
    *,
    params: dict | None = None,
    wrt: Sequence[int] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    name: str | None = None,
    seed: int = 0,
) -> None:
    """Check ``fn``'s backward against central differences; raise :class:`GradcheckError`.

    Args:
        fn: a callable taking tensors (and ``params``) and returning a tensor, or a
            ``Function`` subclass (its ``apply`` is called).
        inputs: arrays or tensors; float ones are converted to float64 and checked.
        params: keyword arguments passed to ``fn``.
        wrt: indices of the inputs to check (default: all float inputs).
        eps, atol, rtol: finite-difference step and tolerances.
        name: how to name the op in the failure message.

    >>> import numpy as np, glassnet as gn
    >>> check_grad(lambda x: gn.tanh(x) * x, [np.array([0.5, -1.0])])
    """
    params = params or {}
    name = name or getattr(fn, "name", None) or getattr(fn, "__name__", "fn")
    tensors = _to_tensors(inputs, wrt)
    out = _call(fn, tensors, params)
    if not isinstance(out, Tensor):
        raise TypeError(f"check_grad: {name} returned {type(out).__name__}, not a Tensor")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(out.shape)
    if not out.requires_grad:
        raise GradcheckError(f"{name}: output does not require grad; nothing to check")
    out.backward(grad=w)

    def loss() -> float:
        with no_grad():
            return float(np.sum(w * _call(fn, tensors, params).numpy()))

    for i, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        analytical = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        if analytical.shape != t.shape:
            raise GradcheckError(
                f"{name}: gradient of input {i} has shape {analytical.shape}, input has {t.shape}"
            )
        x = t._data
        numerical = np.zeros(t.shape)
        for j in np.ndindex(*t.shape):
            numerical[j] = central_difference(loss, x, j, eps)
        bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol)
        if bad.any():
            j = tuple(int(k) for k in np.argwhere(bad)[0])
            raise GradcheckError(
                f"gradcheck failed for {name}: input {i} (shape {t.shape}), element {j}:\n"
                f"  numerical  d/dx = {float(numerical[j])!r}\n"
                f"  analytical d/dx = {float(analytical[j])!r}\n"
                f"  input value x{list(j)} = {float(x[j])!r}; {int(bad.sum())} of {bad.size} "
                f"elements differ (atol={atol}, rtol={rtol})"
            )


def check_grad_grad(
    fn: Callable, inputs: Sequence, *, params: dict | None = None, name: str | None = None,
    eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4, seed: int = 1,
) -> None:  # fmt: skip
    """Check second derivatives: gradcheck the map x -> <u, d/dx <w, fn(x)>> built with
    ``create_graph=True``."""
    from glassnet.creation import grad
    from glassnet.ops.selection import where

    params = params or {}
    name = name or getattr(fn, "name", None) or getattr(fn, "__name__", "fn")
    rng = np.random.default_rng(seed)
    cache: dict = {}

    def first_derivative(*ts, **kw):
        with enable_grad():  # the numerical pass runs under no_grad; this needs a graph
            return _first_derivative(*ts, **kw)

    def _first_derivative(*ts, **kw):
        out = _call(fn, ts, kw)
        if "w" not in cache:
            cache["w"] = Tensor(rng.standard_normal(out.shape), device=out.device)
        diff = [t for t in ts if t.requires_grad]
        grads = grad((out * cache["w"]).sum(), diff, create_graph=True)
        # a linear op has a constant gradient: keep the inputs in the graph (times 0) so the
        # check then confirms that the second derivative is zero
        # (-inf entries, such as a float attention mask, are left out: -inf * 0 is NaN)
        finite = [Tensor._make(xp_of(t._data).isfinite(t._data), False) for t in diff]
        total = sum((where(f, t, 0.0) * 0.0).sum() for f, t in zip(finite, diff))
        for k, g in enumerate(grads):
            key = f"u{k}"
            if key not in cache:
                cache[key] = Tensor(rng.standard_normal(g.shape), device=g.device)
            total = total + (g * cache[key]).sum()
        return total

    check_grad(first_derivative, inputs, params=params, name=f"{name} (second derivative)",
               eps=eps, atol=atol, rtol=rtol, seed=seed)  # fmt: skip


@dataclasses.dataclass
class GradCase:
    """One gradcheck case of a registered op: ``fn(*tensors)`` must exercise op ``op``.

    Each case checks first derivatives and, unless ``gradgrad=False``, second derivatives
    (through ``create_graph=True``): every op's one backward formula serves both.
    """

    op: str
    fn: Callable
    inputs: Sequence
    label: str = ""
    gradgrad: bool = True
    wrt: Sequence[int] | None = None
    atol: float = 1e-5
    rtol: float = 1e-4
    eps: float = 1e-6

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}" if self.label else self.op


def run_case(case: GradCase) -> None:
    """Run one :class:`GradCase`, including the check that the op really appears in the graph."""
    from glassnet.autograd.hooks import register_forward_hook

    seen: list = []
    with register_forward_hook(lambda node, _inputs, _out: seen.append(node.name)):
        inputs = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in case.inputs]
        check_grad(case.fn, inputs, wrt=case.wrt, atol=case.atol, rtol=case.rtol,
                   eps=case.eps, name=case.id)  # fmt: skip
        if case.gradgrad:
            inputs = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a
                      for a in case.inputs]  # fmt: skip
            check_grad_grad(case.fn, inputs, name=case.id, atol=case.atol, rtol=case.rtol)
    if case.op in OPS and case.op not in seen:  # a composition (clip, huber_loss) runs others
        raise AssertionError(f"case {case.id} never ran op {case.op!r} (ran {sorted(set(seen))})")
