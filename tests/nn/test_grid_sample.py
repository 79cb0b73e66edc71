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
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        F.grid_sample(
            gn.zeros(1, 1, 2, 2, 2, dtype="float64"),
            gn.zeros(1, 1, 1, 1, 3, dtype="float64"),
            mode="bicubic",
        )
    with pytest.raises(ValueError, match="mode must be"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 2, dtype="float64"), mode="area")
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 2, dtype="float64"), padding_mode="wrap")
    with pytest.raises(ValueError, match="grid must be"):
        F.grid_sample(gn.tensor(X), gn.zeros(2, 2, 2, 3, dtype="float64"))
    with pytest.raises(ValueError, match="theta"):
        F.affine_grid(gn.zeros(2, 3, 3), (2, 3, 4, 5))


# -- bicubic (4-D) and 5-D (trilinear, nearest), values recorded from torch 2.13.0 ----------------
RAMP = (np.arange(20.0).reshape(1, 1, 4, 5) ** 1.5) / 10
POINTS = np.array([[[[-0.9, -0.8], [0.33, 0.1], [1.2, -1.1]]]])  # one inside, two near/out


@pytest.mark.parametrize(
    "padding, align, want",
    [
        ("zeros", False, [-0.0606019, 3.65584715, 0.0]),
        ("zeros", True, [0.26072977, 3.46901467, 0.35760825]),
        ("border", False, [-0.076855, 3.65584715, 0.710225]),
        ("border", True, [0.23860044, 3.46901467, 0.67447008]),
        ("reflection", False, [-0.08714099, 3.65584715, 0.50075]),
        ("reflection", True, [0.09791436, 3.46901467, 0.78917928]),
    ],
)
def test_bicubic_matches_recorded_pytorch(padding, align, want):
    out = F.grid_sample(
        gn.tensor(RAMP),
        gn.tensor(POINTS),
        mode="bicubic",
        padding_mode=padding,
        align_corners=align,
    )
    assert out.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(out.numpy().ravel(), want, atol=1e-8)


def test_bicubic_interpolates_pixel_centres_and_its_gradients():
    # the cubic convolution kernel is 1 at 0 and 0 at the other integers: at a pixel centre
    # the result is that pixel; away from the borders a constant image stays constant
    px, py = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.0])
    grid = np.stack([(2 * px + 1) / 5 - 1, (2 * py + 1) / 4 - 1], -1)[None, None]  # (1,1,3,2)
    out = F.grid_sample(gn.tensor(X[:1]), gn.tensor(grid), mode="bicubic")
    np.testing.assert_allclose(out.numpy()[0, :, 0], X[0][:, [1, 2, 2], [1, 2, 3]], atol=1e-12)
    flat = F.grid_sample(
        gn.tensor(np.full((1, 1, 6, 8), 2.5)), gn.tensor(POINTS * 0.4), mode="bicubic"
    )
    np.testing.assert_allclose(flat.numpy(), 2.5, rtol=1e-12)
    inside = rng.uniform(-0.8, 0.8, (2, 3, 2, 2))
    for padding in ("zeros", "border", "reflection"):
        check_grad(
            lambda a, g, p=padding: F.grid_sample(a, g, mode="bicubic", padding_mode=p), [X, inside]
        )


def test_five_d_matches_recorded_pytorch_and_its_gradients():
    volume = np.arange(24.0).reshape(1, 1, 2, 3, 4)  # (N, C, D, H, W)
    points = np.array([[[[[-0.5, 0.2, 0.9], [0.7, -0.3, -0.2]]]]])  # (N, 1, 1, 2, 3): x, y, z
    tri = F.grid_sample(gn.tensor(volume), gn.tensor(points), align_corners=False)
    assert tri.shape == (1, 1, 1, 1, 2)
    np.testing.assert_allclose(tri.numpy().ravel(), [10.62, 8.7], rtol=1e-12)
    near = F.grid_sample(gn.tensor(volume), gn.tensor(points), mode="nearest", align_corners=True)
    assert near.numpy().ravel().tolist() == [17.0, 7.0]
    vol = rng.standard_normal((2, 2, 3, 3, 4))
    grid = rng.uniform(-1.2, 1.2, (2, 2, 2, 2, 3))
    for padding in ("zeros", "border", "reflection"):
        check_grad(lambda a, g, p=padding: F.grid_sample(a, g, padding_mode=p), [vol, grid])
    theta = np.tile(np.eye(3, 4), (2, 1, 1))
    grid = F.affine_grid(gn.tensor(theta), (2, 2, 3, 3, 4), align_corners=True)
    assert grid.shape == (2, 3, 3, 4, 3)
    same = F.grid_sample(gn.tensor(vol), grid, align_corners=True)
    np.testing.assert_allclose(same.numpy(), vol, atol=1e-12)  # the identity map
