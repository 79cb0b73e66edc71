"""An optimizer written as a PyTorch subclass (its own step, tensors in self.state[p]: LARS
in SimCLR / Barlow Twins code) resumes from a checkpoint as in PyTorch: load_state_dict gave
its state back as NumPy arrays (and added a 'step' entry), so the next step failed with
"'numpy.ndarray' object has no attribute 'mul_'". Checked against an uninterrupted run."""

import numpy as np

import glassnet as gn
from glassnet import nn


class Momentum(gn.optim.Optimizer):
    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @gn.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = gn.zeros_like(p)
                    state["count"] = 0
                state["count"] += 1
                state["mu"].mul_(group["momentum"]).add_(p.grad)
                p.add_(state["mu"], alpha=-group["lr"])


def _run(steps, resume_at=None, tmp_path=None):
    lin = nn.Linear(3, 2)
    with gn.no_grad():
        lin.weight.copy_(gn.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
        lin.bias.zero_()
    opt = Momentum(lin.parameters())
    x = gn.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    for i in range(steps):
        if i == resume_at:
            path = tmp_path / "ck.pt"
            gn.save({"model": lin.state_dict(), "optimizer": opt.state_dict()}, path)
            checkpoint = gn.load(path)
            lin = nn.Linear(3, 2)
            lin.load_state_dict(checkpoint["model"])
            opt = Momentum(lin.parameters())
            opt.load_state_dict(checkpoint["optimizer"])
            st = opt.state[lin.weight]
            assert isinstance(st["mu"], gn.Tensor) and st["mu"].dtype == gn.float32
            assert st["count"] == i and "step" not in st
        opt.zero_grad()
        lin(x).pow(2).sum().backward()
        opt.step()
    return lin.weight.detach().numpy()


def test_resumes_like_an_uninterrupted_run(tmp_path):
    np.testing.assert_allclose(_run(4, resume_at=2, tmp_path=tmp_path), _run(4), rtol=1e-6)
