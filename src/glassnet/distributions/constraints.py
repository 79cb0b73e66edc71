"""Constraints on distribution parameters and supports (``torch.distributions.constraints``).

A constraint's ``check(array)`` returns a boolean array (NumPy or CuPy, same namespace as the
input) saying which entries satisfy it; :class:`~glassnet.distributions.Distribution` uses it
to validate parameters and the values given to ``log_prob`` (PyTorch's ``validate_args``).
"""

from __future__ import annotations

from glassnet.backend.device import xp_of


class Constraint:
    """A region of values. ``event_dim`` is the number of rightmost dims checked together."""

    event_dim = 0
    is_discrete = False

    def check(self, value):
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        return value == value  # not nan


class _GreaterThan(Constraint):
    def __init__(self, lower_bound, strict=True):
        self.lower_bound, self.strict = lower_bound, strict

    def check(self, value):
        return value > self.lower_bound if self.strict else value >= self.lower_bound

    def __repr__(self) -> str:
        kind = "GreaterThan" if self.strict else "GreaterThanEq"
        return f"{kind}(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, low, high, half_open=False):
        self.lower_bound, self.upper_bound, self.half_open = low, high, half_open

    def check(self, value):
        high_ok = value < self.upper_bound if self.half_open else value <= self.upper_bound
        return (value >= self.lower_bound) & high_ok

    def __repr__(self) -> str:
        kind = "HalfOpenInterval" if self.half_open else "Interval"
        return f"{kind}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, low, high):
        self.lower_bound, self.upper_bound = low, high

    def check(self, value):
        xp = xp_of(value)
        ok = (value % 1 == 0) & (value >= self.lower_bound)
        return ok & (value <= xp.asarray(self.upper_bound))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Multinomial(Constraint):
    """Nonnegative counts along the last dim summing to at most ``upper_bound`` (PyTorch's
    check, which does not test integrality)."""

    event_dim = 1
    is_discrete = True

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        xp = xp_of(value)
        return xp.all(value >= 0, axis=-1) & (value.sum(-1) <= self.upper_bound)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        xp = xp_of(value)
        return xp.all(value >= 0, axis=-1) & (xp.abs(value.sum(-1) - 1) < 1e-6)


class _OneHot(Constraint):
    event_dim = 1
    is_discrete = True

    def check(self, value):
        xp = xp_of(value)
        return xp.all((value == 0) | (value == 1), axis=-1) & (value.sum(-1) == 1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        xp = xp_of(value)
        lower = xp.all(xp.all(xp.tril(value) == value, axis=-1), axis=-1)
        return lower & xp.all(xp.diagonal(value, axis1=-2, axis2=-1) > 0, axis=-1)


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        xp = xp_of(value)
        sym = xp.all(xp.all(xp.abs(value - xp.swapaxes(value, -1, -2)) < 1e-6, axis=-1), axis=-1)
        return sym & xp.all(xp.linalg.eigvalsh(value) > 0, axis=-1)


class _IndependentConstraint(Constraint):
    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base, self.n = base, reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete

    def check(self, value):
        ok = self.base.check(value)
        xp = xp_of(ok)
        for _ in range(self.n):
            ok = xp.all(ok, axis=-1)
        return ok


real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, strict=False)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
simplex = _Simplex()
one_hot = _OneHot()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
greater_than = _GreaterThan
interval = _Interval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
multinomial = _Multinomial


def half_open_interval(low, high) -> Constraint:
    return _Interval(low, high, half_open=True)
