"""The gaps closed after issue 16: scatter_reduce prod to second order, matrix_norm via the
SVD, interpolate's area mode in 1 and 3 spatial dims, and the random ops' ``generator=``.

Expected values are PyTorch's documented behaviour, hand-computed, or recorded once from
PyTorch 2.13 (CPU) where noted.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import check_grad, check_grad_grad

# targets with no zero, one zero (in src or in x) and two zeros among their factors
X = np.array([[1.5, 2.0, 0.5], [0.0, 3.0, -1.0], [2.0, 0.7, 1.2]])
S = np.array([[0.5, 0.0, 2.0], [1.3, -2.0, 0.0], [0.9, 1.1, 0.0]])
IDX = [[0, 1, 0], [0, 1, 1], [2, 1, 0]]


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_first_and_second_derivatives(include_self):
    def f(a, b):
        return gn.scatter_reduce(a, 0, gn.tensor(IDX), b, "prod", include_self=include_self)

    check_grad(f, [X, S])
    check_grad_grad(f, [X, S])


def test_scatter_reduce_prod_values_and_zero_gradients():
    x = gn.tensor([2.0, 3.0, 5.0], requires_grad=True)
    s = gn.tensor([0.0, 4.0, 0.0, 0.0, 7.0], requires_grad=True)
    idx = gn.tensor([0, 0, 1, 1, 2])
    y = gn.scatter_reduce(x, 0, idx, s, "prod")
    # target 0: 2*0*4 (one zero), target 1: 3*0*0 (two zeros), target 2: 5*7
    assert y.tolist() == [0.0, 0.0, 35.0]
    y.sum().backward()
    # one zero: the zero's gradient is the product of the rest, the others' 0;
    # two zeros: all 0 (PyTorch's scatter_reduce prod backward)
    assert x.grad.tolist() == [0.0, 0.0, 7.0]
    assert s.grad.tolist() == [8.0, 0.0, 0.0, 0.0, 5.0]
