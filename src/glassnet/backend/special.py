"""Special functions of arrays that NumPy lacks: erf (used by exact GELU and ``gn.erf``).

SciPy's erf when SciPy is installed (exact); otherwise the Numerical Recipes Chebyshev fit of
erfc (fractional error < 1.2e-7, enough for float32). In the backend layer, so that device
code (the simulated device, CuPy) and the ops both use it.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend.device import _sim_array


def _scipy_erf():
    """SciPy's erf, or None; looked up once (a failed import is retried on every call)."""
    global _SCIPY_ERF
    if _SCIPY_ERF is _UNSET:
        try:
            from scipy.special import erf
        except ImportError:  # pragma: no cover - depends on the environment
            erf = None
        _SCIPY_ERF = erf
    return _SCIPY_ERF


_UNSET = object()
_LIBM_ERF = np.frompyfunc(math.erf, 1, 1)  # libm's erf, exact in float64
_SCIPY_ERF = _UNSET

# Coefficients of the Chebyshev fit, innermost (highest power of t) first.
_ERFC_COEFFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
                0.09678418, 0.37409196, 1.00002368)  # fmt: skip


def erf_into(xp, x, out, t, poly):
    """erf(x) into ``out``; ``t`` and ``poly`` are scratch arrays of x's shape.

    Without SciPy: erf(x) = sign(x) (1 - erfc(|x|)), with
    erfc(z) = t exp(-z^2 - 1.26551223 + t (1.00002368 + t (0.37409196 + ... + t 0.17087277))),
    t = 1 / (1 + z / 2), evaluated in place (Horner): the same arithmetic as the nested formula.
    The sign is applied with ``copysign`` (one pass; ``xp.where``'s per-element branch is
    mispredicted half the time on activations).
    """
    if xp.__name__ != "numpy":  # pragma: no cover - GPU only
        out[...] = gpu_erf(x)
        return out
    erf = _scipy_erf()
    if erf is not None:  # pragma: no cover - depends on the environment
        return erf(x, out=out)
    z = xp.abs(x, out=out)
    xp.multiply(z, 0.5, out=t)
    t += 1
    xp.divide(1, t, out=t)
    xp.multiply(t, _ERFC_COEFFS[0], out=poly)
    for c in _ERFC_COEFFS[1:]:
        poly += c
        poly *= t
    erfc = z
    erfc *= z  # -z^2 as -(z z): negation is exact, so this is (-z) z to the bit
    xp.negative(erfc, out=erfc)
    erfc -= 1.26551223
    erfc += poly
    xp.exp(erfc, out=erfc)
    erfc *= t
    xp.subtract(1, erfc, out=out)
    return xp.copysign(out, x, out=out)


def gpu_erf(x):
    """The error function of a CuPy array (cupyx.scipy.special.erf) or of a sim array."""
    if type(x) is _sim_array():  # the CPU formula on the wrapped array (exact in float64,
        a = x._a  # as a GPU's erf is)
        if a.dtype == np.float64:
            return type(x)(np.asarray(_LIBM_ERF(a), dtype=np.float64))
        return type(x)(erf_into(np, a, np.empty_like(a), np.empty_like(a), np.empty_like(a)))
    import cupyx.scipy.special as special  # pragma: no cover - GPU only

    return special.erf(x)  # pragma: no cover - GPU only


def gpu_polygamma(n: int, x, host):
    """``cupyx.scipy.special.polygamma(n, x)`` of a CuPy array, on the GPU; for a sim array,
    ``host(n, float64 array)`` on the wrapped array, in x's dtype."""
    if type(x) is _sim_array():
        return gpu_special("polygamma", x, lambda a: host(n, a))
    import cupyx.scipy.special as special  # pragma: no cover - GPU only

    return special.polygamma(n, x).astype(x.dtype)  # pragma: no cover - GPU only


def gpu_special(name: str, x, host):
    """``cupyx.scipy.special.<name>`` of a CuPy array, on the GPU (no host round trip); for a
    sim array, ``host`` (the exact float64 NumPy formula) on the wrapped array, in x's dtype."""
    if type(x) is _sim_array():
        a = x._a
        return type(x)(np.asarray(host(a.astype(np.float64)), dtype=np.float64).astype(a.dtype))
    import cupyx.scipy.special as special  # pragma: no cover - GPU only

    return getattr(special, name)(x)  # pragma: no cover - GPU only
