"""PyTorch's ``autograd.Function`` form (static forward/backward with a ctx) works as written.

Expected derivatives are the calculus of each function (written beside it) and float64
central differences (``check_grad``); the class bodies are PyTorch's documented examples
("Extending torch.autograd" and the LegendrePolynomial3 tutorial), unchanged.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd import OPS, Function
from glassnet.testing.gradcheck import check_grad

rng = np.random.default_rng(0)


class LegendrePolynomial3(Function):
    """P3(x) = (5x^3 - 3x) / 2;  P3'(x) = 1.5 (5x^2 - 1)  (PyTorch's tutorial example)."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


class MulConstant(Function):
    """y = x * c with a non-tensor argument (PyTorch's "Extending torch.autograd" example)."""

    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class LinearFunction(Function):
    """y = x W^T + b (PyTorch's docs example, its forward spelled with @), needs_input_grad."""

    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input @ weight.T
        if bias is not None:
            output = output + bias
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output @ weight
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.T @ input
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


def test_legendre_matches_derivative_and_gradchecks():
    x = gn.tensor(np.linspace(-1, 1, 7), requires_grad=True)
    y = LegendrePolynomial3.apply(x)
    np.testing.assert_allclose(y.numpy(), 0.5 * (5 * x.numpy() ** 3 - 3 * x.numpy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * x.numpy() ** 2 - 1), rtol=1e-12)
    check_grad(LegendrePolynomial3, [rng.standard_normal((3, 4))])


def test_non_tensor_argument_and_gradcheck():
    x = gn.tensor([1.0, -2.0], requires_grad=True)
    MulConstant.apply(x, 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    check_grad(lambda t: MulConstant.apply(t, -0.7), [rng.standard_normal(5)])


def test_needs_input_grad_and_three_inputs_gradcheck():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    Probe.apply(gn.ones(2, requires_grad=True), gn.ones(2), 2.0)
    assert seen == [(True, False, False)]
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    check_grad(LinearFunction, [x, w, b])
    check_grad(LinearFunction, [x, w, b], wrt=[1])  # only the weight: needs_input_grad honoured


def test_user_class_reusing_an_op_name_and_defined_twice():
    before = dict(OPS)

    class Exp(Function):  # glassnet has an op "exp"; a user class of that name must not clash
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    first = Exp

    class Exp(Function):  # noqa: F811 - a notebook cell run again
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    assert before == OPS and first is not Exp
    check_grad(Exp, [rng.standard_normal(6)])
    assert gn.exp(gn.tensor([0.0])).item() == 1.0  # glassnet's own op is untouched


def test_multiple_outputs_and_mark_non_differentiable():
    class SortValues(Function):
        """(2x, sum x, argmax x); dL/dx = 2 g1 + g2 (argmax has no gradient)."""

        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x * 2, x.sum(), idx

        @staticmethod
        def backward(ctx, g_double, g_sum, g_idx):
            assert float(np.abs(g_idx.numpy()).sum()) == 0.0  # zeros for the index output
            return g_double * 2 + g_sum

    x = gn.tensor([1.0, 5.0, 2.0], requires_grad=True)
    double, total, idx = SortValues.apply(x)
    assert idx.item() == 1 and not idx.requires_grad and double.requires_grad
    (double.sum() + 3 * total).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0, 5.0])
    check_grad(lambda t: SortValues.apply(t)[0] * SortValues.apply(t)[1], [rng.standard_normal(4)])
    # an output left unused gets a zero gradient
    x.grad = None
    SortValues.apply(x)[1].backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_setup_context_form():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (ctx.x,) = inputs

        @staticmethod
        def backward(ctx, g):
            return 2 * ctx.x * g

    check_grad(Square, [rng.standard_normal(5)])


def test_double_backward_through_a_differentiable_backward():
    x = gn.tensor([0.3, -0.8], dtype="float64", requires_grad=True)
    y = LegendrePolynomial3.apply(x)
    (g,) = gn.grad(y.sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 1.5 * (5 * x.numpy() ** 2 - 1))
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 15 * x.numpy())  # P3''(x) = 15 x


def test_no_grad_and_graph_shape():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    with gn.no_grad():
        y = LegendrePolynomial3.apply(x)
    assert not y.requires_grad
    y = LegendrePolynomial3.apply(x)
    assert type(y._ctx).__name__ == "CustomNode" and y._ctx.inputs == (x,)
    assert "LegendrePolynomial3" in repr(y)  # grad_fn names the user's class


def test_backward_returning_the_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = gn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned 1 gradient.*forward took 2"):
        Bad.apply(a, gn.ones(2)).sum().backward()
    with pytest.raises(TypeError, match="only tensors or None"):

        class SavesNumber(Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(3.0)
                return a

            @staticmethod
            def backward(ctx, g):
                return g

        SavesNumber.apply(a)


def test_a_non_tensor_output_gets_none_in_backward():
    # PyTorch hands backward None for an output that is not a tensor; glassnet's adapter used
    # to run out of zero gradients (StopIteration) when forward returned one
    class ScaleAndTag(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, "tag", x.sum()

        @staticmethod
        def backward(ctx, g_scaled, g_tag, g_sum):
            assert g_tag is None
            return g_scaled * 2 + g_sum

    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y, tag, total = ScaleAndTag.apply(x)
    assert tag == "tag"
    (y.sum() + 10 * total).backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 12.0])  # 2 * 1 + 10
