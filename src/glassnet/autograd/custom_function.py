"""PyTorch's ``autograd.Function`` form, adapted onto glassnet's graph nodes.

A PyTorch user writes a custom differentiable function with static methods and a context:

.. code-block:: python

    class MyExp(glassnet.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y            # dL/dx = dL/dy * e^x

    y = MyExp.apply(x)

:class:`glassnet.autograd.function.Function` sends every subclass whose ``forward`` is a
``staticmethod`` here (:func:`adapt`) instead of registering it as a glassnet op: such a class
is never put in the op registry, so a user class named ``Exp`` (or one defined twice, as in a
notebook cell run again) never collides with glassnet's own ops.

``apply`` runs ``forward(ctx, *args)`` on tensors with grad recording off (as PyTorch does),
then makes one :class:`CustomNode` the graph node of the outputs. The node's ``backward``
wraps the upstream gradient(s) as tensors, calls the user's ``backward(ctx, *grads)`` and
returns one array per tensor input. Several outputs are packed into one flat node output and
handed out as slices, so the engine (which knows single-output nodes) adds their gradients
and the user's ``backward`` receives one gradient per output (zeros for an unused output,
PyTorch's ``materialize_grads`` default).
"""

from __future__ import annotations

import inspect

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd import hooks as _hooks
from glassnet.autograd.function import FunctionCtx, once_differentiable  # noqa: F401
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.tensor import Tensor


class CustomNode(_function.Function):
    """The graph node of one call of a PyTorch-style Function (not an op of the registry)."""

    register = False
    name = "custom_function"

    def release(self) -> None:
        name = self.name  # the user's class name stays on the freed node (repr, messages)
        super().release()
        self.name = name

    def backward(self, ns, grad, *inputs):
        if not ns.eager:  # create_graph: grad mode is on, the user's backward is recorded
            return self._user_backward(grad)
        prev, _GRAD.enabled = _GRAD.enabled, False
        try:
            grads = self._user_backward(Tensor._make(grad, False))
        finally:
            _GRAD.enabled = prev
        return tuple(g if g is None else g._data for g in grads)

    def _user_backward(self, grad):
        if self.shapes is None:
            grads = (grad,)
        else:  # unpack the flat gradient of the packed outputs
            grads, start = [], 0
            for shape, size in self.shapes:
                grads.append(grad[start : start + size].reshape(shape))
                start += size
        extra = [z if z is None else Tensor._make(z, False) for z in self.zero_grads]
        grads = _merge(grads, extra, self.diff_positions)
        cls = self.fn_class
        result = _user_method(cls, "backward", "vjp")(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_args = len(self.arg_is_tensor)
        if len(result) != n_args and not (len(result) > n_args and _all_none(result[n_args:])):
            raise RuntimeError(
                f"{self.fn_class.__name__}.backward returned {len(result)} gradient(s) but "
                f"forward took {n_args} argument(s); return one per forward argument, None for "
                "arguments that are not tensors or need no gradient"
            )
        out = []
        for is_tensor, g, k in zip(self.arg_is_tensor, result, range(n_args)):
            if not is_tensor:
                continue
            if g is not None and not isinstance(g, Tensor):
                raise TypeError(
                    f"{self.fn_class.__name__}.backward: the gradient for argument {k} is a "
                    f"{type(g).__name__}; return a tensor (or None)"
                )
            if g is not None and g.shape != self.inputs[len(out)].shape:
                _check_grad_shape(cls, k, g.shape, self.inputs[len(out)].shape)
            out.append(g)
        return tuple(out)


def _check_grad_shape(cls, k: int, got: tuple, want: tuple) -> None:
    """A gradient whose shape is not the input's is summed down to it when the input's shape
    broadcasts to it (PyTorch's rule); any other shape is an error naming the Function."""
    try:
        ok = np.broadcast_shapes(want, got) == tuple(got)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"{cls.__name__}.backward returned an invalid gradient for argument {k}: shape "
            f"{tuple(got)}, but the input has shape {tuple(want)} (the gradient must have the "
            "input's shape, or one it broadcasts to)"
        )


def _all_none(items) -> bool:
    return all(g is None for g in items)


def _merge(diff_grads, zero_grads, diff_positions):
    """Gradients for every output in order: the differentiable ones, zeros for the rest."""
    diff, zeros, merged = iter(diff_grads), iter(zero_grads), []
    for i in range(len(diff_positions)):
        merged.append(next(diff) if diff_positions[i] else next(zeros))
    return merged


def adapt(cls) -> None:
    """Give a PyTorch-style Function subclass its ``apply`` (called by Function's
    ``__init_subclass__``); the class is not registered as a glassnet op."""
    cls.apply = classmethod(_apply)
    cls.name = cls.__name__


