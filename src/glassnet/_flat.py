"""Flat optimizer buffers for ``gn.compile``: one array per group for parameters, gradients
and each state entry, with every parameter (and its gradient and state) a view into them.

The optimizer's own ``update(param, grad, state, group)`` then runs once per group on the
flat arrays instead of once per parameter. Only optimizers whose update is elementwise are
flattened (SGD, Adam, AdamW): applying an elementwise formula to a concatenation gives the
same bits as applying it piece by piece, so the result is identical to ``opt.step()``.
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import xp_of
from glassnet.backend.parallel import parallel_for
from glassnet.optim import fused as _fused
from glassnet.optim.fused import BLOCK
from glassnet.tensor import Tensor


def flatten_optimizer(opt):
    """Return a :class:`FlatOptimizer` for ``opt``, or None when it cannot be flattened."""
    from glassnet.optim import SGD, Adam, AdamW

    if type(opt) not in (SGD, Adam, AdamW) or opt.track_update_ratios:
        return None
    groups = []
    for group in opt.param_groups:
        params = group["params"]
        states = [opt.state.get(p) for p in params]
        if any(s is None or p.grad is None for s, p in zip(states, params)):
            return None
        keys = sorted(k for k in states[0] if k != "step")
        dtype, kind = params[0]._data.dtype, type(params[0]._data)
        for p, s in zip(params, states):
            if (
                p._data.dtype != dtype
                or type(p._data) is not kind
                or sorted(s) != sorted(states[0])
            ):
                return None
            if s["step"] != states[0]["step"] or any(
                getattr(s[k], "shape", None) != p._data.shape for k in keys
            ):
                return None
        if type(opt) is SGD and group["momentum"] != 0 and "momentum_buffer" not in keys:
            return None
        groups.append(_FlatGroup(group, params, states, keys))
    return FlatOptimizer(opt, groups)


def _flat_views(arrays):
    """One new buffer holding ``arrays`` back to back, and a view of it shaped like each."""
    xp = xp_of(arrays[0])
    buf = xp.empty(sum(a.size for a in arrays), dtype=arrays[0].dtype)
    views, offset = [], 0
    for a in arrays:
        view = buf[offset : offset + a.size].reshape(a.shape)
        view[...] = a
        views.append(view)
        offset += a.size
    return buf, views


class _FlatGroup:
    def __init__(self, group, params, states, keys) -> None:
        self.group, self.params, self.states = group, params, states
        self.param_buf, self.param_views = _flat_views([p._data for p in params])
        self.grad_buf, grad_views = _flat_views([p.grad._data for p in params])
        self.grads = [Tensor._make(v, False) for v in grad_views]
        for g in self.grads:  # the engine adds into these views in place (flat buffer)
            g._owned = g._data
        self.state = {}
        self.state_views = {}
        for k in keys:
            self.state[k], self.state_views[k] = _flat_views([s[k] for s in states])
        for i, (p, s) in enumerate(zip(params, states)):
            p._data = self.param_views[i]
            p.grad = self.grads[i]
            for k in keys:
                s[k] = self.state_views[k][i]
        # cache-sized blocks of the flat range on the CPU, as the eager fused step takes
        # (optim/fused.py; SGD-momentum on W1's 270K parameters 284 -> 205 us), on the threads
        # only for large models (STEP_SPLIT_BLOCKS); one block on a GPU
        n = self.param_buf.size
        size = BLOCK if isinstance(self.param_buf, np.ndarray) else max(n, 1)
        self.whole = (
            (Tensor._make(self.param_buf, False), dict(self.state))
            if isinstance(self.param_buf, np.ndarray)
            else None
        )
        self.blocks = [
            (
                Tensor._make(self.param_buf[lo : lo + size], False),
                self.grad_buf[lo : lo + size],
                {k: buf[lo : lo + size] for k, buf in self.state.items()},
            )
            for lo in range(0, n, size)
        ]

    def update(self, opt, step: int) -> None:
        """``opt``'s update over the flat buffers: one fused kernel over all of them, split
        over OpenMP's threads, where the kernels run there (``jit.native``); else block by
        block (cache-sized, for NumPy's passes), on the pool only for large models."""
        blocks, group = self.blocks, self.group
        if self.whole is not None and _fused.whole_range(opt, group, self.param_buf.size):
            param, state = self.whole
            state["step"] = step
            opt.apply_update(param, self.grad_buf, state, group)
            return

        def run(first: int, last: int) -> None:
            for param, grad, state in blocks[first:last]:
                state["step"] = step
                opt.apply_update(param, grad, state, group)

        split = _fused.STEP_SPLIT_BLOCKS
        parallel_for(len(blocks), run, min_items=split, like=self.param_buf)

    def valid(self, state) -> bool:
        """True while the parameters and ``state`` (the optimizer's) are still these views."""
        for i, (p, s) in enumerate(zip(self.params, self.states)):
            if p._data is not self.param_views[i] or state.get(p) is not s:
                return False
            for k, views in self.state_views.items():
                if s.get(k) is not views[i]:
                    return False
        return True


class FlatOptimizer:
    """Gradient accumulation, ``zero_grad`` and ``step`` of ``opt`` over flat buffers."""

    def __init__(self, opt, groups) -> None:
        self.opt, self.groups = opt, groups
        self.xp = xp_of(groups[0].param_buf)
        self.where = {}  # id(param) -> (group, index)
        for g in groups:
            for i, p in enumerate(g.params):
                self.where[id(p)] = (g, i)

    def valid(self) -> bool:
        opt = self.opt
        if opt.track_update_ratios or len(opt.param_groups) != len(self.groups):
            return False
        return all(
            g.group is pg and len(pg["params"]) == len(g.params)
            for g, pg in zip(self.groups, opt.param_groups)
        ) and all(g.valid(opt.state) for g in self.groups)

    def grad_view(self, t):
        """The array of ``t``'s flat gradient view (an op may write its gradient there)."""
        group, i = self.where[id(t)]
        return group.grads[i]._data

    def accumulate(self, t, g) -> None:
        """``engine._accumulate`` for a parameter, writing into its flat gradient view."""
        group, i = self.where[id(t)]
        mine = group.grads[i]
        if g is mine._data and t.grad is None:  # the op wrote it there (grad_out)
            t.grad = mine
            return
        if g.dtype != t._data.dtype:
            g = g.astype(t._data.dtype)
        if t.grad is None:
            self.xp.copyto(mine._data, g)
        else:
            self.xp.add(t.grad._data, g, out=mine._data)
        t.grad = mine

    def zero_grad(self, set_to_none: bool) -> None:
        for group in self.groups:
            if not set_to_none:
                group.grad_buf[...] = 0
            for p, mine in zip(group.params, group.grads):
                p.grad = None if set_to_none else mine

    def step(self) -> None:
        opt = self.opt
        for group in self.groups:
            if any(p.grad is not mine for p, mine in zip(group.params, group.grads)):
                return opt.step()  # a gradient is missing or foreign: the per-parameter path
        with no_grad():
            for group in self.groups:
                for s in group.states:
                    s["step"] += 1
                group.update(opt, group.states[0]["step"])
                for p in group.params:
                    p._vc[0] += 1
        opt.step_count += 1
        return None
