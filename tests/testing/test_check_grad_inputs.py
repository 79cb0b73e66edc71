"""``glassnet.testing.check_grad`` with inputs that share memory: a NumPy view of another
input (``[x, x[::-1]]``) or the same array twice. The finite differences perturb one input's
elements in place; they reached the other input too, so the numerical derivative was the
total one and the check failed (it passed on copies). Each input now gets its own memory."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.testing import GradcheckError, check_grad, check_grad_grad

X = np.array([0.5, -1.0, 2.0, 0.3])


def _f(a, b):
    return a * b.exp()


@pytest.mark.parametrize(
    "second", [X[::-1], X, X[::-1].copy()], ids=["negative-stride view", "same", "copy"]
)
def test_inputs_sharing_memory_are_checked_separately(second):
    check_grad(_f, [X, second])
    check_grad_grad(_f, [X, second])


def test_the_callers_arrays_are_left_untouched_and_a_wrong_gradient_still_fails():
    x = X.copy()
    view = x[::-1]
    check_grad(lambda a: gn.tanh(a) * a, [view])
    np.testing.assert_array_equal(x, X)

    class Wrong(gn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 a g

    with pytest.raises(GradcheckError):
        check_grad(Wrong.apply, [view])
