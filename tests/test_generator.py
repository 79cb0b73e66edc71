"""gn.Generator (torch.Generator): seeding, state round trips, generator= on every random
function, draws on the generator's device (the sim device counts host transfers), and clear
errors for a generator on another device."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.backend import get_default_device
from glassnet.backend.sim import TRANSFERS

DEV = get_default_device()  # cpu, or sim under GLASSNET_TEST_DEVICE=sim


def gen(seed, device=None):
    return gn.Generator(DEV if device is None else device).manual_seed(seed)


# every random function with generator=, as (name, call(generator) -> Tensor); on DEV
DRAWS = [
    ("randn", lambda g: gn.randn(2, 3, generator=g)),
    ("rand", lambda g: gn.rand(5, generator=g, dtype="float64")),
    ("randint", lambda g: gn.randint(0, 10, (6,), generator=g)),
    ("randperm", lambda g: gn.randperm(8, generator=g)),
    ("normal", lambda g: gn.normal(1.0, 2.0, (4,), generator=g)),
    ("normal_tensor", lambda g: gn.normal(gn.zeros(4), gn.ones(4), generator=g)),
    ("bernoulli", lambda g: gn.bernoulli(gn.full((16,), 0.5), generator=g)),
    ("multinomial", lambda g: gn.multinomial(gn.ones(2, 5), 3, generator=g)),
    ("rand_like", lambda g: gn.rand_like(gn.zeros(3), generator=g)),
    ("randn_like", lambda g: gn.randn_like(gn.zeros(3), generator=g)),
    ("randint_like", lambda g: gn.randint_like(gn.zeros(3), 5, generator=g)),
    ("dropout", lambda g: F.dropout(gn.ones(20), 0.5, generator=g)),
    ("uniform_", lambda g: gn.zeros(5).uniform_(-1, 1, generator=g)),
    ("normal_", lambda g: gn.zeros(5).normal_(generator=g)),
    ("bernoulli_", lambda g: gn.zeros(9).bernoulli_(0.5, generator=g)),
    ("init.uniform_", lambda g: gn.nn.init.uniform_(gn.zeros(4), generator=g)),
    ("init.normal_", lambda g: gn.nn.init.normal_(gn.zeros(4), generator=g)),
    ("init.xavier_uniform_", lambda g: gn.nn.init.xavier_uniform_(gn.zeros(3, 4), generator=g)),
    ("init.xavier_normal_", lambda g: gn.nn.init.xavier_normal_(gn.zeros(3, 4), generator=g)),
    ("init.kaiming_uniform_", lambda g: gn.nn.init.kaiming_uniform_(gn.zeros(3, 4), generator=g)),
    ("init.kaiming_normal_", lambda g: gn.nn.init.kaiming_normal_(gn.zeros(3, 4), generator=g)),
]


def test_a_new_generator_starts_from_pytorchs_default_seed():
    # torch.Generator().initial_seed() == 67280421310721 (PyTorch 2.13)
    g = gn.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == "cpu"
    first = gn.randn(4, generator=gn.Generator(), device="cpu").tolist()
    assert gn.randn(4, generator=g, device="cpu").tolist() == first


def test_manual_seed_chains_and_wraps_negative_seeds_as_pytorch():
    g = gn.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    assert gn.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # torch: the same
    with pytest.raises(TypeError, match="manual_seed: seed must be an int"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="64 bits"):
        g.manual_seed(2**64)


def test_seed_draws_a_fresh_seed_and_reports_it():
    g = gn.Generator()
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**64
    again = gn.Generator().manual_seed(s)
    assert (
        gn.rand(3, generator=g, device="cpu").tolist()
        == gn.rand(3, generator=again, device="cpu").tolist()
    )


@pytest.mark.parametrize("device", ["cpu", "sim"])
def test_state_is_a_uint8_tensor_that_round_trips_exactly(device):
    g = gn.Generator(device).manual_seed(11)
    gn.rand(7, generator=g, device=device)  # move off the seed's start
    state = g.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1 and state.device == "cpu"
    a = gn.randn(5, generator=g, device=device, dtype="float64").tolist()
    b = gn.randn(5, generator=g, device=device, dtype="float64").tolist()
    assert a != b
    g.manual_seed(99)
    assert g.set_state(state) is g and g.initial_seed() == 11  # the seed travels with the state
    assert gn.randn(5, generator=g, device=device, dtype="float64").tolist() == a
    other = gn.Generator(device).set_state(state)
    assert gn.randn(5, generator=other, device=device, dtype="float64").tolist() == a


def test_set_state_rejects_what_get_state_did_not_make():
    g = gn.Generator()
    with pytest.raises(TypeError, match="uint8 tensor"):
        g.set_state(gn.zeros(46))
    with pytest.raises(ValueError, match="46 bytes"):
        g.set_state(gn.tensor(np.zeros(3, np.uint8)))


@pytest.mark.parametrize("name, draw", DRAWS, ids=[d[0] for d in DRAWS])
def test_every_random_function_takes_a_generator(name, draw):
    first = draw(gen(5))
    assert first.device == DEV
    assert draw(gen(5)).tolist() == first.tolist()  # same seed, same draws
    if name not in ("bernoulli", "bernoulli_", "multinomial"):  # few values: may repeat
        assert draw(gen(6)).tolist() != first.tolist()
    # the generator's draws leave glassnet's global generators alone
    gn.manual_seed(0)
    expected = gn.rand(3).tolist()
    gn.manual_seed(0)
    draw(gen(5))
    assert gn.rand(3).tolist() == expected


@pytest.mark.parametrize("name, draw", DRAWS, ids=[d[0] for d in DRAWS])
def test_a_generator_on_another_device_is_a_clear_error(name, draw):
    other = "cpu" if DEV == "sim" else "sim"
    with pytest.raises(ValueError, match=f"generator is on '{other}' but the result is drawn on"):
        draw(gn.Generator(other))


def test_generator_type_is_checked():
    with pytest.raises(TypeError, match="randn: generator must be a glassnet Generator"):
        gn.randn(2, generator=np.random.default_rng(0))


SIM_DRAWS = [
    lambda g: gn.randn(64, generator=g, device="sim"),
    lambda g: gn.rand(64, generator=g, device="sim"),
    lambda g: gn.randint(0, 9, (64,), generator=g, device="sim"),
    lambda g: gn.randperm(64, generator=g, device="sim"),
    lambda g: gn.normal(0.0, 1.0, (64,), generator=g, device="sim"),
    lambda g: F.dropout(gn.ones(64, device="sim"), 0.5, generator=g),
    lambda g: gn.ones(64, device="sim").uniform_(generator=g),
    lambda g: gn.ones(64, device="sim").normal_(generator=g),
    lambda g: gn.ones(64, device="sim").bernoulli_(0.5, generator=g),
    lambda g: gn.nn.init.kaiming_uniform_(gn.ones(8, 8, device="sim"), generator=g),
]


@pytest.mark.parametrize("draw", SIM_DRAWS)
def test_a_device_generator_draws_on_the_device_without_host_transfers(draw):
    g = gn.Generator("sim").manual_seed(1)
    TRANSFERS.reset()
    out = draw(g)
    assert TRANSFERS.count == 0, TRANSFERS.log
    assert out.device == "sim"


def test_validated_draws_on_the_device_make_no_transfer_beyond_their_input_checks():
    # bernoulli, normal(tensor) and multinomial check their inputs' values (a device sync each,
    # with or without a generator); the draw itself adds none
    calls = [
        lambda g: gn.bernoulli(gn.full((32,), 0.5, device="sim"), generator=g),
        lambda g: gn.normal(gn.zeros(32, device="sim"), gn.ones(32, device="sim"), generator=g),
        lambda g: gn.multinomial(gn.ones(4, 6, device="sim"), 2, generator=g),
    ]
    for call in calls:
        TRANSFERS.reset()
        call(None)
        baseline = TRANSFERS.count
        TRANSFERS.reset()
        assert call(gn.Generator("sim")).device == "sim"
        assert TRANSFERS.count == baseline


def test_the_data_pipeline_shuffles_with_a_cpu_generator_only():
    ds = gn.data.ArrayDataset(np.arange(10))
    with pytest.raises(ValueError, match="pass a CPU one"):
        gn.data.random_split(ds, [5, 5], generator=gn.Generator("sim"))
    with pytest.raises(ValueError, match="pass a CPU one"):
        list(gn.data.RandomSampler(ds, generator=gn.Generator("sim")))
    order = list(gn.data.RandomSampler(ds, generator=gn.Generator().manual_seed(0)))
    assert order == list(gn.data.RandomSampler(ds, generator=gn.Generator().manual_seed(0)))
