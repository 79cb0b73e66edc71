"""Edges of the issue-16 ops: 0-d and empty tensors, negative dims, int and bool inputs, nan and
inf, ties. Expected values are PyTorch's documented behaviour; where PyTorch's choice is not
documented (tie order, nan handling) the values were recorded once from PyTorch 2.13 (CPU)
and are noted as such.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn

NAN, INF = float("nan"), float("inf")


# -- 0-d tensors and empty dims ------------------------------------------------------------
@pytest.mark.parametrize("fn", [gn.cumsum, gn.cumprod, gn.logcumsumexp])
def test_scans_of_zero_d_and_empty(fn):
    assert fn(gn.tensor(2.5), 0).item() == pytest.approx(2.5)
    assert fn(gn.tensor(2.5), -1).shape == ()
    assert fn(gn.zeros(0, 3), 0).shape == (0, 3)
    assert fn(gn.zeros(2, 0), -1).shape == (2, 0)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
def test_scans_take_axis_as_an_alias_of_dim(name):
    """PyTorch accepts axis= for the scans (the Annotated Diffusion Model's
    torch.cumprod(alphas, axis=0)); glassnet raised a TypeError."""
    x = np.array([[1.0, 3.0, 2.0], [0.5, 4.0, 1.0]])
    ops = {
        "cumsum": np.cumsum,
        "cumprod": np.cumprod,
        "logcumsumexp": lambda a, axis: np.log(np.cumsum(np.exp(a), axis=axis)),
        "cummax": np.maximum.accumulate,
        "cummin": np.minimum.accumulate,
    }
    for axis in (0, 1, -1):
        got = getattr(gn, name)(gn.tensor(x), axis=axis)
        got_method = getattr(gn.tensor(x), name)(axis=axis)
        if name in ("cummax", "cummin"):
            got, got_method = got.values, got_method.values
        np.testing.assert_allclose(got.numpy(), ops[name](x, axis=axis), rtol=1e-6)
        np.testing.assert_allclose(got_method.numpy(), ops[name](x, axis=axis), rtol=1e-6)
    with pytest.raises(TypeError, match="both dim"):
        getattr(gn, name)(gn.tensor(x), 0, axis=1)
    with pytest.raises(TypeError, match="'dim'"):
        getattr(gn, name)(gn.tensor(x))


def test_order_ops_on_zero_d_and_empty():
    x = gn.tensor(3.0)
    assert gn.sort(x).values.item() == 3.0 and gn.sort(x).indices.item() == 0
    assert gn.topk(x, 1).values.item() == 3.0
    assert gn.kthvalue(x, 1).values.item() == 3.0
    assert gn.median(x).item() == 3.0
    assert gn.cummax(x, 0).indices.item() == 0
    assert gn.sort(gn.zeros(0)).values.shape == (0,)
    assert gn.argsort(gn.zeros(2, 0), -1).shape == (2, 0)
    assert gn.topk(gn.zeros(3, 4), 0, 1).values.shape == (3, 0)
    with pytest.raises(ValueError, match="topk"):
        gn.topk(gn.zeros(3), 4)
    with pytest.raises(ValueError, match="kthvalue"):
        gn.kthvalue(gn.zeros(3), 0)


def test_elementwise_ops_keep_zero_d_and_empty_shapes():
    for fn in (gn.erf, gn.expm1, gn.log2, gn.sign, gn.floor, gn.frac, F.relu6, F.mish):
        assert fn(gn.tensor(0.5)).shape == ()
        assert fn(gn.zeros(0, 2)).shape == (0, 2)
    assert gn.atan2(gn.tensor(1.0), gn.zeros(0)).shape == (0,)
    assert gn.nonzero(gn.tensor(3.0)).shape == (1, 0)  # PyTorch 2.13: (1, 0) / (0, 0)
    assert gn.nonzero(gn.tensor(0.0)).shape == (0, 0)
    assert gn.count_nonzero(gn.zeros(0)).item() == 0


def test_shape_ops_on_empty_and_negative_dims():
    x = gn.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(gn.flip(x, -1).numpy(), x.numpy()[..., ::-1])
    np.testing.assert_array_equal(gn.roll(x, 1, -2).numpy(), np.roll(x.numpy(), 1, -2))
    assert [t.shape for t in gn.chunk(x, 2, -1)] == [(2, 3, 2), (2, 3, 2)]
    assert len(gn.chunk(gn.zeros(5), 3)) == 3  # sizes 2, 2, 1
    assert len(gn.chunk(gn.zeros(4), 3)) == 2  # PyTorch: ceil(4 / 3) = 2 per chunk
    assert [t.shape for t in gn.unbind(x, -1)] == [(2, 3)] * 4
    assert gn.movedim(x, -1, 0).shape == (4, 2, 3)
    assert gn.unflatten(x, -1, (2, 2)).shape == (2, 3, 2, 2)
    assert gn.narrow(x, -1, 1, 2).shape == (2, 3, 2)
    assert gn.diagonal(x, 0, -2, -1).shape == (2, 3)
    assert x.unfold(-1, 2, 2).shape == (2, 3, 2, 2)
    assert gn.tril(gn.zeros(0, 3)).shape == (0, 3)
    assert (
        gn.einsum("ij,jk->ik", gn.zeros(2, 0), gn.zeros(0, 3)).numpy().tolist() == [[0.0] * 3] * 2
    )


# -- int and bool inputs ---------------------------------------------------------------------
def test_int_and_bool_inputs():
    i = gn.tensor([-3, 0, 5])
    b = gn.tensor([True, False, True])
    assert gn.erf(i).dtype == np.float32 and gn.tan(i).dtype == np.float32
    assert gn.floor(i).dtype == np.int64 and gn.round(i).tolist() == [-3, 0, 5]
    assert gn.sign(i).tolist() == [-1, 0, 1] and gn.sign(i).dtype == np.int64
    assert gn.cumsum(b, 0).dtype == np.int64 and gn.cumsum(b, 0).tolist() == [1, 1, 2]
    assert gn.cumprod(gn.tensor([1, 2, 3], dtype="int32"), 0).dtype == np.int64
    assert (i // 2).tolist() == [-2, 0, 2]  # floor, as Python
    assert (i % 2).tolist() == [1, 0, 1]  # sign of the divisor, as Python
    assert gn.fmod(i, 2).tolist() == [-1, 0, 1]  # sign of the dividend, as C
    assert gn.div(i, 2, rounding_mode="trunc").tolist() == [-1, 0, 2]
    assert gn.div(i, 2, rounding_mode="floor").tolist() == [-2, 0, 2]
    assert (i // 2.5).dtype == np.float32
    with pytest.raises(ZeroDivisionError):
        i // 0
    assert (b & gn.tensor([True, True, False])).tolist() == [True, False, False]
    assert (b | ~b).all().item() and (b ^ b).any().item() is False
    assert (i & 6).tolist() == [4, 0, 4] and (i << 1).tolist() == [-6, 0, 10]
    assert (i >> 1).tolist() == [-2, 0, 2]  # arithmetic shift
    with pytest.raises(TypeError, match="logical"):
        gn.tensor([1.0]) & gn.tensor([1.0])
    assert gn.logical_and(gn.tensor([1.5, 0.0]), gn.tensor([2.0, 2.0])).tolist() == [True, False]
    assert F.one_hot(gn.tensor([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert gn.unique(gn.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True)[
        1
    ].tolist() == [2, 0, 2, 1]  # PyTorch: ([1, 2, 3], [2, 0, 2, 1], [1, 1, 2])
    assert gn.sort(gn.tensor([3, 1, 2])).values.dtype == np.int64


# -- nan and inf -------------------------------------------------------------------------------
def test_nan_and_inf():
    x = gn.tensor([1.0, NAN, 3.0, 1.0])
    # nan sorts as the largest value; descending puts it first (PyTorch 2.13, stable sort)
    assert gn.sort(x).indices.tolist() == [0, 3, 2, 1]
    assert gn.sort(x, descending=True).indices.tolist() == [1, 2, 0, 3]
    # median: a nan in the slice is the median, at its first position (recorded, PyTorch 2.13)
    m = gn.median(gn.tensor([[1.0, NAN, 3.0, NAN]]), 1)
    assert np.isnan(m.values.item()) and m.indices.item() == 1
    assert gn.nanmedian(gn.tensor([1.0, NAN, 3.0, 2.0])).item() == 2.0
    # cummax: a nan sticks, each later nan taking its index (recorded, PyTorch 2.13)
    cm = gn.cummax(gn.tensor([1.0, 3.0, 3.0, NAN, 5.0, NAN]), 0)
    assert cm.indices.tolist() == [0, 1, 2, 3, 3, 5]
    assert gn.sign(gn.tensor([NAN, -0.0, -INF])).tolist() == [0.0, 0.0, -1.0]  # PyTorch: 0
    assert gn.isnan(x).tolist() == [False, True, False, False]
    assert gn.isinf(gn.tensor([INF, -INF, 1.0])).tolist() == [True, True, False]
    assert gn.isposinf(gn.tensor([INF, -INF])).tolist() == [True, False]
    assert not gn.equal(x, x) and gn.allclose(x, x, equal_nan=True)
    assert gn.logaddexp(gn.tensor(-INF), gn.tensor(-INF)).item() == -INF
    assert gn.logaddexp(gn.tensor(INF), gn.tensor(INF)).item() == INF
    assert gn.logaddexp(gn.tensor(-1000.0), gn.tensor(0.0)).item() == 0.0
    assert gn.logcumsumexp(gn.tensor([-INF, 0.0, 1000.0]), 0).tolist() == [-INF, 0.0, 1000.0]
    assert gn.erfinv(gn.tensor([1.0, -1.0, 2.0])).tolist()[:2] == [INF, -INF]
    assert np.isnan(gn.erfinv(gn.tensor(2.0)).item())
    assert gn.nan_to_num(gn.tensor([NAN, INF, -INF]), 0.5, 9.0, -9.0).tolist() == [0.5, 9, -9]
    assert gn.hypot(gn.tensor(1e30), gn.tensor(1e30)).item() == pytest.approx(1.41421356e30)
    y = gn.tensor([0.0, 0.0], requires_grad=True)
    gn.ops.vector_norm(y).backward()  # 0, not 0/0, at the origin (PyTorch)
    assert y.grad.tolist() == [0.0, 0.0]
    big = gn.tensor([1e30, 1e30])  # x^2 would overflow float32
    assert gn.ops.vector_norm(big).item() == pytest.approx(1.41421356e30, rel=1e-6)


# -- ties --------------------------------------------------------------------------------------
def test_ties():
    x = gn.tensor([[1.0, 3.0, 3.0, 2.0, 1.0], [2.0, 2.0, 2.0, 5.0, 5.0]])
    # stable: equal values keep their order, ascending and descending
    assert gn.sort(x, 1).indices.tolist() == [[0, 4, 3, 1, 2], [0, 1, 2, 3, 4]]
    assert gn.sort(x, 1, descending=True).indices.tolist() == [[1, 2, 3, 0, 4], [3, 4, 0, 1, 2]]
    # mode: the smallest of the most frequent, at its last occurrence (recorded, PyTorch 2.13)
    mode = gn.mode(x, 1)
    assert mode.values.tolist() == [1.0, 2.0] and mode.indices.tolist() == [4, 2]
    # lower median; cummax/cummin index the last of equal running extremes (PyTorch 2.13)
    assert gn.median(gn.tensor([4.0, 1.0, 3.0, 2.0])).item() == 2.0
    assert gn.cummin(gn.tensor([3.0, 1.0, 1.0, 2.0]), 0).indices.tolist() == [0, 1, 2, 2]
    # amax splits the gradient among ties; sort/topk/median route it to the picked element
    w = gn.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    gn.amax(w).backward()
    assert w.grad.tolist() == [0.0, 0.5, 0.5, 0.0]
    w = gn.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    gn.median(w).backward()
    assert w.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    # max pooling routes a tied window's gradient to its first maximum (PyTorch)
    img = gn.tensor([[[[1.0, 1.0], [1.0, 1.0]]]], requires_grad=True)
    y, idx = F.max_pool2d(img, 2, return_indices=True, ceil_mode=True)
    y.sum().backward()
    assert idx.item() == 0 and img.grad.numpy().ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_scatter_duplicates_and_errors():
    x = gn.zeros(3)
    assert gn.scatter_add(x, 0, gn.tensor([0, 0, 2]), gn.tensor([1.0, 2.0, 3.0])).tolist() == [
        3.0,
        0.0,
        3.0,
    ]
    assert gn.index_add(x, 0, gn.tensor([1, 1]), gn.tensor([1.0, 2.0])).tolist() == [0, 3, 0]
    with pytest.raises(IndexError):
        gn.index_select(x, 0, gn.tensor([3]))
    with pytest.raises(TypeError, match="integers"):
        gn.index_select(x, 0, gn.tensor([0.0]))
    with pytest.raises(ValueError, match="reduce"):
        gn.scatter_reduce(x, 0, gn.tensor([0]), gn.tensor([1.0]), "max")
    with pytest.raises(TypeError, match="bool"):
        gn.masked_fill(x, gn.tensor([1, 0, 1]), 0.0)


def test_errors_name_the_op():
    with pytest.raises(ValueError, match="pad"):
        F.pad(gn.zeros(1, 1, 3), (3, 0), "reflect")
    with pytest.raises(ValueError, match="interpolate"):
        F.interpolate(gn.zeros(1, 1, 3), size=4, mode="bilinear")
    with pytest.raises(ValueError, match="einsum"):
        gn.einsum("ij,jk", gn.zeros(2, 3))
    with pytest.raises(ValueError, match="glu"):
        F.glu(gn.zeros(3))
    with pytest.raises(ValueError, match="conv_transpose2d"):
        F.conv_transpose2d(gn.zeros(1, 2, 3, 3), gn.zeros(3, 1, 2, 2))


def test_random_and_creation_functions():
    gn.manual_seed(0)
    p = gn.randperm(6)
    assert sorted(p.tolist()) == list(range(6)) and p.dtype == np.int64
    x = gn.zeros(2, 3, dtype="float64")
    assert gn.full_like(x, 7).tolist() == [[7.0] * 3] * 2 and gn.full_like(x, 7).dtype == x.dtype
    assert gn.empty_like(x).shape == (2, 3) and gn.empty(2, dtype="int64").dtype == np.int64
    assert gn.rand_like(x).dtype == np.float64 and gn.randn_like(gn.zeros(2)).dtype == np.float32
    r = gn.randint_like(gn.zeros(1000, dtype="int64"), 3, 5)
    assert r.dtype == np.int64 and set(r.tolist()) == {3, 4}
    draws = gn.bernoulli(gn.full((20000,), 0.3))
    assert abs(draws.numpy().mean() - 0.3) < 0.02
    n = gn.normal(gn.tensor([0.0, 100.0]), gn.tensor([1.0, 0.0]))
    assert n.shape == (2,) and n[1].item() == 100.0
    assert gn.normal(2.0, 0.5, (4000,)).numpy().std() == pytest.approx(0.5, rel=0.05)
    assert gn.randint(5, (3,)).shape == (3,) and gn.randint(5, (100,)).numpy().max() < 5
    assert gn.randint(2, 4, (3,), dtype="int32").dtype == np.int32
    assert str(gn.zeros_like(x, device="cpu").device) == "cpu"
    gn.manual_seed(3)
    a = gn.randperm(10).tolist()
    gn.manual_seed(3)
    assert gn.randperm(10).tolist() == a


def test_modules_run_their_ops():
    gn.manual_seed(0)
    x = gn.randn(2, 3, 6, 6)
    assert nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)(x, output_size=(12, 12)).shape == (
        2,
        4,
        12,
        12,
    )
    assert nn.Conv3d(3, 2, 2)(gn.randn(1, 3, 3, 3, 3)).shape == (1, 2, 2, 2, 2)
    prelu = nn.PReLU(3)
    assert [n for n, _ in prelu.named_parameters()] == ["weight"]
    assert prelu.weight.tolist() == [0.25] * 3
    np.testing.assert_allclose(nn.Hardtanh(-2.0, 2.0)(gn.tensor([-3.0, 1.0, 3.0])).numpy(),
                               [-2.0, 1.0, 2.0])  # fmt: skip
    assert nn.Upsample(scale_factor=2, mode="nearest")(x).shape == (2, 3, 12, 12)
    assert nn.PixelShuffle(2)(gn.randn(1, 8, 2, 2)).shape == (1, 2, 4, 4)
    assert nn.MaxPool1d(2)(gn.randn(1, 2, 6)).shape == (1, 2, 3)
    assert nn.AdaptiveMaxPool2d((2, 3))(x).shape == (2, 3, 2, 3)
    loss = nn.TripletMarginLoss(margin=0.5)(gn.randn(2, 3), gn.randn(2, 3), gn.randn(2, 3))
    assert loss.shape == () and loss.item() >= 0
    with pytest.raises(TypeError, match="unexpected"):
        nn.Hardtanh(bad=1)


def test_sdpa_grouped_query_attention():
    # enable_gqa: k/v head j serves q heads j * g .. j * g + g - 1 (PyTorch's definition), so
    # it equals attention with each k/v head repeated g times
    rng = np.random.default_rng(0)
    q, k, v = (
        gn.tensor(rng.standard_normal(s)) for s in ((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 4))
    )
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    k2, v2 = gn.repeat_interleave(k, 2, 1), gn.repeat_interleave(v, 2, 1)
    ref = F.scaled_dot_product_attention(q, k2, v2, is_causal=True)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="enable_gqa"):
        F.scaled_dot_product_attention(
            q, gn.zeros(2, 3, 6, 5), gn.zeros(2, 3, 6, 4), enable_gqa=True
        )
    from glassnet.testing import check_grad

    check_grad(
        lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True),
        [rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((1, 1, 3, 3)),
         rng.standard_normal((1, 1, 3, 2))],
    )  # fmt: skip


def _ctc_brute_force(log_probs, target, blank=0):
    """-ln of the summed probability of every length-T path that collapses to ``target``
    (merge repeats, then drop blanks): the definition, by enumeration."""
    import itertools

    steps, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(target):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total)


def test_ctc_loss_against_the_definition():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3))
    lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    targets = [[1, 1], [2, 0]]
    lengths = [2, 1]
    loss = F.ctc_loss(gn.tensor(lp), gn.tensor(np.array(targets)), gn.tensor([5, 4]),
                      gn.tensor(lengths), reduction="none")  # fmt: skip
    expected = [_ctc_brute_force(lp[:5, 0], [1, 1]), _ctc_brute_force(lp[:4, 1], [2])]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10)
    mean = F.ctc_loss(gn.tensor(lp), gn.tensor([1, 1, 2]), [5, 4], [2, 1])  # concatenated
    assert mean.item() == pytest.approx((expected[0] / 2 + expected[1] / 1) / 2)
    # an input too short for its target (two equal labels need a blank between): inf, or 0
    short = F.ctc_loss(gn.tensor(lp), gn.tensor([1, 1, 2]), [2, 4], [2, 1], reduction="none")
    assert short.numpy()[0] == np.inf
    zeroed = F.ctc_loss(gn.tensor(lp), gn.tensor([1, 1, 2]), [2, 4], [2, 1], reduction="none",
                        zero_infinity=True)  # fmt: skip
    assert zeroed.numpy()[0] == 0.0
    assert nn.CTCLoss()(gn.tensor(lp), gn.tensor([1, 1, 2]), [5, 4], [2, 1]).item() == (
        pytest.approx(mean.item())
    )


def test_ctc_loss_first_and_second_derivatives():
    from glassnet.testing import check_grad, check_grad_grad

    rng = np.random.default_rng(1)

    def fn(lp):
        return F.ctc_loss(lp, gn.tensor([[1, 2]]), [4], [2])

    check_grad(fn, [rng.standard_normal((4, 1, 3)) - 1.0])
    check_grad_grad(fn, [rng.standard_normal((4, 1, 3)) - 1.0])
