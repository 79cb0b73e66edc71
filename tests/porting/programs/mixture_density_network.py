# A mixture density network in the style of hardmaru's pytorch_notebooks
# (https://github.com/hardmaru/pytorch_notebooks, mixture_density_networks.ipynb, MIT License)
# and the stable loss of sagelywizard/pytorch-mdn (MIT License), after Bishop (1994): the same
# idioms (the inverted sinusoid data, nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh()) trunk,
# pi = nn.functional.softmax(...), sigma = torch.exp(...), mu, the notebook's
# gaussian_distribution with y.expand_as(mu), torch.reciprocal and oneDivSqrtTwoPI,
# mdn_loss_fn = torch.mean(-torch.log(torch.sum(result, dim=1))), Adam, and sampling with
# torch.multinomial), here with one head split by torch.chunk / torch.split, and the stable
# loss -torch.logsumexp(log_pi + Normal(mu, sigma).log_prob(y.unsqueeze(-1)), dim=-1) that is
# trained on, written for this test at a tiny size. The data are drawn with NumPy so that both
# frameworks see the same points. Only the import lines differ from the PyTorch program.
import math

import numpy as np

import glassnet as torch
import glassnet.nn as nn
from glassnet.distributions import Normal

from _data import deterministic_state

torch.manual_seed(7)
rng = np.random.default_rng(7)
NSAMPLE = 256
y_data = np.float32(rng.uniform(-10.5, 10.5, (1, NSAMPLE))).T
r_data = np.float32(rng.normal(size=(NSAMPLE, 1)))
x_data = np.float32(np.sin(0.75 * y_data) * 7.0 + y_data * 0.5 + r_data * 1.0)
x_tensor = torch.from_numpy(x_data / 10.0)
y_tensor = torch.from_numpy(y_data / 10.0)

oneDivSqrtTwoPI = 1.0 / np.sqrt(2.0 * np.pi)


class MDN(nn.Module):
    def __init__(self, n_hidden, n_gaussians):
        super(MDN, self).__init__()
        self.z_h = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
        self.z_out = nn.Linear(n_hidden, 3 * n_gaussians)
        self.n_gaussians = n_gaussians

    def forward(self, x):
        z_h = self.z_h(x)
        z_pi, z_sigma, z_mu = torch.chunk(self.z_out(z_h), 3, dim=-1)
        pi = nn.functional.softmax(z_pi, -1)
        sigma = torch.exp(z_sigma)
        mu = z_mu
        return pi, sigma, mu

    def forward_split(self, x):
        z_pi, z_sigma, z_mu = self.z_out(self.z_h(x)).split(self.n_gaussians, dim=1)
        return nn.functional.log_softmax(z_pi, dim=1), torch.exp(z_sigma), z_mu


def gaussian_distribution(y, mu, sigma):
    result = (y.expand_as(mu) - mu) * torch.reciprocal(sigma)
    result = -0.5 * (result * result)
    return (torch.exp(result) * torch.reciprocal(sigma)) * oneDivSqrtTwoPI


def mdn_loss_fn(pi, sigma, mu, y):
    result = gaussian_distribution(y, mu, sigma) * pi
    result = torch.sum(result, dim=1)
    result = -torch.log(result)
    return torch.mean(result)


def mdn_nll(log_pi, sigma, mu, y):
    log_prob = Normal(mu, sigma).log_prob(y.unsqueeze(-1))
    return -torch.logsumexp(log_pi + log_prob, dim=-1).mean()


network = MDN(n_hidden=20, n_gaussians=5)
network.load_state_dict(deterministic_state(network, torch, seed=61))
optimizer = torch.optim.Adam(network.parameters(), lr=0.01)

losses = []
for epoch in range(20):
    pi, sigma, mu = network(x_tensor)
    loss_notebook = mdn_loss_fn(pi, sigma, mu, y_tensor)
    log_pi, sigma2, mu2 = network.forward_split(x_tensor)
    loss = mdn_nll(log_pi, sigma2, mu2, y_tensor.squeeze(1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses += [loss.item(), loss_notebook.item()]
    if epoch % 5 == 0:
        print(epoch, loss.item(), loss_notebook.item())

x_test = torch.from_numpy(np.linspace(-1.5, 1.5, 16, dtype=np.float32)[:, None])
with torch.no_grad():
    pi, sigma, mu = network(x_test)
    k = torch.multinomial(pi, 1).squeeze(1)
    sample = mu[torch.arange(16), k] + sigma[torch.arange(16), k] * torch.randn(16)
    losses.append(pi.max(dim=1).values.mean().item())
    losses.append(math.log(sigma.mean().item()))
assert tuple(sample.shape) == (16,)
print("losses", [round(v, 4) for v in losses])
