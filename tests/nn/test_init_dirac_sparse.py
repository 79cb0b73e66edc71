"""nn.init.dirac_, sparse_, and generator= on orthogonal_ and trunc_normal_ (PyTorch's
signatures)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.nn import init


def test_dirac_makes_a_convolution_copy_its_input():
    w = gn.zeros(3, 3, 3, 3)
    init.dirac_(w)
    x = gn.randn(2, 3, 6, 5)
    np.testing.assert_allclose(F.conv2d(x, w, padding=1).numpy(), x.numpy(), atol=1e-6)
    grouped = gn.zeros(4, 2, 3)
    init.dirac_(grouped, groups=2)  # each group copies its 2 input channels
    expected = np.zeros((4, 2, 3))
    for o, i in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        expected[o, i, 1] = 1.0
    np.testing.assert_array_equal(grouped.numpy(), expected)
    with pytest.raises(ValueError, match="divisible"):
        init.dirac_(gn.zeros(3, 2, 3), groups=2)
    with pytest.raises(ValueError, match="3-, 4- or 5-D"):
        init.dirac_(gn.zeros(3, 3))


def test_sparse_zeroes_that_many_entries_per_column():
    gn.manual_seed(0)
    w = gn.zeros(20, 50)
    init.sparse_(w, 0.25, std=0.5)
    v = w.numpy()
    assert np.all((v == 0).sum(0) == 5)  # ceil(0.25 * 20)
    assert abs(v[v != 0].std() - 0.5) < 0.05
    with pytest.raises(ValueError, match="2-D"):
        init.sparse_(gn.zeros(3), 0.1)


@pytest.mark.parametrize("fn", [init.orthogonal_, init.trunc_normal_])
def test_generator_makes_draws_reproducible(fn):
    a, b = gn.zeros(4, 3), gn.zeros(4, 3)
    fn(a, generator=gn.Generator().manual_seed(5))
    fn(b, generator=gn.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = gn.zeros(4, 3)
    fn(c, generator=gn.Generator().manual_seed(6))
    assert not np.array_equal(a.numpy(), c.numpy())
