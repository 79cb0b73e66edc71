"""``gn.Generator``: PyTorch's ``torch.Generator``, a seedable source of random numbers on one
device, passed as ``generator=`` to the random functions (randn, rand, randint, randperm,
multinomial, bernoulli, normal, the ``*_like`` ones, dropout, Tensor.uniform_/normal_) and to
the data pipeline (DataLoader, RandomSampler, random_split).

A generator on a device draws there, from a generator of that device's array module (NumPy's
PCG64 on the CPU and the sim device, CuPy's cuRAND on a GPU): no host round trip. Drawing for
a device other than the generator's is an error, as in PyTorch. ``get_state()`` returns the
full state as a uint8 tensor on the CPU and ``set_state()`` restores it exactly; the bytes are
glassnet's own (the layout is in ``glassnet.backend.random``), not PyTorch's Mersenne Twister.
"""

from __future__ import annotations

import os

import numpy as np

from glassnet.backend import Device, get_default_device, get_rng
from glassnet.backend import random as _random
from glassnet.backend.random import new_rng, rng_state_bytes, set_rng_state_bytes
from glassnet.tensor import Tensor

__all__ = [
    "Generator",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "rng_for",
    "seed",
    "set_rng_state",
]

#: the seed of a new ``torch.Generator()`` (``torch.Generator().initial_seed()``)
DEFAULT_SEED = 67280421310721


class Generator:
    """A seedable random generator on ``device`` (``torch.Generator``).

    ``manual_seed(s)`` seeds it (and returns it, so ``Generator().manual_seed(0)`` chains),
    ``seed()`` seeds it from the OS and returns the seed, ``initial_seed()`` is the last seed,
    ``get_state()`` / ``set_state(t)`` save and restore it exactly. A new generator starts from
    PyTorch's default seed 67280421310721, so two new generators draw the same numbers.

    >>> import glassnet as gn
    >>> g = gn.Generator().manual_seed(0)
    >>> state = g.get_state()
    >>> a = gn.randn(3, generator=g)
    >>> bool((gn.randn(3, generator=g.set_state(state)) == a).all())
    True
    """

    def __init__(self, device="cpu"):
        self.device = Device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed) -> Generator:
        """Seed the generator with an int (negative seeds wrap modulo 2^64, as PyTorch's)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"Generator.manual_seed: seed must be an int, got {seed!r}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(f"Generator.manual_seed: seed must fit in 64 bits, got {seed}")
        self._seed = seed % 2**64
        self._rng = new_rng(self.device, self._seed)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed last given (by ``manual_seed`` or ``seed``)."""
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's full state as a 1-D uint8 tensor on the CPU."""
        return Tensor(rng_state_bytes(self._rng, self._seed), device="cpu")

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state()`` (of a generator on the same kind of device)."""
        self._seed = set_rng_state_bytes(self._rng, _state_array(new_state))
        return self

    @property
    def rng(self):
        """The array-module generator underneath (a ``numpy.random.Generator`` on the CPU)."""
        return self._rng

    def __repr__(self) -> str:
        return f"glassnet.Generator(device='{self.device}', initial_seed={self._seed})"


def _state_array(new_state) -> np.ndarray:
    if not isinstance(new_state, Tensor) or new_state.dtype != np.uint8:
        raise TypeError(
            "Generator.set_state: the state must be the uint8 tensor get_state() returned, "
            f"got {getattr(new_state, 'dtype', type(new_state).__name__)}"
        )
    return new_state.numpy().reshape(-1)


class _DefaultGenerator(Generator):
    """glassnet's global host generator (the one ``gn.manual_seed`` seeds and every random
    function uses without ``generator=``) as a :class:`Generator` object: PyTorch's
    ``torch.default_generator``. Seeding or restoring it acts on the global generator."""

    def __init__(self) -> None:  # no state of its own: it reads the global generator
        self.device = Device("cpu")

    @property
    def _rng(self):
        return get_rng()  # looked up on each use: manual_seed replaces the generator

    @property
    def _seed(self) -> int:
        return _random._SEED[0]

    def manual_seed(self, seed) -> Generator:
        """Seed glassnet's generators (the host one and every device's), as ``gn.manual_seed``."""
        _random.manual_seed(seed)
        return self

    def seed(self) -> int:
        s = int.from_bytes(os.urandom(8), "little")
        _random.manual_seed(s)
        return s

    def set_state(self, new_state) -> Generator:
        _random._SEED[0] = set_rng_state_bytes(get_rng(), _state_array(new_state))
        return self

    def __repr__(self) -> str:
        return f"glassnet.default_generator(initial_seed={self._seed})"


#: glassnet's global host generator as a Generator (``torch.default_generator``)
default_generator = _DefaultGenerator()


def manual_seed(seed) -> Generator:
    """Seed glassnet's generators (the host one and every device's) and return
    :data:`default_generator`, as ``torch.manual_seed``.

    >>> import glassnet as gn
    >>> gn.manual_seed(0).initial_seed()
    0
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed glassnet's generators from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed glassnet's generators were last seeded with (0 until ``manual_seed``: glassnet
    starts seeded, PyTorch from its own default seed)."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The global host generator's full state as a uint8 tensor (``torch.get_rng_state``);
    :func:`set_rng_state` restores it exactly. The bytes are glassnet's (PCG64), not
    PyTorch's Mersenne Twister state.

    >>> import glassnet as gn
    >>> state = gn.get_rng_state()
    >>> a = gn.rand(3)
    >>> gn.set_rng_state(state)
    >>> bool((gn.rand(3) == a).all())
    True
    """
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the global host generator from :func:`get_rng_state` (``torch.set_rng_state``)."""
    default_generator.set_state(new_state)


def rng_for(op: str, generator, device=None):
    """The generator an op draws from for ``device`` (default: the default device).

    ``generator=None``: glassnet's seeded generator of that device (``gn.manual_seed``);
    otherwise ``generator``'s own, which must live on that device.
    """
    if generator is None:
        return get_rng(device)
    if not isinstance(generator, Generator):
        raise TypeError(
            f"{op}: generator must be a glassnet Generator (gn.Generator().manual_seed(s)), got "
            f"{type(generator).__name__}"
        )
    want = get_default_device() if device is None else Device(device)
    if generator.device != want:
        raise ValueError(
            f"{op}: the generator is on '{generator.device}' but the result is drawn on "
            f"'{want}'; make the generator there (gn.Generator(device='{want}')) or ask for "
            f"device='{generator.device}'"
        )
    return generator.rng
