"""Forward numerics of conv/pool/linear/dropout/embedding against naive NumPy loops, tie and
padding rules, and the error messages for bad input."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.backend import to_numpy

rng = np.random.default_rng(1)


def t(a):
    return gn.tensor(np.asarray(a, dtype=np.float64))


# -- naive references: plain loops over every output element --------------------------------
def ref_conv2d(x, w, b, stride, pad, dil, groups):
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, pad, dil
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for ni in range(n):
        for oi in range(o):
            c0 = (oi // (o // groups)) * cg
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0 if b is None else b[oi]
                    for c in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                acc += (
                                    w[oi, c, p, q] * x[ni, c0 + c, i * sh + p * dh, j * sw + q * dw]
                                )
                    y[ni, oi, i, j] = acc
    return y


def ref_pool(x, k, s, p, kind, count_include_pad=True):
    n, c, h, w = x.shape
    ho, wo = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * s[0] - p[0], j * s[1] - p[1]
            rows = range(max(r0, 0), min(r0 + k[0], h))
            cols = range(max(c0, 0), min(c0 + k[1], w))
            win = x[:, :, rows.start : rows.stop, cols.start : cols.stop]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                div = k[0] * k[1] if count_include_pad else len(rows) * len(cols)
                y[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return y


def ref_adaptive(x, out):
    n, c, h, w = x.shape
    y = np.zeros((n, c, *out))
    for i in range(out[0]):
        for j in range(out[1]):
            r0, r1 = (i * h) // out[0], int(np.ceil((i + 1) * h / out[0]))
            c0, c1 = (j * w) // out[1], int(np.ceil((j + 1) * w / out[1]))
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


CONV_SETTINGS = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2),
    dict(stride=1, padding="same", dilation=1, groups=4),
    dict(stride=1, padding="valid", dilation=2, groups=1),
]


@pytest.mark.parametrize("kw", CONV_SETTINGS, ids=str)
def test_conv2d_matches_loop_reference(kw):
    x, w, b = (
        rng.standard_normal((2, 4, 7, 6)),
        rng.standard_normal((4, 4 // kw["groups"], 3, 2)),
        rng.standard_normal(4),
    )
    y = F.conv2d(t(x), t(w), t(b), **kw).numpy()
    st = kw["stride"] if isinstance(kw["stride"], tuple) else (kw["stride"],) * 2
    dl = kw["dilation"] if isinstance(kw["dilation"], tuple) else (kw["dilation"],) * 2
    pad = kw["padding"]
    if pad == "same":  # total dil*(k-1): (2, 1) -> extra pad on the high side
        pads = ((1, 1), (0, 1))
    elif pad == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pp = pad if isinstance(pad, tuple) else (pad, pad)
        pads = ((pp[0], pp[0]), (pp[1], pp[1]))
    expected = ref_conv2d(x, w, b, st, pads, dl, kw["groups"])
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    if pad == "same":
        assert y.shape[2:] == x.shape[2:]


def test_conv1d_matches_conv2d_reference_and_float32():
    x, w, b = (
        rng.standard_normal((3, 2, 11)),
        rng.standard_normal((4, 2, 3)),
        rng.standard_normal(4),
    )
    y = F.conv1d(t(x), t(w), t(b), stride=2, padding=1, dilation=2).numpy()
    expected = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), ((0, 0), (1, 1)), (1, 2), 1)[
        :, :, 0
    ]
    np.testing.assert_allclose(y, expected, rtol=1e-10)
    y32 = F.conv1d(
        gn.tensor(x.astype(np.float32)),
        gn.tensor(w.astype(np.float32)),
        stride=2,
        padding=1,
        dilation=2,
    )
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), expected - b[:, None], rtol=1e-4, atol=1e-5)


def test_conv2d_backward_accumulates_grad_for_noncontiguous_input():
    x = rng.standard_normal((5, 4, 2, 3)).transpose(2, 3, 0, 1)  # (2, 3, 5, 4)
    xt = gn.tensor(x, requires_grad=True)
    w = gn.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    F.conv2d(xt, w).sum().backward()
    # d(sum y)/dx[n,c,h,w] = sum of W[:, c] over the kernel positions covering (h, w)
    expected = np.zeros(x.shape)
    wsum = w.numpy().sum(axis=0)
    for i in range(4):
        for j in range(3):
            expected[:, :, i : i + 2, j : j + 2] += wsum
    np.testing.assert_allclose(xt.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "k,s,p",
    [
        ((2, 2), (2, 2), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((3, 2), (1, 2), (1, 0)),
        ((1, 3), (1, 1), (0, 1)),
    ],
)
def test_pools_match_loop_reference(k, s, p):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(F.max_pool2d(t(x), k, s, p).numpy(), ref_pool(x, k, s, p, "max"))
    np.testing.assert_allclose(
        F.avg_pool2d(t(x), k, s, p).numpy(), ref_pool(x, k, s, p, "avg"), rtol=1e-12
    )
    got = F.avg_pool2d(t(x), k, s, p, count_include_pad=False).numpy()
    np.testing.assert_allclose(got, ref_pool(x, k, s, p, "avg", False), rtol=1e-12)


def test_max_pool_padding_is_minus_infinity():
    x = -np.ones((1, 1, 2, 2)) * 5.0
    assert (F.max_pool2d(t(x), 3, stride=1, padding=1).numpy() == -5.0).all()


def test_max_pool_ties_send_gradient_to_first_max_and_overlaps_add():
    x = gn.tensor(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.numpy().tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]
    # stride 1: the centre 9 is the max of all four 2x2 windows, so it collects all four grads
    x = gn.tensor(np.array([[[[1.0, 2, 3], [4, 9, 5], [6, 7, 8]]]]), requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [[0, 0, 0], [0, 4, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    "shape,out", [((2, 3, 7, 5), (3, 2)), ((1, 2, 8, 8), (4, 4)), ((1, 1, 3, 4), (5, 1))]
)
def test_adaptive_avg_pool_matches_loop_reference(shape, out):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(
        F.adaptive_avg_pool2d(t(x), out).numpy(), ref_adaptive(x, out), rtol=1e-12
    )


def test_linear_matches_reference_and_owns_weight_grad():
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    xt, wt, bt = (gn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.linear(xt, wt, bt)
    np.testing.assert_allclose(y.numpy(), np.einsum("abi,oi->abo", x, w) + b, rtol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    np.testing.assert_allclose(wt.grad.numpy(), np.einsum("abo,abi->oi", g, x), rtol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), g.sum(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), g @ w, rtol=1e-12)
    g_host = to_numpy(wt.grad) if wt.device.type != "cpu" else wt.grad._data
    assert wt.grad._data.flags.owndata and not np.shares_memory(g_host, x)


def test_dropout_statistics_seed_and_identity():
    x = gn.ones(200, 100)
    gn.manual_seed(0)
    a = F.dropout(x, 0.3).numpy()
    gn.manual_seed(0)
    b = F.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, b)  # same seed, same mask
    assert set(np.unique(a).tolist()) == {0.0, np.float32(1 / 0.7)}
    assert abs((a == 0).mean() - 0.3) < 0.02  # 20,000 draws: 4.5 standard deviations
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    xg = gn.tensor(np.ones((4, 4)), requires_grad=True)
    y = F.dropout(xg, 0.5)
    mask = to_numpy(y.grad_fn.mask).copy()  # the scaled mask the op saved: 0 or 2
    y.sum().backward()
    assert set(np.unique(mask).tolist()) <= {0.0, 2.0}
    np.testing.assert_array_equal(xg.grad.numpy(), mask)
    np.testing.assert_array_equal(y.numpy(), mask)


def test_embedding_gathers_and_scatter_adds():
    w = gn.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    idx = np.array([[5, 1, 5], [0, 5, 2]])
    y = F.embedding(gn.tensor(idx), w, padding_idx=-1)  # row 5 is the padding row
    np.testing.assert_array_equal(y.numpy(), w.numpy()[idx])
    y.sum().backward()
    assert w.grad.numpy()[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    w.grad = None
    F.embedding(idx.tolist(), w).sum().backward()
    assert w.grad.numpy()[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 3.0]


# -- bad input: errors name the op and the shapes ----------------------------------------------
def _raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_conv_errors():
    x, w = gn.zeros(1, 3, 8, 8), gn.zeros(4, 3, 3, 3)
    # unbatched (C, H, W) input is PyTorch's too (issue 16); fewer dims are an error
    _raises(ValueError, r"conv2d: input of shape \(8, 8\) has 2 dims", F.conv2d, gn.zeros(8, 8), w)
    _raises(
        ValueError,
        r"conv2d: .*\(1, 2, 8, 8\) has 2 channels.*\(4, 3, 3, 3\)",
        F.conv2d,
        gn.zeros(1, 2, 8, 8),
        w,
    )
    _raises(
        ValueError,
        r"conv2d: kernel of size \(9, 9\).*\(1, 3, 8, 8\)",
        F.conv2d,
        x,
        gn.zeros(4, 3, 9, 9),
    )
    _raises(ValueError, r"conv2d: weight of shape \(4, 3, 3\)", F.conv2d, x, gn.zeros(4, 3, 3))
    _raises(ValueError, r"conv2d: .*divisible by groups=2", F.conv2d, x, w, groups=2)
    _raises(
        ValueError,
        r"conv2d: padding='same' needs stride=1",
        F.conv2d,
        x,
        w,
        stride=2,
        padding="same",
    )
    _raises(ValueError, r"conv2d: padding must be", F.conv2d, x, w, padding="full")
    _raises(
        ValueError, r"conv2d: bias must be a Tensor of shape \(4,\)", F.conv2d, x, w, gn.zeros(3)
    )
    _raises(
        ValueError,
        r"conv1d: input of shape \(1, 3, 8, 8\) has 4 dims",
        F.conv1d,
        x,
        gn.zeros(4, 3, 3),
    )
    _raises(
        TypeError,
        r"conv2d: input dtype float32 and parameter dtype float64",
        F.conv2d,
        x,
        t(np.zeros((4, 3, 3, 3))),
    )


def test_pool_errors():
    _raises(
        ValueError,
        r"max_pool2d: input must be \(N, C, 2 spatial dims\) or unbatched.*\(4, 4\)",
        F.max_pool2d,
        gn.zeros(4, 4),
        2,
    )
    _raises(
        ValueError,
        r"avg_pool2d: kernel_size \(5, 5\) is larger.*\(1, 1, 4, 4\)",
        F.avg_pool2d,
        gn.zeros(1, 1, 4, 4),
        5,
    )
    _raises(
        ValueError,
        r"max_pool2d: padding \(2, 2\) must be at most half",
        F.max_pool2d,
        gn.zeros(1, 1, 4, 4),
        2,
        padding=2,
    )
    _raises(
        ValueError,
        r"adaptive_avg_pool2d: expected .*\(N, C, H, W\), got \(4, 4\)",
        F.adaptive_avg_pool2d,
        gn.zeros(4, 4),
        2,
    )


def test_linear_dropout_embedding_errors(value_checks):  # id ranges: a value check
    _raises(
        ValueError,
        r"linear: input of shape \(2, 3\) does not match weight of shape \(4, 5\)",
        F.linear,
        gn.zeros(2, 3),
        gn.zeros(4, 5),
    )
    _raises(
        ValueError,
        r"linear: bias must be a Tensor of shape \(4,\)",
        F.linear,
        gn.zeros(2, 5),
        gn.zeros(4, 5),
        gn.zeros(5),
    )
    _raises(
        ValueError,
        r"dropout: p must be a probability in \[0, 1\], got 1.5",
        F.dropout,
        gn.zeros(2),
        1.5,
    )
    _raises(
        TypeError,
        r"embedding: indices must be integers, got dtype float32 \(shape \(2,\)\)",
        F.embedding,
        gn.tensor([1.0, 2.0]),
        gn.zeros(4, 2),
    )
    _raises(
        ValueError,
        r"embedding: indices of shape \(3,\) range over \[0, 4\].*\(4, 2\)",
        F.embedding,
        gn.tensor([0, 4, 1]),
        gn.zeros(4, 2),
    )
    _raises(
        ValueError,
        r"embedding: indices .* range over \[-1, 1\]",
        F.embedding,
        [1, -1],
        gn.zeros(4, 2),
    )
