"""Recording an in-place change in the graph, as PyTorch records it.

When grad mode is on and an in-place write's value requires grad (``outputs[t] = h`` into a
tensor that requires none, ``buf.copy_(x)``) or the written tensor is an intermediate,
PyTorch records the write. glassnet does it by rebasing: the tensor's former graph node
moves to a snapshot ``old``, the write is computed as graph ops on ``old`` (``x[i] = v`` is
the op ``set_item``), its values are written into the tensor's storage, and the tensor takes
the result's node. Ops that used the tensor before see its version bumped and raise in
backward (as in PyTorch). A leaf that requires grad is never rebased (the in-place op
raises). Used by ``Tensor`` (``add_``, ``sub_``, ``mul_``, ``div_``) and the ops layer's
in-place methods (``__setitem__``, ``copy_``, the ``_`` forms).
"""

from __future__ import annotations

__all__ = ["minus", "over", "plus", "rebase", "times"]


def rebase(self, opname: str, compute, *args, keep_old: bool = True):
    """Record an in-place change: this tensor's values become ``compute(old, *args)`` (ops
    on a snapshot ``old`` of them, with this tensor's former graph node) and this tensor
    takes the result's node, so gradients flow to ``old``'s graph and to the arguments.
    ``keep_old=False`` when ``compute`` never reads ``old``'s values (a write): the
    snapshot then shares this tensor's storage instead of copying it. Ops that used this
    tensor before the change see its version bumped and raise in backward, as in PyTorch.
    """
    if getattr(self._data, "base", None) is not None:
        raise ValueError(
            f"{opname}: an in-place change that autograd must record (the value requires "
            "grad, or this tensor is an intermediate) into a view of another tensor is "
            "not supported: glassnet cannot update the other tensor's graph. Write into "
            "the tensor itself (x[i] = v rather than x[i][:] = v), or build the result "
            "out of place (torch.stack / torch.cat / torch.where)"
        )
    old = self._make(self._data.copy() if keep_old else self._data, self.requires_grad)
    old._ctx = self._ctx
    self._bump()
    old._vc = [self._vc[0]]  # a node that saved this tensor's former value sees the change
    # x.add_(x): the operand is x's former value; x itself would become an input of its own
    # new node (a cycle that loses the gradient)
    args = tuple(old if a is self else a for a in args)
    new = compute(old, *args)
    if new.shape != self.shape:
        raise ValueError(
            f"{opname}: the result's shape {new.shape} does not match this tensor's shape "
            f"{self.shape} (an in-place op cannot change the shape)"
        )
    if new._data is not self._data:
        self._data[...] = new._data
    fn = new._ctx
    if fn is not None and fn.saves_output:
        fn.out_version = self._vc[0]
    self._ctx, self.requires_grad = fn, new.requires_grad
    return self


# the out-of-place forms of Tensor's in-place arithmetic, recorded by ``rebase``
def plus(old, other, alpha):
    return old + (other if alpha == 1.0 else other * alpha)


def minus(old, other, alpha):
    return old - (other if alpha == 1.0 else other * alpha)


def times(old, other):
    return old * other


def over(old, other):
    return old / other
