"""tril, triu, narrow and multinomial with PyTorch's meaning (from PyTorch's documentation:
torch.tril/triu keep j - i <= / >= diagonal, narrow(dim, start, length) == a slice,
multinomial samples indices proportionally to non-negative weights)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing.gradcheck import check_grad


def test_tril_triu_values_batched_and_diagonal():
    x = gn.tensor(np.arange(24.0).reshape(2, 3, 4))
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(gn.tril(x).numpy(), np.tril(a))
    np.testing.assert_array_equal(x.triu(1).numpy(), np.triu(a, 1))
    np.testing.assert_array_equal(gn.tril(x, diagonal=-1).numpy(), np.tril(a, -1))
    inf = gn.tensor(np.full((2, 2), np.inf))
    assert gn.tril(inf).numpy()[0, 1] == 0.0  # masked, not inf * 0
    with pytest.raises(ValueError, match="at least 2 dims"):
        gn.tril(gn.ones(3))


def test_tril_triu_narrow_gradcheck():
    rng = np.random.default_rng(0)
    check_grad(lambda t: gn.tril(t, 1), [rng.standard_normal((3, 4))])
    check_grad(lambda t: gn.triu(t), [rng.standard_normal((2, 3, 3))])
    check_grad(lambda t: t.narrow(1, -3, 2), [rng.standard_normal((2, 5))])


def test_narrow_is_a_slice_and_checks_bounds():
    x = gn.arange(10).reshape(2, 5)
    np.testing.assert_array_equal(x.narrow(1, 1, 3).numpy(), x.numpy()[:, 1:4])
    np.testing.assert_array_equal(gn.narrow(x, 0, -1, 1).numpy(), x.numpy()[1:])
    with pytest.raises(IndexError, match="do not fit dim 1 of size 5"):
        x.narrow(1, 3, 3)


def test_multinomial_distribution_and_distinct_draws():
    gn.manual_seed(0)
    p = gn.tensor([0.1, 0.0, 0.6, 0.3])
    draws = gn.multinomial(p, 20000, replacement=True).numpy()
    assert draws.dtype == np.int64 and draws.shape == (20000,)
    freq = np.bincount(draws, minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.015)
    rows = gn.multinomial(gn.tensor([[1.0, 1.0, 1.0], [0.0, 5.0, 1.0]]), 2).numpy()
    assert rows.shape == (2, 2) and len(set(rows[0])) == 2 and set(rows[1]) == {1, 2}
    firsts = [int(gn.multinomial(gn.tensor([1.0, 3.0]), 1).item()) for _ in range(4000)]
    assert abs(np.mean(firsts) - 0.75) < 0.03  # the first draw without replacement ~ p
    with pytest.raises(ValueError, match="without replacement"):
        gn.multinomial(gn.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        gn.multinomial(gn.tensor([1.0, -1.0]), 1)


def test_pin_memory_is_a_copy_and_share_memory_is_a_no_op(host_device):
    x = gn.ones(2, requires_grad=True)
    pinned = x.pin_memory()
    assert pinned is not x and pinned.tolist() == [1.0, 1.0] and pinned.requires_grad
    pinned.sum().backward()  # differentiable, as PyTorch's copy
    assert x.grad.tolist() == [1.0, 1.0]
    assert not x.is_pinned() and x.share_memory_() is x and not x.is_shared()
