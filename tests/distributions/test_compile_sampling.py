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


def test_compiled_step_redraws_counts_and_relaxed_draws():
    """Poisson / Binomial / Multinomial draws come from the host generator through
    no_grad_result, Dirichlet's through the gamma sampler: a replay draws afresh, as eager."""

    def step(rate, probs):
        a = D.Poisson(rate).sample((3,))
        b = D.Binomial(5, probs).sample()
        c = D.Multinomial(4, probs).sample()
        d = D.Dirichlet(rate).rsample()
        e = D.RelaxedOneHotCategorical(gn.tensor(0.5), probs=probs).rsample()
        return gn.cat([a.flatten(), b, c, d, e])

    def run_steps(f):
        gn.manual_seed(0)
        out = []
        for i in range(5):
            rate = gn.tensor([1.0 + i, 4.0, 0.5])
            probs = gn.tensor([0.2, 0.3, 0.5 + 0.1 * i])
            out.append(f(rate, probs).numpy().tolist())
        return out

    eager = run_steps(step)
    f = gn.compile(step)
    assert run_steps(f) == eager
    assert f.replays >= 2
    assert len({tuple(x) for x in eager}) == 5
