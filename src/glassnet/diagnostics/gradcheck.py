"""Gradient check of a whole model: every parameter's backward against float64 differences.

For each parameter W the analytical gradient dL/dW from ``backward()`` is compared with
central differences of the loss in float64. Small parameters are checked element by element;
large ones along ``directions`` random unit directions v (a directional derivative):

    (L(W + eps v) - L(W - eps v)) / (2 eps)  ~  <dL/dW, v>

which tests the whole gradient at the cost of two forwards per direction.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import to_device, to_numpy
from glassnet.tensor import Tensor
from glassnet.testing.gradcheck import central_difference


@dataclasses.dataclass
class ParamCheck:
    """The result for one parameter: worst relative error and where it occurred."""

    name: str
    layer: str
    shape: tuple
    mode: str  # "elementwise" or "directional"
    max_rel_error: float
    worst: str  # the worst element or direction, with both derivatives
    ok: bool


@dataclasses.dataclass
class GradcheckReport:
    rows: list
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> list:
        return [r for r in self.rows if not r.ok]

    def __str__(self) -> str:
        head = f"{'parameter':<28} {'layer':<18} {'shape':<14} {'mode':<11} {'rel.err':>9}  status"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            status = "ok" if r.ok else f"FAIL  {r.worst}"
            lines.append(
                f"{r.name:<28} {r.layer:<18} {str(r.shape):<14} {r.mode:<11} "
                f"{r.max_rel_error:>9.2e}  {status}"
            )
        verdict = "all gradients match" if self.ok else f"{len(self.failures)} parameter(s) FAIL"
        lines.append(f"{verdict} (tolerance {self.tolerance:g}, float64 central differences)")
        return "\n".join(lines)


def _rel_err(a: float, n: float) -> float:
    return abs(a - n) / max(abs(a), abs(n), 1e-8)


def gradcheck(
    model,
    inputs,
    loss_fn,
    *,
    eps: float = 1e-6,
    tolerance: float = 1e-4,
    max_elements: int = 64,
    directions: int = 8,
    seed: int = 0,
) -> GradcheckReport:
    """Check the gradient of ``loss_fn(model(*inputs))`` for every parameter of ``model``.

    The model runs in eval mode (dropout off, BatchNorm on running statistics) and in float64
    during the check; its dtype, values and mode are restored afterwards.

    Args:
        model: any ``nn.Module``.
        inputs: a tensor/array or a tuple of them (float data is cast to float64).
        loss_fn: maps the model's output to a scalar tensor, e.g.
            ``lambda out: F.cross_entropy(out, y)``.
        max_elements: parameters up to this size are checked element by element; larger ones
            along ``directions`` random directions.

    Returns:
        A :class:`GradcheckReport`; ``print(report)`` shows the per-parameter table and
        ``report.ok`` says whether every parameter passed.
    """
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    device = next((p.device for p in model.parameters()), None)
    inputs = [
        Tensor(to_numpy(x).astype(np.float64), device=device)
        if to_numpy(x).dtype.kind == "f"
        else x
        if isinstance(x, Tensor)
        else Tensor(np.asarray(x), device=device)
        for x in inputs
    ]
    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    buffer_dtypes = {name: b.dtype for name, b in model.named_buffers()}
    was_training = model.training
    layer_of = {}
    for module in model.modules():
        for p in module._parameters.values():
            if p is not None:
                layer_of[id(p)] = type(module).__name__
    model.eval()
    model.to(dtype="float64")
    rng = np.random.default_rng(seed)
    rows = []
    try:
        model.zero_grad()
        loss = loss_fn(model(*inputs))
        if loss.numel() != 1:
            raise ValueError(f"gradcheck: loss_fn must return a scalar, got shape {loss.shape}")
        loss.backward()

        def value() -> float:
            with no_grad():
                return float(loss_fn(model(*inputs)).item())

        for name, p in model.named_parameters():
            analytical = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
            w = p._data
            if p.numel() <= max_elements:
                worst, worst_msg = 0.0, ""
                for j in np.ndindex(*p.shape):
                    num = central_difference(value, w, j, eps)
                    err = _rel_err(float(analytical[j]), num)
                    if err > worst:
                        worst = err
                        worst_msg = (
                            f"element {j}: numerical {num:.6g}, analytical "
                            f"{float(analytical[j]):.6g}"
                        )
                mode = "elementwise"
            else:
                worst, worst_msg = 0.0, ""
                for k in range(directions):
                    v = rng.standard_normal(p.shape)
                    v /= np.linalg.norm(v)
                    orig = w.copy()
                    vd = to_device(v, p.device)  # the direction on the parameter's device
                    w += eps * vd
                    plus = value()
                    w[...] = orig - eps * vd
                    minus = value()
                    w[...] = orig
                    num = (plus - minus) / (2 * eps)
                    ana = float((analytical * v).sum())
                    err = _rel_err(ana, num)
                    if err > worst:
                        worst = err
                        worst_msg = f"direction {k}: numerical {num:.6g}, analytical {ana:.6g}"
                mode = "directional"
            rows.append(
                ParamCheck(
                    name,
                    layer_of.get(id(p), ""),
                    p.shape,
                    mode,
                    worst,
                    worst_msg,
                    worst <= tolerance,
                )
            )
    finally:
        for name, p in model.named_parameters():
            p._data = p._data.astype(dtypes[name])
            p.grad = None
        for name, b in model.named_buffers():
            b._data = b._data.astype(buffer_dtypes[name])
        model.train(was_training)
    return GradcheckReport(rows, tolerance)
