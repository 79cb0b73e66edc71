"""The distributions added after the first ones (LogNormal ... MixtureSameFamily, the
transforms and the new KL pairs) against PyTorch 2.13's values, recorded once by
record_torch_values.py into torch_values.json (this test never imports torch): log_prob,
entropy, moments, mode, cdf, icdf, shapes and kl_divergence, in float64."""

import json
from pathlib import Path

import numpy as np
import pytest
from dist_cases import CASES, KL_PAIRS

import glassnet as gn
from glassnet import distributions as D

RECORDED = json.loads((Path(__file__).parent / "torch_values.json").read_text())


def T(a):
    return gn.tensor(np.asarray(a, dtype=np.float64))


def close(got, want, rtol=1e-9):
    np.testing.assert_allclose(got.numpy(), np.asarray(want, dtype=np.float64),
                               rtol=rtol, atol=1e-12)  # fmt: skip


# PyTorch's Multinomial.entropy takes lgamma(n + 1) of an int64 tensor, which it computes in
# float32 (about 3e-8 relative off); glassnet's is float64
RTOL = {("Multinomial", "entropy"): 1e-7}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    make, value, methods, icdf_value = CASES[name]
    want = RECORDED["cases"][name]
    d = make(D, T)
    assert d.batch_shape == tuple(want["batch_shape"])
    assert d.event_shape == tuple(want["event_shape"])
    for m in methods:
        if m in ("log_prob", "cdf"):
            got = getattr(d, m)(T(value))
        elif m == "entropy":
            got = d.entropy()
        else:
            got = getattr(d, m)
        close(got, want[m], RTOL.get((name, m), 1e-9))
    if icdf_value is not None:
        close(d.icdf(T(icdf_value)), want["icdf"])


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_matches_torch(name):
    make_p, make_q = KL_PAIRS[name]
    close(D.kl_divergence(make_p(D, T), make_q(D, T)), RECORDED["kl"][name])
