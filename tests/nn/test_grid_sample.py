"""F.affine_grid and F.grid_sample: identity and shift transforms against the input itself,
padding modes at the borders, and gradients (input and grid) against finite differences."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.testing import check_grad

rng = np.random.default_rng(5)
X = rng.standard_normal((2, 3, 4, 5))
IDENTITY = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_the_identity_transform_returns_the_input(align, mode):
    grid = F.affine_grid(gn.tensor(IDENTITY), (2, 3, 4, 5), align_corners=align)
    assert grid.shape == (2, 4, 5, 2)
    out = F.grid_sample(gn.tensor(X), grid, mode=mode, align_corners=align)
    np.testing.assert_allclose(out.numpy(), X, atol=1e-12)


def test_affine_grid_points_are_the_pixel_centres():
    g = F.affine_grid(gn.tensor(IDENTITY[:1]), (1, 1, 2, 4), align_corners=False).numpy()[0]
    np.testing.assert_allclose(g[0, :, 0], [-0.75, -0.25, 0.25, 0.75])  # x across the width
    np.testing.assert_allclose(g[:, 0, 1], [-0.5, 0.5])  # y down the height
    g = F.affine_grid(gn.tensor(IDENTITY[:1]), (1, 1, 2, 4), align_corners=True).numpy()[0]
    np.testing.assert_allclose(g[0, :, 0], [-1, -1 / 3, 1 / 3, 1])


@pytest.mark.parametrize(
    "padding, last", [("zeros", "zero"), ("border", "edge"), ("reflection", "mirror")]
)
def test_a_one_pixel_shift_and_the_padding_modes(padding, last):
    theta = IDENTITY.copy()
    theta[:, 0, 2] = 2 / 5  # one pixel to the right in normalized units (align_corners=False)
    grid = F.affine_grid(gn.tensor(theta), (2, 3, 4, 5))
    out = F.grid_sample(gn.tensor(X), grid, padding_mode=padding).numpy()
    np.testing.assert_allclose(out[..., :4], X[..., 1:], atol=1e-12)
    expected = {"zero": 0 * X[..., 4], "edge": X[..., 4], "mirror": X[..., 4]}[last]
    np.testing.assert_allclose(out[..., 4], expected, atol=1e-12)
    # two pixels past the right edge: reflection mirrors at the edge (x = 5.5 -> 3.5 ... 4 - 0.5)
    theta[:, 0, 2] = 4 / 5
    far = F.grid_sample(
        gn.tensor(X), F.affine_grid(gn.tensor(theta), (2, 3, 4, 5)), padding_mode=padding
    )
    if padding == "reflection":
        np.testing.assert_allclose(far.numpy()[..., 4], X[..., 3], atol=1e-12)


def test_gradients_reach_the_input_and_the_grid():
    grid = rng.uniform(-0.9, 0.9, (2, 3, 2, 2))  # inside, away from pixel centres a.s.
    check_grad(lambda a, g: F.grid_sample(a, g, align_corners=False), [X, grid])
    check_grad(
        lambda a, g: F.grid_sample(a, g, padding_mode="border", align_corners=True), [X, grid * 1.2]
    )
    theta = IDENTITY + rng.uniform(-0.1, 0.1, IDENTITY.shape)
    check_grad(lambda t: F.grid_sample(gn.tensor(X), F.affine_grid(t, (2, 3, 3, 3))), [theta])


def test_errors():
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 2, dtype="float64"), mode="bicubic")
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 2, dtype="float64"), padding_mode="wrap")
    with pytest.raises(ValueError, match="grid must be"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 3, dtype="float64"))
    with pytest.raises(ValueError, match="theta"):
        F.affine_grid(gn.zeros(2, 3, 3), (2, 3, 4, 5))
