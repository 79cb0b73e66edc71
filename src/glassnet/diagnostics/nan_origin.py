"""Where did the NaN of a stopped ``fit`` come from? When the training loss becomes
non-finite, ``fit`` stops *before* that step's update, so the weights are those that gave
the bad loss. :func:`first_nonfinite_op` runs the forward and the loss once more on that
batch with every op checked (as :func:`~glassnet.diagnostics.anomaly.detect_anomaly` does)
and returns the first op whose inputs were all finite but whose output was not: the op that
*made* the NaN/Inf (``log`` of an exact 0, a division by 0, ``sqrt`` of a negative), or an
overflow (``matmul``, ``exp``) of values that grew too large.

It costs one extra forward, and only when a run already stopped on a non-finite loss.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glassnet.autograd.hooks import register_forward_hook
from glassnet.backend.device import to_numpy
from glassnet.diagnostics._context import user_frame
from glassnet.diagnostics.anomaly import _finite, _kind, _stats, likely_cause

# ops that turn a finite input into NaN/Inf at a bad *value* (0 or a negative), not by overflow
DOMAIN_OPS = ("log", "log2", "log10", "div", "sqrt", "rsqrt", "reciprocal", "pow", "pow_scalar")


@dataclasses.dataclass
class NanOrigin:
    """The op that produced the first non-finite value of a replayed batch."""

    op: str
    kind: str  # "nan", "inf" or "nan and inf"
    producer: str | None  # the op that produced the op's first input (e.g. "softmax")
    source: str  # the user's line that called it
    input_stats: list
    cause: str
    zeros: bool  # an input held an exact 0 (the denominator, for a division)
    negatives: bool  # the first input held a negative value

    @property
    def domain(self) -> bool:
        """True when the op made the NaN/Inf from a value outside its domain (log or sqrt of
        0 or a negative, a division by 0), not from values that grew too large."""
        if self.op not in DOMAIN_OPS:
            return False
        if self.op in ("pow", "pow_scalar"):
            return self.zeros  # a negative power of 0 (x ** -1 at 0); large bases overflow
        return self.zeros or self.negatives


def first_nonfinite_op(model, loss_fn, batch) -> NanOrigin | None:
    """Replay ``loss_fn(model(*inputs), target)`` on ``batch`` (as ``fit`` gives it) and
    return the first op that turned finite inputs into a non-finite output; None when every
    op stays finite (the loss is finite now) or the NaN came in already (a NaN input or
    weight)."""
    from glassnet.train.loop import _device_of, split_batch

    found: list = []

    def check(node, inputs, out) -> None:
        if found or _finite(out._data):
            return
        arrays = [t._data for t in inputs]
        if not all(_finite(a) for a in arrays):
            return  # passed on, not produced
        file, line, code = user_frame()
        first = np.asarray(arrays[0].get() if hasattr(arrays[0], "get") else arrays[0])
        den = arrays[1] if node.name == "div" and len(arrays) > 1 else arrays[0]
        den = np.asarray(den.get() if hasattr(den, "get") else den)
        ctx = getattr(inputs[0], "_ctx", None) if inputs else None
        negatives = bool(first.dtype.kind in "fiu" and (first < 0).any())
        found.append(NanOrigin(
            node.name, _kind(out._data), getattr(ctx, "name", None), f"{file}:{line}: {code}",
            [_stats(f"input {i}", a) for i, a in enumerate(arrays)],
            likely_cause(node.name, arrays, "forward", out._data.dtype),
            bool((den == 0).any()), negatives))  # fmt: skip

    inputs, target = split_batch(batch, _device_of(model))
    handle = register_forward_hook(check)
    try:
        with np.errstate(all="ignore"):
            loss_fn(model(*inputs), target)
    except Exception:  # noqa: BLE001 - a diagnosis must never raise over the run's own error
        pass
    finally:
        handle.remove()
    return found[0] if found else None


def nonfinite_data(batch) -> tuple[str, int, int] | None:
    """``(part, samples, batch size)`` when the batch ``fit`` stopped on holds NaN/Inf in its
    data: ``part`` names the array ("inputs", "inputs 2", "targets"), ``samples`` how many of
    its samples hold one. None when the batch's data is finite (then an op made the NaN)."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        return None
    *inputs, target = batch
    parts = [("inputs" if i == 0 else f"inputs {i + 1}", x) for i, x in enumerate(inputs)]
    for part, value in [*parts, ("targets", target)]:
        data = to_numpy(value)
        if data.dtype.kind not in "fc" or data.ndim == 0 or _finite(data):
            continue
        bad = ~np.isfinite(data.reshape(len(data), -1)).all(axis=1)
        return part, int(bad.sum()), len(data)
    return None
