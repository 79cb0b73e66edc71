"""The :class:`Distribution` base class (``torch.distributions.Distribution``).

Shapes: a draw of ``sample(sample_shape)`` has shape ``sample_shape + batch_shape +
event_shape``; ``log_prob(value)`` reduces the event dims, so it has shape ``sample_shape +
batch_shape``. Parameters are checked against ``arg_constraints`` at construction and values
against ``support`` in ``log_prob`` unless ``validate_args=False`` (on by default, as in
PyTorch, which keeps it on unless Python runs with ``-O``): an invalid one raises ValueError.
"""

from __future__ import annotations

import functools
import math
import numbers

from glassnet.autograd.grad_mode import enable_grad
from glassnet.backend.device import xp_of
from glassnet.creation import tensor as _tensor
from glassnet.ops import broadcast_tensors
from glassnet.tensor import Tensor


class lazy_property(functools.cached_property):  # noqa: N801 - PyTorch's name
    """A parameter computed from another on first use and cached (``probs`` from ``logits``),
    as PyTorch's ``torch.distributions.utils.lazy_property``: computed under ``enable_grad``,
    so a first use inside ``no_grad`` (``sample`` reads ``probs`` there) does not cache a
    detached tensor that would cut the gradient of a later ``entropy()`` or ``log_prob``."""

    def __get__(self, instance, owner=None):
        if instance is None or self.attrname in instance.__dict__:
            return super().__get__(instance, owner)
        with enable_grad():
            return super().__get__(instance, owner)


LOG_2PI = math.log(2 * math.pi)


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """Tensors of one broadcast shape from tensors and Python numbers (PyTorch's
    ``torch.distributions.utils.broadcast_all``); numbers take the tensors' dtype."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise TypeError(f"distribution parameters must be tensors or numbers, got {type(v)}")
    like = tensors[0] if tensors else None
    dtype = like.dtype if like is not None and like.dtype.kind == "f" else None
    device = like.device if like is not None else None
    out = [v if isinstance(v, Tensor) else _tensor(float(v), dtype=dtype, device=device)
           for v in values]  # fmt: skip
    out = [v if v.dtype.kind == "f" else v.float() for v in out]
    return tuple(broadcast_tensors(*out)) if len(out) > 1 else tuple(out)


def _size(sample_shape) -> tuple[int, ...]:
    if isinstance(sample_shape, (tuple, list)) and all(isinstance(d, int) for d in sample_shape):
        return tuple(sample_shape)
    raise TypeError(f"sample_shape must be a tuple of ints (a torch.Size), got {sample_shape!r}; "
                    "write sample((n,)) for n draws")  # fmt: skip


class Distribution:
    """Base class: subclasses set ``arg_constraints``, ``support``, ``has_rsample`` and
    implement ``rsample``/``sample``, ``log_prob``, ``entropy``, ``mean``, ``variance``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation on or off for distributions made from now on (PyTorch's
        ``Distribution.set_default_validate_args``)."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args expects True or False")
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = self._validate_default if validate_args is None else validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                value = self._param_value(name)
                if value is None:
                    continue  # not given: derived from another parameter (probs from logits)
                if not bool(xp_of(value._data).all(constraint.check(value._data))):
                    raise ValueError(
                        f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but "
                        f"found invalid values:\n{value}"
                    )

    def _param_value(self, name: str):
        """The parameter ``name``: an attribute set in ``__init__``, or a plain property (a
        TransformedDistribution's ``loc`` read from its base); None where it is lazy (not
        given: ``probs`` of a distribution made from ``logits``)."""
        if name in self.__dict__:
            return self.__dict__[name]
        if isinstance(getattr(type(self), name, None), property):
            return getattr(self, name)
        return None

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple[int, ...]:
        return _size(sample_shape) + self._batch_shape + self._event_shape

    def expand(self, batch_shape, _instance=None):
        """The distribution with its parameters broadcast to ``batch_shape`` (a view)."""
        batch_shape = tuple(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        n = len(self._batch_shape)
        for name in self.arg_constraints:
            if name in self.__dict__ and isinstance(self.__dict__[name], Tensor):
                p = self.__dict__[name]
                new.__dict__[name] = p.expand(*batch_shape, *p.shape[n:])
        new._batch_shape = batch_shape
        return new

    def sample(self, sample_shape=()) -> Tensor:
        """A draw (no gradient) of shape ``sample_shape + batch_shape + event_shape``."""
        from glassnet.autograd.grad_mode import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} has no reparameterized sample (has_rsample is False, as in "
            "PyTorch); use sample() (no gradient) and the score-function estimator "
            "(log_prob(sample) * reward)"
        )

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def _validate_sample(self, value) -> None:
        """PyTorch's checks of a ``log_prob`` argument: a tensor, within the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        support = self.support
        if support is None or not self._validate_args:
            return
        if not bool(xp_of(value._data).all(support.check(value._data))):
            raise ValueError(
                f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within "
                f"the support ({support!r}) of the distribution {self!r}, but found invalid "
                f"values:\n{value}"
            )

    def __repr__(self) -> str:
        values = {k: self._param_value(k) for k in self.arg_constraints}
        values = {k: v for k, v in values.items() if isinstance(v, Tensor)}
        shown = {k: v if v.numel() == 1 else tuple(v.shape) for k, v in values.items()}
        args = ", ".join(f"{k}: {v}" for k, v in shown.items())
        return f"{type(self).__name__}({args})"
