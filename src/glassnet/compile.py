"""Capture and replay of a training step: ``gn.compile(step_fn)``.

Eager glassnet pays Python work for every op of every step: module calls, argument checks,
a graph node and a Tensor per op, a topological sort and version checks in ``backward()``,
a loop over parameters in ``opt.step()``. The arithmetic is the same every step. ``compile``
records that arithmetic once and replays it:

1. **Capture.** The first calls run eagerly while recording, op by op, which ``Function``
   ran on which arrays with which arguments, in which order ``backward()`` visited the nodes,
   and each ``opt.zero_grad()`` / ``opt.step()``. Two captured calls must record the same
   program (same ops, shapes, wiring, arguments and optimizer calls); anything that changes
   between calls without going through a glassnet op (arrays computed on the host,
   values read on the host and fed back, hyperparameters changed inside the step, gradients
   changed between ``backward()`` and ``step()``) makes the step unreplayable, and it keeps
   running eagerly (``compiled.reason`` says why).
2. **Replay.** Later calls with the same input signature (shapes, dtypes, ``requires_grad``,
   and the ``training`` flag of every module the step called) run the recorded program:
   each op's own ``forward`` and ``backward`` on raw arrays, the engine's gradient
   accumulation, and the optimizer's own update, with no modules, wrappers, Tensors per op
   or graph walk. The wrappers' checks of input values (class indices,
   embedding ids, probabilities; ``autograd.function.value_check``) run again on each call.
   Because the same array code runs in the same order, the results are bit-identical to
   eager mode (``tests/test_compile.py`` checks it).
   With ``flat=True`` (the default) the parameters of each supported optimizer group
   (SGD, Adam, AdamW, RMSprop, Adagrad: updates that are elementwise) become views into one
   preallocated buffer, as do their gradients and optimizer state, and the update runs once
   over the whole buffer instead of once per parameter; elementwise arithmetic gives the
   same bits either way.
3. **Fallback.** A call whose signature differs from every captured one runs eagerly (and
   is captured in turn, up to ``max_programs`` signatures); so does every call while global
   op hooks (diagnostics) are installed, or while a module or weight of the step has a hook
   (registering or removing one makes the step capture again: ``hooks.GENERATION``).

What the step may contain: glassnet ops on tensors, ``backward()`` (no arguments), and
``zero_grad()`` / ``step()`` of optimizers; it returns a tensor, a tuple/list of tensors or
None (replayed results are new, detached tensors). Keep host reads (``loss.item()``),
logging, clipping and scheduler calls outside the compiled function: a step that reads a
value it computes in Python may branch on it, so it runs eagerly.

>>> import glassnet as gn
>>> import glassnet.functional as F
>>> model = gn.nn.Linear(3, 2)
>>> opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> def step(x, y):
...     opt.zero_grad()
...     loss = F.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> fast = gn.compile(step)
>>> x, y = gn.ones(4, 3), gn.zeros(4, 2)
>>> losses = [fast(x, y).item() for _ in range(4)]   # 2 captured calls, then replays
>>> fast.replays
2
"""

from __future__ import annotations

from glassnet.autograd import hooks as _hooks
from glassnet.autograd.grad_mode import STATE as _GRAD

__all__ = ["compile", "CompiledModule", "CompiledStep"]

_CAPTURES_BEFORE_GIVING_UP = 4


def compile(step_fn=None, *, flat: bool = True, max_programs: int = 4):  # noqa: A001
    """Wrap ``step_fn`` so that its steps are captured once and replayed (see module doc).

    Args:
        step_fn: a function of tensors that runs one training step, or an ``nn.Module``
            (then a :class:`CompiledModule`: replayed for inference, eager when training).
        flat: put each supported optimizer group's parameters, gradients and state into one
            buffer each and update them with one call (bit-identical to per-parameter).
        max_programs: how many input signatures to keep programs for.

    Returns:
        a :class:`CompiledStep`, called like ``step_fn``. Usable as a decorator.
    """
    if step_fn is None:
        return lambda fn: compile(fn, flat=flat, max_programs=max_programs)
    if not callable(step_fn):
        raise TypeError(
            f"compile: expected a step function or a module, got {type(step_fn).__name__}"
        )
    if hasattr(step_fn, "parameters") and hasattr(step_fn, "forward"):  # an nn.Module
        return CompiledModule(step_fn, flat=flat, max_programs=max_programs)
    return CompiledStep(step_fn, flat=flat, max_programs=max_programs)


