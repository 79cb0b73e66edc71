"""Fused optimizer steps: one update over all the parameters of a group, in flat buffers.

An optimizer's ``update(param, grad, state, group)`` runs a handful of NumPy calls per
parameter; a Transformer has dozens of small parameters (biases, norms), so the per-call cost
adds up (about 2 ms per Adam step for a 4-layer GPT), and each large parameter streams its
arrays through memory once per call. For the optimizers whose update is **elementwise** (each
output element depends only on the same element of the parameter, the gradient and the state;
the class that defines ``update`` says so with ``elementwise = True``: SGD, Adam, AdamW,
RMSprop, Adagrad; a subclass that overrides ``update`` is not fused unless it says so too),
the base class instead keeps each parameter group in flat buffers:

- the parameters' data and every state array (``exp_avg``, ``momentum_buffer``, ...) live in
  one flat array each, and ``p._data`` / ``opt.state[p][key]`` are views into them (so
  ``state_dict``, checkpoints and user code see the usual per-parameter arrays);
- a step splits the flat range into cache-sized blocks of :data:`BLOCK` elements and runs the
  optimizer's own ``update`` once per block, with ``parallel_for`` spreading large steps over
  the CPU threads. A block inside one parameter reads its gradient in place; a block that
  spans several parameters first copies their gradient pieces into a flat scratch buffer.

**Same numbers.** The update applies the same NumPy operations, in the same order, to each
element, whichever block (and thread) it falls in: elementwise float arithmetic (``+ - * /``,
``sqrt``, ``maximum``) is correctly rounded, so the result does not depend on the split. The
fused step is bit-identical to the per-parameter loop for any thread count (tested).

**When it applies.** From the second step of a group on (the first step creates the state
per parameter), on the CPU (NumPy arrays), when every parameter of the group has a gradient of
its own dtype and shape, all states have the same keys and step count, no update ratios are
tracked, and the parameters own their memory (not views made by ``gn.compile``, which has its
own flat buffers). ``foreach=False`` (PyTorch's "for-loop implementation") keeps the
per-parameter loop. Anything else runs the per-parameter loop, with the same numbers. When the
parameters or the state are replaced (``p.data = ...``, ``load_state_dict``), the buffers are
rebuilt at the next step.
"""

from __future__ import annotations

import weakref

import numpy as np

from glassnet.backend import jit
from glassnet.backend.parallel import parallel_for
from glassnet.tensor import Tensor

__all__ = ["BLOCK", "elementwise", "fused_step"]

#: Elements per block: 32Ki float32 (128 KiB per array) keeps a block's parameter, gradient,
#: state and scratch arrays in L2 through the update's passes; measured on a 2-core Zen 4
#: (benchmarks/RESULTS.md, "Fused optimizer step").
BLOCK = 1 << 15

#: The fewest blocks in a thread's share of a step: a step over fewer than twice this many
#: runs on the calling thread. Measured on this 2-core VM at 2 threads, the split costs more
#: than it saves even on W3's 0.8M parameters (AdamW's fused step 2.9 ms either way eagerly,
#: 1.9 against 1.7 ms in gn.compile's flat step; SGD-momentum on W1's 0.27M 0.43 against
#: 0.32 ms): the update streams memory, which one core nearly saturates, and each block's
#: Python hand-off to a pool thread waits for the GIL. 64 blocks (2Mi elements, a few ms of
#: work) per thread keeps the split for models where it can pay.
STEP_SPLIT_BLOCKS = 64


