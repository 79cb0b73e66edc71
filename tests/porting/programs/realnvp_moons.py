# A RealNVP normalizing flow on 2-D data in the style of senya-ashukha/real-nvp-pytorch
# (https://github.com/senya-ashukha/real-nvp-pytorch, real-nvp-pytorch.ipynb, MIT License),
# after Dinh et al. (2017): the same idioms (alternating binary masks built with
# torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32)), s-nets ending in
# nn.Tanh and t-nets in nn.ModuleList, the inverse pass f(x) with
# log_det_J, z = x.new_zeros(x.shape[0]), x and log_det_J -= s.sum(dim=1), the forward pass
# g(z) with torch.exp(s), a prior distributions.MultivariateNormal(torch.zeros(2),
# torch.eye(2)) whose log_prob(z) plus log_det_J is the log-likelihood, loss =
# -flow.log_prob(x).mean(), Adam over [p for p in flow.parameters() if p.requires_grad==True],
# loss.backward(retain_graph=True), prior.sample((batchSize, 1))), with the masks held by
# register_buffer (the notebook uses a frozen nn.Parameter), written for this test at a tiny
# size. The two moons are drawn with NumPy (sklearn's make_moons recipe) so that both
# frameworks see the same points. Only the import lines differ from the PyTorch program.
import numpy as np

import glassnet as torch
import glassnet.nn as nn
from glassnet import distributions

from _data import deterministic_state

torch.manual_seed(0)
rng = np.random.default_rng(0)


def make_moons(n_samples=100, noise=0.05):
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(outer), 1 - np.cos(inner)])
    y = np.concatenate([np.sin(outer), 1 - np.sin(inner) - 0.5])
    X = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n_samples, 2))
    return X, np.concatenate([np.zeros(n_out), np.ones(n_in)])


class RealNVP(nn.Module):
    def __init__(self, nets, nett, mask, prior):
        super(RealNVP, self).__init__()

        self.prior = prior
        self.register_buffer("mask", mask)
        self.t = torch.nn.ModuleList([nett() for _ in range(len(masks))])
        self.s = torch.nn.ModuleList([nets() for _ in range(len(masks))])

    def g(self, z):
        x = z
        for i in range(len(self.t)):
            x_ = x * self.mask[i]
            s = self.s[i](x_) * (1 - self.mask[i])
            t = self.t[i](x_) * (1 - self.mask[i])
            x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
        return x

    def f(self, x):
        log_det_J, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            z_ = self.mask[i] * z
            s = self.s[i](z_) * (1 - self.mask[i])
            t = self.t[i](z_) * (1 - self.mask[i])
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
            log_det_J -= s.sum(dim=1)
        return z, log_det_J

    def log_prob(self, x):
        z, logp = self.f(x)
        return self.prior.log_prob(z) + logp

    def sample(self, batchSize):
        z = self.prior.sample((batchSize, 1))
        logp = self.prior.log_prob(z)  # noqa: F841
        x = self.g(z)
        return x


nets = lambda: nn.Sequential(
    nn.Linear(2, 32), nn.LeakyReLU(), nn.Linear(32, 32), nn.LeakyReLU(), nn.Linear(32, 2),
    nn.Tanh(),
)  # fmt: skip
nett = lambda: nn.Sequential(
    nn.Linear(2, 32), nn.LeakyReLU(), nn.Linear(32, 32), nn.LeakyReLU(), nn.Linear(32, 2)
)
masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))
prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
flow = RealNVP(nets, nett, masks, prior)
state = deterministic_state(flow, torch, seed=51)
state["mask"] = masks
flow.load_state_dict(state)

optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad == True], lr=1e-3)  # noqa: E712
losses = []
for t in range(20):
    noisy_moons = make_moons(n_samples=64, noise=0.05)[0].astype(np.float32)
    loss = -flow.log_prob(torch.from_numpy(noisy_moons)).mean()

    optimizer.zero_grad()
    loss.backward(retain_graph=True)
    optimizer.step()
    losses.append(loss.item())
    if t % 5 == 0:
        print("iter %s:" % t, "loss = %.3f" % loss)  # noqa: UP031

with torch.no_grad():
    z, logdet = flow.f(torch.from_numpy(make_moons(n_samples=32)[0].astype(np.float32)))
    x_back = flow.g(z)
    losses.append(logdet.mean().item())
    losses.append(prior.log_prob(z).mean().item())
x = flow.sample(16)
assert tuple(x.shape) == (16, 1, 2)
assert tuple(prior.log_prob(torch.zeros(5, 2)).shape) == (5,)
print("losses", [round(v, 4) for v in losses])
