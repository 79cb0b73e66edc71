"""PyTorch's ``torch.autograd.functional``: Jacobians, Hessians and their products with a vector.

For f: inputs -> outputs with Jacobian J = df/dx (and, for a scalar f, Hessian H = d^2f/dx^2):

    vjp(f, x, v) = v^T J         (one backward pass)
    jvp(f, x, v) = J v           (the double-backward trick: J v = d/du <J^T u, v>, exact,
                                  since J^T u is linear in u)
    vhp(f, x, v) = v^T H         (backward of the gradient)
    hvp(f, x, v) = H v           (double-backward trick on the gradient)
    jacobian(f, x)  = J          (row i is e_i^T J: one backward pass per output element)
    hessian(f, x)   = H          (the jacobian of the gradient)

The output structure is PyTorch's: a function of one tensor gives a tensor, a function of a
tuple of tensors a tuple (per input, per output, or per output then input for a Jacobian).
Results are detached unless ``create_graph=True``. An output independent of an input gives
zeros (``strict=True`` raises instead).
"""

from __future__ import annotations

from glassnet.autograd.api import grad as autograd_grad
from glassnet.autograd.grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from glassnet.backend import xp_of
from glassnet.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_OUT = "outputs of the user-provided function"


def _as_tuple(inp, arg_name: str, fn_name: str):
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but {where} has type {type(el)}."
            )
    return is_tuple, items


