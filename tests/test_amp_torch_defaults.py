"""PyTorch's amp defaults: autocast("cpu") means bfloat16 (which glassnet refuses rather than
silently running float16), a CUDA GradScaler on a machine without CUDA disables itself, and
the deprecated ``torch.cuda.amp`` spellings exist."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_autocast_cpu_without_dtype_is_bfloat16_and_refused():
    with pytest.raises(TypeError, match=r"autocast\('cpu'\): bfloat16 .*dtype=float16"):
        gn.autocast("cpu")
    # a disabled block checks nothing: the common `enabled=use_amp` flag works
    with gn.autocast("cpu", enabled=False):
        assert not gn.amp.is_autocast_enabled()
    with gn.autocast("cpu", dtype="bfloat16", enabled=False):
        assert not gn.amp.is_autocast_enabled()


def test_autocast_cuda_without_dtype_is_float16():
    assert gn.autocast("cuda").dtype == np.float16
    assert gn.autocast("cpu", dtype=gn.float16, cache_enabled=True).dtype == np.float16


def test_bfloat16_attribute_error_names_the_alternative():
    with pytest.raises(AttributeError, match="no bfloat16 dtype; use glassnet.float16"):
        gn.bfloat16  # noqa: B018


@pytest.mark.skipif(gn.cuda.is_available(), reason="the rule for machines without CUDA")
def test_cuda_grad_scaler_without_cuda_disables_itself():
    with pytest.warns(UserWarning, match="CUDA is not available. Disabling"):
        s = gn.amp.GradScaler()
    assert not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    loss = gn.tensor(2.0, requires_grad=True) * 3.0
    assert s.scale(loss) is loss
    lin = nn.Linear(2, 1)
    opt = gn.optim.SGD(lin.parameters(), lr=0.5)
    before = lin.weight.numpy().copy()
    lin(gn.ones(1, 2)).sum().backward()
    s.step(opt)  # a plain step
    np.testing.assert_allclose(lin.weight.numpy(), before - 0.5 * 1.0, rtol=1e-6)
    s.update()


def test_cpu_grad_scaler_stays_enabled():
    s = gn.amp.GradScaler("cpu")
    assert s.is_enabled() and s.get_scale() == 2.0**16


def test_torch_cuda_amp_spellings():
    from glassnet.cuda.amp import GradScaler, autocast

    assert gn.cuda.amp.autocast is autocast
    with pytest.warns(FutureWarning, match=r"torch.amp.autocast\('cuda'"):
        ctx = autocast()
    assert ctx.device_type == "cuda" and ctx.dtype == np.float16 and ctx.enabled
    x = gn.ones(2, 2)
    with ctx:  # CPU tensors: a CUDA autocast leaves them alone, as in PyTorch
        assert (x @ x).dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = GradScaler(init_scale=8.0, enabled=False)
    assert not s.is_enabled()
