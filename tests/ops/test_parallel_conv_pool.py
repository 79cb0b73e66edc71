"""LeNet's ops on the CPU (issue 17, W2), forced to split over threads as they do for large
arrays: conv1d/conv2d (im2col copy by output rows, col2im by channel, the tiled batch
transposes, GEMMs in column blocks), max pooling (by sample; the 2x2/stride-2 tree path) and
ReLU (by element, bool mask) give bit-identical forward and backward results for 1-4 threads,
match float64 references and finite differences, and keep PyTorch's first-maximum rule for
max-pool ties."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import parallel
from glassnet.ops import _conv_cpu, activation, conv
from glassnet.testing import GradCase, check_thread_counts, run_case

pytestmark = pytest.mark.skipif(
    gn.backend.get_default_device().type != "cpu",
    reason="thread splitting is a CPU feature (on a device every op runs inline)",
)

THREADS = (1, 2, 3, 4)
rng = np.random.default_rng(17)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.fixture
def split_counts(monkeypatch, split_small, block_counts):
    """Every block worth a thread (the ops split from any size), GEMMs in blocks of 37
    columns (so that small shapes take the blocked products), transposes in tiles of 5 rows,
    ReLU's large-array path; the block counts seen."""
    monkeypatch.setattr(_conv_cpu, "MIN_SPLIT_ELEMENTS", 0)
    monkeypatch.setattr(conv, "_block", lambda k, n, small, itemsize: 37)
    monkeypatch.setattr(_conv_cpu, "TILE_ROWS", 5)
    monkeypatch.setattr(activation, "_BLOCK", 1)  # ReLU's bool-mask path from any size
    return block_counts


