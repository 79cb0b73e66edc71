"""The direct conv2d kernels (glassnet[jit], Numba) against the im2col path they replace.

Each case runs twice on the same inputs, kernels on and off (``jit.set_enabled``): forward and
the input, weight and bias gradients agree to float32 rounding; gradchecks in float64 (first
and second derivatives: a create_graph backward takes the im2col formulas) pass with the
kernels on; results are bit-identical for 1-4 threads, split unevenly; calls the kernels do
not cover (stride, dilation, groups, wide padding, wide layers, conv1d) keep the im2col path.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import jit
from glassnet.ops import _fused_conv
from glassnet.testing import GradCase, check_thread_counts, run_case

pytest.importorskip("numba")
pytestmark = pytest.mark.usefixtures("host_device")  # tests/ops/conftest.py

rng = np.random.default_rng(23)


@pytest.fixture
def taken(monkeypatch):
    """One entry per conv2d forward that took the kernels."""
    calls = []
    plan = _fused_conv.plan

    def counting(*args):
        kern = plan(*args)
        if kern is not None:
            calls.append(1)
        return kern

    monkeypatch.setattr(_fused_conv, "plan", counting)
    return calls


def _run(x, w, b, **kw):
    """conv2d forward, then backward of an upstream gradient fixed by the output's shape."""
    ts = [gn.tensor(a, requires_grad=True) for a in (x, w) + ((b,) if b is not None else ())]
    y = F.conv2d(*ts, **kw)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype)
    y.backward(gn.tensor(g))
    return [y.numpy()] + [t.grad.numpy() for t in ts]


def _both(x, w, b, **kw):
    out = {}
    for flag in (False, True):
        previous = jit.set_enabled(flag)
        try:
            out[flag] = _run(x, w, b, **kw)
        finally:
            jit.set_enabled(previous)
    return out[False], out[True]


# (x shape, weight shape, bias?, conv2d keywords): LeNet's two layers, then odd sizes, channel
# counts that leave partial tiles (1, 3, 5, 6 outputs), even kernels with 'same' (asymmetric
# padding), padding on one axis only or wider than the kernel, and batches that are not a
# multiple of the chunk (8).
SHAPES = [
    ((9, 1, 28, 28), (6, 1, 5, 5), True, {"padding": 2}),
    ((10, 6, 14, 14), (16, 6, 5, 5), True, {}),
    ((3, 2, 7, 5), (5, 2, 3, 3), True, {"padding": 1}),
    ((17, 3, 6, 9), (1, 3, 2, 2), False, {"padding": "same"}),
    ((4, 4, 5, 6), (3, 4, 3, 1), True, {"padding": (2, 0)}),
    ((2, 3, 4, 4), (6, 3, 4, 4), False, {"padding": 3}),
    ((1, 2, 3, 40), (8, 2, 1, 3), True, {}),
    ((3, 3, 4, 5), (4, 3, 2, 3), True, {"padding": 3}),
    ((5, 2, 6, 7), (13, 2, 3, 3), True, {"padding": 1}),  # output channels in the lanes
    ((3, 3, 5, 5), (20, 3, 2, 2), False, {}),  # two lane vectors of output channels
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_kernels_match_im2col_path(case, dtype, taken):
    xs, ws, has_bias, kw = SHAPES[case]
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if has_bias else None
    ref, got = _both(x, w, b, **kw)
    assert len(taken) == 1  # the kernels ran (once: with jit on)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for r, g in zip(ref, got):
        assert r.shape == g.shape and r.dtype == g.dtype == dtype
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(g / scale, r / scale, **tol)


def test_non_finite_inputs_match_im2col_path(taken):
    """inf and NaN in x: the weight gradient keeps the im2col product (the kernel's
    thrown-away columns would multiply them by 0); forward and input gradient by the kernels."""
    x = rng.standard_normal((10, 2, 6, 6)).astype(np.float32)
    x[3, 1, 2, 4], x[9, 0, 5, 5] = np.inf, np.nan
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    ref, got = _both(x, w, None, padding=1)
    assert taken
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r))
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kw, ws, taken_expected",
    [
        ({"stride": 2}, (4, 3, 3, 3), False),
        ({"dilation": 2}, (4, 3, 3, 3), False),
        ({"groups": 3}, (6, 1, 3, 3), False),
        ({"padding": 1}, (4, 3, 1, 1), True),  # 1x1 kernels and padding > k - 1: taken
        ({}, (80, 3, 3, 3), False),  # more output channels than MAX_OUT_CHANNELS
        ({}, (4, 60, 3, 3), False),  # more taps than MAX_TAPS
    ],
)
def test_other_calls_keep_im2col_path(kw, ws, taken_expected, taken, kernels_on):
    x = rng.standard_normal((2, ws[1] * kw.get("groups", 1), 9, 9)).astype(np.float32)
    ref, got = _both(x, rng.standard_normal(ws).astype(np.float32), None, **kw)
    assert bool(taken) == taken_expected
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


