"""Training health: dead ReLUs, saturated sigmoid/tanh units, activation and gradient
statistics, update-to-weight ratios and gradient flow across depth, turned into plain words.

Thresholds (documented in docs/diagnostics.md, all overridable):

- dead ReLU: a unit (a feature of a dense layer, a channel of a conv layer) that was never
  positive for any sample of the epoch passes no gradient and stops learning. Warn when more
  than ``dead_relu`` (default 50%) of a layer's units are dead.
- saturation: sigmoid outputs below 0.01 / above 0.99 (tanh beyond +-0.99) have a local
  derivative under 0.01 and choke the gradient. Warn above ``saturated`` (default 50%).
- update-to-weight ratio |dW| / |W| per step: around 1e-3 is healthy (Karpathy's rule of
  thumb); above ``update_high`` (1e-1) the learning rate is too high, below ``update_low``
  (1e-6) too low or the layer is stuck.
- gradient flow: mean |grad| of the first layer over the last layer below ``vanishing``
  (1e-3) means gradients vanish with depth; above ``exploding`` (1e3), they explode.

A warning states what was measured, in which layer, and since which epoch; it is stated once
(``end_epoch`` returns only warnings that are new) and then updated in place in ``warnings``
(``since``, ``epoch`` of the last sighting, ``worst``). Causes and fixes are not guessed here:
the same dead ReLUs follow from a learning rate 1000x too high or from a bias initialized at
-100, so :mod:`glassnet.diagnostics.diagnosis` weighs all the evidence and names the cause.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glassnet.autograd.hooks import register_forward_hook
from glassnet.backend.device import xp_of
from glassnet.diagnostics._context import LayerTracker
from glassnet.diagnostics._device_stats import read

_ACTIVATIONS = ("relu", "sigmoid", "tanh")


def _unit_axis(shape: tuple) -> int:
    # NCHW conv activations: units are channels (axis 1); dense (N, F) or (N, T, F): last axis
    return 1 if len(shape) == 4 else len(shape) - 1


@dataclasses.dataclass
class HealthWarning:
    """One health problem of one layer: first seen at epoch ``since``, last at ``epoch``."""

    epoch: int
    layer: str
    kind: str  # dead_relu, saturated, update_high, update_low, vanishing, exploding
    value: float
    message: str
    since: int = 0
    worst: float = 0.0

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass
class HealthThresholds:
    dead_relu: float = 0.5
    saturated: float = 0.5
    update_high: float = 1e-1
    update_low: float = 1e-6
    vanishing: float = 1e-3
    exploding: float = 1e3


class _ActivationStats:
    __slots__ = ("op", "ever_active", "saturated", "count", "sum", "sumsq", "n")

    def __init__(self, op: str):
        self.op = op
        self.ever_active = None
        self.saturated = 0
        self.count = 0
        self.sum = 0.0
        self.sumsq = 0.0
        self.n = 0


class HealthMonitor:
    """Collects per-layer health statistics during training and explains problems.

    Use it from a training loop: ``start()`` once, ``after_backward()`` after each
    ``loss.backward()``, ``before_step()``/``after_step()`` around ``optimizer.step()``, and
    ``end_epoch(epoch)`` which returns the epoch's new warnings. ``every`` samples one batch
    in N for the per-layer statistics (activations, gradients, update sizes; 1 = all); the
    global gradient norm that ``after_backward`` returns is computed on every batch. A unit is
    dead when it was never positive on the sampled batches of an epoch.

    >>> import glassnet as gn
    >>> model = gn.nn.Sequential(gn.nn.Linear(4, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))
    >>> with gn.no_grad():
    ...     _ = model[0].bias.fill_(-100.0)  # every hidden unit is dead
    >>> monitor = HealthMonitor(model).start()
    >>> model(gn.randn(16, 4)).sum().backward()
    >>> grad_norm = monitor.after_backward()
    >>> monitor.stop()
    >>> warning = monitor.end_epoch(1)[0]
    >>> warning.kind, warning.layer, f"{warning.value:.0%}"
    ('dead_relu', '1', '100%')
    """

    def __init__(self, model, thresholds: HealthThresholds | None = None, every: int = 1):
        self.model = model
        self.t = thresholds or HealthThresholds()
        self.every = max(1, int(every))
        self.history: list[dict] = []
        self.warnings: list[HealthWarning] = []
        self._acts: dict = {}
        self._grads: dict = {}
        self._updates: dict = {}
        self._snapshot: dict = {}
        self._slots = None  # what pending() asked to read, until apply() or end_epoch
        self._batch = 0
        self._open: dict = {}  # (layer, kind) -> the HealthWarning being updated
        self._tracker = LayerTracker()
        self._handle = None
        self._param_layer = {}
        self._named = list(model.named_parameters())  # fixed for a run: walked once
        for name, _ in self._named:
            self._param_layer[name] = name.rsplit(".", 1)[0] if "." in name else "(model)"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> HealthMonitor:
        if self._handle is None:
            self._tracker.start()
            self._handle = register_forward_hook(self._on_op)
        return self

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
            self._tracker.stop()

    def _on_op(self, node, _inputs, out) -> None:
        if node.name not in _ACTIVATIONS or self._batch % self.every or not self.model.training:
            return
        if not any(m is self.model for m in self._tracker.stack):
            return  # an op of some other model (a monitor left running elsewhere)
        layer, _ = self._tracker.current()
        key = f"{layer}/{node.name}"
        stats = self._acts.get(key)
        if stats is None:
            stats = self._acts[key] = _ActivationStats(node.name)
        a = out._data
        axis = _unit_axis(a.shape)
        reduce_axes = tuple(i for i in range(a.ndim) if i != axis)
        # everything stays on the activations' device until ``end_epoch`` reads it at once
        if node.name == "relu":
            active = (a > 0).any(axis=reduce_axes)
            same = stats.ever_active is not None and stats.ever_active.shape == active.shape
            stats.ever_active = stats.ever_active | active if same else active
        else:
            lo, hi = (0.01, 0.99) if node.name == "sigmoid" else (-0.99, 0.99)
            stats.saturated = stats.saturated + ((a < lo) | (a > hi)).sum()
            stats.count += a.size
        stats.sum = stats.sum + a.sum()
        stats.sumsq = stats.sumsq + (a * a).sum()
        stats.n += a.size

    @property
    def sampled(self) -> bool:
        """Whether this batch is one the per-layer statistics sample."""
        return self._batch % self.every == 0

    def after_backward(self, host: bool = True):
        """Record gradient norms and mean |grad| per parameter (call after backward); returns
        the global gradient norm sqrt(sum of every squared gradient entry): a float, or with
        ``host=False`` an array on the gradients' device (read it later, with others)."""
        sampled = self._batch % self.every == 0  # per-layer statistics on sampled batches
        squares = []  # device scalars, and the statistics too: read at the epoch's end
        for name, p in self._named:
            if p.grad is None:
                continue
            g = p.grad._data
            flat = g.reshape(-1)
            sq = flat @ flat if g.dtype.kind == "f" else (g * g).sum()
            squares.append(sq)
            if not sampled:
                continue
            a = abs(g)
            rec = self._grads.get(name)
            if rec is None:
                self._grads[name] = [sq**0.5, a.mean(), a.max(), 1]
            else:
                rec[0], rec[1] = rec[0] + sq**0.5, rec[1] + a.mean()
                rec[2], rec[3] = xp_of(g).maximum(rec[2], a.max()), rec[3] + 1
        if not squares:
            return 0.0
        total = sum(squares) ** 0.5
        return float(total) if host else total

    def before_step(self) -> None:
        if self._batch % self.every == 0:
            self._snapshot = {
                n: p._data.copy() for n, p in self._named if p.ndim >= 2 and p.requires_grad
            }  # frozen: never updated

    def after_step(self) -> None:
        """Record update-to-weight ratios |dW|/|W| (call after optimizer.step())."""
        if self._snapshot:
            for name, p in self._named:
                before = self._snapshot.get(name)
                if before is None or p.ndim < 2:
                    continue  # biases start at 0: |dW|/|W| says nothing useful there
                dw = ((p._data - before) ** 2).sum() ** 0.5
                w = (before * before).sum() ** 0.5
                rec = self._updates.setdefault(name, [0.0, 0])
                rec[0] = rec[0] + dw / xp_of(w).maximum(w, 1e-12)  # on the device
                rec[1] += 1
            self._snapshot = {}
        self._batch += 1

    # -- verdicts -----------------------------------------------------------------------------
    def end_epoch(self, epoch: int) -> list[HealthWarning]:
        """Summarise the epoch into ``history``; return the warnings that are NEW this epoch.

        A problem already reported is updated in place in ``warnings`` (its ``epoch``, value
        and worst value) rather than repeated; one that went away and came back is new again.
        """
        t = self.t
        record: dict = {"epoch": epoch, "activations": {}, "grads": {}, "updates": {},
                        "weights": {}}  # fmt: skip
        seen: list = []  # (layer, kind, value, text) found this epoch
        self._read_epoch()
        for key, s in self._acts.items():
            mean = s.sum / max(s.n, 1)
            std = max(s.sumsq / max(s.n, 1) - mean * mean, 0.0) ** 0.5
            entry = {"mean": mean, "std": std}
            layer = key.rsplit("/", 1)[0]
            if s.op == "relu" and s.ever_active is not None:
                dead = 1.0 - float(s.ever_active.mean())
                entry["dead_fraction"] = dead
                if dead > t.dead_relu:
                    seen.append(
                        (
                            layer,
                            "dead_relu",
                            dead,
                            "{v:.0%} of ReLUs are dead (never "
                            "positive for any sample of an epoch: they pass no gradient)",
                        )
                    )
            elif s.count:
                sat = s.saturated / s.count
                entry["saturated_fraction"] = sat
                if sat > t.saturated:
                    seen.append(
                        (
                            layer,
                            "saturated",
                            sat,
                            f"{{v:.0%}} of {s.op} outputs are "
                            "saturated (local derivative under 0.01: gradients vanish)",
                        )
                    )
            record["activations"][key] = entry
        record["weights"] = self._weights_rms  # of each weight matrix at the epoch's end
        for name, (norm, mean_abs, max_abs, n) in self._grads.items():
            record["grads"][name] = {"norm": norm / n, "mean_abs": mean_abs / n, "max_abs": max_abs}
        for name, (ratio, n) in self._updates.items():
            r = ratio / n
            record["updates"][name] = r
            if r > t.update_high:
                seen.append(
                    (
                        name,
                        "update_high",
                        r,
                        "updates are {v:.1e} of the weights per step (healthy is about 1e-3)",
                    )
                )
            elif r < t.update_low:
                seen.append(
                    (
                        name,
                        "update_low",
                        r,
                        "updates are only {v:.1e} of the weights per step (healthy is about 1e-3)",
                    )
                )
        seen.extend(self._flow(record["grads"]))
        self.history.append(record)
        self._acts, self._grads, self._updates, self._slots = {}, {}, {}, None
        return self._update_open(epoch, seen)

    def _read_epoch(self) -> None:
        """Replace the epoch's device values by host ones, all read in one transfer."""
        if self._slots is None:
            self.apply(read(self.pending()))

    def pending(self) -> list:
        """The epoch's values still on the device (a watch reads them with its own, in one
        transfer, and hands them back to ``apply``)."""
        slots = []  # (container, key) of every value to read
        for s in self._acts.values():
            slots += [(s, "sum"), (s, "sumsq"), (s, "saturated")]
            slots += [(s, "ever_active")] if s.ever_active is not None else []
        for rec in self._grads.values():
            slots += [(rec, 0), (rec, 1), (rec, 2)]
        for rec in self._updates.values():
            slots.append((rec, 0))
        weights = {n: (p._data * p._data).mean() for n, p in self._named if p.ndim >= 2}
        slots += [(weights, n) for n in weights]
        self._slots = slots, weights
        get = lambda c, k: getattr(c, k) if isinstance(c, _ActivationStats) else c[k]  # noqa: E731
        return [get(c, k) for c, k in slots]

    def apply(self, values: list) -> None:
        """Store the host ``values`` of ``pending()``."""
        slots, weights = self._slots
        for (c, k), v in zip(slots, values):
            v = v > 0.5 if k == "ever_active" else float(v)
            setattr(c, k, v) if isinstance(c, _ActivationStats) else c.__setitem__(k, v)
        self._weights_rms = {n: v**0.5 for n, v in weights.items()}
        self._slots = None, None

    def _update_open(self, epoch: int, seen: list) -> list[HealthWarning]:
        new, current = [], set()
        for layer, kind, value, text in seen:
            key = (layer, kind)
            current.add(key)
            w = self._open.get(key)
            if w is None:
                w = HealthWarning(epoch, layer, kind, value, "", since=epoch, worst=value)
                self._open[key] = w
                self.warnings.append(w)
                new.append(w)
            high = kind not in ("update_low", "vanishing")
            w.epoch, w.value = epoch, value
            w.worst = max(w.worst, value) if high else min(w.worst, value)
            head, _, why = text.format(v=value).partition(" (")
            later = f", still at epoch {epoch}" if epoch > w.since else ""
            prefix = "" if layer.endswith(("weight", "bias")) else "layer "
            w.message = f"{prefix}{layer}: {head} since epoch {w.since}{later}"
            w.message += f" ({why}" if why else ""
        for key in [k for k in self._open if k not in current]:
            self._open.pop(key)  # resolved; its warning stays in ``warnings`` as it last was
        return new

    def _flow(self, grads: dict) -> list:
        weights = [(n, g["mean_abs"]) for n, g in grads.items() if n.endswith("weight")]
        if len(weights) < 2:
            return []
        (first, g_first), (last, g_last) = weights[0], weights[-1]
        ratio = g_first / max(g_last, 1e-30)
        if ratio < self.t.vanishing:
            text = f"gradients vanish with depth: mean |grad| is {{v:.1e}} of {last}'s"
            return [(first, "vanishing", ratio, text)]
        if ratio > self.t.exploding:
            text = f"gradients explode with depth: mean |grad| is {{v:.1e}} times {last}'s"
            return [(first, "exploding", ratio, text)]
        return []

    # -- gradient flow ------------------------------------------------------------------------
    def gradient_flow(self, epoch: int = -1) -> list[tuple[str, float, float]]:
        """(parameter, mean |grad|, max |grad|) from input to output for an epoch."""
        if not self.history:
            return []
        grads = self.history[epoch]["grads"]
        return [(n, g["mean_abs"], g["max_abs"]) for n, g in grads.items() if n.endswith("weight")]

    def gradient_flow_text(self, epoch: int = -1, width: int = 40) -> str:
        """A terminal bar chart of mean |grad| per layer on a log scale."""
        flow = self.gradient_flow(epoch)
        if not flow:
            return "no gradients recorded yet"
        logs = [np.log10(max(m, 1e-30)) for _, m, _ in flow]
        lo, hi = min(logs), max(logs)
        span = max(hi - lo, 1e-9)
        name_w = max(len(n) for n, _, _ in flow)
        lines = ["gradient flow (mean |grad| per layer, input -> output, log scale)"]
        for (name, mean, mx), lg in zip(flow, logs):
            bar = "#" * max(1, int(round((lg - lo) / span * (width - 1))) + 1)
            lines.append(f"{name:<{name_w}}  {bar:<{width}}  mean {mean:.2e}  max {mx:.2e}")
        return "\n".join(lines)

    def plot_gradient_flow(self, path: str) -> str | None:
        """Save mean |grad| per layer over epochs as a PNG (needs matplotlib)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        fig, ax = plt.subplots(figsize=(7, 4))
        names = [n for n, _, _ in self.gradient_flow()]
        for i, rec in enumerate(self.history):
            vals = [rec["grads"].get(n, {}).get("mean_abs", np.nan) for n in names]
            alpha = 0.3 + 0.7 * (i + 1) / len(self.history)
            ax.plot(range(len(names)), vals, marker="o", alpha=alpha, label=f"epoch {rec['epoch']}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("mean |grad|")
        ax.set_title("Gradient flow across depth")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path
