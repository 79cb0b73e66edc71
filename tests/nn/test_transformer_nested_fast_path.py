"""PyTorch's TransformerEncoder (enable_nested_tensor=True, the default) runs a nested-tensor
fast path in inference and returns zeros at padded positions; the masked computation (training,
or enable_nested_tensor=False) returns other values there. glassnet used to return the masked
values in every case, so an eval-mode model that reads padded positions (an unmasked mean)
differed from PyTorch's."""

import numpy as np

import glassnet as gn
import glassnet.nn as nn


def _encoder(enable=True, norm=None, **layer):
    gn.manual_seed(0)
    args = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    args.update(layer)
    return nn.TransformerEncoder(nn.TransformerEncoderLayer(**args), 2, norm=norm,
                                 enable_nested_tensor=enable)  # fmt: skip


X = gn.tensor(np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32))
PAD = gn.tensor([[False, False, False, True, True], [False] * 5])


def _run(enc, mask=PAD, grad=False):
    enc.eval()
    if grad:
        return enc(X, src_key_padding_mask=mask).detach().numpy()
    with gn.no_grad():
        return enc(X, src_key_padding_mask=mask).numpy()


def test_inference_zeros_the_padded_positions_and_keeps_the_rest():
    fast, slow = _run(_encoder()), _run(_encoder(enable=False))
    np.testing.assert_array_equal(fast[0, 3:], 0.0)
    assert np.abs(slow[0, 3:]).min() > 0  # the masked computation is not zero there
    np.testing.assert_allclose(fast[0, :3], slow[0, :3], rtol=1e-6)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-6)


def test_a_final_norm_sees_the_zeros():
    enc = _encoder(norm=nn.LayerNorm(8))
    with gn.no_grad():
        enc.norm.bias.copy_(gn.arange(8.0))
    np.testing.assert_allclose(_run(enc)[0, 4], np.arange(8.0))  # norm(0) = bias


def test_a_float_mask_counts_its_minus_inf_entries_as_padding():
    fmask = gn.where(PAD, float("-inf"), 0.0)
    np.testing.assert_array_equal(_run(_encoder(), mask=fmask)[0, 3:], 0.0)


def test_pytorch_slow_path_cases_keep_the_masked_values():
    not_left_aligned = gn.tensor([[True, False, False, False, False], [False] * 5])
    assert np.abs(_run(_encoder(), mask=not_left_aligned)[0, 0]).min() > 0
    assert np.abs(_run(_encoder(), grad=True)[0, 3:]).min() > 0  # weights need grad
    for layer in (dict(norm_first=True), dict(batch_first=False), dict(nhead=1)):
        enc = _encoder(**layer)
        assert not enc.use_nested_tensor
    enc = _encoder()
    enc.train()
    assert np.abs(enc(X, src_key_padding_mask=PAD).detach().numpy()[0, 3:]).min() > 0
