"""PyTorch's remaining tensor math (ops/math_extra.py, ops/statistics.py) and the in-place
``_`` forms: values against NumPy's own functions (an independent reference), gradients
against float64 finite differences, and PyTorch's errors and dtypes."""

import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_grad, check_grad_grad

rng = np.random.default_rng(7)


def r(*shape):
    return rng.uniform(-2.0, 2.0, size=shape)


def close(t, ref, dtype=None):
    got = t.numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6, equal_nan=True)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype)


# -- quantiles ------------------------------------------------------------------------------
X = rng.standard_normal((4, 7))


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_quantile_matches_numpy(method, dim):
    q = [0.0, 0.1, 0.5, 0.75, 1.0]
    got = gn.quantile(gn.tensor(X), gn.tensor(np.array(q)), dim, interpolation=method)
    close(got, np.quantile(X, q, axis=dim, method=method))
    one = gn.quantile(gn.tensor(X), 0.3, dim, keepdim=True, interpolation=method)
    ref = np.quantile(X, 0.3, axis=dim, method=method, keepdims=True)
    close(one, ref)


def test_quantile_nan_and_nanquantile():
    x = X.copy()
    x[1, 3] = np.nan
    x[2, :] = np.nan
    close(gn.quantile(gn.tensor(x), 0.4, 1), np.quantile(x, 0.4, axis=1))
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        ref = np.nanquantile(x, [0.2, 0.9], axis=1)
    close(gn.nanquantile(gn.tensor(x), gn.tensor(np.array([0.2, 0.9])), 1), ref)


def test_quantile_float32_rank_in_input_dtype():
    x = rng.standard_normal(101).astype(np.float32)
    got = gn.quantile(gn.tensor(x), 0.37)
    assert got.dtype == np.float32 and got.shape == ()
    np.testing.assert_allclose(got.numpy(), np.quantile(x.astype(np.float64), 0.37), rtol=1e-5)


