"""The replayer behind ``gn.compile``: runs a captured step as a flat list of instructions.

An instruction does exactly what eager mode did for that event, minus the bookkeeping:

- op: ``fn = Op.__new__(Op); out = fn.forward(*arrays, **params)`` (the op's own forward);
- backward: for each recorded node, in the engine's order, ``fn.backward(ns, g, *arrays)``,
  the engine's ``unbroadcast`` and ``prev + g`` accumulation, then ``engine._accumulate``
  into the leaves;
- check: a wrapper's value check (``value_check``), on this call's arrays;
- zero_grad / step: the optimizer's own methods, or with flat buffers its own ``update`` run
  once over each group's concatenated parameters (elementwise, so the bits are the same).

Tensors are represented by *stand-ins*, one per slot, whose ``data`` is swapped each call, so
that ``fn.inputs`` (which backward reads for shapes and ``requires_grad``) is built once.
"""

from __future__ import annotations

from glassnet.autograd.autocast_mode import STATE as _AUTOCAST
from glassnet.autograd.engine import _accumulate, add_part
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.autograd.namespace import array_namespace, unbroadcast
from glassnet.backend import xp_of
from glassnet.backend.blas_region import blas_region
from glassnet.tensor import Tensor

_OP, _BACKWARD, _ZERO, _STEP, _CHECK = range(5)


def _resolve(enc, standins):
    kind = enc[0]
    if kind == "aslot":
        return standins[enc[1]]._data
    if kind == "slot":
        return standins[enc[1]]
    if kind == "seq":
        return enc[1](_resolve(e, standins) for e in enc[2])
    return enc[1]


def _dynamic(enc) -> bool:
    if enc[0] in ("aslot", "slot"):
        return True
    return enc[0] == "seq" and any(_dynamic(e) for e in enc[2])


def _sole_gradients(plan, fresh) -> dict:
    """{node: ((input position, leaf slot), ...)} for the leaves of ``fresh`` (their .grad is
    None when the backward starts) that get their gradient from that one node and position
    only: the node may write it straight into the leaf's flat gradient buffer."""
    counts: dict = {}
    for _, _, inputs in plan:
        for _, s, _ in inputs:
            counts[s] = counts.get(s, 0) + 1
    fresh = set(fresh)
    sole: dict = {}
    for i, _, inputs in plan:
        for pos, s, _ in inputs:
            if s in fresh and counts[s] == 1:
                sole.setdefault(i, []).append((pos, s))
    return {i: tuple(v) for i, v in sole.items()}


