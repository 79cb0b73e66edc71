"""Gradchecks of convolution and pooling: stride, padding, dilation, groups, odd sizes, ties.

Each case runs forward and backward in float64 and compares with central differences.
"""

import numpy as np
import pytest

import glassnet.functional as F
from glassnet.testing import GradCase, run_case

rng = np.random.default_rng(0)


def r(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def distinct(*shape):
    """Values all at least 0.05 apart, so a +-eps nudge never changes which one is the max."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 - 1.0).reshape(shape)


def max_tie_away_from_max():
    """Windows holding ties among NON-maximal values: a tie there has no kink to trip over."""
    x = distinct(1, 2, 4, 4)
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = -5.0  # tied, below the window max
    x[0, 1, 2, 2] = x[0, 1, 3, 3] = -5.0
    return x


NONCONTIG_X = r(6, 5, 2, 3).transpose(2, 3, 0, 1)  # (2, 3, 6, 5), non-contiguous

CASES = [
    # conv2d
    GradCase("conv2d", F.conv2d, [r(2, 3, 5, 4), r(4, 3, 3, 2), r(4)], "bias"),
    GradCase("conv2d", F.conv2d, [r(1, 2, 5, 5), r(3, 2, 2, 2)], "nobias"),
    GradCase(
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        [r(2, 2, 7, 6), r(3, 2, 3, 3), r(3)],
        "stride2-pad1-odd",
    ),
    GradCase(
        "conv2d",
        lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
        [r(1, 2, 6, 7), r(2, 2, 2, 3)],
        "asymmetric-dilation",
    ),
    GradCase(
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, groups=2, padding=1),
        [r(2, 4, 4, 5), r(6, 2, 3, 3), r(6)],
        "groups2",
    ),
    GradCase(
        "conv2d",
        lambda x, w: F.conv2d(x, w, groups=3, stride=2),
        [r(1, 3, 5, 5), r(3, 1, 2, 2)],
        "depthwise",
    ),
    GradCase(
        "conv2d",
        lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
        [r(1, 2, 5, 6), r(2, 2, 2, 3)],
        "same-even-kernel",
    ),
    GradCase("conv2d", F.conv2d, [NONCONTIG_X, r(2, 3, 3, 3)], "noncontig"),
    GradCase("conv2d", F.conv2d, [r(2, 2, 3, 3), r(2, 2, 3, 3), r(2)], "kernel-equals-input"),
    GradCase("conv2d", lambda x, w: F.conv2d(x, w), [r(2, 3, 4, 4), r(5, 3, 1, 1)], "1x1"),
    # conv1d
    GradCase("conv1d", F.conv1d, [r(2, 3, 7), r(4, 3, 3), r(4)], "bias"),
    GradCase(
        "conv1d",
        lambda x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2),
        [r(2, 2, 9), r(3, 2, 3)],
        "stride-pad-dilation",
    ),
    GradCase(
        "conv1d",
        lambda x, w, b: F.conv1d(x, w, b, groups=2, padding="same"),
        [r(1, 4, 6), r(2, 2, 4), r(2)],
        "groups-same",
    ),
    # max pooling: distinct values (no kink within eps) plus non-maximal ties
    GradCase("max_pool2d", lambda x: F.max_pool2d(x, 2), [distinct(2, 2, 4, 6)], "2x2"),
    GradCase(
        "max_pool2d", lambda x: F.max_pool2d(x, 3, stride=2), [distinct(1, 2, 7, 5)], "overlap"
    ),
    GradCase(
        "max_pool2d",
        lambda x: F.max_pool2d(x, (3, 2), stride=(1, 2), padding=1),
        [distinct(1, 2, 5, 5)],
        "pad-odd",
    ),
    GradCase("max_pool2d", lambda x: F.max_pool2d(x, 2), [max_tie_away_from_max()], "ties-nonmax"),
    GradCase(
        "max_pool2d",
        lambda x: F.max_pool2d(x, 2, stride=1),
        [distinct(1, 1, 3, 3) * 1e3],
        "large-shared-max",
    ),
    # average pooling
    GradCase("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [r(2, 2, 4, 5)], "2x2-odd"),
    GradCase(
        "avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [r(1, 2, 6, 5)], "pad"
    ),
    GradCase(
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, (3, 2), stride=1, padding=1, count_include_pad=False),
        [r(1, 2, 4, 5)],
        "exclude-pad",
    ),
    GradCase("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [NONCONTIG_X], "noncontig"),
    # adaptive average pooling
    GradCase(
        "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [r(2, 2, 7, 5)], "uneven"
    ),
    GradCase(
        "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), [r(2, 3, 4, 4)], "global"
    ),
    GradCase(
        "adaptive_avg_pool2d",
        lambda x: F.adaptive_avg_pool2d(x, (None, 6)),
        [r(1, 1, 3, 4)],
        "upsample",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    run_case(case)
