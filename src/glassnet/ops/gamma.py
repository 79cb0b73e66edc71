"""The gamma family: ``lgamma``, ``digamma``, ``polygamma`` and ``mvlgamma`` (PyTorch's names),
computed in float64 on the host and returned in the input's dtype (on a GPU, CuPy's
``cupyx.scipy.special``, on the device).

ln Gamma(x) is libm's ``lgamma`` (exact). digamma psi = (ln Gamma)' and the polygammas
psi^(n) = d^n psi / dx^n use psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x), zeta the Hurwitz zeta
function: shift x up to x + k >= 12 by the recurrence (psi(x) = psi(x + 1) - 1/x, and
zeta(s, x) = x^-s + zeta(s, x + 1)), then the asymptotic (Euler-Maclaurin) series with the
Bernoulli numbers B_2 .. B_16, accurate to float64 rounding there. Each op's derivative is the
next one: d lgamma = digamma, d psi^(n) = psi^(n + 1), so they are differentiable to any order.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autograd.function import Function, value_check
from glassnet.backend import xp_of
from glassnet.ops._util import floating
from glassnet.tensor import Tensor

__all__ = ["digamma", "lgamma", "mvlgamma", "polygamma"]

_SHIFT = 12.0
# B_2k / (2k)! ... as used below: the Bernoulli numbers B_2, B_4, ..., B_16
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_math_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _poles(x):
    return (x <= 0) & (x == np.floor(x)) & np.isfinite(x)


def _lgamma_host(x):
    pole = _poles(x) | np.isinf(x)
    safe = np.where(pole | np.isnan(x), 1.0, x)
    out = np.asarray(_math_lgamma(safe), dtype=np.float64)
    return np.where(pole, np.inf, np.where(np.isnan(x), np.nan, out))


def _shifted(x):
    """(x shifted up to >= _SHIFT, and the list of (mask, value) terms taken off on the way)."""
    x = x.copy()
    terms = []
    while True:
        low = x < _SHIFT
        if not low.any():
            return x, terms
        terms.append((low, x.copy()))
        x = np.where(low, x + 1.0, x)


def _digamma_host(x):
    bad = np.isnan(x) | np.isneginf(x) | _poles(x)
    z = np.where(bad | np.isposinf(x), _SHIFT, x)
    big, terms = _shifted(z)
    inv2 = 1.0 / (big * big)
    series, power = 0.0, inv2
    for k, b in enumerate(_BERNOULLI, start=1):
        series = series + b / (2 * k) * power
        power = power * inv2
    out = np.log(big) - 0.5 / big - series
    for low, v in terms:
        out = out - np.where(low, 1.0 / np.where(low, v, 1.0), 0.0)
    out = np.where(np.isposinf(x), np.inf, out)
    return np.where(x == 0, -np.inf, np.where(bad, np.nan, out))


def _polygamma_host(n, x):
    s = n + 1
    pole = _poles(x)
    bad = np.isnan(x) | np.isneginf(x) | pole
    z = np.where(bad | np.isposinf(x), _SHIFT, x)
    big, terms = _shifted(z)
    # zeta(s, X) ~ X^(1-s)/(s-1) + X^-s/2 + sum_k B_2k/(2k)! s(s+1)...(s+2k-2) X^(-s-2k+1)
    out = big ** (1 - s) / (s - 1) + 0.5 * big**-s
    rising, fact = float(s), 2.0  # s (s+1) ... (s + 2k - 2) and (2k)!
    power = big ** (-s - 1)
    for k, b in enumerate(_BERNOULLI, start=1):
        out = out + b / fact * rising * power
        rising *= (s + 2 * k - 1) * (s + 2 * k)
        fact *= (2 * k + 1) * (2 * k + 2)
        power = power / (big * big)
    for low, v in terms:
        out = out + np.where(low, np.where(low, v, 1.0) ** -s, 0.0)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    out = sign * math.factorial(n) * out
    out = np.where(np.isposinf(x), 0.0, out)
    return np.where(pole, sign * np.inf, np.where(bad, np.nan, out))


def _values(x, name, host, n=None):
    xp = xp_of(x)
    if xp is not np:  # a device array: the device's own special functions (or the sim's)
        from glassnet.backend.special import gpu_polygamma, gpu_special

        return gpu_special(name, x, host) if n is None else gpu_polygamma(n, x, host)
    with np.errstate(all="ignore"):
        out = host(np.asarray(x, dtype=np.float64)) if n is None else host(n, x.astype(np.float64))
    return np.asarray(out, dtype=x.dtype)


class Lgamma(Function):
    """y = ln |Gamma(x)|;  dy/dx = psi(x) (digamma)"""

    def forward(self, x):
        return _values(x, "gammaln", _lgamma_host)

    def backward(self, ns, grad, x):
        return grad * (_values(x, "digamma", _digamma_host) if ns.eager else Digamma.apply(x))


class Digamma(Function):
    """y = psi(x) = d ln Gamma(x) / dx;  dy/dx = psi^(1)(x) (trigamma)"""

    def forward(self, x):
        return _values(x, "digamma", _digamma_host)

    def backward(self, ns, grad, x):
        if ns.eager:
            return grad * _values(x, "polygamma", _polygamma_host, 1)
        return grad * Polygamma.apply(x, n=1)


class Polygamma(Function):
    """y = psi^(n)(x) = (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1);  dy/dx = psi^(n+1)(x)"""

    def forward(self, x, n):
        self.n = n
        return _values(x, "polygamma", _polygamma_host, n)

    def backward(self, ns, grad, x):
        if ns.eager:
            return grad * _values(x, "polygamma", _polygamma_host, self.n + 1)
        return grad * Polygamma.apply(x, n=self.n + 1)


def lgamma(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """ln |Gamma(x)| elementwise (inf at 0, -1, -2, ...); int tensors give float32."""
    return Lgamma.apply(floating(input))


def digamma(input: Tensor) -> Tensor:  # noqa: A002
    """psi(x) = Gamma'(x) / Gamma(x) elementwise: -inf at 0, nan at -1, -2, ..."""
    return Digamma.apply(floating(input))


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """The n-th derivative of digamma, psi^(n)(x) (n = 0: digamma itself)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    if n == 0:
        return digamma(input)
    return Polygamma.apply(floating(input), n=int(n))


def _check_mvlgamma_domain(x, p: int) -> None:
    x = x._data if isinstance(x, Tensor) else x
    if bool((x <= (p - 1) / 2).any()):
        raise ValueError(f"mvlgamma: all elements must be greater than (p - 1) / 2 = {(p - 1) / 2}")


def mvlgamma(input: Tensor, p: int) -> Tensor:  # noqa: A002
    """The multivariate log-gamma of dimension p: p (p - 1) / 4 ln pi + sum_{j<p} lgamma(x - j/2)
    (every element must be > (p - 1) / 2, as in PyTorch)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive int, got {p!r}")
    x = floating(input)
    value_check(_check_mvlgamma_domain, x, p)  # again on each replay of a compiled step
    out = lgamma(x)
    for j in range(1, p):
        out = out + lgamma(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)
