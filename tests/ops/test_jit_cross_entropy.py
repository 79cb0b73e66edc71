"""The fused cross-entropy kernel (glassnet[jit]) against the NumPy path and float64 math.

Class-index targets, no class weights, no label smoothing, reduction mean or sum: the kernel
path (one pass per row: max, exponentials, their float64 sum, the target's term). Everything
else keeps the NumPy path (checked: the kernel is not called).
"""

import math
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

THRESHOLD = _fused.CROSS_ENTROPY_MIN_ELEMENTS  # the real one (the fixture lowers it)


pytestmark = pytest.mark.usefixtures("host_device", "kernels_on")  # tests/ops/conftest.py


@pytest.fixture(autouse=True)
def _small_cases_take_the_kernel(monkeypatch):
    monkeypatch.setattr(_fused, "CROSS_ENTROPY_MIN_ELEMENTS", 1)


@pytest.fixture
def calls(monkeypatch):
    seen = []
    forward = _fused.cross_entropy

    def counting(*args):
        res = forward(*args)
        seen.append(res is not None)
        return res

    monkeypatch.setattr(_fused, "cross_entropy", counting)
    return seen


def _loss_and_grad(x, t, flag, **kw):
    previous = jit.set_enabled(flag)
    try:
        xt = gn.tensor(x, requires_grad=True)
        loss = F.cross_entropy(xt, gn.tensor(t), **kw)
        loss.backward()
        return loss.numpy(), xt.grad.numpy()
    finally:
        jit.set_enabled(previous)


def _reference(x, t, ignore_index=-100, reduction="mean"):
    """float64 math, written out: l_n = log sum_c e^{x_nc} - x_{n t_n}; dl/dx = softmax - onehot."""
    x = x.astype(np.float64)
    keep = t != ignore_index
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    rows = np.arange(len(t))
    losses = np.where(keep, lse - x[rows, np.where(keep, t, 0)], 0.0)
    grad = np.exp(x - lse[:, None])
    grad[rows[keep], t[keep]] -= 1
    grad *= keep[:, None]
    if reduction == "mean":
        return losses.sum() / keep.sum(), grad / keep.sum()
    return losses.sum(), grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_kernel_matches_float64_math_and_the_numpy_path(calls, dtype, reduction):
    rng = np.random.default_rng(0)
    for n, c in ((64, 10), (37, 65), (5, 1), (300, 3)):
        x = (rng.standard_normal((n, c)) * 4).astype(dtype)
        t = rng.integers(0, c, n)
        t[::7] = -100  # ignored rows
        x[1, 0] = 1e4  # large logits: the max is subtracted, nothing overflows
        calls.clear()
        got = _loss_and_grad(x, t, True, reduction=reduction)
        assert calls == [True]  # the kernel ran
        ref = _loss_and_grad(x, t, False, reduction=reduction)
        want = _reference(x, t, reduction=reduction)
        tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
        for g, r, w in zip(got, ref, want):
            assert g.dtype == dtype and g.shape == r.shape
            np.testing.assert_allclose(g, w, **tol)
            np.testing.assert_allclose(g, r, **tol)


def test_every_row_ignored_gives_nan_mean_and_zero_gradient(calls):
    x = np.ones((4, 3), np.float32)
    t = np.full(4, 2)
    loss, grad = _loss_and_grad(x, t, True, ignore_index=2)
    assert calls == [True] and math.isnan(float(loss))  # 0 / 0, as PyTorch
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    loss, _ = _loss_and_grad(x, t, True, ignore_index=2, reduction="sum")
    assert float(loss) == 0.0


def test_nan_logits_give_a_nan_loss_as_the_numpy_path():
    x = np.zeros((3, 4), np.float32)
    x[1, 2] = np.nan
    t = np.array([0, 1, 2])
    got, ref = _loss_and_grad(x, t, True), _loss_and_grad(x, t, False)
    assert math.isnan(float(got[0])) and math.isnan(float(ref[0]))
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(ref[1]))


def test_a_target_out_of_range_raises_in_the_kernel_path():
    """The wrapper checks targets before the op; the kernel checks again (a compiled replay
    runs the op on new batches without the wrapper) and never reads outside a row."""
    x = np.zeros((3, 4), np.float32)
    for bad in (4, -1):
        with pytest.raises(IndexError, match=r"outside \[0, 4\)"):
            _fused.cross_entropy(x, np.array([0, bad, 1]), -100)
    assert _fused.cross_entropy(x, np.array([0, -100, 1]), -100) is not None


def test_other_forms_keep_the_numpy_path(calls):
    rng = np.random.default_rng(1)
    x = gn.tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    t = gn.tensor(rng.integers(0, 4, 6))
    F.cross_entropy(x, t, weight=gn.ones(4))
    F.cross_entropy(x, t, label_smoothing=0.1)
    F.cross_entropy(x, t, reduction="none")
    F.cross_entropy(gn.tensor(rng.standard_normal((2, 4, 3)).astype(np.float32)),
                    gn.tensor(rng.integers(0, 4, (2, 3))))  # fmt: skip
    assert not any(calls)


def test_gradients_against_finite_differences_through_the_kernel(calls):
    rng = np.random.default_rng(2)
    t = gn.tensor(np.array([0, 2, -100, 1, 2]))
    for reduction in ("mean", "sum"):
        x0 = rng.standard_normal((5, 3))
        check_grad(lambda x, r=reduction: F.cross_entropy(x, t, reduction=r), [x0])
    assert calls and all(calls)


def test_second_derivatives_use_the_graph_path(calls):
    """backward(create_graph=True) after a kernel forward: d/dx of sum(dL/dx * v) is the
    Hessian-vector product, checked against finite differences of the float64 gradient."""
    rng = np.random.default_rng(3)
    x0, t = rng.standard_normal((4, 3)), np.array([0, 2, 1, -100])
    v = rng.standard_normal((4, 3))

    def grad_at(a):
        return _reference(a, t)[1]

    x = gn.tensor(x0, requires_grad=True)
    (g,) = gn.autograd.grad(F.cross_entropy(x, gn.tensor(t)), [x], create_graph=True)
    (hv,) = gn.autograd.grad((g * gn.tensor(v)).sum(), [x])
    h = 1e-6
    fd = (grad_at(x0 + h * v) - grad_at(x0 - h * v)) / (2 * h)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-5, atol=1e-8)
    assert calls == [True]


def test_bit_identical_for_any_thread_count(split_small):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((301, 65)) * 3).astype(np.float32)
    t = rng.integers(0, 65, 301)
    results = []
    for n in (1, 2, 3):
        with parallel.threads(n):
            results.append(_loss_and_grad(x, t, True))
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            np.testing.assert_array_equal(a, b)


def test_small_batches_keep_the_numpy_path_and_do_not_load_numba():
    """A small MLP's logits stay below the threshold: no kernel, so a process that uses no
    other kernel never imports Numba for its loss."""
    code = (
        "import sys, numpy as np, glassnet as gn, glassnet.functional as F\n"
        "x = gn.tensor(np.zeros((64, 10), np.float32), requires_grad=True)\n"
        "F.cross_entropy(x, gn.tensor(np.zeros(64, np.int64))).backward()\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False"
    assert THRESHOLD > 64 * 10
