"""``linalg.qr``, ``linalg.lstsq``, ``linalg.eig``/``eigvals``, ``gn.svd`` and ``gn.qr`` against
values recorded once from torch 2.13 (float64), with gradients checked against float64
finite differences (first and, for QR, second order)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradCase, check_grad, check_grad_grad, run_case

# torch 2.13: Q, R / U, S, V / (solution, residuals, rank, singular_values) / eig of _arr(...).
TORCH = {
    "qr_tall": [
        [
            [0.0, 0.350889679311487, 0.92288340458576],
            [0.153550121548247, -0.313679921930943, 0.273319613058579],
            [-0.561002577525981, -0.752896477650353, 0.244663878970674],
            [0.813448503706119, -0.460030687532659, 0.117141781550088],
        ],
        [
            [-2.43952478388697, -0.416610383232107, 2.32063517504682],
            [0.0, 2.0611346145861, 1.43303005871906],
            [0.0, 0.0, 1.61334164633282],
        ],
    ],
    "qr_wide": [
        [
            [0.0, -0.39324779875935, 0.919432525404081],
            [-0.260853468683408, -0.887600306325224, -0.379632933354317],
            [0.965378406572176, -0.239837163472, -0.102580052358491],
        ],
        [
            [
                -1.33323498635534,
                1.01139532292358,
                0.588522690606569,
                -0.0559190619813118,
                0.0150016375775612,
            ],
            [0.0, -1.83912247242484, 0.325900638025763, 2.0527532938665, 2.16566000205026],
            [0.0, 0.0, 2.30568458154283, 0.470563499951294, 0.153501105074917],
        ],
    ],
    "qrc_tall": [
        [
            [0.0, 0.350889679311487, 0.92288340458576, 0.158627407760696],
            [0.153550121548247, -0.313679921930943, 0.273319613058579, -0.896283245334545],
            [-0.561002577525981, -0.752896477650353, 0.244663878970674, 0.241997083201267],
            [0.813448503706119, -0.460030687532659, 0.117141781550088, 0.336081986071518],
        ],
        [
            [-2.43952478388697, -0.416610383232107, 2.32063517504682],
            [0.0, 2.0611346145861, 1.43303005871906],
            [0.0, 0.0, 1.61334164633282],
            [0.0, 0.0, 0.0],
        ],
    ],
    "svd_tall": [
        [
            [-0.734649443056401, 0.218811143265778, -0.492817231159758],
            [0.52030534179984, -0.0533437148883141, -0.850138815762192],
            [-0.42941194343991, -0.571244190411312, -0.178571050787036],
            [-0.0719578344770816, 0.789275748129868, -0.0500754473499927],
        ],
        [3.48851347585166, 2.78571897797226, 2.26259621822152],
        [
            [-0.855454734935254, -0.479961303083855, 0.19451052418546],
            [-0.315707857892461, 0.185590020322398, -0.930529361611811],
            [-0.410518872820492, 0.857434249315235, 0.310291416509404],
        ],
    ],
    "svd_square": [
        [
            [-0.72317277593962, 0.453866259599975, 0.520602107695035],
            [0.518527001158938, 0.854700191262757, -0.0248461692122707],
            [-0.456235558904503, 0.251978176539426, -0.853437820429211],
        ],
        [3.48422160464268, 2.26593101268873, 1.69260746114104],
        [
            [-0.882973124036538, -0.144114342644684, -0.446754427480296],
            [-0.302268495619094, 0.902699249959275, 0.306215317512257],
            [-0.359154867411436, -0.405419684237276, 0.840620402350324],
        ],
    ],
    "lstsq_gels": [
        [
            [-0.216666223771092, -0.398278016295047],
            [0.0718217246133935, 0.328491978457878],
            [0.298522708046646, 0.182062564679847],
        ],
        [9.76845247284189, 4.17962003592951],
        [],
        [],
    ],
    "lstsq_gelsy": [
        [
            [-0.216666223771092, -0.398278016295047],
            [0.0718217246133935, 0.328491978457878],
            [0.298522708046646, 0.182062564679847],
        ],
        [],
        3,
        [],
    ],
    "lstsq_gelsd": [
        [
            [-0.216666223771092, -0.398278016295048],
            [0.0718217246133927, 0.328491978457877],
            [0.298522708046646, 0.182062564679847],
        ],
        [9.76845247284189, 4.17962003592951],
        3,
        [4.54755437157078, 3.67295560282277, 1.57841874825679],
    ],
    "lstsq_wide_vec": [
        [
            [
                -0.160921526329013,
                0.381956423829794,
                0.342591479319357,
                -0.518587277764472,
                0.053436863153,
            ],
            [
                -0.449962220341843,
                0.198587638122617,
                -0.858629043862786,
                -0.37095093729606,
                0.46651517781459,
            ],
        ],
        [],
        [3, 3],
        [
            [3.75831593232021, 3.51293228521999, 1.92901489192921],
            [3.89749525524327, 3.27085701306997, 2.70218881587194],
        ],
    ],
    "eig": [
        [-0.153730820513045, -1.79124017886344, -1.79124017886344],
        [0.0, 0.403556865122387, -0.403556865122387],
        [
            [0.933269639783116, 0.702022137505044, 0.702022137505044],
            [0.31433121264526, 0.478244197187512, 0.478244197187512],
            [0.17379202575508, 0.527681159706619, 0.527681159706619],
        ],
    ],
}


def _arr(shape, k):
    return np.sin(np.arange(int(np.prod(shape))) ** 2 * 0.37 + k).reshape(shape) * 2


def _t(a):
    return gn.tensor(np.asarray(a), dtype=gn.float64)


TALL, WIDE, SQUARE = _arr((2, 4, 3), 8), _arr((3, 5), 9), _arr((3, 3), 10)

CASES = [
    GradCase("qr_factor", lambda a: gn.linalg.qr(a).Q, [TALL], "tall-q"),
    GradCase("qr_factor", lambda a: gn.linalg.qr(a).R, [TALL], "tall-r"),
    GradCase("qr_factor", lambda a: gn.linalg.qr(a).Q, [WIDE], "wide-q"),
    GradCase("qr_factor", lambda a: gn.linalg.qr(a).R, [WIDE], "wide-r"),
    GradCase("qr_factor", lambda a: gn.linalg.qr(a, mode="complete").Q, [SQUARE], "complete"),
    GradCase("lstsq", lambda a, b: gn.linalg.lstsq(a, b).solution, [TALL, _arr((2, 4, 2), 11)]),
    GradCase("lstsq", lambda a, b: gn.linalg.lstsq(a, b).solution, [WIDE, _arr(3, 12)], "wide"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_qr_lstsq_op_derivatives(case):
    run_case(case)


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got.numpy()), np.asarray(want), atol=1e-12)


@pytest.mark.parametrize("name, shape", [("tall", (4, 3)), ("wide", (3, 5))])
def test_qr_matches_torch(name, shape):
    result = gn.linalg.qr(_t(_arr(shape, 0)))
    assert type(result).__name__ == "linalg_qr" and result._fields == ("Q", "R")
    _close(result.Q, TORCH["qr_" + name][0])
    _close(result.R, TORCH["qr_" + name][1])
    q, r = gn.qr(_t(_arr(shape, 0)))  # torch.qr, some=True
    _close(q, TORCH["qr_" + name][0])
    _close(r, TORCH["qr_" + name][1])


def test_qr_modes():
    a = _t(_arr((4, 3), 0))
    q, r = gn.linalg.qr(a, mode="complete")
    _close(q, TORCH["qrc_tall"][0])
    _close(r, TORCH["qrc_tall"][1])
    assert gn.qr(a, some=False).Q.shape == (4, 4)
    q, r = gn.linalg.qr(a, mode="r")
    assert q.shape == (0,)
    _close(r, TORCH["qr_tall"][1])
    batched = gn.linalg.qr(_t(_arr((2, 5, 3), 1)))
    np.testing.assert_allclose((batched.Q @ batched.R).numpy(), _arr((2, 5, 3), 1), atol=1e-12)
    with pytest.raises(ValueError, match="unrecognized mode 'x'"):
        gn.linalg.qr(a, mode="x")
    with pytest.raises(ValueError, match="float matrices"):
        gn.linalg.qr(gn.ones(3))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("part", ["Q", "R"])
def test_qr_gradient_matches_finite_differences(shape, part):
    check_grad(lambda a: getattr(gn.linalg.qr(a), part), [_arr(shape, 2)], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_qr_second_derivative(shape):
    check_grad_grad(lambda a: gn.linalg.qr(a).Q + gn.linalg.qr(a).R.sum(), [_arr(shape, 3)])


def test_qr_underivable_modes_raise_at_backward():
    a = _t(_arr((4, 3), 0)).requires_grad_()
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        gn.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        gn.linalg.qr(a, mode="complete").R.sum().backward()
    b = _t(_arr((3, 5), 0)).requires_grad_()
    gn.linalg.qr(b, mode="complete").Q.sum().backward()  # wide: complete == reduced
    assert b.grad is not None


def test_svd_root_returns_v_and_matches_torch():
    u, s, v = gn.svd(_t(_arr((3, 3), 1)))
    _close(u, TORCH["svd_square"][0])
    _close(s, TORCH["svd_square"][1])
    _close(v, TORCH["svd_square"][2])  # V, not Vh
    u, s, v = gn.svd(_t(_arr((4, 3), 1)))
    want_u, want_s, want_v = (np.array(x) for x in TORCH["svd_tall"])
    _close(s, want_s)
    # singular vectors are defined up to the sign of each (u_i, v_i) pair
    signs = np.sign((u.numpy() * want_u).sum(0))
    np.testing.assert_allclose(u.numpy() * signs, want_u, atol=1e-12)
    np.testing.assert_allclose(v.numpy() * signs, want_v, atol=1e-12)
    full = gn.svd(_t(_arr((4, 3), 1)), some=False)
    assert [tuple(t.shape) for t in full] == [(4, 4), (3,), (3, 3)]
    only_s = gn.svd(_t(_arr((2, 4, 3), 1)), compute_uv=False)
    assert only_s.U.shape == (2, 4, 4) and only_s.V.shape == (2, 3, 3)
    assert not only_s.U.numpy().any() and not only_s.V.numpy().any()
    assert type(only_s).__name__ == "svd" and only_s._fields == ("U", "S", "V")


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4)])
def test_svd_root_gradients(shape):
    for i in range(3):
        check_grad(lambda a, i=i: gn.svd(a)[i], [_arr(shape, 4)], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("driver", ["gels", "gelsy", "gelsd"])
def test_lstsq_matches_torch(driver):
    result = gn.linalg.lstsq(_t(_arr((5, 3), 2)), _t(_arr((5, 2), 3)), driver=driver)
    assert result._fields == ("solution", "residuals", "rank", "singular_values")
    for got, want in zip(result, TORCH["lstsq_" + driver]):
        assert got.shape == np.shape(want)
        _close(got, want)
    assert result.rank.dtype == gn.int64
    default = gn.linalg.lstsq(_t(_arr((5, 3), 2)), _t(_arr((5, 2), 3)))  # gelsy on the CPU
    assert default.residuals.shape == (0,) and int(default.rank) == 3


def test_lstsq_wide_batched_vector_right_hand_side():
    result = gn.linalg.lstsq(_t(_arr((2, 3, 5), 4)), _t(_arr((2, 3), 5)), driver="gelsd")
    for got, want in zip(result, TORCH["lstsq_wide_vec"]):
        assert got.shape == np.shape(want)
        _close(got, want)


def test_lstsq_rank_deficient_gives_the_minimum_norm_solution():
    a = _t([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    result = gn.linalg.lstsq(a, gn.ones(3, 1, dtype=gn.float64), driver="gelsd")
    np.testing.assert_allclose(result.solution.numpy(), [[3 / 35], [6 / 35]], atol=1e-12)
    assert int(result.rank) == 1 and result.residuals.shape == (0,)  # torch 2.13's values


@pytest.mark.parametrize("shape_a, shape_b", [((5, 3), (5, 2)), ((3, 5), (3, 2)), ((4, 2), (4,))])
def test_lstsq_gradient_matches_finite_differences(shape_a, shape_b):
    def solve(a, b):
        return gn.linalg.lstsq(a, b, driver="gelsd").solution

    check_grad(solve, [_arr(shape_a, 6), _arr(shape_b, 7)], atol=1e-7, rtol=1e-6)


def test_lstsq_residuals_gradient():
    def residuals(a, b):
        return gn.linalg.lstsq(a, b, driver="gelsd").residuals

    check_grad(residuals, [_arr((5, 3), 6), _arr((5, 2), 7)], atol=1e-7, rtol=1e-6)


def test_lstsq_errors():
    a = _t(_arr((5, 3), 2))
    with pytest.raises(ValueError, match="driver` should be one of"):
        gn.linalg.lstsq(a, _t(_arr((5, 2), 3)), driver="foo")
    with pytest.raises(ValueError, match=r"input.size\(-2\) should match other.size\(-2\)"):
        gn.linalg.lstsq(a, _t(_arr((4, 2), 3)))
    with pytest.raises(TypeError, match="same dtype"):
        gn.linalg.lstsq(a, gn.ones(5, 2))


def test_eig_and_eigvals_are_complex_and_refuse_gradients():
    a = _t(_arr((3, 3), 6))
    w, v = gn.linalg.eig(a)
    assert w.dtype == gn.complex128 and v.dtype == gn.complex128
    real, imag, abs_v = TORCH["eig"]
    np.testing.assert_allclose(w.numpy().real, real, atol=1e-12)
    np.testing.assert_allclose(w.numpy().imag, imag, atol=1e-12)
    np.testing.assert_allclose(np.abs(v.numpy()), abs_v, atol=1e-12)
    np.testing.assert_allclose(gn.linalg.eigvals(a).numpy(), w.numpy(), atol=1e-12)
    assert gn.linalg.eigvals(gn.eye(2)).dtype == gn.complex64  # float32 -> complex64
    with pytest.raises(RuntimeError, match="no complex autograd"):
        gn.linalg.eigvals(a.clone().requires_grad_())
    with pytest.raises(RuntimeError, match="use linalg.eigh"):
        gn.linalg.eig(a.clone().requires_grad_())
    with gn.no_grad():
        assert gn.linalg.eigvals(a.clone().requires_grad_()).shape == (3,)
