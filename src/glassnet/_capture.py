"""The recorder behind ``gn.compile``: what one eager call of a step did, in slots.

Every tensor the step touches gets a slot number; the trace records each op (its class, input
slots, arguments, output slot), the order in which ``backward()`` visited the graph, the
optimizer calls and the wrappers' value checks. Two traces of the same step are compared
before a program is built from them (:meth:`_Trace.compare`). See :mod:`glassnet.compile`.
"""

from __future__ import annotations

import weakref

import numpy as np

from glassnet.autograd import engine as _engine
from glassnet.autograd.function import NoGrad
from glassnet.autograd.grad_mode import _RECORDER, CAPTURING, suspended_recording
from glassnet.autograd.grad_mode import STATE as _STATE
from glassnet.backend import xp_of
from glassnet.tensor import Tensor

# -- capture -------------------------------------------------------------------------------------


def _forget(mapping: dict, key: int):
    return lambda *_: mapping.pop(key, None)


_ARRAY_MODULES = ("numpy", "cupy", "glassnet.backend.sim")


def _is_array(v) -> bool:
    return hasattr(v, "__array_namespace__") or type(v).__module__.startswith(_ARRAY_MODULES)


class _Trace:
    """What one eager call did, in terms of slots (every tensor seen gets a number)."""

    def __init__(self, args) -> None:
        # slot -> Tensor for inputs and leaves (weights, constants); None for op outputs, which
        # are only watched (weakly), so that capturing keeps no more memory alive than eager
        self.tensors: list = []
        self.meta: list = []  # slot -> (shape, dtype, requires_grad)
        self.watched: list = []  # weak references to op outputs
        self.kinds: list = []  # "input" | "op" | "leaf"
        self.slot_of: dict = {}
        self.array_slot: dict = {}
        self.events: list = []
        self.modules: dict = {}  # id -> (module, its training flag when first called)
        self.node_op: dict = {}  # id(graph node) -> event index
        self.keep: list = []  # graph nodes and argument arrays, kept alive while recording
        self.order: list | None = None
        self.grads_after_backward: dict = {}
        self._bad: str | None = None
        self.inputs = [a._data.copy() for a in args]
        for a in args:
            self._add(a, "input")

    def _add(self, t, kind: str) -> int:
        s = self.slot_of.get(id(t))
        if s is None:
            s = len(self.tensors)
            self.kinds.append(kind)
            self.meta.append((t._data.shape, t._data.dtype, t.requires_grad))
            self.slot_of[id(t)] = s
            # a NumPy scalar (what 0-d arithmetic returns, e.g. loss + 0.01 * penalty) takes
            # no weak reference, so its id is never matched against op arguments
            if kind != "op" or not isinstance(t._data, np.generic):
                self.array_slot.setdefault(id(t._data), s)
            if kind == "op":  # forget the ids when the objects die, before an id is reused
                self.tensors.append(None)
                self.watched.append(weakref.ref(t, _forget(self.slot_of, id(t))))
                if not isinstance(t._data, np.generic):
                    weakref.finalize(t._data, _forget(self.array_slot, id(t._data)))
            else:
                self.tensors.append(t)
        return s

    @property
    def bad(self) -> str | None:
        """Why the step cannot be replayed: the first reason found (None while it can)."""
        return self._bad

    @bad.setter
    def bad(self, why: str | None) -> None:
        if self._bad is None:
            self._bad = why

    def detach(self, t):
        """``t.detach()``, recorded as an op that hands its input's array on."""
        out = NoGrad.apply(t, fn=_same_array)
        out._vc = t._vc
        return out

    def computed(self, t) -> bool:
        """Whether ``t``'s value may differ in the next call: anything but a constant the
        step's ops have read (a leaf slot that does not require grad). A tensor no op has
        read may come from one that records no op (``x > 0``, ``argmax``)."""
        s = self.slot_of.get(id(t))
        return s is None or self.kinds[s] != "leaf" or t.requires_grad

    def _encode(self, v):
        if isinstance(v, Tensor):
            s = self.slot_of.get(id(v))
            return ("slot", s) if s is not None else ("const", v)
        if _is_array(v):
            self.keep.append(v)
            s = self.array_slot.get(id(v))
            if s is None and self._view_of_slot(v):
                self.bad = (
                    "an op argument is a view of the step's data made outside glassnet ops "
                    "(an index reshaped in a wrapper); a replay would reuse the first call's, "
                    "so the step runs eagerly"
                )
            return ("aslot", s) if s is not None else ("const", v)
        if type(v) in (tuple, list):
            return ("seq", type(v), tuple(self._encode(e) for e in v))
        return ("obj", v)

    # entry points: Function.apply, run_backward, Optimizer.step/zero_grad and Tensor._bump
    # call these when this trace is the recorder of their thread (grad_mode.active_recorder);
    # each runs the real thing with the recorder suspended. Nothing is patched: another
    # thread, eager or capturing its own step, never sees this trace.
    def apply(self, cls, inputs, params):
        if self.order is not None:
            self.bad = f"op '{cls.name}' ran inside backward() (a custom hook or create_graph)"
        in_slots = tuple(self._add(t, "leaf") for t in inputs)
        kw = {k: self._encode(v) for k, v in params.items()}
        with suspended_recording():
            out = cls.apply(*inputs, **params)
        out_slot = self._add(out, "op")
        fn = out._ctx
        if fn is not None:
            self.node_op[id(fn)] = len(self.events)
            self.keep.append(fn)
        self.events.append(("op", cls, in_slots, kw, out_slot, fn is not None))
        return out

    def check(self, check, args) -> None:
        """``autograd.function.value_check``: run the check now and record it, to run again
        on each replayed call's arrays."""
        encoded = tuple(self._encode(a) for a in args)
        with suspended_recording():
            check(*args)
        self.events.append(("check", check, encoded))

    def backward(
        self,
        root,
        grad=None,
        retain_graph=False,
        create_graph=False,
        capture=None,
        accumulate=False,
    ):
        if grad is not None or retain_graph or create_graph or capture is not None:
            self.bad = "backward() was called with grad/retain_graph/create_graph arguments"
        root_slot = self.slot_of.get(id(root))
        if root_slot is None:
            self.bad = "backward() was called on a tensor not computed in the step"
        # leaves whose .grad is None now get a fresh gradient, the others accumulate: replay
        # must start from the same state even when the step sets p.grad = None by hand
        fresh = tuple(
            s
            for s, t in enumerate(self.tensors)
            if t is not None and t.requires_grad and t.grad is None
        )
        self.order = []
        try:
            with suspended_recording():
                result = _engine.run_backward(
                    root, grad, retain_graph, create_graph, capture, self.pre_hook, accumulate
                )
        finally:
            self.events.append(("backward", root_slot, tuple(self.order), fresh))
            self.order = None
        self.grads_after_backward = {
            id(t): (t.grad, t.grad._data.copy())
            for t in self.tensors
            if t is not None and t.grad is not None
        }
        return result

    def pre_hook(self, fn, grad) -> None:
        idx = self.node_op.get(id(fn))
        if self.order is None or idx is None:
            self.bad = "a graph node outside the recorded step was backpropagated"
        else:
            self.order.append(idx)

    def step(self, opt, closure=None):
        if closure is not None:
            self.bad = "optimizer.step(closure) is not supported; call step() without a closure"
        for group in opt.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                before = self.grads_after_backward.get(id(p))
                xp = xp_of(p.grad._data)
                if (
                    before is None
                    or before[0] is not p.grad
                    or not xp.array_equal(before[1], p.grad._data, equal_nan=True)
                ):  # (a nan gradient left as backward wrote it is unchanged)
                    self.bad = (
                        "gradients were changed between backward() and step() by code that is "
                        "not a glassnet op (e.g. clip_grad_norm); do that outside the compiled "
                        "step, or run it eagerly"
                    )
        hyper = [{k: v for k, v in g.items() if k not in ("params", "param_names")}
                 for g in opt.param_groups]  # fmt: skip
        self.events.append(("step", opt, repr(hyper)))
        with suspended_recording():
            return opt.step(closure)

    def inplace(self, t) -> None:
        """A tensor method changed ``t`` in place (add_, mul_, x[i] = v): not an op."""
        self.bad = (
            "the step changes a tensor in place (x.add_(), x[i] = v, or BatchNorm's running "
            "statistics in training mode): that is not recorded, so the step runs eagerly"
        )

    def zero_grad(self, opt, set_to_none=True):
        self.events.append(("zero_grad", opt, bool(set_to_none)))
        with suspended_recording():
            return opt.zero_grad(set_to_none)

    def __enter__(self):
        if _STATE.recorder is not None:
            raise RuntimeError("compile: a compiled step called another one while capturing")
        self._token = _RECORDER.set(self)
        CAPTURING[0] += 1
        return self

    def __exit__(self, *exc):
        CAPTURING[0] -= 1
        _RECORDER.reset(self._token)
        if exc[0] is not None:
            self.bad = "the step raised an exception while being captured"
        return False

    def finish(self, result) -> None:
        """Record the returned structure and check what cannot be replayed."""
        self.result = self._encode_result(result)
        alive = [r() for r in self.watched]
        for t in self.tensors + alive:
            if t is not None and (t._hooks or t._retains_grad):
                self.bad = "a tensor in the step has a gradient hook or retain_grad()"
        self.keep.clear() if self.bad else None

    def _view_of_slot(self, v) -> bool:
        """Whether the array ``v`` is a view of a slot's array (a dtype's ``base`` is a dtype,
        sometimes itself: only arrays are followed)."""
        base = getattr(v, "base", None) if hasattr(v, "strides") else None
        while base is not None and hasattr(base, "strides"):
            if id(base) in self.array_slot:
                return True
            base = base.base
        return False

    def _encode_result(self, r):
        if r is None:
            return None
        if isinstance(r, Tensor):
            s = self.slot_of.get(id(r))
            if s is not None:
                return ("t", s, r.requires_grad)
            for s, t in enumerate(self.tensors):  # a gradient: p.grad of a weight or input
                if t is not None and t.grad is r:
                    return ("grad", s)
            self.bad = "the step returned a tensor that no op of the step computed"
            return None
        if type(r) in (tuple, list):
            return ("seq", type(r), tuple(self._encode_result(e) for e in r))
        self.bad = (
            f"the step returned a {type(r).__name__}; return tensors (or None) and read "
            "values such as loss.item() outside the compiled function"
        )
        return None

    # comparing two captures ---------------------------------------------------------------
    def compare(self, first: _Trace):
        """None if ``self`` records the same program as ``first``; "retry"; or a reason."""
        if first.kinds != self.kinds or len(first.events) != len(self.events):
            return "the step ran different ops in two calls (data-dependent control flow)"
        if first.meta != self.meta:
            return "an intermediate shape, dtype or requires_grad changed between two calls"
        self.fresh = False  # a constant made anew each call: equal, but is it an input's value?
        for s, kind in enumerate(self.kinds):
            if kind == "leaf" and first.tensors[s] is not self.tensors[s]:
                why = self._same_const(first.tensors[s], self.tensors[s])
                if why:
                    return why
        for ea, eb in zip(first.events, self.events):
            if ea[0] != eb[0]:
                return "the step's sequence of ops, backward and optimizer calls changed"
            if ea[0] == "op":
                if ea[1] is not eb[1] or ea[2] != eb[2] or ea[4:] != eb[4:]:
                    return f"op '{eb[1].name}' was wired differently in two calls"
                for k in ea[3]:
                    why = self._same_arg(ea[3][k], eb[3].get(k), eb[1].name, k)
                    if why:
                        return why
            elif ea[0] == "check":  # a wrapper's value check: same function, same wiring
                name, pairs = eb[1].__name__, enumerate(zip(ea[2], eb[2]))
                whys = [self._same_arg(a, b, name, i) for i, (a, b) in pairs]
                if ea[1] is not eb[1] or len(ea[2]) != len(eb[2]) or any(whys):
                    return next(filter(None, whys), f"value check {name} changed")
            elif ea[1] is not eb[1] and ea[1] != eb[1] or ea[2:] != eb[2:]:
                return f"the step's {ea[0]}() calls differ between two calls"
        if first.result != self.result:
            return "the step returned different structures in two calls"
        if self.fresh and all(
            xp_of(a).array_equal(a, b) for a, b in zip(first.inputs, self.inputs)
        ):
            return "retry"
        return None

    def _same_const(self, a, b):
        if (isinstance(a, Tensor) and (a.requires_grad or b.requires_grad)) or not _is_array(
            a._data if isinstance(a, Tensor) else a
        ):
            return "a tensor that requires grad is created anew inside the step; make it once"
        da = a._data if isinstance(a, Tensor) else a
        db = b._data if isinstance(b, Tensor) else b
        nan = da.dtype.kind == "f"  # a constant holding nan is the same constant
        if da.shape != db.shape or da.dtype != db.dtype or not xp_of(da).array_equal(da, db, nan):
            return (
                "an array used by an op changes between calls but is not computed by a "
                "glassnet op (an array computed on the host from the step's tensors, or drawn "
                "from another random generator); the step runs eagerly"
            )
        self.fresh = True
        return None

    def _same_arg(self, a, b, op, key):
        if b is None or a[0] != b[0]:
            return f"argument {key!r} of op '{op}' changed kind between two calls"
        if a[0] in ("slot", "aslot"):
            return None if a[1] == b[1] else f"argument {key!r} of op '{op}' was rewired"
        if a[0] == "seq":
            if a[1] is not b[1] or len(a[2]) != len(b[2]):
                return f"argument {key!r} of op '{op}' changed between two calls"
            for x, y in zip(a[2], b[2]):
                why = self._same_arg(x, y, op, key)
                if why:
                    return why
            return None
        if a[1] is b[1]:
            return None
        if a[0] == "const":
            return self._same_const(a[1], b[1])
        try:
            return None if bool(a[1] == b[1]) else f"argument {key!r} of op '{op}' changed"
        except Exception:  # noqa: BLE001 - objects without a plain ==
            return f"argument {key!r} of op '{op}' cannot be compared between calls"


def _same_array(a):
    return a