def test_quantile_errors():
    t = gn.tensor(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gn.quantile(t, 1.5)
    with pytest.raises(TypeError, match="float tensor"):
        gn.quantile(gn.tensor([1, 2, 3]), 0.5)
    with pytest.raises(TypeError, match="dtype"):
        gn.quantile(t, gn.tensor(np.array([0.5], np.float32)))
    with pytest.raises(ValueError, match="interpolation"):
        gn.quantile(t, 0.5, interpolation="cubic")


def test_quantile_gradient():
    check_grad(lambda a: gn.quantile(a, gn.tensor(np.array([0.3, 0.8])), 1), [r(3, 5)])
    check_grad(lambda a: gn.nanquantile(a, 0.5, 0, interpolation="midpoint"), [r(4, 2)])
    check_grad_grad(lambda a: gn.quantile(a, 0.25, 1) ** 2, [r(2, 5)])


# -- covariance -----------------------------------------------------------------------------
def test_cov_and_corrcoef_match_numpy():
    x = r(3, 8)
    close(gn.cov(gn.tensor(x)), np.cov(x))
    close(gn.cov(gn.tensor(x), correction=0), np.cov(x, ddof=0))
    close(gn.cov(gn.tensor(x[0])), np.cov(x[0]))
    fw, aw = np.array([1, 2, 1, 3, 1, 1, 2, 1]), rng.uniform(0.1, 1.0, 8)
    got = gn.cov(gn.tensor(x), fweights=gn.tensor(fw), aweights=gn.tensor(aw))
    close(got, np.cov(x, fweights=fw, aweights=aw))
    close(gn.corrcoef(gn.tensor(x)), np.corrcoef(x))
    check_grad(lambda a: gn.cov(a), [r(2, 5)])
    check_grad(lambda a: gn.corrcoef(a), [r(3, 6)])
    with pytest.raises(TypeError, match="fweights"):
        gn.cov(gn.tensor(x), fweights=gn.tensor(np.ones(8)))


# -- differences, products, reductions -------------------------------------------------------
def test_diff_trace_cross_kron():
    x = r(3, 5)
    close(gn.diff(gn.tensor(x)), np.diff(x))
    close(gn.diff(gn.tensor(x), 2, 0), np.diff(x, 2, 0))
    pre, app = r(3, 2), r(3, 1)
    got = gn.diff(gn.tensor(x), 1, -1, prepend=gn.tensor(pre), append=gn.tensor(app))
    close(got, np.diff(x, 1, -1, prepend=pre, append=app))
    close(gn.diff(gn.tensor([True, False, False])), np.array([True, False]), bool)
    close(gn.diff(gn.tensor([1, 5, 2])), np.array([4, -3]), np.int64)
    with pytest.raises(ValueError, match="at least one dimension"):
        gn.diff(gn.tensor(1.0))
    close(gn.trace(gn.tensor(x)), np.trace(x))
    close(gn.trace(gn.arange(9).reshape(3, 3)), 12, np.int64)
    with pytest.raises(ValueError, match="2-D"):
        gn.trace(gn.tensor(r(2, 2, 2)))
    a, b = r(2, 3, 4), r(2, 3, 4)
    close(gn.cross(gn.tensor(a), gn.tensor(b)), np.cross(a, b, axis=1))  # first dim of size 3
    close(
        gn.cross(gn.tensor(a[..., :3]), gn.tensor(b[0, 0, :3]), dim=-1),
        np.cross(a[..., :3], b[0, 0, :3]),
    )
    with pytest.raises(ValueError, match="size 3"):
        gn.cross(gn.tensor(a), gn.tensor(b), dim=2)
    close(gn.kron(gn.tensor(x[:2, :3]), gn.tensor(a[0])), np.kron(x[:2, :3], a[0]))
    close(gn.kron(gn.tensor(x[0]), gn.tensor(a[0])), np.kron(x[0], a[0]))
    for fn, ins in [
        (lambda t: gn.diff(t, 2, 1), [r(2, 5)]),
        (gn.trace, [r(3, 3)]),
        (lambda u, v: gn.cross(u, v, dim=0), [r(3, 2), r(3, 2)]),
        (gn.kron, [r(2, 2), r(3, 1)]),
    ]:
        check_grad(fn, ins)
        check_grad_grad(fn, ins)


def test_nan_reductions():
    x = r(3, 4)
    x[0, 1] = x[2, 3] = np.nan
    close(gn.nansum(gn.tensor(x), 1), np.nansum(x, 1))
    close(gn.nanmean(gn.tensor(x), 0, keepdim=True), np.nanmean(x, 0, keepdims=True))
    close(gn.nansum(gn.tensor([1, 2, 3])), 6, np.int64)
    with pytest.raises(TypeError, match="floating"):
        gn.nanmean(gn.tensor([1, 2]))
    t = gn.tensor(x, requires_grad=True)
    gn.nanmean(t, 1).sum().backward()
    expected = np.where(np.isnan(x), 0.0, 1.0 / (~np.isnan(x)).sum(1, keepdims=True))
    np.testing.assert_allclose(t.grad.numpy(), expected)


def test_elementwise_extras():
    a, b = r(3, 4), r(3, 4)
    a[0, 0], b[1, 1] = np.nan, np.nan
    close(gn.fmax(gn.tensor(a), gn.tensor(b)), np.fmax(a, b))
    close(gn.fmin(gn.tensor(a), gn.tensor(b)), np.fmin(a, b))
    close(gn.copysign(gn.tensor(b), gn.tensor(a)), np.copysign(b, a))
    close(gn.copysign(gn.tensor([1, -2, 0]), -1.0), np.array([-1.0, -2.0, -0.0]), np.float32)
    s = np.array([0.0, 0.5, 1.0, -2.3, 1e-4])
    close(gn.sinc(gn.tensor(s)), np.sinc(s))
    h = np.array([-1.5, 0.0, 2.0])
    close(gn.heaviside(gn.tensor(h), gn.tensor(np.array([0.5]))), np.heaviside(h, 0.5))
    with pytest.raises(TypeError, match="same"):
        gn.heaviside(gn.tensor(h), gn.tensor(np.array([0.5], np.float32)))
    i, j = np.array([12, -18, 0, 7]), np.array([8, 12, 5, 0])
    close(gn.gcd(gn.tensor(i), gn.tensor(j)), np.gcd(i, j), np.int64)
    close(gn.lcm(gn.tensor(i), gn.tensor(j)), np.lcm(i, j), np.int64)
    with pytest.raises(TypeError, match="integer"):
        gn.gcd(gn.tensor([1.0]), gn.tensor([2.0]))
    check_grad(lambda u: gn.sinc(u), [np.array([0.3, -1.2, 2.5])])
    check_grad(lambda u, v: gn.fmax(u, v) * gn.fmin(u, v), [r(4), r(4)])
    check_grad(lambda u: gn.copysign(u, gn.tensor([1.0, -1.0, -1.0])), [np.array([0.5, -2.0, 1.0])])


def test_addc_and_friends():
    x, a, b = r(3, 4), r(3, 4), rng.uniform(0.5, 2, (3, 4))
    close(gn.addcmul(gn.tensor(x), gn.tensor(a), gn.tensor(b), value=0.3), x + 0.3 * a * b)
    close(gn.addcdiv(gn.tensor(x), gn.tensor(a), gn.tensor(b), value=-2), x - 2 * a / b)
    with pytest.raises(TypeError, match="integer division"):
        gn.addcdiv(gn.tensor(x), gn.tensor([1, 2, 3, 4]), gn.tensor([3, 4, 5, 6]))
    v, w = r(3), r(4)
    close(
        gn.addr(gn.tensor(x), gn.tensor(v), gn.tensor(w), beta=0.5, alpha=2),
        0.5 * x + 2 * np.outer(v, w),
    )
    b1, b2 = r(2, 3, 5), r(2, 5, 4)
    close(gn.addbmm(gn.tensor(x), gn.tensor(b1), gn.tensor(b2)), x + (b1 @ b2).sum(0))
    nan = np.full((3, 4), np.nan)
    close(gn.addbmm(gn.tensor(nan), gn.tensor(b1), gn.tensor(b2), beta=0), (b1 @ b2).sum(0))
    check_grad(lambda p, q, s: gn.addcdiv(p, q, s, value=0.7), [x, a, b])


def test_bincount_and_histc():
    x = np.array([0, 1, 1, 3, 5, 1])
    w = rng.uniform(0, 1, 6).astype(np.float32)
    close(gn.bincount(gn.tensor(x)), np.bincount(x), np.int64)
    close(gn.bincount(gn.tensor(x), gn.tensor(w), minlength=9), np.bincount(x, w, 9), np.float32)
    close(gn.bincount(gn.tensor(x), gn.tensor(x)), np.bincount(x, x), np.float64)
    assert gn.bincount(gn.tensor(np.zeros(0, np.int64))).shape == (0,)
    with pytest.raises(ValueError, match="non-negative"):
        gn.bincount(gn.tensor([1, -1]))
    with pytest.raises(ValueError, match="1-D integer"):
        gn.bincount(gn.tensor([1.0]))
    check_grad(lambda u: gn.bincount(gn.tensor(x), u), [rng.uniform(0, 1, 6)])
    h = rng.standard_normal(500).astype(np.float32)
    ref, _ = np.histogram(h, bins=7, range=(-1, 1))
    close(gn.histc(gn.tensor(h), 7, -1, 1), ref, np.float32)
    ref, _ = np.histogram(h, bins=5)  # min == max: the data's range
    close(gn.histc(gn.tensor(h), 5), ref)
    with pytest.raises(TypeError, match="floating"):
        gn.histc(gn.tensor([1, 2]))


def test_block_diag_and_cartesian_prod():
    a, b = r(2, 2), r(3)
    got = gn.block_diag(gn.tensor(2.0), gn.tensor(a), gn.tensor(b), gn.tensor([[1, 2]]))
    ref = np.zeros((5, 8))
    ref[0, 0], ref[1:3, 1:3], ref[3, 3:6], ref[4, 6:8] = 2.0, a, b, [1, 2]
    close(got, ref, np.float64)
    ref = np.array(list(itertools.product([1, 2], [3, 4, 5], [7])))
    close(gn.cartesian_prod(gn.tensor([1, 2]), gn.tensor([3, 4, 5]), gn.tensor([7])), ref)
    check_grad(lambda u, v: gn.block_diag(u, v), [r(2, 1), r(1, 3)])
    check_grad(lambda u, v: gn.cartesian_prod(u, v), [r(2), r(3)])


def test_splits_and_aliases():
    x = gn.arange(24.0).reshape(4, 6)
    assert [p.shape for p in gn.hsplit(x, 3)] == [(4, 2)] * 3
    assert [p.shape for p in x.vsplit([1, 3])] == [(1, 6), (2, 6), (1, 6)]
    assert [p.shape for p in gn.dsplit(x.reshape(2, 2, 6), 2)] == [(2, 2, 3)] * 2
    with pytest.raises(ValueError, match="equal"):
        gn.hsplit(x, 4)
    assert [p.shape for p in x.split_with_sizes([1, 5], 1)] == [(4, 1), (4, 5)]
    with pytest.raises(ValueError, match="add up"):
        x.split_with_sizes([1, 2], 1)
    close(gn.diagflat(gn.tensor([[1.0, 2.0]]), 1), np.diagflat([1.0, 2.0], 1))
    y = gn.tensor([1.0, 3.0])
    assert gn.greater(y, 2).tolist() == [False, True] and y.less_equal(1).tolist() == [True, False]
    assert y.not_equal(3).tolist() == [True, False] and gn.greater_equal(y, 3).tolist() == [
        False,
        True,
    ]
    close(gn.argwhere(gn.tensor([[0, 1], [2, 0]])), np.argwhere([[0, 1], [2, 0]]), np.int64)


# -- in-place forms ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, args",
    [("log_", ()), ("floor_", ()), ("sign_", ()), ("rsqrt_", ()), ("frac_", ()), ("square_", ()),
     ("lerp_", ("B", 0.3)), ("addcmul_", ("B", "B")), ("atan2_", ("B",)), ("clamp_min_", (0.5,)),
     ("gt_", ("B",)), ("logical_not_", ()), ("cumsum_", (1,)), ("tril_", (-1,)),
     ("index_add_", (0, gn.tensor([2, 0]), "B2"))],
)  # fmt: skip
def test_inplace_forms_write_the_out_of_place_result(name, args):
    a, b = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32), rng.uniform(0.1, 0.9, (3, 4))
    conv = {"B": gn.tensor(b.astype(np.float32)), "B2": gn.tensor(b[:2].astype(np.float32))}
    args = [conv.get(v, v) if isinstance(v, str) else v for v in args]
    x = gn.tensor(a.copy())
    base = x.reshape(12)  # a view: it must see the write
    expected = getattr(gn.tensor(a.copy()), name[:-1])(*args)
    assert getattr(x, name)(*args) is x
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), expected.numpy().astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(base.numpy(), x.numpy().reshape(12))