def test_plan_declines_devices_dtypes_and_conv1d(kernels_on):
    x, w = np.ones((2, 3, 8, 8), np.float32), np.ones((4, 3, 3, 3), np.float32)
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert _fused_conv.plan(x, w, None, *args) is not None
    assert _fused_conv.plan(x.astype(np.float16), w.astype(np.float16), None, *args) is None
    assert _fused_conv.plan(x, w.astype(np.float64), None, *args) is None  # mixed dtypes
    assert _fused_conv.plan(x[:, :, 0], w[:, :, 0], None, (1,), ((0, 0),), (1,), 1) is None
    previous = jit.set_enabled(False)
    try:
        assert _fused_conv.plan(x, w, None, *args) is None
    finally:
        jit.set_enabled(previous)


def test_backward_runs_the_kernels_even_if_turned_off_after_forward(kernels_on, taken):
    x = rng.standard_normal((3, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    ref = _both(x, w, None)[0]
    xt, wt = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt)
    jit.set_enabled(False)
    y.backward(gn.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)))
    np.testing.assert_allclose(wt.grad.numpy(), ref[2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xt.grad.numpy(), ref[1], rtol=1e-5, atol=1e-5)


def r64(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


GRAD_CASES = [
    GradCase("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=2),
             [r64(3, 1, 8, 7), r64(6, 1, 5, 5), r64(6)], "lenet1-like"),
    GradCase("conv2d", lambda x, w, b: F.conv2d(x, w, b),
             [r64(2, 3, 7, 6), r64(5, 3, 3, 3), r64(5)], "valid"),
    GradCase("conv2d", lambda x, w: F.conv2d(x, w, padding="same"),
             [r64(2, 2, 5, 6), r64(3, 2, 2, 4)], "same-even-kernel"),
    GradCase("conv2d", lambda x, w: F.conv2d(x, w, padding=(0, 1)),
             [r64(9, 2, 5, 5).transpose(0, 1, 3, 2), r64(4, 2, 2, 3)], "noncontiguous"),
    GradCase("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=(3, 2)),
             [r64(2, 2, 3, 4), r64(3, 2, 2, 2), r64(3)], "padding-wider-than-kernel"),
]  # fmt: skip


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_gradcheck_with_kernels(case, kernels_on, taken):
    run_case(case)
    assert taken


@pytest.mark.parametrize("xs, ws, pad", [((19, 1, 12, 12), (6, 1, 5, 5), 2),
                                          ((13, 6, 9, 9), (16, 6, 5, 5), 0)])  # fmt: skip
def test_bit_identical_for_any_thread_count(xs, ws, pad, kernels_on, split_small, block_counts):
    """Samples split among 1-4 threads (19 and 13 samples: uneven blocks, a partial chunk of
    the weight gradient); every output and gradient is the same bits."""
    x = rng.standard_normal(xs).astype(np.float32)
    w, b = rng.standard_normal(ws).astype(np.float32), rng.standard_normal(ws[0]).astype(np.float32)
    check_thread_counts(lambda: _run(x, w, b, padding=pad), (1, 2, 3, 4), block_counts, "conv2d")


# -- 2x2 max pooling (the layer after LeNet's convolutions) --------------------------------


def _both_paths(op, x, g):
    """([y, dL/dx] on the NumPy path, the same through the kernels) of ``op(x)``, upstream g."""
    out = {}
    for flag in (False, True):
        previous = jit.set_enabled(flag)
        try:
            t = gn.tensor(x, requires_grad=True)
            y = op(t)
            y.backward(gn.tensor(g))
            out[flag] = [y.numpy(), t.grad.numpy()]
        finally:
            jit.set_enabled(previous)
    return out[False], out[True]


def _pool_both(x, g):
    return _both_paths(lambda t: F.max_pool2d(t, 2), x, g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 6, 28, 28), (3, 2, 7, 9), (1, 1, 2, 2)])