def _run(fn, arrays):
    ts = [gn.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(gn.tensor(g))
    return [out.numpy()] + [t.grad.numpy() for t in ts]


CASES = {
    # LeNet-5's layers (batch 5): padded 1-channel input, then 6 -> 16 channels
    "conv2d-lenet1": (lambda x, w, b: F.conv2d(x, w, b, padding=2), [f32(5, 1, 28, 28),
                                                                     f32(6, 1, 5, 5), f32(6)]),
    "conv2d-lenet2": (lambda x, w, b: F.conv2d(x, w, b), [f32(5, 6, 14, 14), f32(16, 6, 5, 5),
                                                          f32(16)]),
    "conv2d-stride-dilation-groups": (
        lambda x, w: F.conv2d(x, w, stride=(2, 1), dilation=(1, 2), groups=2, padding=1),
        [f32(3, 4, 11, 9), f32(6, 2, 3, 2)],
    ),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2), [f32(4, 3, 40), f32(5, 3, 4), f32(5)]),
    "max_pool2d-2x2": (lambda x: F.max_pool2d(x, 2), [f32(5, 6, 28, 28)]),
    "max_pool2d-odd-size": (lambda x: F.max_pool2d(x, 2), [f32(3, 4, 9, 11)]),
    "max_pool2d-overlap-padded": (lambda x: F.max_pool2d(x, 3, 2, 1), [f32(3, 4, 9, 10)]),
    "relu": (lambda x: F.relu(x), [f32(5, 6, 28, 28)]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_bit_identical_for_any_thread_count(name, split_counts):
    fn, arrays = CASES[name]
    check_thread_counts(lambda: _run(fn, arrays), THREADS, split_counts, name)


def _conv_reference(x, w, b, pad):
    """conv2d forward and its input, weight and bias gradients for upstream gradient g, by
    explicit loops over the kernel positions in float64 (independent of im2col)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    ho, wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    y = np.zeros((x.shape[0], w.shape[0], ho, wo)) + b.astype(np.float64)[:, None, None]
    for p in range(kh):
        for q in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, p : p + ho, q : q + wo], w[:, :, p, q])
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32).astype(np.float64)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            dxp[:, :, p : p + ho, q : q + wo] += np.einsum("nohw,oc->nchw", g, w[:, :, p, q])
            dw[:, :, p, q] = np.einsum("nohw,nchw->oc", g, xp[:, :, p : p + ho, q : q + wo])
    dx = dxp[:, :, pad : xp.shape[2] - pad, pad : xp.shape[3] - pad]
    return [y, dx, dw, g.sum(axis=(0, 2, 3))]


def _check_conv(name):
    fn, arrays = CASES[name]
    with parallel.threads(3):
        got = _run(fn, arrays)
    want = _conv_reference(*arrays, pad=2 if name.endswith("1") else 0)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("name", ["conv2d-lenet1", "conv2d-lenet2"])
def test_conv_matches_float64_loops(name):
    """Forward and all three gradients against float64 loops on the default path (3 threads)."""
    _check_conv(name)


@pytest.mark.parametrize("name", ["conv2d-lenet1", "conv2d-lenet2"])
def test_conv_matches_float64_loops_when_split(name, split_counts):
    """The same, forced into GEMM column blocks, tiles and thread blocks."""
    _check_conv(name)


def r64(*shape):
    return rng.standard_normal(shape)


GRAD_CASES = [
    GradCase("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1),
             [r64(3, 2, 7, 6), r64(3, 2, 3, 3), r64(3)], "split"),
    GradCase("conv2d", lambda x, w: F.conv2d(x, w, stride=2, dilation=(2, 1), groups=2),
             [r64(2, 4, 9, 8), r64(4, 2, 2, 3)], "strided-split"),
    GradCase("conv1d", lambda x, w: F.conv1d(x, w), [r64(3, 2, 20), r64(3, 2, 4)], "split"),
    GradCase("max_pool2d", lambda x: F.max_pool2d(x, 2), [r64(3, 2, 6, 7)], "split"),
    GradCase("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), [r64(3, 2, 7, 6)],
             "overlap-split"),
    GradCase("relu", lambda x: F.relu(x), [r64(4, 3, 5) + 0.05], "split"),
]  # fmt: skip


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.id)
def test_gradcheck_when_split(case, split_counts):
    with parallel.threads(3):
        run_case(case)
    assert split_counts and max(split_counts) > 1


def test_max_pool_ties_go_to_the_first_maximum_when_split(split_counts):
    """Windows of equal values (as after a ReLU: all zeros) and a window with a repeated
    maximum send the gradient to the first position in row-major window order, as PyTorch;
    the other positions get zero. Expected values written out by hand from that rule."""
    x = np.zeros((3, 2, 4, 4), np.float32)
    x[:, 0, 0, 1] = x[:, 0, 1, 0] = 2.0  # window (0, 0): max 2 at positions 1 and 2
    x[:, 1, 2:, 2:] = 1.0  # window (1, 1) of channel 1: four equal maxima
    want = np.zeros_like(x)
    want[:, :, 0::2, 0::2] = 1.0  # all-zero windows: the first position
    want[:, 0, 0, 0], want[:, 0, 0, 1] = 0.0, 1.0  # the first of the two 2s
    for n in THREADS:
        t = gn.tensor(x, requires_grad=True)
        with parallel.threads(n):
            y = F.max_pool2d(t, 2)
            y.backward(gn.ones_like(y))
        np.testing.assert_array_equal(y.numpy()[:, 0, 0, 0], 2.0)
        np.testing.assert_array_equal(t.grad.numpy(), want)


def test_max_pool_odd_size_leaves_the_uncovered_edge_at_zero(split_counts):
    """H = 5, W = 7 with 2x2 windows: the last row and column are in no window; their
    gradient is zero (the zero fill the covered case skips)."""
    x = f32(2, 3, 5, 7)
    t = gn.tensor(x, requires_grad=True)
    with parallel.threads(2):
        y = F.max_pool2d(t, 2)
        y.backward(gn.ones_like(y))
    grad = t.grad.numpy()
    assert y.shape == (2, 3, 2, 3)
    assert not grad[:, :, 4, :].any() and not grad[:, :, :, 6].any()
    np.testing.assert_array_equal(grad[:, :, :4, :6].reshape(2, 3, 2, 2, 3, 2).sum((3, 5)), 1.0)


def _pool_reference(x):
    """2x2/stride-2 max pooling by a loop over windows: the value of the first maximum in
    row-major order (a NaN anywhere in the window gives NaN), and the routing rule of the
    general path: dL/dy goes to the first position p with not (x_p < y)."""
    n, c, h, w = x.shape
    y = np.empty((n, c, h // 2, w // 2), x.dtype)
    where = np.zeros(x.shape, bool)
    for idx in np.ndindex(*y.shape):
        a, b, i, j = idx
        win = x[a, b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].reshape(-1)
        y[idx] = np.nan if np.isnan(win).any() else win.max()
        first = next(k for k in range(4) if not win[k] < y[idx])
        where[a, b, 2 * i + first // 2, 2 * j + first % 2] = True
    return y, where


@pytest.mark.parametrize("shape", [(3, 2, 8, 6), (2, 3, 7, 9)])
@pytest.mark.parametrize("threads", [1, 3])
def test_max_pool_2x2_path_matches_window_loops(shape, threads, split_counts):
    """The 2x2/stride-2 fast path against loops over windows, with many ties (ReLU zeros,
    small integers), NaNs and odd sizes; its backward also equals the general path's route
    (taken by a create_graph backward), bit for bit."""
    x = np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)
    x.reshape(-1)[::23] = np.nan
    y_want, where = _pool_reference(x)
    g = f32(*y_want.shape)
    t = gn.tensor(x, requires_grad=True)
    with parallel.threads(threads):
        y = F.max_pool2d(t, 2)
        y.backward(gn.tensor(g))
    np.testing.assert_array_equal(y.numpy(), y_want)
    up = np.zeros(x.shape, np.float32)
    up[:, :, : 2 * y_want.shape[2], : 2 * y_want.shape[3]] = np.repeat(
        np.repeat(g, 2, axis=2), 2, axis=3
    )
    np.testing.assert_array_equal(t.grad.numpy(), np.where(where, up, 0))
    t2 = gn.tensor(x, requires_grad=True)
    y2 = F.max_pool2d(t2, 2)
    y2.backward(gn.tensor(g), create_graph=True)
    np.testing.assert_array_equal(t.grad.numpy(), t2.grad.numpy())


def test_relu_bool_mask_path_matches_float_mask_path(monkeypatch):
    """ReLU on large host arrays keeps a bool mask: the same output (max(x, 0), -0.0 kept)
    and gradient (0 at x = 0, as PyTorch) as the float-mask path of small arrays."""
    x = f32(4, 70000)
    x[:, ::7] = 0.0
    x[:, 1::7] = -0.0
    g = f32(*x.shape)
    got = []
    for block in (1, 10**9):  # the bool-mask path, then the float-mask path
        monkeypatch.setattr(activation, "_BLOCK", block)
        t = gn.tensor(x, requires_grad=True)
        y = F.relu(t)
        y.backward(gn.tensor(g))
        got.append((y.numpy(), t.grad.numpy()))
    for a, b in zip(got[0], got[1]):
        np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32))
    np.testing.assert_array_equal(got[0][1], np.where(x > 0, g, 0))


def test_split_only_from_streaming_sizes(block_counts):
    """The measured rule (RESULTS.md, issue 17 W2): NumPy data movement splits over threads
    only from MIN_SPLIT_ELEMENTS elements streamed; LeNet-sized work runs inline."""
    calls = block_counts
    seen: list[tuple[int, int]] = []
    with parallel.threads(2):
        _conv_cpu.split(64, lambda lo, hi: seen.append((lo, hi)), elements=1_300_000)
        assert seen == [(0, 64)] and not calls
        seen.clear()
        _conv_cpu.split(64, lambda lo, hi: seen.append((lo, hi)), elements=1 << 23)
    assert calls and max(calls) > 1
    assert sorted(seen)[0][0] == 0 and sorted(seen)[-1][1] == 64
    assert sum(hi - lo for lo, hi in seen) == 64


def test_blocked_conv_gemms_run_on_one_blas_thread():
    """LeNet's first layer at batch 24 takes the column-blocked GEMMs (each block under
    SMALL_PRODUCT multiply-adds): they run on one OpenBLAS thread whatever the thread count,
    so forward and gradients are bit-identical at 1 and 2 threads (OpenBLAS's 2-thread sums
    may differ in the last bits), and the BLAS thread count is restored afterwards."""
    x, w, b = f32(24, 1, 28, 28), f32(6, 1, 5, 5), f32(6)
    assert conv._block(25, 784 * 24, 6, 4) is not None  # the blocked path applies
    fn = CASES["conv2d-lenet1"][0]
    results = {}
    for n in (1, 2):
        with parallel.threads(n):
            results[n] = _run(fn, [x, w, b])
            assert parallel._get_blas_threads() in (None, n)
    for got, want in zip(results[2], results[1]):
        np.testing.assert_array_equal(got, want)