def test_inplace_forms_refuse_what_pytorch_refuses():
    x = gn.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="can't be cast"):
        x.log_()
    with pytest.raises(TypeError, match="can't be cast"):
        x.true_divide_(2)
    assert x.tolist() == [1, 2, 3]  # untouched
    assert x.gt_(1).tolist() == [0, 1, 1]  # a bool result fits any dtype
    y = gn.tensor([1, 2, 3]).index_fill_(0, gn.tensor([0]), 0.7)  # fill values are cast
    assert y.tolist() == [0, 2, 3] and y.dtype == np.int64
    p = gn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        p.log_()
    with pytest.raises(ValueError, match="shape"):
        gn.ones(3).lt_(gn.ones(2, 3))


def test_fill_diagonal_and_random_fills():
    for shape, wrap in [((3, 3), False), ((7, 3), True), ((7, 3), False), ((2, 2, 2), False)]:
        x, ref = gn.zeros(*shape), np.zeros(shape)
        x.fill_diagonal_(2.5, wrap=wrap)
        np.fill_diagonal(ref, 2.5, wrap=wrap)
        close(x, ref)
    with pytest.raises(ValueError, match="all dims equal"):
        gn.zeros(2, 3, 4).fill_diagonal_(1)
    gn.manual_seed(3)
    e = gn.zeros(20000).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02
    g = gn.zeros(20000).geometric_(0.25).numpy()
    assert g.min() == 1 and abs(g.mean() - 4.0) < 0.15 and np.all(g == np.round(g))
    ln = gn.zeros(20000).log_normal_(0.0, 0.5).numpy()
    assert abs(np.median(np.log(ln))) < 0.02
    c = gn.zeros(20000).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1.0) < 0.1
