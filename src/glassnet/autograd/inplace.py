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

__all__ = ["minus", "over", "plus", "rebase", "rebase_view", "times"]


def rebase(self, opname: str, compute, *args, keep_old: bool = True):
    """Record an in-place change: this tensor's values become ``compute(old, *args)`` (ops
    on a snapshot ``old`` of them, with this tensor's former graph node) and this tensor
    takes the result's node, so gradients flow to ``old``'s graph and to the arguments.
    ``keep_old=False`` when ``compute`` never reads ``old``'s values (a write): the
    snapshot then shares this tensor's storage instead of copying it. Ops that used this
    tensor before the change see its version bumped and raise in backward, as in PyTorch.
    """
    if _views_another_tensor(self):
        raise ValueError(
            f"{opname}: an in-place change that autograd must record (the value requires "
            "grad, or this tensor is an intermediate) into a view of another tensor is "
            "not supported: glassnet cannot update the other tensor's graph. Write into "
            "the tensor itself (x[i] = v rather than x[i][:] = v), or build the result "
            "out of place (torch.stack / torch.cat / torch.where)"
        )
    if self._ctx is not None:
        if type(self._ctx).is_view:  # a view op that had to copy (reshape of a transposed
            self._vc = [self._vc[0]]  # tensor): a tensor of its own, as in PyTorch
        _keep_saved_values(self._ctx, self._data)
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
    if fn is not None:
        fn.snapshot = old  # an input that may share this storage by design (a write)
        if fn.saves_output:
            fn.out_version = self._vc[0]
    self._ctx, self.requires_grad = fn, new.requires_grad
    return self


def rebase_view(self, op, *args):
    """Record an in-place change of the shape (``t_``, ``unsqueeze_``, ``transpose_``, ...)
    of an intermediate, as PyTorch: this tensor becomes the view ``op(old, *args)`` of its
    own storage and takes that view op's node, so the gradient reaching it flows back
    through the view to its former graph node. Ops that saved this tensor before see its
    version bumped and raise in backward, as in PyTorch.
    """
    old = self._make(self._data, self.requires_grad)
    old._ctx = self._ctx
    self._bump()
    old._vc = [self._vc[0]]
    new = op(old, *args)
    self._data = new._data
    self._ctx, self.requires_grad = new._ctx, new.requires_grad
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


def _views_another_tensor(t) -> bool:
    """Whether ``t``'s storage may belong to another tensor. An op's result can be a NumPy
    view of a buffer the op made for itself (a convolution's output is a transposed view of
    its matrix product): that storage is ``t``'s alone, and the write is recorded as for any
    intermediate. A result that may share memory with the op's inputs is a view of them; a
    tensor outside the graph with a NumPy base cannot be told apart and counts as a view
    (the write raises rather than lose the other tensor's graph)."""
    from glassnet.backend import xp_of

    data = t._data
    fn = t._ctx
    if fn is None or not fn.track:
        return getattr(data, "base", None) is not None
    xp = xp_of(data)
    snapshot = getattr(fn, "snapshot", None)  # set by an earlier rebase of t
    # (also an op that hands back its input's array unchanged shares its memory)
    return any(xp.may_share_memory(data, x._data) for x in fn.inputs if x is not snapshot)


_NODE_FIELDS = frozenset(("inputs", "arrays", "versions", "needs_input_grad"))


def _keep_saved_values(fn, data) -> None:
    """Give ``fn`` (the node that made ``data``, about to change in place) private copies of
    the arrays it kept that share ``data``'s memory. A node may keep its output's values
    under its own attributes for backward (max_pool2d keeps its output to route the
    gradient), where the engine's version check does not see them; PyTorch's node keeps
    what it saved (indices there), so the change must not reach it. (A node that saved its
    output in ``arrays`` declares it, and the engine raises, as PyTorch does.)"""
    from glassnet.backend import xp_of

    xp = xp_of(data)
    kind = type(data)

    def private(value):
        if type(value) is kind and xp.may_share_memory(value, data):
            return value.copy()
        return value

    for name, value in list(vars(fn).items()):
        if name in _NODE_FIELDS:
            continue
        if type(value) is kind:
            setattr(fn, name, private(value))
        elif type(value) in (tuple, list) and any(type(v) is kind for v in value):
            setattr(fn, name, type(value)(private(v) for v in value))


def adopt(self, out, opname: str):
    """Record ``self`` becoming ``out``, a result computed out of place from ``self`` by a
    few ops (an activation's ``inplace=True``: ``F.relu(h, inplace=True)``), as PyTorch
    records the in-place op: the nodes between ``out`` and ``self`` are rewired to read a
    snapshot ``old`` of ``self`` (its values and former node; they were recorded a moment
    ago, so nothing else uses them), ``out``'s values are written into ``self``'s storage and
    ``self`` takes ``out``'s node (``self`` is an intermediate: it has a node).
    """
    if _views_another_tensor(self):
        raise ValueError(
            f"{opname}: an in-place change that autograd must record into a view of another "
            "tensor is not supported: glassnet cannot update the other tensor's graph. Use "
            "the out-of-place form (inplace=False) and assign its result"
        )
    if type(self._ctx).is_view:  # a view op's copy: a tensor of its own
        self._vc = [self._vc[0]]
    _keep_saved_values(self._ctx, self._data)
    old = self._make(self._data.copy(), True)
    old._ctx, old._vc = self._ctx, [self._vc[0]]  # the version the rewired nodes recorded
    seen, stack = set(), [out]
    while stack:
        fn = stack.pop()._ctx
        if fn is None or id(fn) in seen or not fn.track:
            continue
        seen.add(id(fn))
        if any(x is self for x in fn.inputs):
            fn.inputs = tuple(old if x is self else x for x in fn.inputs)
            _swap_arrays(fn, self._data, old._data)
        stack.extend(x for x in fn.inputs if x is not old)
    self._bump()
    self._data[...] = out._data
    fn = out._ctx
    if fn is not None and fn.saves_output:
        fn.out_version = self._vc[0]
    self._ctx, self.requires_grad = fn, out.requires_grad
    return self


def _swap_arrays(fn, data, replacement) -> None:
    """Point every array ``fn`` keeps that *is* ``data`` (its saved inputs, or one it keeps
    under its own attribute) at ``replacement``."""
    for name, value in list(vars(fn).items()):
        if name in ("inputs", "versions", "needs_input_grad"):
            continue
        if value is data:
            setattr(fn, name, replacement)
        elif type(value) in (tuple, list) and any(v is data for v in value):
            setattr(fn, name, type(value)(replacement if v is data else v for v in value))
