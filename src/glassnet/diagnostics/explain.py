"""Explain the math of anything, and step through backpropagation with real numbers.

``gn.explain(obj)`` prints the forward formula and local derivative (or update rule) of an
op, layer, loss, activation or optimizer: the same docstrings the docs render.
``gn.backprop_steps(loss)`` walks the backward pass node by node, printing

    upstream gradient  x  local derivative  =  downstream gradient

for learners who want to see the chain rule happen.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from glassnet.autograd.engine import run_backward, topological_order
from glassnet.autograd.function import OPS, Function
from glassnet.autograd.hooks import register_backward_hook


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def explanation(obj) -> str:
    """The explanation text for ``obj`` (see :func:`explain`)."""
    if isinstance(obj, str):
        from glassnet import nn, optim
        from glassnet.optim import lr_scheduler

        # exact class names first ("Linear" is the layer, "linear" the op), then op names
        for space in (nn, optim, lr_scheduler):
            if obj[:1].isupper() and isinstance(getattr(space, obj, None), type):
                return explanation(getattr(space, obj))
        key = obj.lower().replace("-", "_")
        if key in OPS:
            return f"op {key}\n\n{_doc(OPS[key])}"
        raise ValueError(
            f"explain: nothing named {obj!r}; try an op name ({', '.join(sorted(OPS)[:8])}, "
            "...), a layer (e.g. 'Linear') or an optimizer (e.g. 'Adam')"
        )
    if isinstance(obj, Function) or (isinstance(obj, type) and issubclass(obj, Function)):
        cls = obj if isinstance(obj, type) else type(obj)
        return f"op {cls.name}\n\n{_doc(cls)}"
    if callable(obj) and getattr(obj, "__name__", None) in OPS and not isinstance(obj, type):
        return explanation(obj.__name__)
    from glassnet.nn.module import Module

    if isinstance(obj, Module):
        parts = [f"{type(obj).__name__}\n\n{_doc(type(obj))}"]
        seen = {type(obj)}
        for _, m in obj.named_modules():
            if type(m) not in seen:
                seen.add(type(m))
                first = _doc(type(m)).split("\n\n")[0]
                parts.append(f"- {type(m).__name__}: {first}")
        return "\n".join(parts)
    cls = obj if isinstance(obj, type) else type(obj)
    text = _doc(cls) or _doc(obj)
    if not text:
        raise ValueError(f"explain: {cls.__name__} has no documented math")
    return f"{cls.__name__}\n\n{text}"


def explain(obj, file=None) -> None:
    """Print the math of an op (by name, class or function), layer, loss or optimizer.

    >>> import glassnet as gn
    >>> gn.explain("tanh")
    op tanh
    <BLANKLINE>
    y = tanh x = (e^x - e^-x)/(e^x + e^-x);  dy/dx = 1 - y^2
    """
    print(explanation(obj), file=file)


def _short(a, limit: int = 6) -> str:
    a = np.asarray(a.get() if hasattr(a, "get") else a)
    flat = a.reshape(-1)
    body = ", ".join(f"{v:.4g}" for v in flat[:limit])
    more = f", ... ({a.size} values)" if a.size > limit else ""
    return f"[{body}{more}]" if a.ndim else f"{float(a):.4g}"


@dataclasses.dataclass
class BackpropStep:
    """One node of the backward pass."""

    index: int
    op: str
    formula: str
    upstream: np.ndarray
    downstream: list  # one array (or None) per input
    local: list  # elementwise local derivative per input, where it can be shown

    def __str__(self) -> str:
        lines = [
            f"step {self.index}: backward of '{self.op}'   ({self.formula})",
            f"  upstream   dL/dy = {_short(self.upstream)}",
        ]
        for i, (d, loc) in enumerate(zip(self.downstream, self.local)):
            if d is None:
                continue
            if loc is not None:
                lines.append(
                    f"  input {i}: dL/dy x dy/dx = {_short(self.upstream)} x "
                    f"{_short(loc)} = {_short(d)}"
                )
            else:
                lines.append(f"  input {i}: dL/dx = {_short(d)}")
        return "\n".join(lines)


class BackpropStepper:
    """The backward pass of ``loss`` as a list of steps; iterate, index, or call ``next()``."""

    def __init__(self, steps: list):
        self.steps = steps
        self._cursor = 0

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i) -> BackpropStep:
        return self.steps[i]

    def next(self) -> BackpropStep | None:
        """Print and return the next step (None at the end): for notebooks and terminals."""
        if self._cursor >= len(self.steps):
            return None
        step = self.steps[self._cursor]
        self._cursor += 1
        print(step)
        return step

    def __str__(self) -> str:
        return "\n".join(str(s) for s in self.steps)


def backprop_steps(loss) -> BackpropStepper:
    """Record the backward pass of ``loss`` step by step, without touching any ``.grad``.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, 2.0], requires_grad=True)
    >>> steps = gn.backprop_steps((x * x).sum())
    >>> print(steps[1])
    step 1: backward of 'mul'   (y = a * b;  dy/da = b,  dy/db = a)
      upstream   dL/dy = [1, 1]
      input 0: dL/dy x dy/dx = [1, 1] x [1, 2] = [1, 2]
      input 1: dL/dy x dy/dx = [1, 1] x [1, 2] = [1, 2]
    """
    records: list = []

    def hook(node, grad_out, grad_inputs):
        records.append((node, grad_out, list(grad_inputs)))

    leaves = [t for t in topological_order(loss) if t._ctx is None]
    with register_backward_hook(hook):
        run_backward(loss, None, retain_graph=True, capture=leaves)
    steps = []
    for i, (node, up, downs) in enumerate(records):
        doc = _doc(type(node)).splitlines()
        formula = doc[0] if doc else node.name
        local = []
        for d in downs:
            if d is not None and d.shape == up.shape:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(up != 0, d / np.where(up != 0, up, 1), np.nan)
                local.append(None if np.isnan(ratio).any() else ratio)
            else:
                local.append(None)
        steps.append(BackpropStep(i, node.name, formula, up, downs, local))
    return BackpropStepper(steps)