class _FusedGroup:
    """Flat parameter and state buffers of one group, and the per-block views of them."""

    def __init__(self, group: dict, params: list, states: list, keys: list) -> None:
        self.group, self.params, self.states, self.keys = group, params, states, keys
        dtype = params[0]._data.dtype
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        n = self.offsets[-1]
        self.param_buf = np.empty(n, dtype=dtype)
        self.state_bufs = {k: np.empty(n, dtype=dtype) for k in keys}
        self.grad_buf = np.empty(n, dtype=dtype)  # scratch for blocks spanning parameters
        self.param_views, self.state_views = [], []  # per parameter: its view, its state views
        for p, s, lo, hi in zip(params, states, self.offsets, self.offsets[1:]):
            view = self.param_buf[lo:hi].reshape(p._data.shape)
            view[...] = p._data
            p._data = view
            self.param_views.append(view)
            sviews = []
            for k in keys:
                sviews.append(self.state_bufs[k][lo:hi].reshape(view.shape))
                sviews[-1][...] = s[k]
                s[k] = sviews[-1]
            self.state_views.append(tuple(sviews))
        self.blocks = []  # (start, stop, [(param index, lo, hi) within that parameter], ...)
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            pieces = [
                (i, max(start, a) - a, min(stop, b) - a)
                for i, (a, b) in enumerate(zip(self.offsets, self.offsets[1:]))
                if a < stop and b > start
            ]
            state = {k: buf[start:stop] for k, buf in self.state_bufs.items()}
            self.blocks.append(
                (start, stop, pieces, Tensor._make(self.param_buf[start:stop], False), state)
            )

    def ready(self, group: dict, opt_state) -> list | bool:
        """The flat gradients when the group's parameters and state are still these views and
        every gradient fits; False when they are not these views any more (the caller drops
        the buffers); True when they are but this step cannot be fused (a missing gradient,
        step counts that differ: the caller loops per parameter, on the same views)."""
        params = group["params"]
        if group is not self.group or len(params) != len(self.params):
            return False
        dtype, n_keys, grads, fits = self.param_buf.dtype, len(self.keys) + 1, [], True
        for p, q, s, view, sviews in zip(
            params, self.params, self.states, self.param_views, self.state_views
        ):
            if p is not q or p._data is not view or opt_state.get(p) is not s:
                return False
            if len(s) != n_keys or any(s.get(k) is not v for k, v in zip(self.keys, sviews)):
                return False
            g = p.grad
            if fits and g is not None:
                g = g._data
                fits = type(g) is np.ndarray and g.dtype == dtype and g.shape == view.shape
                grads.append(g.reshape(-1) if fits else None)
            fits = fits and g is not None
        step = self.states[0]["step"]
        if not fits or any(s["step"] != step for s in self.states):
            return True
        return grads

    def step(self, opt, grads: list) -> None:
        """Count the step in every state, then update all blocks (in parallel)."""
        for s in self.states:
            s["step"] += 1
        t = self.states[0]["step"]
        group, blocks, grad_buf, offsets = self.group, self.blocks, self.grad_buf, self.offsets
        if whole_range(opt, group, grad_buf.size):
            # one fused kernel over the whole buffer, split over OpenMP's threads (no Python
            # per block, no GIL): the gradients gathered first, in one pass
            np.concatenate(grads, out=grad_buf)
            state = dict(self.state_bufs, step=t)
            opt.apply_update(Tensor._make(self.param_buf, False), grad_buf, state, group)
            for p in self.params:
                p._vc[0] += 1
            return

        def run(first: int, last: int) -> None:
            for start, stop, pieces, param, state in blocks[first:last]:
                if len(pieces) == 1:
                    i, lo, hi = pieces[0]
                    grad = grads[i][lo:hi]
                else:
                    for i, lo, hi in pieces:
                        a = offsets[i]
                        grad_buf[a + lo : a + hi] = grads[i][lo:hi]
                    grad = grad_buf[start:stop]
                state["step"] = t
                opt.apply_update(param, grad, state, group)

        parallel_for(len(blocks), run, min_items=STEP_SPLIT_BLOCKS, like=self.param_buf)
        for p in self.params:
            p._vc[0] += 1


def whole_range(opt, group: dict, size: int) -> bool:
    """Whether a flat buffer of ``size`` elements takes ``opt``'s update as one fused kernel
    split over OpenMP's threads (``Optimizer.whole_range_kernel`` and ``jit.native``)
    instead of cache-sized blocks: here and in ``gn.compile``'s flat step."""
    return opt.whole_range_kernel(group, size) and jit.native() is not None


def _eligible(opt, group: dict) -> tuple | None:
    """(params, states, keys, flat gradients) when ``group`` can take a fused step, else None."""
    params = group["params"]
    own = opt.__dict__.setdefault("_fused_bases", [])  # weak refs to buffers made here
    dtype = params[0]._data.dtype
    states, grads = [], []
    for p in params:
        g, data = p.grad, p._data
        if g is None or type(data) is not np.ndarray:
            return None
        g = g._data
        if type(g) is not np.ndarray or g.dtype != dtype or g.shape != data.shape:
            return None
        if data.dtype != dtype:
            return None
        if data.base is not None and not any(r() is data.base for r in own):
            return None  # a view of someone else's buffer (gn.compile's flat buffers)
        s = opt.state.get(p)
        if s is None:
            return None
        states.append(s)
        grads.append(g.reshape(-1))
    keys = sorted(k for k in states[0] if k != "step")
    for p, s in zip(params, states):
        if s["step"] != states[0]["step"] or len(s) != len(keys) + 1:
            return None
        for k in keys:
            v = s.get(k)
            if type(v) is not np.ndarray or v.shape != p._data.shape or v.dtype != dtype:
                return None
    return params, states, keys, grads


def elementwise(opt) -> bool:
    """``elementwise`` as declared at or below the class whose ``update`` runs, with the base
    ``apply_update``: a subclass overriding either is not fused unless it says so."""
    cls = type(opt)
    if cls.apply_update.__qualname__ != "Optimizer.apply_update":
        return False
    for c in cls.__mro__:
        if "elementwise" in c.__dict__:
            return bool(c.__dict__["elementwise"])
        if "update" in c.__dict__:
            return False
    return False


def fused_step(opt, group: dict) -> bool:
    """Take ``opt``'s step for ``group`` over flat buffers; False when it does not apply (the
    caller then runs the per-parameter loop). Caches the buffers in ``opt._fused``."""
    if opt.track_update_ratios or group.get("foreach") is False or not elementwise(opt):
        return False
    caches = opt.__dict__.setdefault("_fused", {})
    cache = caches.get(id(group))
    if cache is not None:
        grads = cache.ready(group, opt.state)
        if isinstance(grads, list):
            cache.step(opt, grads)
            return True
        if grads:  # still the buffers' views, but this step goes parameter by parameter
            return False
        del caches[id(group)]  # parameters or state replaced (p.data = ..., load_state_dict)
    found = _eligible(opt, group)
    if found is None:
        return False
    params, states, keys, grads = found
    cache = caches[id(group)] = _FusedGroup(group, list(params), states, keys)
    bases = opt.__dict__["_fused_bases"]
    bases[:] = [r for r in bases if r() is not None] + [weakref.ref(cache.param_buf)]
    cache.step(opt, grads)
    return True
