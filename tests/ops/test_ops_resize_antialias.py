"""interpolate(antialias=True) (bilinear, bicubic) and mode "area" in 1, 2 and 3 spatial dims
(adaptive_avg_pool1d/2d/3d, nn.AdaptiveAvgPool3d): values against PyTorch, gradients against
float64 finite differences, first and second order.

The AA_CASES outputs and GRAD_BICUBIC_3x4 were recorded once from PyTorch 2.13 (CPU, float32)
with torch.nn.functional.interpolate(x, ..., antialias=True) on the X below (8 significant
digits); the gradient is that of (y * W).sum() with W = arange(12).reshape(3, 4) - 5.5.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.testing import check_grad, check_grad_grad

X = (np.arange(63, dtype=np.float64).reshape(1, 1, 7, 9) % 11 - 5.0) / 3.0

AA_CASES = [
    (
        "bilinear",
        False,
        {"size": (3, 4)},
        [
            [0.080952331, -0.57781643, -0.50348425, 0.15238096],
            [0.23305327, 0.5408895, 0.14251556, -0.51820737],
            [-0.66598636, -0.47735175, 0.28687584, 0.67006791],
        ],
    ),
    (
        "bilinear",
        True,
        {"size": (3, 4)},
        [
            [0.18421055, -0.39484131, -0.32558137, 0.06250003],
            [-0.18031192, 0.27689597, 0.24289405, -0.16666675],
            [-0.70175445, -0.61111116, 0.26873395, 0.78472233],
        ],
    ),
    (
        "bicubic",
        False,
        {"size": (3, 4)},
        [
            [0.12118354, -0.68618095, -0.58362609, 0.20896962],
            [0.29898068, 0.72592676, 0.14767741, -0.63142914],
            [-0.73437971, -0.58252352, 0.3631919, 0.73838532],
        ],
    ),
    (
        "bicubic",
        True,
        {"scale_factor": 0.4},
        [[-0.046301331, -0.033221703, -0.0365455], [-0.63805729, 0.27949032, 0.65298325]],
    ),
    (
        "bilinear",
        False,
        {"scale_factor": (0.5, 1.5)},
        [
            [
                -0.047619034,
                0.11904764,
                0.07936497,
                -0.74603194,
                -0.78571427,
                -0.65079367,
                -0.77777785,
                -0.64285719,
                -0.42063481,
                -0.19841264,
                0.023809519,
                0.24603187,
                0.46825421,
            ],
            [
                0.33333334,
                0.5,
                0.64583337,
                0.5625,
                0.70833331,
                0.70138878,
                0.0069443285,
                -1.4901161e-08,
                -0.0069447756,
                -0.70138907,
                -0.70833337,
                -0.5625,
                -0.64583337,
            ],
            [
                -0.54166669,
                -0.60416669,
                -0.6111111,
                -0.38888884,
                -0.16666667,
                0.055555582,
                0.27777785,
                0.5,
                0.64583331,
                0.5625,
                0.70833331,
                0.70138854,
                0.0069437996,
            ],
        ],
    ),
    (
        "bicubic",
        False,
        {"size": (2, 12)},
        [
            [
                0.11952252,
                0.45598134,
                0.30632046,
                -0.21834053,
                0.11823207,
                -0.330762,
                -0.47469109,
                -0.23145033,
                -0.50474656,
                -0.32012019,
                -0.11164661,
                -0.048560124,
            ],
            [
                -0.11488406,
                -0.48333284,
                -0.57035738,
                -0.23339809,
                0.023637993,
                0.12877505,
                0.32012016,
                0.50474662,
                0.23145039,
                0.47469115,
                0.3258484,
                -0.15445063,
            ],
        ],
    ),
]
GRAD_BICUBIC_3x4 = [
    [
        -0.77055711,
        -1.0137892,
        -0.89195275,
        -0.74070597,
        -0.66663516,
        -0.60382968,
        -0.56445932,
        -0.51864862,
        -0.3584547,
    ],
    [
        -0.93457353,
        -1.224744,
        -1.0664421,
        -0.87172538,
        -0.77189332,
        -0.68510509,
        -0.61992967,
        -0.54965746,
        -0.37270314,
    ],
    [
        -0.62981063,
        -0.81319994,
        -0.68003583,
        -0.52046072,
        -0.42804983,
        -0.34287232,
        -0.25513372,
        -0.17078619,
        -0.09513355,
    ],
    [
        -0.2447809,
        -0.29410392,
        -0.19452474,
        -0.081301861,
        -4.6564991e-10,
        0.081301853,
        0.19452474,
        0.29410398,
        0.24478096,
    ],
    [
        0.095133625,
        0.17078628,
        0.2551339,
        0.34287253,
        0.42805001,
        0.5204609,
        0.68003607,
        0.81320024,
        0.62981093,
    ],
    [
        0.37270311,
        0.54965746,
        0.61992973,
        0.68510509,
        0.77189338,
        0.8717255,
        1.0664421,
        1.2247441,
        0.93457377,
    ],
    [
        0.3584545,
        0.51864845,
        0.5644592,
        0.60382944,
        0.66663498,
        0.74070567,
        0.89195246,
        1.0137889,
        0.77055705,
    ],
]


@pytest.mark.parametrize("mode, align_corners, kwargs, expected", AA_CASES)
def test_antialias_matches_pytorch(mode, align_corners, kwargs, expected):
    y = F.interpolate(gn.tensor(X, dtype="float32"), mode=mode, align_corners=align_corners,
                      antialias=True, **kwargs)  # fmt: skip
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy()[0, 0], expected, rtol=1e-5, atol=2e-6)


def test_antialias_gradient_matches_pytorch():
    x = gn.tensor(X, dtype="float32", requires_grad=True)
    y = F.interpolate(x, size=(3, 4), mode="bicubic", antialias=True)
    (y * (gn.arange(12.0).reshape(1, 1, 3, 4) - 5.5)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0, 0], GRAD_BICUBIC_3x4, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kwargs", [{"size": (3, 4)}, {"scale_factor": 0.45},
                                    {"size": (9, 5)}, {"scale_factor": (1.7, 0.6)}])  # fmt: skip
def test_antialias_first_and_second_derivatives(mode, align_corners, kwargs):
    def f(a):
        return F.interpolate(a, mode=mode, align_corners=align_corners, antialias=True, **kwargs)

    x = np.random.default_rng(0).normal(size=(2, 1, 7, 9))
    check_grad(f, [x])
    check_grad_grad(f, [x])


def test_antialias_downsampling_averages_every_input_pixel():
    # downsampling by 4: each output is a weighted mean of a window 8 pixels wide (support
    # 1 * 4 on each side for bilinear), so a constant image stays constant and an impulse
    # anywhere reaches the output (plain bilinear samples 2 of every 4 pixels and loses it)
    ones = F.interpolate(gn.ones(1, 1, 16, 16), scale_factor=0.25, mode="bilinear", antialias=True)
    np.testing.assert_allclose(ones.numpy(), 1.0, rtol=1e-6)
    impulse = np.zeros((1, 1, 16, 16), np.float32)
    impulse[0, 0, 4, 4] = 1.0
    aa = F.interpolate(gn.tensor(impulse), scale_factor=0.25, mode="bilinear", antialias=True)
    plain = F.interpolate(gn.tensor(impulse), scale_factor=0.25, mode="bilinear")
    assert aa.numpy().sum() > 0.05 and plain.numpy().sum() == 0.0


def test_antialias_output_width_one_is_each_columns_own_resize():
    # the resize is separable: an (8, 1) -> (2, 1) resize equals each column of the (8, 2) ->
    # (2, 2) one. (PyTorch 2.13's CPU forward returns [1.8928572, 1.8928572] here, both rows
    # the first; its backward agrees with this forward, and its (8, 2) result is the one below.)
    col = gn.arange(8.0).reshape(1, 1, 8, 1)
    y = F.interpolate(col, size=(2, 1), mode="bilinear", antialias=True)
    np.testing.assert_allclose(y.numpy().ravel(), [1.8928572, 5.107143], rtol=1e-6)


def test_antialias_rejects_other_modes():
    with pytest.raises(ValueError, match="antialias=True is for modes 'bilinear' and 'bicubic'"):
        F.interpolate(gn.zeros(1, 1, 4, 4), size=2, mode="nearest", antialias=True)


# -- area: adaptive average pooling in 1, 2 and 3 dims --------------------------------------------
def test_area_in_one_and_three_dims_averages_pytorchs_bins():
    x1 = gn.arange(5.0).reshape(1, 1, 5)
    # bins of 5 -> 3: [0, 2), [1, 4), [3, 5) -> means 0.5, 2, 3.5 (PyTorch's adaptive bins)
    np.testing.assert_allclose(F.interpolate(x1, size=3, mode="area").numpy().ravel(),
                               [0.5, 2.0, 3.5])  # fmt: skip
    x3 = gn.arange(2.0 * 4 * 6).reshape(1, 1, 2, 4, 6)
    y = F.interpolate(x3, size=(1, 2, 3), mode="area")
    expect = np.arange(48.0).reshape(2, 2, 2, 3, 2).mean(axis=(0, 2, 4))
    np.testing.assert_allclose(y.numpy()[0, 0, 0], expect)
    np.testing.assert_allclose(F.interpolate(x3, scale_factor=0.5, mode="area").numpy(),
                               F.adaptive_avg_pool3d(x3, (1, 2, 3)).numpy())  # fmt: skip


@pytest.mark.parametrize("size", [(2, 3, 4), (5, 3, 7), (1, 1, 1), (3, None, 2)])
def test_adaptive_avg_pool3d_derivatives_and_module(size):
    x = np.random.default_rng(1).normal(size=(2, 2, 3, 5, 4))
    check_grad(lambda a: F.adaptive_avg_pool3d(a, size), [x])
    check_grad_grad(lambda a: F.adaptive_avg_pool3d(a, size), [x])
    module = gn.nn.AdaptiveAvgPool3d(size)
    out = module(gn.tensor(x))
    assert out.shape == (2, 2) + tuple(n if s is None else s for s, n in zip(size, (3, 5, 4)))
    unbatched = module(gn.tensor(x[0]))  # (C, D, H, W)
    np.testing.assert_allclose(unbatched.numpy(), out.numpy()[0])


def test_adaptive_avg_pool_edges():
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: output_size must be"):
        F.adaptive_avg_pool3d(gn.zeros(1, 1, 2, 2, 2), (1, 2))
    with pytest.raises(ValueError, match="adaptive_avg_pool3d: input must be"):
        F.adaptive_avg_pool3d(gn.zeros(2, 2), 1)
    with pytest.raises(TypeError, match="floating point"):
        F.adaptive_avg_pool1d(gn.zeros(1, 1, 4, dtype="int64"), 2)
    # a zero-size batch gives a zero-size result
    assert F.adaptive_avg_pool1d(gn.zeros(0, 3, 6), 2).shape == (0, 3, 2)
