"""Reparameterized gamma draws: the implicit gradient dx/dalpha of a Gamma(alpha, 1) draw.

A draw x = F^-1(u; alpha) of a distribution with CDF F moves with its parameter as

    dx/dalpha = -(dF/dalpha)(x; alpha) / p(x; alpha)

(implicit reparameterization, Figurnov et al. 2018; PyTorch's ``_standard_gamma_grad``), so a
draw from any sampler gets the gradient the inverse-CDF coupling would give, and
E[f'(x) dx/dalpha] = d/dalpha E[f(x)]. For the gamma CDF P(alpha, x) (the regularized lower
incomplete gamma function) two forms, both free of cancellation where they are used:

- the series P = sum_n x^(alpha+n) e^-x / Gamma(alpha + n + 1), differentiated term by
  term, divided by p = x^(alpha-1) e^-x / Gamma(alpha):

      dx/dalpha = sum_n r_n (psi(alpha + n + 1) - ln x),
      r_n = x^(n+1) / (alpha (alpha + 1) ... (alpha + n))

  where its terms stay below e^8 times the result (all positive for x < alpha; above,
  x - alpha small);
- else (x far above alpha: the upper tail) from Q = 1 - P = int_x^inf t^(alpha-1) e^-t dt /
  Gamma(alpha):

      dx/dalpha = int_0^inf e^-s (1 + s/x)^(alpha-1) (ln(x + s) - psi(alpha)) ds

  by 64-node Gauss-Laguerre quadrature in a rescaled s (see ``_laguerre``).

Computed in float64 on the host (a GPU array goes through it), returned in the draw's dtype.
PyTorch uses fitted approximations (about 1e-3 relative error in places); these agree with
40-digit values to about 1e-9 relative or better (tests/distributions).
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd.function import Function
from glassnet.backend import xp_of
from glassnet.ops.gamma import _digamma_host, _lgamma_host

__all__ = ["StandardGammaGrad", "StandardGammaRsample", "standard_gamma_grad"]

_NODES, _WEIGHTS = np.polynomial.laguerre.laggauss(64)
_MAX_TERMS = 200_000
_MAX_LOG_PEAK = 8.0  # the series loses up to e^8 ~ 3e3 to cancellation (12 digits kept)


def standard_gamma_grad(alpha, x):
    """dx/dalpha of Gamma(alpha, 1) draws ``x`` (NumPy arrays, broadcast; float64 result)."""
    a, x = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    low = _peak_log(a, x) < _MAX_LOG_PEAK
    if low.any():
        out[low] = _series(a[low], x[low])
    if (~low).any():
        out[~low] = _laguerre(a[~low], x[~low])
    return out


def _peak_log(a, x):
    """ln of the series' largest r_n (at n = x - a): how much cancellation it would cost."""
    n = np.floor(np.maximum(x - a, 0.0))
    with np.errstate(divide="ignore"):
        return (n + 1) * np.log(x) - (_lgamma_host(a + n + 1) - _lgamma_host(a))


def _series(a, x):
    log_x = np.log(x)
    r = x / a
    psi = _digamma_host(a + 1.0)
    total = r * (psi - log_x)
    n = 0
    active = np.ones(a.shape, bool)
    while active.any() and n < _MAX_TERMS:
        n += 1
        psi = psi + 1.0 / (a + n)  # psi(z + 1) = psi(z) + 1/z
        r = r * x / (a + n)
        term = r * (psi - log_x)
        total = total + np.where(active, term, 0.0)
        # converged once the terms are decreasing and below float64's resolution of the sum
        active = active & ~((x < a + n) & (np.abs(term) <= 1e-17 * np.abs(total)))
    return total


def _laguerre(a, x):
    # s = u / c with c = 1 - (alpha - 1)/x, the integrand's decay rate at s = 0: the rest of
    # it, e^-(1-c)s (1 + s/x)^(alpha-1), then starts flat (a large alpha would otherwise make
    # it decay far slower than the quadrature's e^-u)
    c = np.maximum(1.0 - (a - 1.0) / x, 1e-3)
    s = _NODES[:, None] / c
    log_rest = (a - 1.0) * np.log1p(s / x) - (1.0 - c) * s
    integrand = np.exp(log_rest) * (np.log(x + s) - _digamma_host(a))
    return (_WEIGHTS[:, None] * integrand).sum(axis=0) / c


class StandardGammaRsample(Function):
    """x ~ Gamma(alpha, 1), reparameterized: the draw is a constant of the forward, and
    dx/dalpha = -(dP/dalpha)(x; alpha) / p(x; alpha) (implicit reparameterization; see the
    module docstring for how it is computed)

    Not an op of the registry: its gradient is not a finite difference of the sampler (a
    sampler's draws move with alpha in their own way), so it is tested against
    high-precision values and statistically.
    """

    name = "standard_gamma"
    register = False

    def forward(self, alpha, draw):
        return draw

    def backward(self, ns, grad, alpha, draw):
        if ns.eager:
            return grad * _slope(alpha, draw), None
        return grad * StandardGammaGrad.apply(alpha, draw), None


class StandardGammaGrad(Function):
    """dx/dalpha of Gamma(alpha, 1) draws x (``standard_gamma``'s derivative); its own
    derivative is not implemented (PyTorch's ``_standard_gamma_grad`` has none either)"""

    name = "standard_gamma_grad"
    register = False

    def forward(self, alpha, draw):
        return _slope(alpha, draw)

    def backward(self, ns, grad, alpha, draw):
        raise NotImplementedError(
            "the second derivative of Gamma/Beta.rsample draws w.r.t. the concentration is "
            "not implemented (PyTorch: _standard_gamma_grad is not differentiable either)"
        )


def _slope(alpha, draw):
    xp = xp_of(draw)
    host = (lambda v: v.get()) if xp is not np else np.asarray
    return xp.asarray(standard_gamma_grad(host(alpha), host(draw)).astype(draw.dtype))
