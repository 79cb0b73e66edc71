"""PyTorch's functional autograd entry points: ``autograd.grad`` and ``autograd.backward``.

Both run the one engine (:func:`glassnet.autograd.engine.run_backward`) from one output or
from several, whose gradients are summed where their graphs meet: for outputs y_1..y_k with
upstream gradients v_1..v_k (``grad_outputs``) and an input x,

    result(x) = sum_i  v_i^T dy_i/dx

``grad`` returns these without touching any ``.grad``; ``backward`` adds them into the
``.grad`` of every leaf (or only of ``inputs``), as ``Tensor.backward`` does.
"""

from __future__ import annotations

from glassnet.autograd.engine import check_inputs, run_backward
from glassnet.backend import xp_of
from glassnet.tensor import Tensor

__all__ = ["backward", "grad"]


def _roots(tensors, grads, what: str, grads_name: str):
    """(root, gradient) for the engine: one tensor and its gradient, or two lists."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    else:
        tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{what}: element {i} of the outputs is a {type(t).__name__}, not a tensor"
            )
    if not tensors:
        raise RuntimeError(f"{what}: no outputs to differentiate (an empty list)")
    if grads is None or isinstance(grads, Tensor):
        grads = [grads] * len(tensors) if grads is None else [grads]
    else:
        grads = list(grads)
    if len(grads) != len(tensors):
        raise RuntimeError(
            f"{what}: {grads_name} has {len(grads)} entries for {len(tensors)} outputs; give "
            "one per output (None for a one-element output)"
        )
    if len(tensors) == 1:
        return tensors[0], grads[0]
    return tensors, grads


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused=None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
):
    """Return d(outputs)/d(inputs) as a tuple of tensors, without touching any ``.grad``.

    ``outputs`` is a tensor or a sequence of tensors (their gradients are summed);
    ``grad_outputs`` the matching upstream gradients (None: 1 for one-element outputs). An
    input the outputs do not depend on raises, unless ``allow_unused=True`` (its entry is
    None) or ``materialize_grads=True`` (zeros). With ``create_graph=True`` the results are
    themselves differentiable, which gives second derivatives (a gradient penalty, d/dx of
    dy/dx). ``only_inputs`` is accepted and ignored (deprecated in PyTorch).

    >>> import glassnet as gn
    >>> x = gn.tensor(2.0, requires_grad=True)
    >>> (dy,) = gn.grad(x ** 3, [x], create_graph=True)   # 3 x^2 = 12
    >>> (d2y,) = gn.grad(dy, [x])                          # 6 x = 12
    >>> float(dy), float(d2y)
    (12.0, 12.0)
    """
    if is_grads_batched:
        raise NotImplementedError(
            "grad(is_grads_batched=True) (vmap over grad_outputs) is not supported; call "
            "grad once per row of grad_outputs"
        )
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "grad: materialize_grads=True needs allow_unused=True or unset (zeros stand for "
            "the unused inputs)"
        )
    allow_unused = materialize_grads if allow_unused is None else bool(allow_unused)
    inputs = check_inputs(inputs, "grad")
    root, root_grad = _roots(outputs, grad_outputs, "grad", "grad_outputs")
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(root, root_grad, retain, create_graph, capture=inputs)
    for i, g in enumerate(result):
        if g is not None:
            continue
        t = inputs[i]
        if materialize_grads:
            result[i] = Tensor._make(xp_of(t._data).zeros_like(t._data), False)
        elif not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) is not used to compute the outputs, so it "
                "has no gradient; pass allow_unused=True to get None for it (or "
                "materialize_grads=True for zeros)"
            )
    return tuple(result)


def backward(
    tensors,
    grad_tensors=None,
    retain_graph=None,
    create_graph: bool = False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Add d(sum of tensors)/d(leaf) into every leaf's ``.grad`` (only into ``inputs``'s when
    given): ``Tensor.backward`` for several tensors at once, their gradients summed.

    ``grad_tensors`` holds one upstream gradient per tensor (None: 1 for a one-element
    tensor); ``grad_variables`` is PyTorch's deprecated name for it.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, 2.0], requires_grad=True)
    >>> gn.autograd.backward([(x * x).sum(), (3 * x).sum()])   # 2x + 3
    >>> x.grad.tolist()
    [5.0, 7.0]
    """
    if grad_variables is not None:
        if grad_tensors is not None:
            raise TypeError(
                "backward: pass grad_tensors (grad_variables is its old name), not both"
            )
        grad_tensors = grad_variables
    root, root_grad = _roots(tensors, grad_tensors, "backward", "grad_tensors")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        run_backward(root, root_grad, retain, create_graph)
    else:
        wanted = check_inputs(inputs, "backward")
        run_backward(root, root_grad, retain, create_graph, wanted, None, True)
