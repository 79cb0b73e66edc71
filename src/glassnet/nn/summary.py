"""``summary(model, input_shape)``: a table of layers, output shapes and parameter counts.

It runs one forward pass on zeros (in eval mode and under ``no_grad``, so BatchNorm running
statistics and dropout masks are untouched), records each sub-module's output with forward
hooks, and counts parameters. Lazy layers (``Linear(out_features=...)``) get built by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import Device, to_device, to_dtype
from glassnet.tensor import Tensor


@dataclass
class SummaryRow:
    """One module call: dotted name, class name, nesting depth, output shape(s), and the
    number of parameters the module owns directly (not counting its children)."""

    name: str
    type: str
    depth: int
    output_shape: object
    num_params: int
    has_children: bool


@dataclass
class Summary:
    """What :func:`summary` returns; ``str(s)`` (and the REPL) shows it as a table."""

    model_name: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0

    @property
    def param_megabytes(self) -> float:
        return self.param_bytes / 1e6

    def __str__(self) -> str:
        def fmt_shape(s) -> str:
            if isinstance(s, tuple) and all(isinstance(d, int) for d in s):
                return str(list(s))
            if isinstance(s, (tuple, list)):
                return ", ".join(fmt_shape(x) for x in s)
            return str(s)

        header = ("Layer (type)", "Output Shape", "Param #")
        body = []
        for r in self.rows:
            label = "  " * r.depth + (f"{r.name} ({r.type})" if r.name else r.type)
            params = "--" if r.num_params == 0 and r.has_children else f"{r.num_params:,}"
            body.append((label, fmt_shape(r.output_shape), params))
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(3)]
        width = sum(widths) + 4
        line = lambda row: f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"  # noqa: E731
        out = [f"{self.model_name} summary, input shape {list(self.input_shape)}", "=" * width,
               line(header), "=" * width, *(line(b) for b in body), "=" * width,
               f"Total params: {self.total_params:,}",
               f"Trainable params: {self.trainable_params:,}",
               f"Non-trainable params: {self.non_trainable_params:,}",
               f"Params size (MB): {self.param_megabytes:.2f}",
               f"Buffers size (MB): {self.buffer_bytes / 1e6:.2f}", "=" * width]  # fmt: skip
        return "\n".join(out)

    __repr__ = __str__


def _shape_of(out):
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return tuple(_shape_of(o) for o in out)
    return type(out).__name__


def summary(model, input_shape, dtype="float32", device=None) -> Summary:
    """Run ``model`` on zeros of ``input_shape`` and tabulate every sub-module call.

    Args:
        model: any ``Module``.
        input_shape: the full input shape *including* the batch axis, e.g. ``(1, 1, 28, 28)``;
            a list of shapes for a model whose forward takes several inputs.
        dtype: dtype of the zeros (``"int64"`` for models that start with an Embedding).
        device: where to build the zeros (default: where the model's parameters are).

    Returns:
        a :class:`Summary`: ``rows`` (name, type, depth, output shape, own parameter count),
        ``total_params``, ``trainable_params``, ``non_trainable_params``, ``param_bytes``;
        ``print(s)`` shows the table.

    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    >>> s = model.summary((1, 1, 28, 28))
    >>> s.total_params, s.rows[-1].output_shape
    (7850, (1, 10))
    """
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    shapes = (
        list(input_shape)
        if input_shape and isinstance(input_shape[0], (tuple, list))
        else [tuple(input_shape)]
    )
    for s in shapes:
        if not all(isinstance(d, (int, np.integer)) and d > 0 for d in s):
            raise ValueError(
                f"summary: input_shape must be positive ints including the batch axis, e.g. "
                f"(1, 3, 32, 32), got {input_shape!r}"
            )
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else Device("cpu")
    dt = to_dtype(dtype)
    inputs = [Tensor(to_device(np.zeros(s, dtype=dt), device)) for s in shapes]

    names = {id(m): n for n, m in model.named_modules()}
    rows: list = []
    pending: list = []

    def pre_hook(module, _inputs) -> None:
        if id(module) in names:
            row = SummaryRow(names[id(module)], type(module).__name__, len(pending), None, 0,
                             any(True for _ in module.children()))  # fmt: skip
            rows.append(row)
            pending.append(row)

    def post_hook(module, _inputs, out) -> None:
        if id(module) in names and pending:
            row = pending.pop()
            row.output_shape = _shape_of(out)
            # counted after the call: lazy layers create their parameters during it
            row.num_params = sum(p.numel() for p in module.parameters(recurse=False))

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(post_hook))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    if len(rows) > 1:  # the model itself is the totals below; its children start at depth 0
        rows = [r for r in rows if r.name]
        for r in rows:
            r.depth -= 1
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    return Summary(
        model_name=type(model).__name__,
        input_shape=shapes[0] if len(shapes) == 1 else shapes,
        rows=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        param_bytes=sum(p._data.nbytes for p in params),
        buffer_bytes=sum(b._data.nbytes for b in model.buffers()),
    )
