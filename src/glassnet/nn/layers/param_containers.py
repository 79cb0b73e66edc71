"""``ParameterList`` and ``ParameterDict``: parameters registered by position or key, with
PyTorch's semantics (``0``, ``1``, ... or the keys are the ``state_dict`` names)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from glassnet.nn.layers.container import key_value_pairs
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


def _as_parameter(value):
    """A plain tensor becomes a Parameter (PyTorch's containers do the same)."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value.detach())
    return value


def _describe(value) -> str:
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(s) for s in value.shape)
        return f"{kind} containing: [{value.dtype} of size {size}]"
    return f"Object of type: {type(value).__name__}"


def _set(module: Module, name: str, value) -> None:
    value = _as_parameter(value)
    if isinstance(value, Parameter) and name not in module._parameters:
        module.register_parameter(name, value)  # PyTorch's name checks
    else:
        setattr(module, name, value)


class ParameterList(Module):
    """A list of parameters registered under ``0``, ``1``, ...: they appear in
    ``parameters()`` and ``state_dict()``. Plain tensors are wrapped in Parameters.

    >>> import glassnet as gn
    >>> weights = gn.nn.ParameterList([gn.zeros(2), gn.ones(3)])
    >>> len(weights), [name for name, _ in weights.named_parameters()]
    (2, ['0', '1'])
    """

    def __init__(self, values: Iterable | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _abs(self, idx: int) -> int:
        n = self._size
        if isinstance(idx, bool) or not isinstance(idx, int) or not -n <= idx < n:
            raise IndexError(f"ParameterList index {idx!r} is out of range for {n} parameters")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, str(self._abs(idx)))

    def __setitem__(self, idx: int, value) -> None:
        _set(self, str(self._abs(idx)), value)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator:
        return (self[i] for i in range(self._size))

    def __iadd__(self, values: Iterable) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        """Add ``value`` at the end (a tensor becomes a Parameter)."""
        self._size += 1
        _set(self, str(self._size - 1), value)
        return self

    def extend(self, values: Iterable) -> ParameterList:
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(
                "ParameterList.extend should be called with an iterable of tensors, got "
                + type(values).__name__
            )
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        lines = [f"  ({i}): {_describe(v)}" for i, v in enumerate(self)]
        return "\n" + "\n".join(lines) + "\n" if lines else ""

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward: index it in your forward")


class ParameterDict(Module):
    """A dict of parameters registered under their (string) keys; plain tensors are wrapped
    in Parameters. As PyTorch, ``update`` with a plain dict adds its keys in sorted order
    (an ``OrderedDict``, a ParameterDict or a list of pairs keep theirs).

    >>> import glassnet as gn
    >>> params = gn.nn.ParameterDict({"scale": gn.ones(3), "shift": gn.zeros(3)})
    >>> list(params.state_dict()), "scale" in params
    (['scale', 'shift'], True)
    """

    def __init__(self, parameters=None) -> None:
        super().__init__()
        self._keys: dict = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key) -> str:
        if not isinstance(key, str):
            raise TypeError(
                "ParameterDict keys must be strings (they are the state_dict names), got "
                + type(key).__name__
            )
        return key

    def __getitem__(self, key: str):
        if key not in self._keys:
            raise KeyError(f"ParameterDict has no key {key!r}; keys: {list(self._keys)}")
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        _set(self, self._check_key(key), value)
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key) -> bool:
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def get(self, key: str, default=None):
        return self[key] if key in self._keys else default

    def setdefault(self, key: str, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        return ParameterDict([(k, default) for k in keys])

    def update(self, parameters) -> None:
        """Add or replace from an OrderedDict / ParameterDict (in order), a plain mapping
        (sorted by key, as PyTorch) or an iterable of ``(key, value)`` pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            items = list(parameters.items())
        elif isinstance(parameters, Mapping):
            items = sorted(parameters.items())
        else:
            items = key_value_pairs(parameters, "ParameterDict.update", "value")
        for key, value in items:
            self[key] = value

    def __or__(self, other: ParameterDict) -> ParameterDict:
        out = self.copy()
        out.update(other)
        return out

    def __ior__(self, other: ParameterDict) -> ParameterDict:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        lines = [f"  ({k}): {_describe(self[k])}" for k in self._keys]
        return "\n" + "\n".join(lines) + "\n" if lines else ""

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward: pick parameters by key")
