"""F.embedding_bag and nn.EmbeddingBag (PyTorch's text-classification front end; glassnet had
neither): values and weight gradients against a NumPy loop over the bags, float64 finite
differences, and PyTorch 2.13's conventions (empty bags give zeros, padding ids left out and
not counted by "mean", include_last_offset drops the last offset, per_sample_weights with
"sum" only)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.testing import check_grad

W = np.cos(np.arange(24) * 0.9).reshape(8, 3)
IDS = np.array([1, 2, 4, 5, 4, 3, 2, 7, 0])
OFFSETS = np.array([0, 4, 4, 6])  # bags [1 2 4 5], [], [4 3], [2 7 0]
G = np.sin(np.arange(12)).reshape(4, 3)  # the weights of the loss sum(G * out)


def reference(mode, ids, starts, padding_idx=None, psw=None):
    """Output and d sum(G * out) / dW by looping over the bags in NumPy."""
    ends = list(starts[1:]) + [len(ids)]
    out, grad = np.zeros((len(starts), 3)), np.zeros_like(W)
    for b, (s, e) in enumerate(zip(starts, ends)):
        pos = [p for p in range(s, e) if ids[p] != padding_idx]
        if not pos:
            continue
        scale = [1.0 if psw is None else psw[p] for p in pos]
        rows = W[ids[pos]] * np.array(scale)[:, None]
        if mode == "max":
            out[b] = rows.max(0)
            for d in range(3):
                grad[ids[pos[int(rows[:, d].argmax())]], d] += G[b, d]
            continue
        div = len(pos) if mode == "mean" else 1
        out[b] = rows.sum(0) / div
        for p, c in zip(pos, scale):
            grad[ids[p]] += G[b] * c / div
    return out, grad


def run(mode, ids=IDS, offsets=OFFSETS, **kw):
    w = gn.tensor(W, requires_grad=True)
    offsets = None if offsets is None else gn.tensor(offsets)
    out = F.embedding_bag(gn.tensor(ids), w, offsets, mode=mode, **kw)
    (out * gn.tensor(G[: out.shape[0]])).sum().backward()
    return out.detach().numpy(), w.grad.numpy()


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_bags_by_offsets(mode, padding_idx):
    out, grad = run(mode, padding_idx=padding_idx)
    want_out, want_grad = reference(mode, IDS, OFFSETS, padding_idx)
    np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)
    assert not out[1].any()  # the empty bag


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_fixed_length_bags_and_include_last_offset(mode):
    ids = np.array([[1, 2, 4], [4, 3, 2], [2, 2, 2], [7, 0, 5]])
    out, grad = run(mode, ids, None, padding_idx=2)
    want_out, want_grad = reference(mode, ids.ravel(), np.arange(0, 12, 3), padding_idx=2)
    np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)
    # torch 2.13: with include_last_offset the last offset is dropped; the last bag runs to
    # the end of the input whatever that offset says
    for last in (9, 8):
        out, _ = run(mode, offsets=np.array([0, 4, 6, last]), include_last_offset=True)
        np.testing.assert_allclose(out, reference(mode, IDS, np.array([0, 4, 6]))[0][:3])


def test_per_sample_weights_and_gradients():
    psw = np.linspace(0.1, 0.9, 9)
    w = gn.tensor(W, requires_grad=True)
    p = gn.tensor(psw, requires_grad=True)
    out = F.embedding_bag(gn.tensor(IDS), w, gn.tensor(OFFSETS), mode="sum",
                          per_sample_weights=p, padding_idx=4)  # fmt: skip
    (out * gn.tensor(G)).sum().backward()
    want_out, want_grad = reference("sum", IDS, OFFSETS, 4, psw)
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), want_grad, rtol=1e-12, atol=1e-15)
    bag_of = np.searchsorted(OFFSETS, np.arange(9), side="right") - 1
    want_p = np.where(IDS == 4, 0.0, (W[IDS] * G[bag_of]).sum(1))
    np.testing.assert_allclose(p.grad.numpy(), want_p, rtol=1e-12, atol=1e-15)

    def f(weight, scale):
        return F.embedding_bag(gn.tensor(IDS), weight, gn.tensor(OFFSETS), mode="sum",
                               per_sample_weights=scale)  # fmt: skip

    check_grad(f, [W, psw])
    check_grad(lambda weight: F.embedding_bag(gn.tensor(IDS), weight, gn.tensor(OFFSETS)), [W])


def test_errors_say_what_is_wrong():
    ids, w = gn.tensor(IDS), gn.tensor(W)
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(ids, w, gn.tensor(OFFSETS), per_sample_weights=gn.ones(9))
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq"):
        F.embedding_bag(ids, w, gn.tensor(OFFSETS), scale_grad_by_freq=True)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(gn.tensor([[1, 2]]), w, gn.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        F.embedding_bag(ids, w)
    with pytest.raises(ValueError, match=r"offsets\[0\] has to be 0"):
        F.embedding_bag(ids, w, gn.tensor([1, 4]))
    with pytest.raises(ValueError, match="mode"):
        F.embedding_bag(ids, w, gn.tensor(OFFSETS), mode="min")


def test_module_as_pytorch():
    bag = gn.nn.EmbeddingBag(8, 3, mode="sum", padding_idx=1)
    assert repr(bag) == "EmbeddingBag(8, 3, mode='sum', padding_idx=1)"
    assert list(bag.state_dict()) == ["weight"]
    assert not bag.weight.numpy()[1].any()
    fixed = gn.nn.EmbeddingBag.from_pretrained(gn.tensor(W), mode="max")
    assert repr(fixed) == "EmbeddingBag(8, 3, mode='max')" and not fixed.weight.requires_grad
    np.testing.assert_allclose(fixed(gn.tensor(IDS), gn.tensor(OFFSETS)).numpy(),
                               reference("max", IDS, OFFSETS)[0])  # fmt: skip
    with pytest.raises(NotImplementedError, match="sparse"):
        gn.nn.EmbeddingBag(8, 3, sparse=True)