def test_max_pool_kernels_match_numpy_path_bit_for_bit(shape, dtype):
    """Ties (ReLU zeros, small integers), NaNs, infinities and odd sizes (the last row and
    column in no window get zero gradient): the same bits as the NumPy path."""
    x = np.maximum(rng.integers(-2, 3, shape), 0).astype(dtype)
    x.reshape(-1)[::29] = np.nan
    x.reshape(-1)[5::31] = np.inf
    x.reshape(-1)[7::37] = -np.inf
    out = (shape[2] // 2, shape[3] // 2)
    g = rng.standard_normal((*shape[:2], *out)).astype(dtype)
    ref, got = _pool_both(x, g)
    for r, k in zip(ref, got):
        assert r.dtype == k.dtype == dtype
        np.testing.assert_array_equal(k, r)


def test_max_pool_kernels_bit_identical_for_any_thread_count(split_small, block_counts):
    x = np.maximum(rng.standard_normal((5, 3, 8, 9)), 0).astype(np.float32)
    g = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    check_thread_counts(lambda: _pool_both(x, g)[1], (1, 2, 3, 4), block_counts, "max_pool2d")


# -- ReLU on large arrays (LeNet's conv outputs) -------------------------------------------


def _relu_both(x, g):
    return _both_paths(F.relu, x, g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_match_numpy_path_bit_for_bit(dtype):
    """NaN stays NaN with zero gradient, -0.0 gives +0.0 (np.maximum's choice), inf passes;
    a negative upstream gradient times the mask gives -0.0 as NumPy's float * bool does."""
    x = rng.standard_normal(70_001).astype(dtype)  # above activation._BLOCK: the bool-mask path
    x[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, -1e-30]
    g = rng.standard_normal(x.shape).astype(dtype)
    g[6] = np.inf
    ref, got = _relu_both(x, g)
    for r, k in zip(ref, got):
        assert r.dtype == k.dtype == dtype
        np.testing.assert_array_equal(k.view(f"u{k.itemsize}"), r.view(f"u{r.itemsize}"))


def test_relu_kernels_bit_identical_for_any_thread_count(split_small, block_counts):
    x = rng.standard_normal(70_001).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    check_thread_counts(lambda: _relu_both(x, g)[1], (1, 2, 3, 4), block_counts, "relu")


def test_max_pool_backward_without_kernel_after_kernel_forward():
    """Kernels on for the forward, off for the backward: the NumPy backward rebuilds the
    row-pair maxima the kernel forward did not keep, and gives the same bits."""
    x = np.maximum(rng.integers(-2, 3, (3, 2, 6, 7)), 0).astype(np.float32)
    g = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    ref = _pool_both(x, g)[0]
    previous = jit.set_enabled(True)
    try:
        t = gn.tensor(x, requires_grad=True)
        y = F.max_pool2d(t, 2)
        jit.set_enabled(False)
        y.backward(gn.tensor(g))
    finally:
        jit.set_enabled(previous)
    np.testing.assert_array_equal(y.numpy(), ref[0])
    np.testing.assert_array_equal(t.grad.numpy(), ref[1])
