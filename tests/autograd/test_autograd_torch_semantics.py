"""Grad mode, custom Functions and gradient accumulation behave as PyTorch documents them.

- ``set_grad_enabled(mode)`` sets the mode when it is constructed (a plain call works); as a
  context manager it restores the previous mode on exit.
- ``Function.apply`` binds keyword arguments to ``forward``'s parameters: a tensor passed by
  keyword is an input of the graph.
- A second ``backward()`` adds into the existing ``.grad`` tensor (a held reference sees the
  sum), and ``zero_grad(set_to_none=False)`` zeros that same tensor, never an array that
  something else holds.

Expected values are hand-computed derivatives of linear functions.
"""

import numpy as np
import pytest

import glassnet as gn


# -- set_grad_enabled ---------------------------------------------------------------------------
def test_set_grad_enabled_as_a_plain_call_switches_the_mode():
    x = gn.ones(2, requires_grad=True)
    try:
        gn.set_grad_enabled(False)
        assert gn.is_grad_enabled() is False
        assert (x * 2).requires_grad is False
        gn.set_grad_enabled(True)
        assert gn.is_grad_enabled() is True
        assert (x * 2).requires_grad is True
    finally:
        gn.set_grad_enabled(True)


def test_set_grad_enabled_context_restores_the_previous_mode():
    with gn.no_grad():
        with gn.set_grad_enabled(True):
            assert gn.is_grad_enabled()
        assert not gn.is_grad_enabled()
    with gn.set_grad_enabled(False):
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()


def test_set_grad_enabled_as_decorator_only_changes_the_mode_inside_calls():
    @gn.set_grad_enabled(False)
    def inside():
        return gn.is_grad_enabled()

    assert gn.is_grad_enabled()  # decorating did not switch it off
    assert inside() is False
    assert gn.is_grad_enabled()


# -- custom Function with keyword arguments -----------------------------------------------------
class Affine(gn.autograd.Function):
    """y = x * scale + shift;  dy/dx = scale, dy/dshift = 1."""

    @staticmethod
    def forward(ctx, x, scale=2.0, shift=None):
        ctx.scale, ctx.shifted = scale, shift is not None
        return x * scale + (0.0 if shift is None else shift)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None, (g if ctx.shifted else None)


def test_apply_with_a_tensor_by_keyword_tracks_it():
    x = gn.ones(2, requires_grad=True)
    y = Affine.apply(x=x)
    assert y.requires_grad
    (y * gn.tensor([1.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])


def test_apply_keyword_after_a_gap_fills_the_default_and_tracks_both():
    x = gn.ones(2, requires_grad=True)
    s = gn.zeros(2, requires_grad=True)
    Affine.apply(x, shift=s).sum().backward()  # scale takes its default 2.0
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(s.grad.numpy(), [1.0, 1.0])


def test_apply_with_an_unknown_keyword_names_the_function():
    with pytest.raises(TypeError, match="Affine.apply"):
        Affine.apply(gn.ones(2), bogus=1)


def test_function_without_backward_raises_naming_it():
    class NoBackward(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = gn.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="NoBackward has no backward"):
        NoBackward.apply(x).sum().backward()


def test_wrong_shaped_gradient_raises_naming_the_function():
    class BadShape(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return gn.ones(3)

    x = gn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="BadShape.backward returned an invalid gradient"):
        BadShape.apply(x).sum().backward()


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class Wide(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return gn.ones(3, 2)  # sums over the leading axis: 3 per element

    x = gn.ones(2, requires_grad=True)
    Wide.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


# -- accumulation and zero_grad in place ----------------------------------------------------------
def test_second_backward_adds_into_the_same_grad_tensor():
    p = gn.nn.Parameter(gn.ones(2))
    (p * 2).sum().backward()
    g = p.grad
    (p * 3).sum().backward()
    assert p.grad is g
    np.testing.assert_allclose(g.numpy(), [5.0, 5.0])
    (p * 4).sum().backward()
    assert p.grad is g
    np.testing.assert_allclose(g.numpy(), [9.0, 9.0])


@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_keep_tensor_zeros_it_in_place(owner):
    model = gn.nn.Linear(2, 1)
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    model(gn.ones(1, 2)).sum().backward()
    held = model.weight.grad
    (opt if owner == "optimizer" else model).zero_grad(set_to_none=False)
    assert model.weight.grad is held
    np.testing.assert_array_equal(held.numpy(), [[0.0, 0.0]])
    model(gn.tensor([[1.0, 2.0]])).sum().backward()  # dL/dW = x
    assert model.weight.grad is held
    np.testing.assert_allclose(held.numpy(), [[1.0, 2.0]])


def test_shared_upstream_gradient_is_never_added_into_twice():
    # y = a + b hands one gradient array to both leaves: accumulating into one must not
    # change the other
    a = gn.ones(2, requires_grad=True)
    b = gn.ones(2, requires_grad=True)
    (a + b).sum().backward()
    (a * 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_an_array_a_backward_hands_over_is_never_changed():
    keep = gn.tensor([5.0, 5.0])

    class ReturnsKept(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return keep  # a tensor the user still holds

    x = gn.ones(2, requires_grad=True)
    ReturnsKept.apply(x).sum().backward()
    held = x.grad
    ReturnsKept.apply(x).sum().backward()
    ReturnsKept.apply(x).sum().backward()
    assert x.grad is held
    np.testing.assert_allclose(held.numpy(), [15.0, 15.0])
    gn.optim.SGD([x], lr=1.0).zero_grad(set_to_none=False)
    np.testing.assert_allclose(held.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(keep.numpy(), [5.0, 5.0])


def test_a_user_assigned_grad_tensor_sees_the_sum_but_its_array_is_not_written():
    p = gn.nn.Parameter(gn.ones(2))
    source = np.array([1.0, 1.0], dtype=np.float32)
    p.grad = gn.from_numpy(source)
    held = p.grad
    (p * 2).sum().backward()
    assert p.grad is held
    np.testing.assert_allclose(held.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(source, [1.0, 1.0])


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_compiled_step_zeroing_in_place_matches_eager(opt_name):
    """gn.compile's flat gradient buffers and in-place accumulation/zeroing agree with eager
    steps (zero_grad(set_to_none=False), then two backwards accumulated per step)."""

    def build():
        gn.manual_seed(0)
        model = gn.nn.Sequential(gn.nn.Linear(4, 8), gn.nn.Tanh(), gn.nn.Linear(8, 2))
        cls = gn.optim.SGD if opt_name == "sgd" else gn.optim.Adam
        opt = cls(model.parameters(), lr=0.05)
        model(gn.ones(1, 4)).sum().backward()  # every .grad exists from the first call on

        def step(x):
            opt.zero_grad(set_to_none=False)
            model(x).pow(2).mean().backward()
            model(x * 2).pow(2).mean().backward()
            opt.step()

        return model, step

    (m1, eager), (m2, step) = build(), build()
    fast = gn.compile(step)
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = gn.from_numpy(rng.standard_normal((3, 4)).astype(np.float32))
        eager(x)
        fast(x)
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.numpy(), q.numpy())
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert fast.replays >= 3, fast.reason
    held = m2[0].weight.grad
    fast(x)
    assert m2[0].weight.grad is held  # one gradient tensor, zeroed and accumulated in place
