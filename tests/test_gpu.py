"""GPU (CuPy) tests: the same code path as CPU must give the same numbers on an NVIDIA GPU.

They skip cleanly on machines without CuPy or a GPU (the default CI machine); run them where
one is present with ``pytest -m gpu tests/test_gpu.py``.
"""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not gn.cuda_available(), reason="needs CuPy and an NVIDIA GPU"),
]


def test_tensor_round_trip_and_device():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = x.to("cuda")
    assert y.device.type == "cuda" and x.device.type == "cpu"
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.numpy().__class__ is np.ndarray


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: (gn.tanh(a) * a).sum(),
        lambda a: gn.softmax(a @ a.T, axis=-1).max(axis=1).sum(),
        lambda a: F.cross_entropy(a, gn.tensor([0, 2, 1, 1]).to(a.device)),
        lambda a: (F.layer_norm(a, (3,)) * gn.tensor([1.0, -2.0, 0.5]).to(a.device)).sum(),
    ],
)
def test_ops_match_cpu_forward_and_backward(fn):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 3)).astype(np.float32)
    a_cpu = gn.tensor(data, requires_grad=True)
    a_gpu = gn.tensor(data, device="cuda", requires_grad=True)
    out_cpu, out_gpu = fn(a_cpu), fn(a_gpu)
    out_cpu.backward()
    out_gpu.backward()
    np.testing.assert_allclose(out_gpu.numpy(), out_cpu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a_gpu.grad.numpy(), a_cpu.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_training_steps_on_gpu_match_cpu():
    gn.manual_seed(0)
    cpu = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    gpu = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    opts = [optim.Adam(m.parameters(), lr=1e-2) for m in (cpu, gpu)]
    for _ in range(3):
        for model, opt, dev in ((cpu, opts[0], "cpu"), (gpu, opts[1], "cuda")):
            opt.zero_grad()
            loss = F.cross_entropy(model(gn.tensor(x, device=dev)), gn.tensor(y, device=dev))
            loss.backward()
            opt.step()
    for (name, a), (_, b) in zip(cpu.state_dict().items(), gpu.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