def _apply(cls, *args, **kwargs):
    with_setup = "setup_context" in _own_statics(cls)
    if kwargs:  # PyTorch binds keyword arguments to forward's parameters: tensors among them
        args, kwargs = _bind(cls, with_setup, args, kwargs)  # are inputs like positional ones
    arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
    needs = tuple(t and a.requires_grad for t, a in zip(arg_is_tensor, args))
    ctx = FunctionCtx(needs)
    inputs = tuple(a for a, t in zip(args, arg_is_tensor) if t)
    track = _GRAD.enabled and any(needs)
    prev, _GRAD.enabled = _GRAD.enabled, False
    try:
        if with_setup:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    finally:
        _GRAD.enabled = prev
    single = not isinstance(output, tuple)
    outs = (output,) if single else output
    skip = set(ctx._non_differentiable)
    diff = tuple(
        isinstance(o, Tensor) and o._data.dtype.kind in "fc" and id(o) not in skip for o in outs
    )
    results = [Tensor._make(o._data, False) if isinstance(o, Tensor) else o for o in outs]
    if not track or not any(diff):
        return results[0] if single else tuple(results)

    node = CustomNode.__new__(CustomNode)
    node.name = cls.__name__
    node.fn_class, node.ctx, node.arg_is_tensor = cls, ctx, arg_is_tensor
    node.diff_positions = diff
    # the gradients handed to backward for the outputs without one: zeros for a tensor,
    # None for a non-tensor output (PyTorch's)
    node.zero_grads = [
        _zeros_like(o._data) if isinstance(o, Tensor) else None for o, d in zip(outs, diff) if not d
    ]
    node.inputs = inputs
    node.versions = tuple(t._vc[0] for t in inputs)
    node.needs_input_grad = tuple(t.requires_grad for t in inputs)
    node.arrays = tuple(t._data for t in inputs)
    diff_outs = [o for o, d in zip(outs, diff) if d]
    if len(outs) == 1:
        node.shapes = None
        packed = results[0] = Tensor._make(outs[0]._data, True)
    else:
        xp = _xp(diff_outs[0]._data)
        dtype = xp.result_type(*[o._data for o in diff_outs])
        node.shapes = [(o.shape, o._data.size) for o in diff_outs]
        flat = xp.concatenate([o._data.astype(dtype, copy=False).ravel() for o in diff_outs])
        packed = Tensor._make(flat, True)
    packed._ctx = node
    if _hooks.FORWARD_HOOKS:
        for hook in tuple(_hooks.FORWARD_HOOKS):
            hook(node, inputs, packed)
    if node.shapes is not None:
        start = 0
        for i, d in enumerate(diff):
            if d:
                size = outs[i]._data.size
                piece = packed[start : start + size].reshape(outs[i].shape)
                same = piece._data.dtype == outs[i]._data.dtype
                results[i] = piece if same else piece.astype(outs[i]._data.dtype)
                start += size
    return results[0] if single else tuple(results)


def _bind(cls, with_setup: bool, args: tuple, kwargs: dict) -> tuple:
    """``(args, kwargs)`` of a call with every argument that ``forward`` can take by position
    moved into ``args`` (defaults filled in for the gaps before one given by keyword), so a
    tensor passed as ``x=t`` is an input of the graph node as ``t`` would be. What is left in
    ``kwargs`` are keyword-only arguments, which must not be tensors that require grad."""
    sig = cls.__dict__.get("_glassnet_forward_signature")
    if sig is None:  # inspected once per class
        sig = inspect.signature(cls.forward)
        type.__setattr__(cls, "_glassnet_forward_signature", sig)
    lead = () if with_setup else (None,)  # forward(ctx, ...) without setup_context
    try:
        bound = sig.bind(*lead, *args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: {e} (arguments bound to forward's)") from None
    positional = {
        name
        for name, p in sig.parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    if with_setup or any(name in positional for name in bound.kwargs):
        bound.apply_defaults()  # a gap before an argument given by keyword (PyTorch fills it)
    new_args = bound.args[len(lead) :]
    new_kwargs = bound.kwargs
    for name, value in new_kwargs.items():
        if isinstance(value, Tensor) and value.requires_grad:
            raise TypeError(
                f"{cls.__name__}.apply: the tensor passed as keyword-only argument {name!r} "
                "requires grad, but only forward's positional parameters are graph inputs "
                "(backward returns one gradient per positional argument); make it a "
                "positional parameter of forward"
            )
    return new_args, new_kwargs


def _user_method(cls, *names):
    """The first of ``names`` that ``cls`` or a user base class defines (not glassnet's)."""
    for name in names:
        for klass in cls.__mro__:
            if klass.__module__.startswith("glassnet.autograd"):
                break
            if name in vars(klass):
                return getattr(cls, name)
    raise NotImplementedError(
        f"{cls.__name__} has no backward: a custom autograd.Function used in backward must "
        "define @staticmethod backward(ctx, *grad_outputs) returning one gradient per forward "
        "argument (None for an argument without one)"
    )


def _own_statics(cls) -> set:
    """Static methods defined by ``cls`` or a user base class (not glassnet's own bases)."""
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("glassnet.autograd"):
            break
        names.update(k for k, v in vars(klass).items() if isinstance(v, staticmethod))
    return names


def _xp(array):
    from glassnet.backend import xp_of

    return xp_of(array)


def _zeros_like(array):
    return _xp(array).zeros_like(array)


_function.CTX_FORM_ADAPTERS.append(adapt)  # Function.__init_subclass__ hands ctx-form classes here
