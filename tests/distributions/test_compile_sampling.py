"""A REINFORCE step that samples actions, captured by gn.compile: each replay draws afresh
from glassnet's generator, at the same point of its stream as the eager step."""

import numpy as np

import glassnet as gn
import glassnet.nn as nn
from glassnet import distributions as D


def run(compiled: bool):
    gn.manual_seed(0)
    policy = nn.Linear(4, 3)
    opt = gn.optim.SGD(policy.parameters(), lr=0.1)

    def step(s, adv):
        dist = D.Categorical(logits=policy(s))
        a = dist.sample()
        noise = D.Normal(gn.zeros(3), 1.0).rsample()
        loss = -(dist.log_prob(a) * adv).mean() + 0.0 * noise.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, a

    f = gn.compile(step) if compiled else step
    out = []
    for i in range(5):
        rs = np.random.default_rng(i)
        s = gn.tensor(rs.normal(size=(8, 4)).astype(np.float32))
        loss, a = f(s, gn.tensor(rs.normal(size=8).astype(np.float32)))
        out.append((loss.item(), a.numpy().tolist()))
    return out, f


def test_compiled_reinforce_step_matches_eager_and_redraws():
    eager, _ = run(False)
    compiled, f = run(True)
    assert compiled == eager
    assert f.replays >= 2
    assert len({tuple(a) for _, a in eager}) > 1  # the actions differ step to step
