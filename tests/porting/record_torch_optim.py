"""Record the PyTorch reference numbers in test_optim_more.py (run once by hand; never by tests).

    pip install torch==2.13.0 && python tests/porting/record_torch_optim.py

Prints the constants pasted into tests/optim/test_optim_more.py: for each optimizer config,
the float64 weights after 6 steps of the fixed gradient sequence of test_optim_rules.py, and
for LBFGS the losses, weights and counters on the Rosenbrock function.
"""

import numpy as np
import torch

STEPS = 6


def grad_fn(w, t):
    return np.cos(3.0 * w) + 0.5 * w + 0.1 * t - 0.2


def initial_weights():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal(5)]


CONFIGS = {
    "Adadelta": (torch.optim.Adadelta, {}),
    "Adadelta-wd": (torch.optim.Adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    "Adamax": (torch.optim.Adamax, {}),
    "Adamax-wd": (torch.optim.Adamax, {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    "NAdam": (torch.optim.NAdam, {}),
    "NAdam-wd": (torch.optim.NAdam, {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    "NAdam-decoupled": (
        torch.optim.NAdam,
        {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    "RAdam": (torch.optim.RAdam, {}),
    "RAdam-b2": (torch.optim.RAdam, {"lr": 0.05, "betas": (0.9, 0.5), "weight_decay": 0.1}),
    "RAdam-decoupled": (
        torch.optim.RAdam,
        {"lr": 0.05, "betas": (0.9, 0.6), "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    "Adamax-maximize": (torch.optim.Adamax, {"lr": 0.05, "maximize": True}),
}


def run(cls, kw):
    params = [torch.nn.Parameter(torch.tensor(w)) for w in initial_weights()]
    opt = cls(params, **kw)
    for t in range(1, STEPS + 1):
        for p in params:
            p.grad = torch.tensor(grad_fn(p.detach().numpy(), t))
        opt.step()
    return params


def rosenbrock_runs():
    out = {}
    for name, kw in {
        "fixed": {"lr": 0.01, "max_iter": 4, "history_size": 3},
        "wolfe": {"max_iter": 6, "history_size": 4, "line_search_fn": "strong_wolfe"},
    }.items():
        w = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=torch.float64))
        opt = torch.optim.LBFGS([w], **kw)

        def closure(opt=opt, w=w):
            opt.zero_grad()
            loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
            loss.backward()
            return loss

        losses = [float(opt.step(closure)) for _ in range(3)]
        st = opt.state[w]
        out[name] = (losses, w.detach().numpy().tolist(), st["func_evals"], st["n_iter"])
    return out


if __name__ == "__main__":
    torch.set_printoptions(precision=17)
    print("TORCH_FINAL = {")
    for name, (cls, kw) in CONFIGS.items():
        a, b = run(cls, kw)
        vals = a.detach().numpy()[0].tolist() + b.detach().numpy().tolist()
        print(f"    {name!r}: {[float(f'{v:.15g}') for v in vals]},")
    print("}")
    print("TORCH_LBFGS = {")
    for name, (losses, w, evals, iters) in rosenbrock_runs().items():
        print(f"    {name!r}: ({losses!r}, {w!r}, {evals}, {iters}),")
    print("}")