class _Program:
    def __init__(self, first, trace, flat: bool) -> None:
        self.n_inputs = sum(k == "input" for k in trace.kinds)
        standins = []
        for kind, t, meta in zip(trace.kinds, trace.tensors, trace.meta):
            standins.append(t if kind == "leaf" else Tensor._make(None, meta[2]))
        self.standins = standins
        self.temps = [st for st, k in zip(standins, trace.kinds) if k != "leaf"]
        shapes = [meta[0] for meta in trace.meta]
        self.code = []
        op_out = {}
        op_inputs = {}
        for i, ev in enumerate(trace.events):
            if ev[0] == "op":
                _, cls, in_slots, kw, out_slot, tracked = ev
                static = {k: _resolve(e, standins) for k, e in kw.items() if not _dynamic(e)}
                dyn = [(k, e) for k, e in kw.items() if _dynamic(e)]
                ins = tuple(standins[s] for s in in_slots)
                self.code.append((_OP, cls, ins, static, dyn, standins[out_slot], tracked, i))
                op_out[i] = out_slot
                op_inputs[i] = tuple(  # the inputs that take a gradient: (position, slot, shape)
                    (pos, s, shapes[s])
                    for pos, s in enumerate(in_slots)
                    if standins[s].requires_grad
                )
            elif ev[0] == "backward":
                plan = tuple((i2, op_out[i2], op_inputs[i2]) for i2 in ev[2])
                self.code.append((_BACKWARD, ev[1], plan, ev[3], _sole_gradients(plan, ev[3])))
            elif ev[0] == "check":  # a wrapper's value check (value_check), run again
                self.code.append((_CHECK, ev[1], ev[2]))
            elif ev[0] == "zero_grad":
                self.code.append((_ZERO, ev[1], ev[2]))
            else:
                self.code.append((_STEP, ev[1]))
        self.result = trace.result
        self.large_products = True  # until a run shows none (blas_region)
        self.flat = {}
        if flat:
            from glassnet._flat import flatten_optimizer

            for ev in trace.events:
                if ev[0] == "step" and ev[1] not in self.flat:
                    self.flat[ev[1]] = flatten_optimizer(ev[1])
        self.flat = {opt: f for opt, f in self.flat.items() if f is not None}
        self._route()

    #: ((module, its training flag at capture), ...) for the modules the step called
    modes: tuple = ()

    def modes_hold(self) -> bool:
        """Whether every module the step called is in the train/eval mode of the capture."""
        return all(m.training == mode for m, mode in self.modes)

    def modes_now(self) -> tuple:
        return tuple([m.training for m, _ in self.modes])

    def _route(self) -> None:
        self.leaf_flat = {pid: f for f in self.flat.values() for pid in f.where}

    def _check_flat(self) -> None:
        """Drop flat buffers that no longer alias the optimizer (load_state_dict, p._data = ...)."""
        stale = [opt for opt, f in self.flat.items() if not f.valid()]
        for opt in stale:
            del self.flat[opt]
        if stale:
            self._route()

    def run(self, args):
        standins = self.standins
        for st, a in zip(standins, args):
            st._data = a._data
        if self.flat:
            self._check_flat()
        nodes = {}
        prev_mode = _GRAD.enabled
        # a step of small products keeps OpenBLAS on one thread throughout (backend.parallel)
        region = blas_region(sticky=not self.large_products)
        region.__enter__()
        try:
            for ins in self.code:
                kind = ins[0]
                if kind == _OP:
                    _, cls, inputs, static, dyn, out, tracked, i = ins
                    fn = cls.__new__(cls)
                    kw = static
                    if dyn:
                        kw = dict(static)
                        for k, e in dyn:
                            kw[k] = _resolve(e, standins)
                    # one and two inputs spelled out, as in Function.apply (the hot path)
                    if len(inputs) == 1:
                        arrays = (inputs[0]._data,)
                        out._data = fn.forward(arrays[0], **kw)
                    elif len(inputs) == 2:
                        arrays = (inputs[0]._data, inputs[1]._data)
                        out._data = fn.forward(arrays[0], arrays[1], **kw)
                    else:
                        arrays = tuple([t._data for t in inputs])
                        out._data = fn.forward(*arrays, **kw)
                    if tracked:
                        fn.inputs = inputs
                        fn.needs_input_grad = tuple([t.requires_grad for t in inputs])
                        fn.arrays = (*arrays, out._data) if cls.saves_output else arrays
                        nodes[i] = fn
                elif kind == _BACKWARD:
                    _GRAD.enabled = False
                    self._backward(ins[1], ins[2], ins[3], ins[4], nodes, args)
                    _GRAD.enabled = prev_mode
                elif kind == _CHECK:
                    ins[1](*[_resolve(e, standins) for e in ins[2]])
                elif kind == _ZERO:
                    flat = self.flat.get(ins[1])
                    if flat is not None:
                        flat.zero_grad(ins[2])
                    else:
                        ins[1].zero_grad(ins[2])
                else:
                    flat = self.flat.get(ins[1])
                    if flat is not None:
                        flat.step()
                    else:
                        ins[1].step()
            return self._result(self.result, args)
        finally:
            if region.region is not None:  # the outermost region: what this run did
                self.large_products = region.region.large
            region.__exit__()
            _GRAD.enabled = prev_mode
            for st in self.temps:
                st._data = None

    def _backward(self, root_slot, plan, fresh, sole, nodes, args) -> None:
        standins = self.standins
        n_inputs = self.n_inputs
        for s in fresh:  # leaves whose .grad was None when this backward was captured
            (args[s] if s < n_inputs else standins[s]).grad = None
        root = standins[root_slot]._data
        grads = {root_slot: xp_of(root).ones_like(root)}
        root_ns, root_type = array_namespace(grads[root_slot]), type(grads[root_slot])
        leaf_flat = self.leaf_flat
        sums: set = set()  # ids of the sums made below: only ``grads`` refers to them
        for i, out_slot, inputs in plan:
            fn = nodes.pop(i)
            g = grads.pop(out_slot)
            sums.discard(id(g))
            if leaf_flat and i in sole:  # the op may write these gradients into flat buffers
                fn.grad_out = self._grad_buffers(sole[i], leaf_flat)
            arrays = fn.arrays
            ns = root_ns if type(g) is root_type else array_namespace(g)
            if len(arrays) == 2:  # spelled out: a star-call builds an argument tuple
                in_grads = fn.backward(ns, g, arrays[0], arrays[1])
            else:
                in_grads = fn.backward(ns, g, *arrays)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            for pos, s, shape in inputs:
                ig = in_grads[pos]
                if ig is None:
                    continue
                if ig.shape != shape:
                    ig = unbroadcast(ig, shape)
                add_part(grads, s, ig, sums)
        handed: set = set()
        for s, g in grads.items():
            t = args[s] if s < n_inputs else standins[s]
            flat = leaf_flat.get(id(t))
            if flat is not None:
                flat.accumulate(t, g)
            else:
                _accumulate(t, g, False, handed)

    def _grad_buffers(self, positions, leaf_flat) -> dict | None:
        """{input position: the parameter's flat gradient view} for a node's sole gradients."""
        bufs = None
        for pos, s in positions:
            t = self.standins[s]
            flat = leaf_flat.get(id(t))
            if flat is not None:
                if bufs is None:
                    bufs = {}
                bufs[pos] = flat.grad_view(t)
        return bufs

    def _result(self, enc, args):
        if enc is None:
            return None
        if enc[0] == "t":
            return Tensor._make(self.standins[enc[1]]._data, enc[2])
        if enc[0] == "grad":
            s = enc[1]
            return (args[s] if s < self.n_inputs else self.standins[s]).grad
        return enc[1](self._result(e, args) for e in enc[2])


def _signature(args):
    """A call's program key: grad mode, autocast's dtype, and each argument's shape, dtype,
    requires_grad and array type; None when an argument is not a Tensor or is passed twice."""
    sig = [_GRAD.enabled, _AUTOCAST.dtype]
    seen = set()
    for a in args:
        if not isinstance(a, Tensor) or id(a) in seen:
            return None
        seen.add(id(a))
        d = a._data
        sig.append((d.shape, d.dtype, a.requires_grad, type(d)))
    return tuple(sig)
