"""Helpers for tests/test_gpu.py: run the same computation on the CPU and on a device and
compare (forward values, input gradients, training steps). Imported by the tests; no tests."""

from __future__ import annotations

import importlib

import numpy as np

import glassnet as gn
from glassnet.backend import get_default_device, set_default_device
from glassnet.testing.gradcheck import _to_tensors

GRAD_MODULES = (
    "tests.ops.test_grad_core",
    "tests.ops.test_grad_conv",
    "tests.ops.test_grad_extra",
    "tests.ops.test_grad_loss",
    "tests.ops.test_grad_nnops",
    "tests.ops.test_grad_norm_attn",
)


def all_grad_cases() -> list:
    """Every op's gradcheck case (the registry's coverage), except random ones."""
    cases = []
    for name in GRAD_MODULES:
        module = importlib.import_module(name)
        cases += [c for c in module.CASES if "dropout" not in c.id]
    return cases


class on_device:  # noqa: N801 - a context manager named like a function
    """Create tensors on ``device`` by default inside the block."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        self.before = get_default_device()
        set_default_device(self.device)

    def __exit__(self, *exc):
        set_default_device(self.before)


class constants_on:  # noqa: N801
    """Move the module-level and closure tensors a case function reads (targets, weights,
    running statistics, made at import on the CPU) to ``device`` for the block, as a user
    would ``.to(device)`` them."""

    def __init__(self, fn, device):
        self.fn, self.device, self.saved = fn, device, []

    def _codes(self, code):
        yield code
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                yield from self._codes(const)

    def _move(self, value):
        if isinstance(value, gn.Tensor):  # (host arrays are converted by the ops themselves)
            return value.to(self.device)
        return value

    def __enter__(self):
        fns, seen = [self.fn], set()
        while fns:
            fn = fns.pop()
            if id(fn) in seen or not hasattr(fn, "__code__"):
                continue
            seen.add(id(fn))
            names = {n for code in self._codes(fn.__code__) for n in code.co_names}
            for name in names & set(fn.__globals__):
                value = fn.__globals__[name]
                if callable(value) and getattr(value, "__module__", None) == fn.__module__:
                    fns.append(value)  # a helper of the test module (bn_eval, ...)
                moved = self._move(value)
                if moved is not value:
                    self.saved.append((fn.__globals__, name, value))
                    fn.__globals__[name] = moved
            for cell in fn.__closure__ or ():
                value = cell.cell_contents
                if callable(value):
                    fns.append(value)
                moved = self._move(value)
                if moved is not value:
                    self.saved.append((cell, None, value))
                    cell.cell_contents = moved
        return self

    def __exit__(self, *exc):
        for holder, name, value in reversed(self.saved):
            if name is None:
                holder.cell_contents = value
            else:
                holder[name] = value


def forward_backward(case, device):
    """(output, input gradients) of a gradcheck case computed on ``device``, as NumPy."""
    with on_device(device), constants_on(case.fn, device):
        tensors = _to_tensors(case.inputs, case.wrt)
        gn.manual_seed(0)
        out = case.fn(*tensors)
        w = gn.tensor(
            np.random.default_rng(0).standard_normal(out.shape), dtype=out.dtype, device=out.device
        )
        (out * w).sum().backward()
        grads = [None if t.grad is None else t.grad.numpy() for t in tensors]
        return out.numpy(), grads


def preset_step(preset: str, device, steps: int = 2):
    """Weights of a preset after ``steps`` Adam steps on ``device`` (same start everywhere)."""
    from glassnet.models import build_model

    char = preset.startswith("char-")
    shape, classes = ((16,), 20) if char else ((1, 8, 8), 10)
    options = {"dropout": 0.0} if "transformer" in preset else {}  # no random masks
    with on_device("cpu"):
        gn.manual_seed(0)
        model = build_model(preset, shape, classes, options)
    model.to(device)
    rng = np.random.default_rng(1)
    if char:
        x = rng.integers(0, classes, (4, 16))
        y = rng.integers(0, classes, (4, 16))
    else:
        x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, classes, 4)
    opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        out = model(gn.tensor(x, device=device))
        loss = gn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                           gn.tensor(y, device=device).reshape(-1))  # fmt: skip
        loss.backward()
        opt.step()
    return {k: v.numpy() for k, v in model.state_dict().items()}


def amp_steps(device, steps: int = 3):
    """Weights and loss scale after mixed-precision steps of a small CNN on ``device``."""
    from glassnet import nn

    with on_device("cpu"):
        gn.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    model.to(device)
    rng = np.random.default_rng(2)
    x = gn.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32), device=device)
    y = gn.tensor(rng.integers(0, 10, 8), device=device)
    opt = gn.optim.SGD(model.parameters(), lr=0.05)
    scaler = gn.amp.GradScaler(device.split(":")[0] if isinstance(device, str) else device.type)
    dev_type = gn.Device(device).type
    for _ in range(steps):
        opt.zero_grad()
        with gn.autocast(dev_type, dtype=gn.float16):  # (the CPU default would be bfloat16)
            loss = gn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        gn.clip_grad_norm(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
    return {k: v.numpy() for k, v in model.state_dict().items()}, scaler.get_scale()
