"""``torch.autograd.set_detect_anomaly`` / ``detect_anomaly``: PyTorch's backward NaN check."""

import numpy as np
import pytest

import glassnet as gn


def _nan_backward():
    x = gn.tensor([0.0, 1.0], requires_grad=True)
    # sqrt(0) is fine in forward; its derivative 1 / (2 sqrt(0)) = inf times 0 gives nan
    (gn.sqrt(x) * gn.tensor([0.0, 1.0])).sum().backward()
    return x


def test_set_detect_anomaly_raises_on_a_nan_gradient_and_restores():
    assert not gn.autograd.is_anomaly_enabled()
    x = _nan_backward()  # off: the nan gradient is stored, as in PyTorch
    assert np.isnan(x.grad.numpy()[0])
    gn.autograd.set_detect_anomaly(True)
    try:
        assert gn.is_anomaly_enabled() and gn.is_anomaly_check_nan_enabled()
        with pytest.raises(RuntimeError, match="Function 'sqrt' returned nan values in its 0th"):
            _nan_backward()
    finally:
        gn.autograd.set_detect_anomaly(False)
    assert not gn.autograd.is_anomaly_enabled()
    _nan_backward()  # the hook is gone


def test_detect_anomaly_block_and_check_nan_false():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = gn.autograd.detect_anomaly()
    with ctx, pytest.raises(RuntimeError, match="returned nan values"):
        _nan_backward()
    assert not gn.autograd.is_anomaly_enabled()
    with gn.autograd.set_detect_anomaly(True, check_nan=False):
        assert gn.autograd.is_anomaly_enabled()
        _nan_backward()  # nothing checked
    assert not gn.autograd.is_anomaly_enabled()


def test_anomaly_mode_ignores_nan_in_forward_and_finite_gradients():
    with gn.autograd.set_detect_anomaly(True):
        x = gn.tensor([4.0, -1.0], requires_grad=True)
        y = gn.where(x > 0, gn.log(x.clamp(min=1e-3)), gn.zeros(2))
        _ = gn.log(x.detach())  # a nan in forward is not an error (PyTorch's rule)
        y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.25, 0.0])
