"""Layer constructors take PyTorch's positional arguments in PyTorch's order.

A positional argument that lands in a different parameter than in PyTorch computes something
else silently (``nn.Conv2d(1, 1, 3, 1, 1, 1, 1, True, 'circular')`` used to zero-pad and store
'circular' as a regularizer). The expected orders below are PyTorch's documented signatures,
written out by hand; glassnet-only parameters are keyword-only.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

_LOSS = ["size_average", "reduce", "reduction"]
_POOL = ["kernel_size", "stride", "padding"]
_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding"]
_NORM = ["num_features", "eps", "momentum", "affine", "track_running_stats"]
_FACTORY = ["device", "dtype"]

# PyTorch's positional parameters, in order (torch.nn documentation)
PYTORCH_ORDER = {
    "Linear": ["in_features", "out_features", "bias", *_FACTORY],
    "Conv1d": [*_CONV, "dilation", "groups", "bias", "padding_mode", *_FACTORY],
    "Conv2d": [*_CONV, "dilation", "groups", "bias", "padding_mode", *_FACTORY],
    "Conv3d": [*_CONV, "dilation", "groups", "bias", "padding_mode", *_FACTORY],
    "ConvTranspose2d": [
        *_CONV,
        "output_padding",
        "groups",
        "bias",
        "dilation",
        "padding_mode",
        *_FACTORY,
    ],  # fmt: skip
    "Embedding": [
        "num_embeddings",
        "embedding_dim",
        "padding_idx",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "sparse",
        "_weight",
        "_freeze",
        *_FACTORY,
    ],  # fmt: skip
    "EmbeddingBag": [
        "num_embeddings",
        "embedding_dim",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "mode",
        "sparse",
        "_weight",
        "include_last_offset",
        "padding_idx",
        *_FACTORY,
    ],  # fmt: skip
    "BatchNorm2d": [*_NORM, *_FACTORY],
    "LayerNorm": ["normalized_shape", "eps", "elementwise_affine", "bias", *_FACTORY],
    "GroupNorm": ["num_groups", "num_channels", "eps", "affine", *_FACTORY],
    "PReLU": ["num_parameters", "init", *_FACTORY],
    "GRU": [
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
        *_FACTORY,
    ],  # fmt: skip
    "ReLU": ["inplace"],
    "LeakyReLU": ["negative_slope", "inplace"],
    "ELU": ["alpha", "inplace"],
    "CELU": ["alpha", "inplace"],
    "Hardtanh": ["min_val", "max_val", "inplace", "min_value", "max_value"],
    "Threshold": ["threshold", "value", "inplace"],
    "RReLU": ["lower", "upper", "inplace"],
    "Softplus": ["beta", "threshold"],
    "Softmax": ["dim"],
    "Softmin": ["dim"],
    "Dropout": ["p", "inplace"],
    "MaxPool1d": [*_POOL, "dilation", "return_indices", "ceil_mode"],
    "MaxPool2d": [*_POOL, "dilation", "return_indices", "ceil_mode"],
    "AvgPool1d": [*_POOL, "ceil_mode", "count_include_pad"],
    "AvgPool2d": [*_POOL, "ceil_mode", "count_include_pad", "divisor_override"],
    "MaxUnpool2d": _POOL,
    "AdaptiveMaxPool2d": ["output_size", "return_indices"],
    "Upsample": ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"],
    "Fold": ["output_size", "kernel_size", "dilation", "padding", "stride"],
    "CrossEntropyLoss": [
        "weight",
        "size_average",
        "ignore_index",
        "reduce",
        "reduction",
        "label_smoothing",
    ],  # fmt: skip
    "NLLLoss": ["weight", "size_average", "ignore_index", "reduce", "reduction"],
    "BCELoss": ["weight", *_LOSS],
    "BCEWithLogitsLoss": ["weight", *_LOSS, "pos_weight"],
    "MSELoss": _LOSS,
    "L1Loss": _LOSS,
    "SmoothL1Loss": [*_LOSS, "beta"],
    "KLDivLoss": [*_LOSS, "log_target"],
    "MultiLabelSoftMarginLoss": ["weight", *_LOSS],
    "MarginRankingLoss": ["margin", *_LOSS],
    "TripletMarginLoss": ["margin", "p", "eps", "swap", *_LOSS],
    "PoissonNLLLoss": ["log_input", "full", "size_average", "eps", "reduce", "reduction"],
}


@pytest.mark.parametrize("name", sorted(PYTORCH_ORDER))
def test_positional_parameters_follow_pytorch(name):
    params = inspect.signature(getattr(nn, name)).parameters.values()
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == PYTORCH_ORDER[name]


def _conv2d_numpy(x, w, b):
    """Valid cross-correlation of (C, H, W) with (O, C, kh, kw)."""
    o, _, kh, kw = w.shape
    h, wd = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.empty((o, h, wd))
    for i in range(h):
        for j in range(wd):
            out[:, i, j] = np.tensordot(w, x[:, i : i + kh, j : j + kw], axes=3) + b
    return out


@pytest.mark.parametrize(
    "mode, np_mode", [("circular", "wrap"), ("reflect", "reflect"), ("replicate", "edge")]
)
def test_conv2d_padding_mode_positional(mode, np_mode):
    conv = nn.Conv2d(2, 3, 3, 1, (1, 2), 1, 1, True, mode, None, gn.float64)
    assert conv.padding_mode == mode and conv.kernel_regularizer is None
    assert conv.weight.dtype == gn.float64
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 5))
    want = _conv2d_numpy(np.pad(x[0], ((0, 0), (1, 1), (2, 2)), mode=np_mode),
                         conv.weight.numpy(), conv.bias.numpy())  # fmt: skip
    np.testing.assert_allclose(conv(gn.tensor(x)).numpy()[0], want, rtol=1e-12)


def test_conv_padding_mode_same_and_1d_3d():
    x = np.random.default_rng(1).standard_normal((1, 1, 6, 6))
    conv = nn.Conv2d(1, 1, (2, 4), padding="same", padding_mode="circular", dtype=gn.float64)
    # 'same' splits dilation (k - 1) with the smaller half first: (0, 1) rows, (1, 2) cols
    padded = np.pad(x[0], ((0, 0), (0, 1), (1, 2)), mode="wrap")
    want = _conv2d_numpy(padded, conv.weight.numpy(), conv.bias.numpy())
    np.testing.assert_allclose(conv(gn.tensor(x)).numpy()[0], want, rtol=1e-12)
    c1 = nn.Conv1d(1, 1, 3, 1, 1, padding_mode="reflect", dtype=gn.float64)
    s = np.array([[[1.0, 2.0, 4.0, 8.0]]])
    w, b = c1.weight.numpy()[0, 0], c1.bias.numpy()[0]
    p = np.pad(s[0, 0], 1, mode="reflect")
    want = [p[i : i + 3] @ w + b for i in range(4)]
    np.testing.assert_allclose(c1(gn.tensor(s)).numpy()[0, 0], want, rtol=1e-12)
    c3 = nn.Conv3d(1, 1, 3, padding=1, padding_mode="replicate")
    assert c3(gn.ones(1, 1, 3, 3, 3)).shape == (1, 1, 3, 3, 3)
    ones = c3(gn.ones(1, 1, 3, 3, 3)).numpy()  # replicate of a constant is constant
    np.testing.assert_allclose(ones, c3.weight.numpy().sum() + c3.bias.numpy()[0], rtol=1e-5)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only 'zeros' padding mode"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


def test_glassnet_only_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        nn.Linear(3, 4, True, None, None, "l2")  # no sixth positional slot
    reg = gn.nn.regularizers.L2(1e-4)
    assert nn.Linear(3, 4, kernel_regularizer=reg).kernel_regularizer is reg
    lin = nn.Linear(3, 4, True, None, gn.float64)
    assert lin.weight.dtype == gn.float64 and lin.bias.dtype == gn.float64
    assert nn.Linear(3, 4, False, "cpu").bias is None
    with pytest.raises(TypeError, match="multiple values"):
        nn.Linear(3, 4, True, "cpu", device="cpu")
    gru = nn.GRU(2, 3, 1, True, False, 0.0, False, 0, None, gn.float64)
    assert gru.weight_ih_l0.dtype == gn.float64
    with pytest.raises(ValueError, match="proj_size"):
        nn.GRU(2, 3, 1, True, False, 0.0, False, 2)
    assert nn.Conv2d(1, 1, 3, kernel_regularizer=reg).kernel_regularizer is reg
    assert nn.Embedding(5, 3, kernel_regularizer=reg).kernel_regularizer is reg


@pytest.mark.parametrize(
    "build",
    [
        lambda: nn.MaxPool1d(),
        lambda: nn.MaxPool2d(),
        lambda: nn.AvgPool1d(),
        lambda: nn.Unfold(),
        lambda: nn.Fold(),
        lambda: nn.Fold(4),
        lambda: nn.PixelShuffle(),
        lambda: nn.PixelUnshuffle(),
        lambda: nn.AdaptiveAvgPool1d(),
        lambda: nn.AdaptiveMaxPool2d(),
        lambda: nn.Threshold(0.1),
        lambda: nn.MaxUnpool2d(),
        lambda: nn.Linear(None, 3),
        lambda: nn.ReLU(True, True),
        lambda: nn.MSELoss(reduction="mean", beta=1.0),
    ],
)
def test_missing_or_extra_arguments_raise_type_error(build):
    with pytest.raises(TypeError):
        build()


def test_lazy_linear_spellings():
    assert nn.LazyLinear(3)(gn.ones(2, 5)).shape == (2, 3)
    assert nn.Linear(out_features=3)(gn.ones(2, 4)).shape == (2, 3)


def test_pool_module_options():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    out, idx = nn.MaxPool2d(2, 2, 0, 1, True, True)(gn.tensor(x))  # return_indices, ceil
    np.testing.assert_array_equal(out.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(idx.numpy()[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    dil = nn.MaxPool2d(2, 1, dilation=2)(gn.tensor(x)).numpy()[0, 0]
    np.testing.assert_array_equal(dil, x[0, 0, 2:, 2:])  # max of x[i:i+3:2, j:j+3:2]
    avg = nn.AvgPool2d(2, 2, 1, False, False)(gn.tensor(x)).numpy()[0, 0]  # pad not counted
    assert avg[0, 0] == 0.0 and avg[0, 1] == (1 + 2) / 2 and avg[1, 1] == (6 + 7 + 11 + 12) / 4
    div = nn.AvgPool2d(2, divisor_override=1)(gn.tensor(x)).numpy()[0, 0]
    assert div[0, 0] == 0 + 1 + 5 + 6
    ceil = nn.AvgPool2d(2, ceil_mode=True)(gn.tensor(x)).numpy()[0, 0]
    assert ceil.shape == (3, 3) and ceil[2, 2] == 24.0  # the overhang window holds 24 only
    unbatched = nn.MaxPool2d(2)(gn.tensor(x[0])).numpy()
    np.testing.assert_array_equal(unbatched, [[[6, 8], [16, 18]]])


def test_max_unpool2d_module_output_size():
    x = gn.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    up = nn.MaxUnpool2d(2)(out, idx, output_size=(5, 5))
    flat = np.zeros(25)  # the flat indices read in the 5 x 5 plane given by output_size
    flat[idx.numpy().ravel()] = out.numpy().ravel()
    np.testing.assert_array_equal(up.numpy()[0, 0], flat.reshape(5, 5))
    assert nn.MaxUnpool1d(2)(*nn.MaxPool1d(2, return_indices=True)(gn.ones(1, 1, 4))).shape == (
        1, 1, 4,
    )  # fmt: skip


def test_softplus_threshold_and_upsample_recompute():
    sp = nn.Softplus(2.0, 1.0)
    x = np.array([-1.0, 0.2, 0.6])
    want = np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2)
    np.testing.assert_allclose(sp(gn.tensor(x)).numpy(), want, rtol=1e-12)
    up = nn.Upsample(None, 1.5, "nearest", None, True)
    assert up.recompute_scale_factor is True
    assert up(gn.ones(1, 1, 4)).shape == (1, 1, 6)
