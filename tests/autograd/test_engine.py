"""The backward engine: accumulation, graph shapes, graph lifetime, grad mode and the grad API.

Expected gradients are written out by hand (the chain rule on paper) or with NumPy.
"""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd.engine import topological_order


def leaf(values, dtype="float64"):
    return gn.tensor(values, dtype=dtype, requires_grad=True)


# -- accumulation ---------------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls_until_zero_grad():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()  # 2x
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    (3 * x).sum().backward()  # + 3
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -1.0, 9.0])
    x.zero_grad()
    assert x.grad is None
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_diamond_adds_both_paths():
    # y = a*b + a*c with b = 2x, c = x^2: dy/dx = a*2 + a*2x
    x, a = leaf([0.5, -1.5]), leaf([3.0, 2.0])
    b, c = x * 2, x * x
    y = (a * b + a * c).sum()
    y.backward()
    xv, av = np.array([0.5, -1.5]), np.array([3.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), av * 2 + av * 2 * xv)
    np.testing.assert_allclose(a.grad.numpy(), 2 * xv + xv**2)


def test_tensor_used_three_times():
    # y = x * x * x + x  ->  dy/dx = 3x^2 + 1
    x = leaf([1.0, 2.0, -3.0])
    (x * x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, 4.0, 9.0]) + 1)


def test_same_tensor_twice_in_one_op():
    x = leaf([1.5, -0.5])
    y = x + x  # one node, both inputs are x
    (y * y).sum().backward()  # d/dx (2x)^2 = 8x
    np.testing.assert_allclose(x.grad.numpy(), [12.0, -4.0])


def test_deep_chain_of_10000_nodes_has_no_recursion_error():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000], rtol=1e-9)
    assert len(topological_order((x * 1.0).sum())) == 3


def test_deep_chain_with_branches_is_deterministic():
    def run():
        x = leaf([0.3, 0.7])
        y = x
        for i in range(2_000):
            y = y + (y * 0.001 if i % 2 else x * 0.0001)
        y.sum().backward()
        return x.grad.numpy()

    np.testing.assert_array_equal(run(), run())


def test_topological_order_puts_users_before_inputs():
    x = leaf([1.0])
    a = x * 2
    b = a + x
    c = b * a
    order = topological_order(c)
    pos = {id(t): i for i, t in enumerate(order)}
    assert order[0] is c and order[-1] is x
    assert pos[id(b)] < pos[id(a)] < pos[id(x)]


# -- graph lifetime -------------------------------------------------------------------------
def test_second_backward_through_freed_graph_raises_clearly():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_doubles_the_grad():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()  # dy/dx = e^x (1 + x)
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(first, np.exp([1.0, 2.0]) * [2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_backward_frees_saved_arrays():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    node = y.grad_fn
    y.backward()
    assert node.released and not hasattr(node, "inputs")


# -- grad mode --------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores_mode():
    x = leaf([1.0])
    with gn.no_grad():
        y = x * 2
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with gn.no_grad():
        with gn.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_as_context_and_decorator():
    x = leaf([1.0])
    with gn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with gn.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @gn.set_grad_enabled(False)
    def off(t):
        return t * 2

    assert not off(x).requires_grad
    assert gn.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @gn.no_grad()
    def called(t):
        return t * 2

    @gn.no_grad
    def bare(t):
        return t * 2

    @gn.enable_grad()
    def back_on(t):
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert bare.__name__ == "bare"
    with gn.no_grad():
        assert back_on(x).requires_grad
    assert gn.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError), gn.no_grad():
        1 / 0  # noqa: B018
    assert gn.is_grad_enabled()


# -- detach, retain_grad, requires_grad ------------------------------------------------------
def test_detach_cuts_the_graph_and_shares_data():
    x = leaf([1.0, 2.0])
    d = (x * 3).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = (x * d).sum()  # d is a constant: dy/dx = d
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])
    x2 = leaf([5.0])
    assert np.shares_memory(x2.detach()._data, x2._data)


def test_intermediates_have_no_grad_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 3
    kept = (h * h).retain_grad()
    y = kept.sum()
    y.backward()
    assert h.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]))


def test_retain_grad_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.tensor([1.0]).retain_grad()


def test_requires_grad_propagates_through_ops():
    x, c = leaf([1.0]), gn.tensor([2.0], dtype="float64")
    assert (x * c).requires_grad and (c * x).requires_grad
    assert not (c * c).requires_grad
    assert (x * c).is_leaf is False and x.is_leaf and c.is_leaf
    assert (x * c).grad_fn.name == "mul"


