"""Device tests: the same code on a device must give the CPU's numbers.

Each test runs on every available device: ``cuda`` (an NVIDIA GPU with CuPy; skipped cleanly
without one, which is every CI machine so far) and ``sim``, the strict simulated device, which
runs the GPU code paths on the CPU. ``benchmarks/gpu_check.sh`` runs this file on a GPU
machine (``GLASSNET_REQUIRE_GPU=1 pytest tests/test_gpu.py -k cuda``: the variable turns the
skip into failures, so a run that tested nothing fails). See docs/gpu.md for what has and has
not run on real hardware.
"""

import os

import numpy as np
import pytest
from tests.device_parity import all_grad_cases, amp_steps, forward_backward, preset_step

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.backend import jit

pytestmark = pytest.mark.gpu

# GLASSNET_REQUIRE_GPU=1 (benchmarks/gpu_check.sh): no skip, so a run without a GPU fails
_NO_GPU = not gn.cuda_available() and os.environ.get("GLASSNET_REQUIRE_GPU") != "1"
DEVICES = [
    pytest.param("cuda", marks=pytest.mark.skipif(_NO_GPU, reason="needs CuPy and an NVIDIA GPU")),
    "sim",
]
CASES = all_grad_cases()


@pytest.mark.parametrize("device", DEVICES)
def test_tensor_round_trip_and_device(device):
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]], device="cpu")
    y = x.to(device)
    assert y.device.type == gn.Device(device).type and x.device.type == "cpu"
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.numpy().__class__ is np.ndarray


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_op_forward_and_backward_match_cpu(case, device):
    out_cpu, grads_cpu = forward_backward(case, "cpu")
    out_dev, grads_dev = forward_backward(case, device)
    # float64 cases: GPU kernels (and the sim device's erf) round differently from NumPy
    np.testing.assert_allclose(out_dev, out_cpu, rtol=1e-5, atol=1e-7, err_msg="forward")
    for i, (a, b) in enumerate(zip(grads_cpu, grads_dev)):
        assert (a is None) == (b is None), f"input {i}"
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7, err_msg=f"grad of input {i}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("preset", ["mlp", "cnn", "gru", "lstm", "transformer", "char-lstm",
                                    "char-transformer"])  # fmt: skip
def test_a_training_step_of_each_preset_matches_cpu(preset, device):
    # The CPU reference takes the NumPy path (no glassnet[jit] kernels): a key projection's
    # bias has a gradient that is exactly 0 in exact arithmetic (softmax ignores a shift of a
    # row of scores), so it is rounding noise, which Adam scales to +-lr; only the same
    # formulas in the same order agree on it.
    previous = jit.set_enabled(False)
    try:
        cpu = preset_step(preset, "cpu")
    finally:
        jit.set_enabled(previous)
    dev = preset_step(preset, device)
    for name in cpu:
        np.testing.assert_allclose(dev[name], cpu[name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_autocast_and_grad_scaler_match_cpu(device):
    (cpu, cpu_scale), (dev, dev_scale) = amp_steps("cpu"), amp_steps(device)
    assert dev_scale == cpu_scale == 2.0**16
    for name in cpu:  # float16 products: agreement to half precision
        np.testing.assert_allclose(dev[name], cpu[name], rtol=1e-2, atol=1e-3, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_round_trip_across_devices(tmp_path, device):
    gn.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    opt = optim.Adam(a.parameters(), lr=0.01)
    F.cross_entropy(a(gn.randn(5, 3, device=device)), gn.tensor([0, 1, 0, 1, 1], device=device)
                    ).backward()  # fmt: skip
    opt.step()
    gn.save_checkpoint(tmp_path / "dev.safetensors", a, opt)
    b = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to("cpu")
    gn.load_checkpoint(tmp_path / "dev.safetensors", b, optim.Adam(b.parameters(), lr=0.01))
    gn.save_checkpoint(tmp_path / "cpu.safetensors", b)
    c = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    gn.load_checkpoint(tmp_path / "cpu.safetensors", c)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert pb.device == "cpu" and pc.device.type == gn.Device(device).type
        np.testing.assert_array_equal(pb.numpy(), pa.numpy())
        np.testing.assert_array_equal(pc.numpy(), pa.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_is_reproducible_on_the_device(device):
    x = gn.ones(64, 64, device=device)
    gn.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    gn.manual_seed(5)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs((a == 0).mean() - 0.5) < 0.05
