"""The optional fused kernels (glassnet[jit], Numba) against the NumPy path they replace.

Each op runs twice on the same inputs, kernels on and off (``jit.set_enabled``): results
agree to float32 rounding (Adam: bit for bit), including edge inputs (0-d, empty, NaN, inf,
large |x|, fully masked attention rows); gradchecks in float64 pass on both paths; results are
bit-identical for 1, 2 and 3 threads. The accuracy of the float32 exp/erf is checked against
float64 references on dense grids (not against the code under test).
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import jit, parallel
from glassnet.ops import _fused
from glassnet.testing import check_grad

pytest.importorskip("numba")
pytestmark = pytest.mark.usefixtures("host_device")  # tests/ops/conftest.py


def _cpu(a, grad=True):
    return gn.tensor(np.asarray(a), requires_grad=grad, device="cpu")


def _both(fn, *arrays):
    """fn(*cpu tensors) -> list of arrays, with the NumPy path and with the kernels."""
    out = {}
    for flag in (False, True):
        previous = jit.set_enabled(flag)
        try:
            out[flag] = [np.asarray(a) for a in fn(*(_cpu(a) for a in arrays))]
        finally:
            jit.set_enabled(previous)
    return out[False], out[True]


def _close(ref, got, dtype):
    tol = dict(rtol=2e-6, atol=2e-7) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-7)
    for r, g in zip(ref, got):
        assert r.shape == g.shape and r.dtype == g.dtype
        np.testing.assert_allclose(g, r, equal_nan=True, **tol)


def _edges(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 37)) * 3
    x[0, :6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30]
    x[1, :5] = [40.0, -40.0, 12.0, -12.0, 1e-30]
    return x.astype(dtype)


def _gelu_fwd_bwd(x):
    y = F.gelu(x)
    y.backward(gn.ones_like(y))
    return y, x.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_matches_numpy_path(kernels_on, dtype):
    rng = np.random.default_rng(1)
    for x in (_edges(dtype), rng.standard_normal((3, 70_000)).astype(dtype) * 4):
        if dtype == np.float64:  # the NumPy path's erf fit (1.2e-7) is the float64 limit
            ref, got = _both(_gelu_fwd_bwd, np.nan_to_num(x, posinf=9, neginf=-9))
            for r, g in zip(ref, got):
                np.testing.assert_allclose(g, r, rtol=0, atol=3e-7)
            continue
        ref, got = _both(_gelu_fwd_bwd, x)
        _close(ref, got, dtype)
    ref, got = _both(_gelu_fwd_bwd, np.zeros((0, 3), dtype))  # empty
    _close(ref, got, dtype)
    # 0-d: the kernel path against the NumPy path on the same value as a 1-element array (the
    # NumPy path's backward of a 0-d input returns a NumPy scalar, a separate issue)
    (ref_y, ref_g), _ = _both(_gelu_fwd_bwd, np.array([0.7], dtype))
    x0 = _cpu(np.array(0.7, dtype))
    y0 = F.gelu(x0)
    y0.backward()
    assert y0.shape == () and x0.grad.shape == ()
    _close([ref_y, ref_g], [y0.numpy().reshape(1), x0.grad.numpy().reshape(1)], dtype)


def test_float32_exp_and_erf_accuracy_on_dense_grids():
    k = jit.kernels()
    z = np.linspace(-87, 88.72, 3_000_001, dtype=np.float32)
    out = np.empty_like(z)
    k.exp_range(z, out, 0, z.size)
    ref = np.exp(z.astype(np.float64))
    assert np.max(np.abs(out - ref) / ref) < 1.2e-7  # float32 rounding: 5.96e-8
    special = np.array([np.nan, np.inf, -np.inf, -100.0, 89.0], np.float32)
    k.exp_range(special, out[:5], 0, 5)
    np.testing.assert_array_equal(out[:5], [np.nan, np.inf, 0.0, 0.0, np.inf])
    # Phi(x) = (1 + erf(x / sqrt 2)) / 2 from the GELU kernel against libm's float64 erf
    x = np.linspace(-10, 10, 200_001, dtype=np.float32)
    y, cdf = np.empty_like(x), np.empty_like(x)
    k.gelu_forward(x, y, cdf, 0, x.size)
    phi = np.array([(1 + math.erf(float(v) / math.sqrt(2))) / 2 for v in x])
    assert np.max(np.abs(cdf - phi)) < 2.5e-7  # the erfc fit's 1.2e-7 plus rounding


def _softmax_fwd_bwd(x, g):
    y = F.softmax(x, dim=-1)
    y.backward(g.detach())
    return y, x.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_matches_numpy_path(kernels_on, dtype):
    rng = np.random.default_rng(2)
    x = _edges(dtype)
    x[2] = -np.inf  # a fully masked row: NaN in both paths (e^{-inf - -inf})
    g = rng.standard_normal(x.shape).astype(dtype)
    ref, got = _both(_softmax_fwd_bwd, x, g)
    _close(ref, got, dtype)
    for shape in ((0, 4), (3, 1)):
        a = rng.standard_normal(shape).astype(dtype)
        ref, got = _both(_softmax_fwd_bwd, a, np.ones_like(a))
        _close(ref, got, dtype)


def _attention(q, k, v, mask_array):
    mask = gn.tensor(mask_array, device="cpu")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    out.backward(gn.ones_like(out))
    return out, q.grad, k.grad, v.grad


def test_attention_softmax_matches_numpy_path(kernels_on):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 9, 5)).astype(np.float32) for _ in range(3))
    mask = rng.random((9, 9)) > 0.4
    mask[4] = False  # a query with no allowed key: zeros in both paths
    ref, got = _both(lambda *t: _attention(*t, mask), q, k, v)
    _close(ref, got, np.float32)
    assert np.all(got[0][:, :, 4] == 0)
    # and with a large causal problem (the two-block path)
    q, k, v = (rng.standard_normal((2, 2, 70, 8)).astype(np.float32) for _ in range(3))
    causal = np.tril(np.ones((70, 70), bool))
    ref, got = _both(lambda *t: _attention(*t, causal), q, k, v)
    _close(ref, got, np.float32)


def _layer_norm(x, w, b, naxes):
    shape = x.shape[x.ndim - naxes :]
    y = F.layer_norm(x, shape, w, b, eps=1e-5)
    y.backward(gn.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(y.dtype)))
    return y, x.grad, *(t.grad for t in (w, b) if t is not None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_numpy_path(kernels_on, dtype, affine):
    rng = np.random.default_rng(4)
    for shape, naxes in (((4, 6, 37), 1), ((3, 5, 8), 2), ((130, 16), 1)):
        x = (rng.standard_normal(shape) * 5 + 3).astype(dtype)
        p = [rng.standard_normal(shape[len(shape) - naxes :]).astype(dtype) for _ in range(2)]
        if affine:
            run = lambda x, w, b, n=naxes: _layer_norm(x, w, b, n)  # noqa: E731
        else:
            run, p = (lambda x, n=naxes: _layer_norm(x, None, None, n)), []
        ref, got = _both(run, x, *p)
        if dtype == np.float64:
            _close(ref, got, dtype)
            continue
        # float32: the weight and bias gradients sum over all rows, where NumPy's float32
        # sums lose more than the kernel's float64 partials; both against a float64 reference
        exact, _ = _both(run, *(a.astype(np.float64) for a in (x, *p)))
        for r, g, e in zip(ref, got, exact):
            assert g.dtype == r.dtype == np.float32
            assert np.max(np.abs(g - e)) <= max(2 * np.max(np.abs(r - e)), 1e-6)
    x = np.zeros((0, 7), dtype)
    assert _fused.layer_norm(x, None, None, 1, 1e-5) is None  # empty: the NumPy path


def _gradcheck_all():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 7)) * 2
    check_grad(lambda t: F.gelu(t), [x], name="gelu")
    check_grad(lambda t: F.softmax(t, dim=-1), [x], name="softmax")
    w, b = rng.standard_normal(7), rng.standard_normal(7)
    check_grad(lambda t, w, b: F.layer_norm(t, (7,), w, b), [x, w, b], name="layer_norm")
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    check_grad(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v],
        name="attention",
    )  # fmt: skip


@pytest.mark.parametrize("flag", [True, False], ids=["kernels", "numpy"])
def test_gradchecks_in_float64_on_both_paths(flag):
    previous = jit.set_enabled(flag)
    try:
        x = np.ones(3)
        assert (_fused.gelu(x) is not None) == flag  # the path under test is the one taken
        _gradcheck_all()
    finally:
        jit.set_enabled(previous)


def _opt_steps(opt_cls, flag, keys=("exp_avg", "exp_avg_sq"), **kw):
    previous = jit.set_enabled(flag)
    try:
        rng = np.random.default_rng(6)
        params = [gn.nn.Parameter(_cpu(rng.standard_normal(s).astype(np.float32), False))
                  for s in ((40, 30), (30,))]  # fmt: skip
        opt = opt_cls(params, lr=1e-2, **kw)
        for _ in range(4):
            for p in params:
                p.grad = _cpu(rng.standard_normal(p.shape).astype(np.float32), False)
            opt.step()
        return [p.numpy() for p in params] + [opt.state[p][key] for p in params for key in keys]
    finally:
        jit.set_enabled(previous)


@pytest.mark.parametrize(
    "opt_cls, kw",
    [(gn.optim.Adam, {}), (gn.optim.Adam, {"weight_decay": 0.1}),
     (gn.optim.AdamW, {"weight_decay": 0.1}), (gn.optim.AdamW, {"amsgrad": True})],
)  # fmt: skip
def test_adam_kernel_is_bit_identical_to_numpy_path(opt_cls, kw):
    ref, got = _opt_steps(opt_cls, False, **kw), _opt_steps(opt_cls, True, **kw)
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(r))


@pytest.mark.parametrize(
    "kw",
    [{"momentum": 0.9}, {"momentum": 0.9, "weight_decay": 0.1}, {"momentum": 0.5, "maximize": True},
     {"momentum": 0.9, "nesterov": True}, {"momentum": 0.9, "dampening": 0.3}],
)  # fmt: skip
def test_sgd_momentum_kernel_is_bit_identical_to_numpy_path(kw, monkeypatch):
    """The fused pass (and the settings it leaves to NumPy: Nesterov, dampening) give the
    NumPy path's bits, over several steps (the first one starts the buffer)."""
    monkeypatch.setattr(_fused, "SGD_MIN_ELEMENTS", 1)
    calls = []
    sgd_momentum = _fused.sgd_momentum
    monkeypatch.setattr(_fused, "sgd_momentum", lambda *a, **k: calls.append(1) or
                        sgd_momentum(*a, **k))  # fmt: skip
    ref = _opt_steps(gn.optim.SGD, False, keys=("momentum_buffer",), **kw)
    got = _opt_steps(gn.optim.SGD, True, keys=("momentum_buffer",), **kw)
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(r))
    plain = "nesterov" not in kw and "dampening" not in kw
    assert bool(calls) is plain  # the kernel ran where it applies, and only there


