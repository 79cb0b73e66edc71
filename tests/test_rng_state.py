"""PyTorch's global-generator functions: ``manual_seed`` returns the default generator,
``get_rng_state``/``set_rng_state`` restore the stream exactly, ``initial_seed``/``seed``.

The expected values come from NumPy's own ``default_rng(seed)`` (glassnet's host generator is
PCG64 seeded with the seed), or from a draw repeated after restoring a state.
"""

import numpy as np
import pytest

import glassnet as gn


@pytest.fixture(autouse=True)
def _reseed():
    yield
    gn.manual_seed(0)  # leave the global generator as the other tests expect it


def test_manual_seed_returns_the_default_generator():
    g = gn.manual_seed(7)
    assert g is gn.default_generator
    assert isinstance(g, gn.Generator)
    assert gn.initial_seed() == 7 == g.initial_seed()


def test_default_generator_draws_the_global_stream():
    gn.manual_seed(5)
    a = gn.rand(4, dtype="float64", device="cpu").numpy()
    np.testing.assert_array_equal(a, np.random.default_rng(5).random(4))
    gn.default_generator.manual_seed(5)  # seeding it is gn.manual_seed
    b = gn.rand(4, dtype="float64", generator=gn.default_generator, device="cpu").numpy()
    np.testing.assert_array_equal(b, a)


def test_get_and_set_rng_state_restore_the_stream():
    gn.manual_seed(0)
    gn.randn(10)
    state = gn.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    a = gn.randn(5).numpy()
    gn.randn(3)
    gn.set_rng_state(state)
    np.testing.assert_array_equal(gn.randn(5).numpy(), a)


def test_set_rng_state_rejects_other_values():
    with pytest.raises(TypeError, match="uint8 tensor"):
        gn.set_rng_state([1, 2, 3])


def test_seed_reseeds_from_entropy_and_reports_it():
    s = gn.seed()
    assert gn.initial_seed() == s
    a = gn.rand(3, dtype="float64").numpy()
    np.testing.assert_array_equal(a, np.random.default_rng(s).random(3))
