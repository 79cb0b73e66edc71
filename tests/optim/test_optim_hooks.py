"""PyTorch's optimizer step hooks and ``opt.state`` as a defaultdict(dict)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.backend import to_device


def param(values=(1.0, 2.0)):
    p = gn.nn.Parameter(gn.tensor(np.array(values, dtype=np.float32)))
    p.grad = gn.ones(len(values))
    return p


def test_step_pre_and_post_hooks_order_args_and_remove():
    p = param()
    opt = optim.SGD([p], lr=0.5)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt, a, k)))
    post = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", p.numpy().tolist())))
    opt.step()
    assert calls == [("pre", True, (), {}), ("post", [0.5, 1.5])]
    pre.remove()
    post.remove()
    post.remove()  # twice is harmless
    opt.step()
    assert len(calls) == 2
    with opt.register_step_post_hook(lambda o, a, k: calls.append("scoped")):
        opt.step()
    opt.step()
    assert calls[2:] == ["scoped"]


def test_pre_hook_can_replace_the_arguments():
    p = param()
    opt = optim.SGD([p], lr=0.5)
    seen = []

    def closure():
        seen.append("closure")
        return 3.0

    opt.register_step_pre_hook(lambda o, a, k: ((), {"closure": closure}))
    assert opt.step() == 3.0 and seen == ["closure"]
    opt2 = optim.SGD([param()], lr=0.5)
    opt2.register_step_pre_hook(lambda o, a, k: "bad")
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        opt2.step()


def test_hooks_run_once_for_subclass_steps():
    class Logged(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    for opt in (Logged([param()], lr=0.1), optim.LBFGS([param()], lr=0.1, max_iter=1)):
        calls = []
        opt.register_step_pre_hook(lambda o, a, k, calls=calls: calls.append("pre"))
        opt.register_step_post_hook(lambda o, a, k, calls=calls: calls.append("post"))
        p = opt.param_groups[0]["params"][0]

        def closure(p=p, opt=opt):
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert calls == ["pre", "post"]


def test_state_reads_like_pytorch_defaultdict():
    p = param()
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    assert opt.state[p] == {} and p in opt.state  # made on read, as defaultdict(dict)
    assert opt.state_dict()["state"] == {}  # an empty state is no state
    opt.step()  # the built-in optimizer still builds its own state
    np.testing.assert_allclose(to_device(opt.state[p]["momentum_buffer"], "cpu"), [1.0, 1.0])
    np.testing.assert_allclose(p.numpy(), [0.9, 1.9])


def test_pytorch_style_custom_optimizer():
    class MomentumSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1, mom=0.9):
            super().__init__(params, {"lr": lr, "mom": mom})

        def step(self, closure=None):
            with gn.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is None:
                            continue
                        state = self.state[p]
                        if len(state) == 0:
                            state["buf"] = np.zeros(p.shape, dtype=np.float32)
                        state["buf"] = group["mom"] * state["buf"] + p.grad.numpy()
                        p.data = gn.tensor(p.numpy() - group["lr"] * state["buf"])

    p = param()
    opt = MomentumSGD([p])
    hooked = []
    opt.register_step_post_hook(lambda o, a, k: hooked.append(1))
    buf, w = np.zeros(2), np.array([1.0, 2.0])
    for _ in range(3):
        p.grad = gn.tensor(np.array([1.0, -1.0], dtype=np.float32))
        opt.step()
        buf = 0.9 * buf + np.array([1.0, -1.0])
        w = w - 0.1 * buf
    np.testing.assert_allclose(p.numpy(), w, rtol=1e-6)
    assert hooked == [1, 1, 1] and list(opt.state_dict()["state"][0]) == ["buf"]


def test_compiled_step_with_hooks_raises():
    model = gn.nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    opt.register_step_pre_hook(lambda o, a, k: None)

    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss

    fast = gn.compile(step)
    with pytest.raises(NotImplementedError, match="step hooks"):
        for _ in range(3):
            fast(gn.ones(2, 3))
