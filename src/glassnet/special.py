"""``glassnet.special``: PyTorch's ``torch.special`` names that glassnet has.

Most are glassnet's ops under SciPy's names (``gammaln`` is ``lgamma``, ``expit`` is
``sigmoid``, ``psi`` is ``digamma``); the rest are short compositions of them, so all are
differentiable. The normal-distribution functions: ndtr(x) = Phi(x) = erfc(-x / sqrt 2) / 2,
ndtri = Phi^{-1}, log_ndtr = ln Phi computed without underflow far in the left tail.
"""

from __future__ import annotations

import math

from glassnet.ops import activation, composite, elementwise, gamma, math_extra, reduction
from glassnet.ops import selection as _sel
from glassnet.ops import special as _special
from glassnet.ops._util import floating, floating_pair
from glassnet.ops.rounding import round  # noqa: A004 - PyTorch's name
from glassnet.tensor import Tensor

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
    "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy",
]  # fmt: skip

digamma = psi = gamma.digamma
polygamma = gamma.polygamma
gammaln = gamma.lgamma
multigammaln = gamma.mvlgamma
erf, erfc, erfinv = _special.erf, _special.erfc, _special.erfinv
exp2, expm1 = _special.exp2, _special.expm1
log1p = elementwise.log1p
expit = activation.sigmoid
logit, xlogy = composite.logit, composite.xlogy
sinc = math_extra.sinc
logsumexp = reduction.logsumexp


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """softmax along ``dim`` (required, as in ``torch.special.softmax``)."""
    x = input if dtype is None else input.to(dtype)
    return activation.softmax(x, dim)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:  # noqa: A002
    """log_softmax along ``dim``."""
    x = input if dtype is None else input.to(dtype)
    return activation.log_softmax(x, dim)


def xlog1py(input, other) -> Tensor:  # noqa: A002
    """x ln(1 + y), taken as 0 where x = 0 (nan where y is nan)."""
    x, y = floating_pair(*composite._tensors(input, other))
    zero = (x == 0) & ~(y != y)
    return _sel.where(zero, 0.0, x * elementwise.log1p(_sel.where(zero, 0.0, y)))


def entr(input: Tensor) -> Tensor:  # noqa: A002
    """-x ln x for x > 0, 0 at x = 0, -inf for x < 0 (elementwise entropy)."""
    x = floating(input)
    pos = x > 0
    safe = _sel.where(pos, x, 1.0)
    return _sel.where(pos, -safe * elementwise.log(safe), _sel.where(x == 0, 0.0, float("-inf")))


def ndtr(input: Tensor) -> Tensor:  # noqa: A002
    """Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF."""
    return 0.5 * erfc(floating(input) * (-1 / math.sqrt(2)))


def ndtri(input: Tensor) -> Tensor:  # noqa: A002
    """Phi^{-1}(p) = sqrt 2 erfinv(2p - 1) (-inf at 0, inf at 1)."""
    return math.sqrt(2) * erfinv(2 * floating(input) - 1)


def log_ndtr(input: Tensor) -> Tensor:  # noqa: A002
    """ln Phi(x), in float64 inside: ln(erfc(-x / sqrt 2) / 2) for x >= -20, and below it the
    asymptotic series -x^2/2 - ln(-x) - ln(2 pi)/2 + ln(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8)."""
    x = floating(input)
    z = x.double()
    tail = z < -20
    near = _sel.where(tail, 0.0, z)
    direct = elementwise.log(0.5 * erfc(near * (-1 / math.sqrt(2))))
    far = _sel.where(tail, z, -30.0)
    inv2 = 1.0 / (far * far)
    series = 1 - inv2 * (1 - inv2 * (3 - inv2 * (15 - 105 * inv2)))
    asym = -0.5 * far * far - elementwise.log(-far) - 0.5 * math.log(2 * math.pi)
    return _sel.where(tail, asym + elementwise.log(series), direct).to(x.dtype)
