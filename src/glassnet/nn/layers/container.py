"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict`` (PyTorch's semantics)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from glassnet.nn.module import Module


def _check_module(value, where: str) -> Module:
    if not isinstance(value, Module):
        fix = ""
        if callable(value):
            fix = "; wrap a function in a Module subclass whose forward calls it"
        raise TypeError(f"{where} holds Modules, got {type(value).__name__}{fix}")
    return value


class Sequential(Module):
    """Chain modules: y = f_n(...f_2(f_1(x))). Backprop runs the chain rule through them in
    reverse order.

    Build it from modules (named ``0``, ``1``, ...) or from an ``OrderedDict`` of names to
    modules; index it (``model[0]``, ``model[-1]``, ``model[1:3]`` gives a Sequential), iterate
    it, ``len`` it and ``append`` to it. ``state_dict`` keys are ``0.weight``, ``2.bias``, ...

    >>> import glassnet as gn
    >>> from glassnet import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    >>> model(gn.zeros(8, 1, 28, 28)).shape
    (8, 10)
    >>> len(model), type(model[1:3]).__name__, list(model.state_dict())[:2]
    (4, 'Sequential', ['1.weight', '1.bias'])
    """

    def __init__(self, *modules) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(str(name), _check_module(module, "Sequential"))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module(module, "Sequential"))

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"Sequential index {idx} is out of range for {n} modules")
        return list(self._modules)[idx % n]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            keys = list(self._modules)[idx]
            return type(self)(OrderedDict((k, self._modules[k]) for k in keys))
        if isinstance(idx, str):
            return self._modules[idx]
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(self._index(idx), _check_module(module, "Sequential"))

    def __delitem__(self, idx) -> None:
        """Delete by index or slice, then renumber the rest 0..n-1, as PyTorch (a named
        Sequential's names become numbers too)."""
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._index(idx)]
        for k in keys:
            del self._modules[k]
        self._renumber(list(self._modules.values()))

    def _renumber(self, modules: list) -> None:
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m
        self._changed()

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position)."""
        self.add_module(str(len(self)), _check_module(module, "Sequential"))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (negative counts from the end)."""
        n = len(self)
        if not isinstance(index, int) or not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index!r} is out of range for {n} modules")
        if list(self._modules) != [str(i) for i in range(n)]:
            raise ValueError(
                "Sequential.insert needs modules named 0..n-1 (PyTorch fails on a Sequential "
                "built from an OrderedDict too); use add_module(name, module) instead"
            )
        items = list(self._modules.values())
        items.insert(index, _check_module(module, "Sequential"))
        self._renumber(items)
        return self

    def pop(self, key: int | slice):
        """Remove and return the module (or Sequential of modules) at ``key``; renumbers."""
        value = self[key]
        del self[key]
        return value

    def __add__(self, other: Sequential) -> Sequential:
        """A new Sequential of this one's modules then ``other``'s (the modules are shared)."""
        if not isinstance(other, Sequential):
            raise ValueError(
                "Sequential + supports only another Sequential, got " + type(other).__name__
            )
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(
                "Sequential += supports only another Sequential, got " + type(other).__name__
            )
        return self.extend(list(other))

    def __mul__(self, times: int) -> Sequential:
        """A new Sequential repeating these modules ``times`` times (the same modules, shared
        parameters, as PyTorch)."""
        if not isinstance(times, int) or isinstance(times, bool):
            raise TypeError(f"Sequential * expects an int, got {type(times).__name__}")
        if times <= 0:
            raise ValueError(f"Sequential * expects a positive int, got {times}")
        return Sequential(*(list(self) * times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> Sequential:
        repeated = self * times
        self._renumber(list(repeated))
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered (``0.weight``, ``1.weight``, ...).

    Use it when forward loops over layers itself (a plain Python list would hide them from
    ``parameters()`` and ``state_dict()``).

    >>> from glassnet import nn
    >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx: int) -> int:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"ModuleList index {idx} is out of range for {n} modules")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(self._index(idx)), _check_module(module, "ModuleList"))

    def __delitem__(self, idx) -> None:
        items = list(self._modules.values())
        del items[idx if isinstance(idx, slice) else self._index(idx)]
        self._renumber(items)

    def _renumber(self, modules: list) -> None:
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m
        self._changed()

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _check_module(module, "ModuleList"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend expects an iterable of Modules, got one Module")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``); renumbers."""
        items = list(self._modules.values())
        items.insert(index, _check_module(module, "ModuleList"))
        self._renumber(items)

    def pop(self, key: int | slice):
        """Remove and return the module (or ModuleList) at ``key``; renumbers."""
        value = self[key]
        del self[key]
        return value

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        """A new ModuleList of these modules then ``other``'s (the modules are shared)."""
        return ModuleList([*self, *other])

    def __iadd__(self, other: Iterable[Module]) -> ModuleList:
        return self.extend(other)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleList has no forward: loop over it in your module's forward, "
            "or use nn.Sequential to chain the layers"
        )


class ModuleDict(Module):
    """A dict of modules registered under their keys (``encoder.weight``, ...).

    >>> from glassnet import nn
    >>> heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})
    >>> sorted(heads.keys()), "cls" in heads
    (['cls', 'reg'], True)
    """

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        self._changed()

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()
        self._changed()

    def update(self, modules) -> None:
        """Add or replace modules from a mapping, a ModuleDict or an iterable of
        ``(key, module)`` pairs (in order)."""
        if isinstance(modules, (Mapping, ModuleDict)):
            items = modules.items()
        else:
            items = key_value_pairs(modules, "ModuleDict.update", "module")
        for key, module in items:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleDict has no forward: pick modules by key in your module's forward"
        )


def key_value_pairs(iterable, where: str, what: str) -> list:
    """The ``(key, value)`` pairs of an iterable given to a dict container's ``update``; an
    element that is not a pair raises, naming it (PyTorch's check)."""
    items = []
    for j, pair in enumerate(iterable):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(
                f"{where}: element #{j} should be a (key, {what}) pair, got {type(pair).__name__}"
            )
        items.append(pair)
    return items