def test_bit_identical_for_any_thread_count(kernels_on, split_small, monkeypatch):
    monkeypatch.setattr(_fused, "SGD_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_fused, "ADD_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((300, 33)).astype(np.float32)
    g = rng.standard_normal((300, 33)).astype(np.float32)
    w = rng.standard_normal(33).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with parallel.threads(threads):
            results.append(_all_kernels(x, g, w))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def _all_kernels(x, g, w):
    y, cdf = _fused.gelu(x)
    sm = _fused.softmax_last(x, safe=True)
    ln, xhat, rstd = _fused.layer_norm(x, w, None, 1, 1e-5)
    lnb = _fused.layer_norm_backward(g, w, xhat, rstd, 1)
    m, v, p = np.zeros_like(x), np.zeros_like(x), x.copy()
    _fused.adam(p, g, m, v, beta1=0.9, beta2=0.999, eps=1e-8, bc2_sqrt=0.03, step=0.1, decay=0.99)
    b, q = x.copy(), g.copy()
    assert _fused.sgd_momentum(q, g, b, momentum=0.9, lr=0.1)
    s = _fused.add(x, g)
    dgelu, dsm = _fused.gelu_backward(x, cdf, g), _fused.softmax_backward_last(sm, g)
    return [y, dgelu, sm, dsm, ln, *lnb, p, m, v, q, b, s]


def test_disabled_by_environment_and_never_imported_at_import():
    code = (
        "import sys, numpy as np, glassnet as gn, glassnet.functional as F\n"
        "assert 'numba' not in sys.modules, 'numba imported by import glassnet'\n"
        "from glassnet.backend import jit\n"
        "print(jit.enabled(), jit.kernels() is None)\n"
        "F.gelu(gn.ones(3, device='cpu'))\n"
        "print('numba' in sys.modules)\n"
    )
    env = {**os.environ, "GLASSNET_JIT": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "False"]


def test_the_environment_is_read_once_and_again_after_set_enabled_none(monkeypatch):
    previous = jit.set_enabled(None)
    try:
        monkeypatch.setenv("GLASSNET_JIT", "0")
        jit.set_enabled(None)
        assert not jit.enabled()
        monkeypatch.setenv("GLASSNET_JIT", "1")
        assert not jit.enabled()  # read once: no os.environ lookup per op
        jit.set_enabled(None)  # follow the environment again: read anew
        assert jit.enabled()
    finally:
        monkeypatch.undo()
        jit.set_enabled(None)
        jit.set_enabled(previous)


def test_kernels_skip_arrays_they_do_not_handle(kernels_on):
    assert _fused.gelu(np.arange(4)) is None  # ints
    assert _fused.gelu(np.ones(4, np.float16)) is None
    assert _fused.softmax_last(np.ones((4, 4), np.float32)[:, ::2]) is None  # not contiguous
    assert _fused.layer_norm_backward(np.ones((2, 3)), None, np.ones((2, 3), np.float32),
                                      np.ones((2, 1)), 1) is None  # mixed dtypes  # fmt: skip


def test_simulated_device_arrays_keep_the_numpy_path(kernels_on):
    x = gn.randn(4, 8, device="sim")
    assert type(x._data) is not np.ndarray
    assert _fused.gelu(x._data) is None and _fused.softmax_last(x._data) is None
    y = F.gelu(x)  # the op itself runs (the NumPy formulas on the device array)
    assert y.device == x.device
