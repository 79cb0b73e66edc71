"""NaN/Inf root cause: find the op that *produced* the first non-finite value, and say why.

A NaN spreads: once one op makes it, every op downstream passes it on. Checking only the loss
tells you that something broke, not where. :func:`detect_anomaly` watches every op's output as
it is computed (and every gradient in backward), and stops at the first op whose inputs were
all finite but whose output is not: that op made the NaN. The report names the op, the layer
(dotted name), your source line, statistics of the op's inputs, and the likely cause.

Checking every op costs a pass over every array; :class:`AnomalyDetector` with ``every=N``
checks one training step in N so it can stay on (see benchmarks/RESULTS.md for the overhead).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glassnet.autograd.hooks import register_backward_hook, register_forward_hook
from glassnet.backend import xp_of
from glassnet.diagnostics._context import LayerTracker, user_frame


class NonFiniteError(FloatingPointError):
    """Raised at the first non-finite value; ``.report`` holds the :class:`AnomalyReport`."""

    def __init__(self, report: AnomalyReport):
        super().__init__(str(report))
        self.report = report


@dataclasses.dataclass
class AnomalyReport:
    """What produced the first non-finite value, where, and the likely cause."""

    phase: str  # "forward" or "backward"
    op: str
    kind: str  # "nan", "inf" or "nan and inf"
    layer: str
    layer_type: str
    source: str
    input_stats: list
    cause: str

    def __str__(self) -> str:
        lines = [f"non-finite value ({self.kind}) first produced in {self.phase} by op '{self.op}'"]
        if self.layer:
            lines.append(f"  layer:  {self.layer} ({self.layer_type})")
        if self.source:
            lines.append(f"  source: {self.source}")
        for s in self.input_stats:
            lines.append(f"  {s}")
        lines.append(f"  likely cause: {self.cause}")
        return "\n".join(lines)


def _kind(arr) -> str:
    xp = xp_of(arr)
    nan, inf = bool(xp.isnan(arr).any()), bool(xp.isinf(arr).any())
    return "nan and inf" if nan and inf else "nan" if nan else "inf"


def _array(x):
    """The array inside a tensor (gradients are tensors under create_graph=True)."""
    from glassnet.tensor import Tensor

    return x._data if isinstance(x, Tensor) else x


def _finite(arr) -> bool:
    if arr is None or getattr(arr, "dtype", None) is None or arr.dtype.kind not in "fc":
        return True
    return bool(xp_of(arr).isfinite(arr).all())


def _stats(label: str, arr) -> str:
    a = np.asarray(arr.get() if hasattr(arr, "get") else arr)
    if a.size == 0 or a.dtype.kind not in "fiu":
        return f"{label}: shape {a.shape} {a.dtype}"
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    lo = f"{finite.min():.4g}" if finite.size else "n/a"
    hi = f"{finite.max():.4g}" if finite.size else "n/a"
    zeros = int((a == 0).sum())
    neg = int((a < 0).sum())
    extra = "" if finite.size == a.size else f", {a.size - finite.size} non-finite"
    return (
        f"{label}: shape {a.shape} {a.dtype}, min {lo}, max {hi}, zeros {zeros}, "
        f"negatives {neg} of {a.size}{extra}"
    )


def _overflow_limit(dtype) -> float:
    return float(np.log(np.finfo(dtype).max))


def likely_cause(op: str, inputs: list, phase: str, dtype) -> str:
    """Plain-words guess at why ``op`` turned finite inputs into nan/inf."""
    x = [np.asarray(a.get() if hasattr(a, "get") else a) for a in inputs]
    first = x[0] if x else None
    at_zero = first is not None and bool((first == 0).any())
    if phase == "backward" and op in ("sqrt", "pow_scalar") and at_zero:
        return (
            f"the derivative of {op} at 0 is infinite (d sqrt(x)/dx = 1/(2 sqrt x)); "
            "add a small epsilon inside, e.g. sqrt(x + 1e-12)"
        )
    if op == "log" and first is not None:
        if (first < 0).any():
            return (
                "log of a negative number gives nan; the input should be positive (use "
                "log_softmax / cross_entropy on logits, or clamp with x.clip(min=1e-12))"
            )
        if (first == 0).any():
            return "log(0) = -inf; clamp the input away from zero, e.g. x.clip(min=1e-12)"
    if op == "sqrt" and first is not None and (first < 0).any():
        return "sqrt of a negative number gives nan; clamp with x.clip(min=0) or check the sign"
    if op == "div" and len(x) > 1:
        num, den = x
        if (den == 0).any():
            shape = np.broadcast_shapes(num.shape, den.shape)
            both = (np.broadcast_to(num, shape) == 0) & np.broadcast_to(den == 0, shape)
            if both.any():
                return "0/0 gives nan: a division by a denominator that is zero; add an epsilon"
            return "division by zero gives inf; add an epsilon to the denominator"
    if op in ("exp", "softplus", "pow", "sinh") and first is not None and first.size:
        limit = _overflow_limit(dtype)
        if np.nanmax(first) > limit:
            return (
                f"exp overflow: an input reached {np.nanmax(first):.4g} but exp overflows "
                f"{np.dtype(dtype).name} above {limit:.1f}; subtract the max first (as "
                "softmax/logsumexp do) or scale the inputs down"
            )
    if np.dtype(dtype) == np.float16:
        return (
            "overflow in float16 (largest finite value 65504); compute this op in float32 "
            "or scale the values down"
        )
    if op in ("matmul", "linear", "mul", "add", "sum", "pow_scalar"):
        return (
            "the values overflowed the float range: weights or activations grew too large, "
            "often because the learning rate is too high (see the gradient-norm history)"
        )
    if any((a == 0).any() for a in x if a.size):
        return (
            f"{op} produced a non-finite value from finite inputs that contain zeros: a "
            "division by zero (x/0 = inf, 0/0 = nan) or log(0) is the usual cause; add an "
            "epsilon or guard the zero case"
        )
    return f"{op} produced a non-finite value from finite inputs; inspect the inputs above"


class AnomalyDetector:
    """Watch ops for the first non-finite value.

    Args:
        every: check one step in ``every`` (1 = all). A step is one ``with detector.step():``
            block; outside of ``step()``, :meth:`start` checks continuously.
        raise_error: raise :class:`NonFiniteError` at the first anomaly (else only record
            it in ``.report``).
    """

    def __init__(self, every: int = 1, raise_error: bool = True):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.raise_error = raise_error
        self.report: AnomalyReport | None = None
        self.steps = 0
        self.grad_norms: list[float] = []
        self._layers = LayerTracker()
        self._handles: list = []

    # -- switching on and off ---------------------------------------------------------------
    def start(self) -> AnomalyDetector:
        if not self._handles:
            self._layers.start()
            self._handles = [
                register_forward_hook(self._forward),
                register_backward_hook(self._backward),
            ]
        return self

    def stop(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._layers.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def step(self) -> _Step:
        """Context manager around one training step; checks it when ``steps % every == 0``."""
        return _Step(self)

    def record_grad_norm(self, norm: float) -> None:
        """Feed the total gradient norm of each step (the training loop does this)."""
        self.grad_norms.append(float(norm))

    # -- hooks ------------------------------------------------------------------------------
    def _forward(self, node, inputs, out) -> None:
        if self.report is not None:
            return
        if _finite(out._data):
            if node.track:  # remember the layer, to name it if backward goes wrong here
                node.__dict__["_layer"] = self._layers.current()
            return
        arrays = [t._data for t in inputs]
        if not all(_finite(a) for a in arrays):
            return  # propagated, not produced (an input was already non-finite)
        filename, lineno, line = user_frame()
        self._report("forward", node, arrays, out._data, f"{filename}:{lineno}: {line}")

    def _backward(self, node, grad_out, grad_inputs) -> None:
        if self.report is not None:
            return
        if not _finite(_array(grad_out)):
            return
        for g in grad_inputs:
            g = _array(g)
            if g is not None and not _finite(g):
                inputs = [t._data for t in node.inputs]
                self._report("backward", node, inputs, g, "")
                return

    def _report(self, phase, node, arrays, out, source) -> None:
        if phase == "forward":
            layer, layer_type = self._layers.current()
        else:
            layer, layer_type = node.__dict__.get("_layer", ("", ""))
        stats = [_stats(f"input {i}", a) for i, a in enumerate(arrays)]
        cause = likely_cause(node.name, arrays, phase, out.dtype)
        cause += self._lr_hint()
        self.report = AnomalyReport(
            phase, node.name, _kind(out), layer, layer_type, source, stats, cause
        )
        if self.raise_error:
            self.stop()
            raise NonFiniteError(self.report)

    def _lr_hint(self) -> str:
        norms = [n for n in self.grad_norms if np.isfinite(n)]
        if len(norms) >= 3 and norms[-1] > 10 * max(min(norms[:-1]), 1e-12) and norms[-1] > 1:
            return (
                f". The gradient norm grew from {min(norms[:-1]):.3g} to {norms[-1]:.3g} "
                "over the last steps: a learning-rate blow-up; lower the learning rate or "
                "clip gradients (gn.clip_grad_norm)"
            )
        return ""


class _Step:
    """One training step under an :class:`AnomalyDetector` (cheap when not sampled)."""

    __slots__ = ("detector",)

    def __init__(self, detector: AnomalyDetector):
        self.detector = detector

    def __enter__(self) -> AnomalyDetector:
        d = self.detector
        if d.steps % d.every == 0:
            d.start()
        return d

    def __exit__(self, *exc) -> bool:
        d = self.detector
        if d._handles:
            d.stop()
        d.steps += 1
        return False


def detect_anomaly(raise_error: bool = True) -> AnomalyDetector:
    """Context manager: check every op in forward and backward for the first NaN/Inf.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, -1.0], requires_grad=True)
    >>> try:
    ...     with gn.detect_anomaly():
    ...         y = gn.log(x).sum()
    ... except gn.NonFiniteError as e:
    ...     print(e.report.op, "|", e.report.cause.split(";")[0])
    log | log of a negative number gives nan
    """
    return AnomalyDetector(every=1, raise_error=raise_error)
