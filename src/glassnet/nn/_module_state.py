"""``Module.state_dict`` / ``load_state_dict`` with PyTorch's keys and return value.

PyTorch's state_dict walks the module tree without removing duplicates: a layer reachable
under two names (``nn.Sequential(layer, layer)``) is saved under both (``0.weight`` and
``1.weight``), while ``parameters()`` lists its weight once. Loading walks the same names,
so a checkpoint of such a model loads with ``strict=True`` (both names copy into the one
tensor).
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from glassnet.autograd.grad_mode import no_grad
from glassnet.backend import to_device
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, as PyTorch: ``missing, unexpected = ...`` or
    ``result.missing_keys`` / ``result.unexpected_keys``."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class LoadStateDictError(ValueError, RuntimeError):
    """``load_state_dict`` failed: a ValueError (glassnet's convention) that is also the
    RuntimeError PyTorch raises, so ``except RuntimeError:`` in ported code still catches it."""


def _named_state(module, prefix: str, out: list) -> None:
    """Every ``(key, owner, name, tensor)`` that ``state_dict`` saves, shared layers under each
    of their names (PyTorch's recursion has no memo)."""
    for name, p in module._parameters.items():
        if p is not None:
            out.append((prefix + name, module, name, p))
    for name, b in module._buffers.items():
        if b is not None and name not in module._non_persistent:
            out.append((prefix + name, module, name, b))
    for name, child in module._modules.items():
        if child is not None:
            _named_state(child, f"{prefix}{name}.", out)


class StateDictMixin:
    """The state methods of :class:`~glassnet.nn.Module` (kept here to keep module.py short)."""

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """This module's own parameters and persistent buffers (PyTorch's hook point)."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name, as PyTorch's ``state_dict``.

        Every name of a shared layer is listed (``nn.Sequential(l, l)`` gives ``0.weight``,
        ``0.bias``, ``1.weight``, ``1.bias``), as PyTorch does. Values are detached tensors
        sharing the data (``keep_vars=True``: the Parameters and buffers themselves).

        Args:
            destination: a mapping to fill and return (default a new ``OrderedDict``).
            prefix: prepended to every key.
            keep_vars: return the Parameters themselves instead of detached tensors.

        >>> from glassnet import nn
        >>> layer = nn.Linear(2, 2)
        >>> list(nn.Sequential(layer, layer).state_dict())
        ['0.weight', '0.bias', '1.weight', '1.bias']
        """
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        return destination

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values into this module's parameters and buffers, matched by dotted name.

        Nothing is changed when a check fails: a ``ValueError`` (also a ``RuntimeError``, as
        PyTorch raises) lists every shape mismatch and, with ``strict=True``, every missing
        and unexpected key (``strict=False`` ignores missing and unexpected keys, never shape
        mismatches).

        Args:
            state_dict: names to tensors or arrays (a glassnet or converted PyTorch checkpoint).
            strict: require exactly this module's ``state_dict()`` keys.
            assign: as PyTorch: replace each parameter by a new Parameter holding the given
                tensor's data (its dtype and device kept, no copy) and each buffer by the
                given tensor, instead of copying into the existing tensors. The parameters'
                ``requires_grad`` is kept; optimizers built before hold the old parameters.

        Returns:
            ``_IncompatibleKeys(missing_keys, unexpected_keys)``: a named tuple, as PyTorch.
        """
        entries: list = []
        _named_state(self, "", entries)
        own = {key for key, *_ in entries}
        missing = [key for key, *_ in entries if key not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, _, _, t in entries:
            if key in state_dict:
                shape = tuple(state_dict[key].shape)
                if shape != tuple(t.shape):
                    mismatched.append(f"{key}: checkpoint {shape} vs model {tuple(t.shape)}")
        problems = []
        if mismatched:
            problems.append("shape mismatch: " + "; ".join(dict.fromkeys(mismatched)))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise LoadStateDictError(
                f"load_state_dict into {type(self).__name__} failed: " + " | ".join(problems)
            )
        with no_grad():
            for key, owner, name, t in entries:
                if key not in state_dict:
                    continue
                value = state_dict[key]
                if assign:
                    _assign(owner, name, t, value)
                    continue
                arr = value._data if isinstance(value, Tensor) else np.asarray(value)
                t._data[...] = to_device(arr, t.device).astype(t.dtype, copy=False)
                t._vc[0] += 1
        return _IncompatibleKeys(missing, unexpected)


def _assign(owner, name: str, old: Tensor, value) -> None:
    """``load_state_dict(assign=True)``: the checkpoint's tensor replaces ``owner.name``."""
    if isinstance(old, Parameter):
        if not isinstance(value, Parameter):
            value = Parameter(value.detach() if isinstance(value, Tensor) else value)
        value.requires_grad = old.requires_grad
    elif not isinstance(value, Tensor):
        value = Tensor(np.asarray(value))
    setattr(owner, name, value)