class CompiledModule:
    """``gn.compile(model)``: the module's forward, captured and replayed where that is exact.

    A replayed call returns new tensors outside the graph, so it is used only when no gradient
    can be needed (grad mode off, as under ``no_grad()`` for inference, or no parameter
    requiring grad); otherwise the call runs the module eagerly, so training through a
    compiled module gives the same gradients as the module itself. Other attributes
    (``parameters()``, ``state_dict()``, ``train()``, ...) are the module's.
    """

    def __init__(self, module, flat: bool = True, max_programs: int = 4) -> None:
        self._orig_mod = module  # PyTorch's attribute name for the wrapped module
        self._step = CompiledStep(module, flat=flat, max_programs=max_programs)

    def __call__(self, *args, **kwargs):
        module = self._orig_mod
        if _GRAD.enabled and any(p.requires_grad for p in module.parameters()):
            return module(*args, **kwargs)
        return self._step(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._orig_mod, name)


class CompiledStep:
    """A step function that replays its recorded array program when input shapes allow.

    Attributes:
        replays / eager_calls: how many calls ran each way.
        reason: why the last captured signature could not be replayed (None if it could).
    """

    def __init__(self, fn, flat: bool = True, max_programs: int = 4) -> None:
        self.fn = fn
        self.flat = flat
        self.max_programs = max_programs
        self.replays = 0
        self.eager_calls = 0
        self.reason: str | None = None
        self._programs: dict = {}  # signature -> _Program, or a list of traces while capturing
        self._refused: set = set()
        self._hooks_seen = _hooks.GENERATION[0]

    def __call__(self, *args, **kwargs):
        if kwargs or _hooks.FORWARD_HOOKS or _hooks.BACKWARD_PRE_HOOKS or _hooks.BACKWARD_HOOKS:
            return self._eager(args, kwargs)
        if _hooks.GENERATION[0] != self._hooks_seen:  # a hook came or went: capture anew
            self._hooks_seen = _hooks.GENERATION[0]
            self._programs.clear()
            self._refused.clear()
        sig = base = _signature(args)
        entry = self._programs.get(sig) if sig is not None else None
        for _ in range(3):  # a program whose modules' train/eval flags differ now: the key
            if type(entry) is not _Program:  # of the program for these flags
                break
            if entry.modes_hold():
                self.replays += 1
                return entry.run(args)
            sig = (base, entry.modes_now())
            entry = self._programs.get(sig)
        if (
            type(entry) is _Program  # flags that keep changing inside the step
            or sig is None
            or sig in self._refused
            or (entry is None and len(self._programs) >= self.max_programs)
        ):
            return self._eager(args, kwargs)
        traces = self._programs.setdefault(sig, [])
        trace = _Trace(args)
        with trace:
            result = self.fn(*args)
        self.eager_calls += 1
        trace.finish(result)
        self._accept(sig, traces, trace)
        self._hooks_seen = _hooks.GENERATION[0]  # what the step itself assigned: seen now
        return result

    def _eager(self, args, kwargs):
        self.eager_calls += 1
        return self.fn(*args, **kwargs)

    def _accept(self, sig, traces: list, trace: _Trace) -> None:
        reason = trace.bad
        if reason is None and traces:
            reason = trace.compare(traces[0])
            if reason == "retry":  # constants cannot be told from inputs yet: capture again
                if len(traces) < _CAPTURES_BEFORE_GIVING_UP:
                    traces.append(trace)
                    return
                reason = "the step's inputs were identical in every captured call"
            if reason is None:
                program = self._programs[sig] = _Program(traces[0], trace, self.flat)
                # the modules both captures called (not one made anew in each call): their
                # training flags select this program (after model.eval(), another one)
                program.modes = tuple(
                    (m, mode) for key, (m, mode) in trace.modules.items()
                    if key in traces[0].modules and traces[0].modules[key][0] is m
                )  # fmt: skip
                self.reason = None
                return
        if reason is not None:
            self.reason = reason
            self._refused.add(sig)
            del self._programs[sig]
            return
        traces.append(trace)


from glassnet._capture import _Trace  # noqa: E402  (the recorder, in its own file)
from glassnet._replay import _Program, _signature  # noqa: E402  (the replayer, in its own file)