def test_constant_inputs_get_no_grad():
    x, c = leaf([1.0, 2.0]), gn.tensor([3.0, 4.0], dtype="float64")
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_backward_on_non_scalar_needs_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"non-scalar.*'mul'.*\(2,\).*gradient="):
        (x * 2).backward()
    y = x * 2
    y.backward(grad=gn.tensor([1.0, 10.0], dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_grad_shape_mismatch():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(3,\).*'mul' of shape \(2,\)"):
        (x * 2).backward(grad=np.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.tensor([1.0]).sum().backward()


def test_int_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        gn.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        gn.arange(3).requires_grad_()


def test_leaf_grad_keeps_leaf_dtype():
    x32 = gn.tensor([1.0, 2.0], requires_grad=True)
    y = (x32 * gn.tensor([1.0, 1.0], dtype="float64")).sum()  # float64 op
    y.backward()
    assert x32.grad.dtype == np.float32


def test_scalar_backward_uses_dtype_of_root():
    x = gn.tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad.dtype == np.float32 and x.grad.item() == 6.0


# -- each .grad owns its memory ----------------------------------------------------------------
def test_two_leaves_fed_by_the_same_add_do_not_alias():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad._data, b.grad._data)
    a.grad._data[...] = 100.0
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_leaf_grad_does_not_alias_user_grad_or_other_grads():
    x = leaf([1.0, 2.0])
    g = np.array([5.0, 6.0])
    x.backward(grad=g)  # the root is the leaf: its .grad must be a copy of g
    g[...] = 0.0
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 6.0])
    w = leaf([[1.0, 2.0]])
    s = leaf(0.0)
    (w + s).sum().backward()  # s gets a sum, w gets the broadcast ones
    w.grad._data[...] = -1.0
    assert s.grad.item() == 2.0


def test_retained_intermediate_grad_does_not_alias_leaf_grad():
    x = leaf([1.0, 2.0])
    h = (x + 0.0).retain_grad()
    h.sum().backward()
    h.grad._data[...] = 7.0
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


# -- gn.grad ----------------------------------------------------------------------------------
def test_gn_grad_returns_gradients_without_touching_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    y = (x * w).sum()
    gx, gw = gn.grad(y, [x, w])
    np.testing.assert_allclose(gx.numpy(), [3.0, -1.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_gn_grad_of_an_intermediate_and_a_single_input():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = gn.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * 3 * np.array([1.0, 2.0]))


def test_gn_grad_errors():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not used"):
        gn.grad((x * 2).sum(), [x, unused])
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.grad((x * 2).sum(), [gn.tensor([1.0])])


# -- the examples in docs/autograd.md and docs/tensors.md run and print what they show -------
DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)


@pytest.mark.parametrize("page", ["autograd.md", "tensors.md"])
def test_doc_examples_print_what_they_show(page, host_device):  # printed reprs are CPU ones
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = list(FENCE.finditer(text))
    namespace: dict = {}
    ran = 0
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block.group(2), f"{page}:block{i}", "exec"), namespace)  # noqa: S102
        ran += 1
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if after and after.group(1) == "text" and not text[block.end() : after.start()].strip():
            assert out.getvalue().split() == after.group(2).split(), f"{page} block {i}"
    assert ran >= 5


@pytest.mark.parametrize("order", [0, 1, 2])
def test_a_leaf_with_many_gradient_parts_leaves_a_shared_part_intact(order):
    """a gets three parts; one is the array the addition also hands to b. The third part is
    added in place into the sum of the first two, never into that shared array."""
    rng = np.random.default_rng(0)
    av, bv, w, v, u = (rng.standard_normal(5) for _ in range(5))
    a = gn.tensor(av, requires_grad=True)
    b = gn.tensor(bv, requires_grad=True)
    terms = [lambda: ((a + b) * gn.tensor(w)).sum(), lambda: (a * gn.tensor(v)).sum()]
    terms.insert(order, lambda: (a * gn.tensor(u)).sum())
    terms = terms[order:] + terms[:order]
    out = terms[0]() + terms[1]() + terms[2]()
    out.backward()
    np.testing.assert_allclose(a.grad.numpy(), w + v + u, rtol=1e-12)
    np.testing.assert_array_equal(b.grad.numpy(), w)
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
