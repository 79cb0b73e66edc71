"""The vanishing-gradients rule of the diagnosis, from the health monitor's per-layer
gradient and update sizes (weights ordered from the input to the output):

- far vanished: the first layer's mean |grad| below 1e-3 of the last layer's in most epochs
  (a 10-layer sigmoid network: 1e-7);
- vanishing with depth: in a network of 3 or more weight layers that learns slowly (the loss
  fell under 30%), the first layer's mean |grad| below 0.1 of the last layer's in most
  epochs *and* its updates below 0.1 of the last layer's (an 8-layer tanh network under the
  default init: 0.05). Then the tiny median update is the depth's doing, not the learning
  rate's: the finding comes first, and "the learning rate is too low" follows it only when
  the last layer's own updates are tiny too (below 3e-4 of its weights per step).
"""

from __future__ import annotations

import numpy as np

from glassnet.diagnostics.findings import Facts as _Facts
from glassnet.diagnostics.findings import Finding
from glassnet.diagnostics.findings import fmt as _fmt

FAR = 1e-3  # first/last mean |grad|: vanished whatever the depth
DEEP = 0.1  # first/last mean |grad| and update, in a network of >= 3 weight layers
LOW_UPDATE = 3e-4  # the learning rate's own threshold (lr_too_low)


def _update_ratio(f: _Facts) -> tuple:
    """(median first/last update ratio, median last-layer update, number of weight layers)."""
    hist = f.w.monitor.history if f.w.monitor is not None else []
    ratios, last, layers = [], [], 0
    for h in hist:
        names = [n for n in h["grads"] if n.endswith("weight") and n in h["updates"]]
        layers = max(layers, len(names))
        if len(names) >= 2:
            first, end = h["updates"][names[0]], h["updates"][names[-1]]
            ratios.append(first / max(end, 1e-30))
            last.append(end)
    if not ratios:
        return None, None, layers
    return float(np.median(ratios)), float(np.median(last)), layers


def vanishing(f: _Facts, dead: list) -> list:
    all_dead = [d for d in dead if d.worst >= 0.9]  # no gradient through dead units at all
    if not f.flow or f.good or all_dead:
        return []
    far = [r for r in f.flow if r < FAR]
    update_ratio, last_update, layers = _update_ratio(f)
    deep = [r for r in f.flow if r < DEEP]
    slow = f.no_learning or f.improved < 0.3
    by_depth = (layers >= 3 and slow and len(deep) * 2 >= len(f.flow)
                and update_ratio is not None and update_ratio < DEEP)  # fmt: skip
    if not (far and len(far) * 2 >= len(f.flow)) and not by_depth:
        return []
    layer = f.health_of("vanishing")
    name = layer[0].layer if layer else "the first layer"
    worst = min(far or deep)
    ev = [f"mean |grad| of {name} is {worst:.1e} of the last layer's: the early layers "
          "barely learn"]  # fmt: skip
    lr_low_too = last_update is not None and last_update < LOW_UPDATE
    if update_ratio is not None and layers >= 3:
        ev.append(f"updates of the first layer are {update_ratio:.1e} of the last layer's "
                  f"(the last layer's: {last_update:.1e} of its weights per step"
                  + ("; healthy is about 1e-3" if lr_low_too else
                     ", about healthy: the depth shrinks the gradient, not the learning "
                     "rate") + ")")  # fmt: skip
    if f.no_learning:
        ev.append(f"the loss stayed near chance ({_fmt(f.init)} -> {_fmt(f.final)})")
    if f.saturating:
        remedies = [
            "replace sigmoid/tanh hidden activations with ReLU (or GELU): their derivative "
            "is at most 0.25 (sigmoid) or 1 (tanh) and falls toward 0 as they saturate, so "
            "it shrinks the gradient at every layer",
            "normalization layers between them (nn.BatchNorm1d / nn.LayerNorm)",
            "residual (skip) connections",
            "Xavier (Glorot) init for tanh/sigmoid layers (nn.init.xavier_uniform_, gain 5/3 "
            "for tanh), He (kaiming) init with ReLU: the default init shrinks the signal at "
            "every layer",
        ]
    else:
        remedies = [
            "He (kaiming) initialization (or the layers' default init)",
            "normalization layers between them (nn.BatchNorm1d / nn.LayerNorm)",
            "residual (skip) connections",
        ]
    explains = ["vanishing", "no_learning", "plateau", "update_low", "small_model",
                "still_falling", "saturated", "collapse"]  # fmt: skip
    if not (by_depth and lr_low_too):
        explains.append("lr_low")  # else the learning rate is too low as well: said next
    return [Finding(
        "vanishing_gradients", "gradients vanish with depth", ev, remedies, score=65,
        layers=(name,), explains=tuple(explains))]  # fmt: skip