def _preprocess(inputs, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh stand-ins: inside the caller's graph under ``create_graph``, else detached."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.clone())
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _postprocess(values, create_graph: bool):
    if isinstance(values, Tensor):
        return values if create_graph else values.detach()
    return tuple(_postprocess(v, create_graph) for v in values)


def _tuple_postprocess(res, to_unpack):
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(r[0] for r in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _check_requires_grad(values, what: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(values):
        if t is None:
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if not t.requires_grad:
            raise RuntimeError(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."
            )


def _validate_v(v, other, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.shape != el_other.shape:
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {tuple(el_other.shape)} but got "
                f"{tuple(el_v.shape)}."
            )


def _grad(outputs, inputs, grad_outputs=None, create_graph=False) -> tuple:
    """autograd.grad over the outputs that require grad (None for an unreached input)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    keep = [i for i, o in enumerate(outputs) if o is not None and o.requires_grad]
    if not keep:
        return (None,) * len(inputs)
    return autograd_grad(
        [outputs[i] for i in keep],
        list(inputs),
        [grad_outputs[i] for i in keep],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )


_STRICT = {
    "back": "The output of the user-provided function is independent of input {i}.",
    "back_trick": (
        "The gradient with respect to the input is independent of entry {i} in the "
        "grad_outputs when using the double backward trick to compute forward mode gradients."
    ),
    "double_back": "The jacobian of the user-provided function is independent of input {i}.",
    "double_back_trick": (
        "The hessian of the user-provided function is independent of entry {i} in the grad "
        "jacobian."
    ),
}


def _fill_in_zeros(grads, refs, strict: bool, create_graph: bool, stage: str) -> tuple:
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(
                    _STRICT[stage].format(i=i) + " This is not allowed in strict mode."
                )
            g = Tensor._make(xp_of(ref._data).zeros_like(ref._data), False)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(
                _STRICT[stage].format(i=i)
                + " This is not allowed in strict mode when create_graph=True."
            )
        out.append(g)
    return tuple(out)


def _v_or_none(v, refs, is_refs_tuple, create_graph, fn_name, what):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _preprocess(v, create_graph, need_graph=False)
        _validate_v(v, refs, is_refs_tuple)
        return v
    if len(refs) != 1 or refs[0]._data.size != 1:
        raise RuntimeError(
            f"The vector v can only be None if the {what} is a single Tensor with a single element."
        )
    return None


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product, shaped like ``inputs``."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), _OUT, "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        what = "user-provided function returns"
        v = _v_or_none(v, outputs, is_outputs_tuple, create_graph, "vjp", what)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    return (
        _tuple_postprocess(_postprocess(outputs, create_graph), is_outputs_tuple),
        _tuple_postprocess(_postprocess(result, create_graph), is_inputs_tuple),
    )


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, shaped like the outputs."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        v = _v_or_none(v, inputs, is_inputs_tuple, create_graph, "jvp", "input to the "
                       "user-provided function")  # fmt: skip
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), _OUT, "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        us = tuple(
            Tensor._make(xp_of(o._data).zeros_like(o._data), False).requires_grad_(True)
            for o in outputs
        )
        grad_inputs = _grad(outputs, inputs, us, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _grad(grad_inputs, us, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    return (
        _tuple_postprocess(_postprocess(outputs, create_graph), is_outputs_tuple),
        _tuple_postprocess(_postprocess(result, create_graph), is_outputs_tuple),
    )


def _scalar_output(func, inputs, strict, fn_name):
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), _OUT, fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0]._data.size != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )
    return outputs


def _hessian_vector(func, inputs, v, create_graph, strict, fn_name):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        what = "input to the user-provided function"
        v = _v_or_none(v, inputs, is_inputs_tuple, create_graph, fn_name, what)
        outputs = _scalar_output(func, inputs, strict, fn_name)
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        if fn_name == "hvp":  # H v = d/du <H u, v>... as PyTorch: grad of (J^T u) in u
            us = tuple(
                Tensor._make(xp_of(t._data).zeros_like(t._data), False).requires_grad_(True)
                for t in inputs
            )
            jac = _grad(jac, inputs, us, create_graph=True)
            _check_requires_grad(jac, "hessian", strict)
            wrt, stage = us, "double_back_trick"
        else:
            wrt, stage = inputs, "double_back"
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _grad(jac, wrt, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, stage)
    return (
        _postprocess(outputs[0], create_graph),
        _tuple_postprocess(_postprocess(result, create_graph), is_inputs_tuple),
    )


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a function returning one single-element tensor."""
    return _hessian_vector(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a function returning one single-element tensor."""
    return _hessian_vector(func, inputs, v, create_graph, strict, "hvp")


def _check_strategy(strategy: str, vectorize: bool, strict: bool, fn_name: str) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            f'performant. Otherwise, prefer to use "reverse-mode". (got {strategy!r})'
        )
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
            "implemented for `vectorize=True`."
        )
    if strict and vectorize:
        raise RuntimeError(
            f"torch.autograd.functional.{fn_name}: `strict=True` and `vectorized=True` are "
            "not supported together. Please either set `strict=False` or `vectorize=False`."
        )


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """d func(inputs) / d inputs, each block of shape ``output.shape + input.shape``.

    ``vectorize`` and ``strategy="forward-mode"`` (which needs ``vectorize=True``, as in
    PyTorch) change only how PyTorch computes it; glassnet gives the same values by reverse
    mode, one backward pass per output element.
    """
    from glassnet.ops import stack

    _check_strategy(strategy, vectorize, strict, "jacobian")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), _OUT, "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        result = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for k in range(int(out._data.size)):
                vj = _grad((flat[k],), inputs, create_graph=create_graph)
                for j, (g, inp) in enumerate(zip(vj, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {j}. This is not allowed in strict mode."
                            )
                        g = Tensor._make(xp_of(inp._data).zeros_like(inp._data), False)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(
                            f"The jacobian of the user-provided function is independent of "
                            f"input {i}. This is not allowed in strict mode when "
                            "create_graph=True."
                        )
                    rows[j].append(g)
            blocks = []
            for r, inp in zip(rows, inputs):
                shape = tuple(out.shape) + tuple(inp.shape)
                if r:
                    blocks.append(stack(r).reshape(shape))
                else:  # an output with no elements
                    blocks.append(Tensor._make(xp_of(inp._data).zeros(shape, inp.dtype), False))
            result.append(tuple(blocks))
        result = _postprocess(tuple(result), create_graph)
    return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """d^2 func / d inputs^2 for a function returning one single-element tensor: a tensor of
    shape ``x.shape + x.shape`` for one input, else blocks ``H[i][j]`` of shape
    ``inputs[i].shape + inputs[j].shape``."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    _check_strategy(outer_jacobian_strategy, vectorize, strict, "hessian")

    def single_output(*inp):
        return _scalar_output(func, inp, strict, "hessian")[0].squeeze()

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))
