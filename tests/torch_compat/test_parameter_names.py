"""Every public glassnet function and Tensor method takes PyTorch's parameter names, in
PyTorch's positional order, so PyTorch code that passes arguments by keyword runs
(``torch.add(input=x, other=y)``, ``x.permute(dims=(1, 0))``, ``F.relu(input=x)``).

The reference is ``pytorch_signatures.json``, frozen from PyTorch 2.x by
``make_pytorch_signatures.py`` (PyTorch is not installed in CI): for each name, the parameter
names of each overload, ``*`` marking keyword-only ones. A glassnet signature passes when for
some overload (1) its positional parameters carry that overload's names in the same order
(a method's bound ``self`` aside) and (2) every other name of the overload is accepted by
keyword, unless it is in ``PYTORCH_ONLY`` below.
"""

import inspect
import json
import pathlib

import pytest

import glassnet as gn
import glassnet.linalg
import glassnet.nn.functional as F
import glassnet.special

REFERENCE = json.loads(pathlib.Path(__file__).with_name("pytorch_signatures.json").read_text())

#: PyTorch parameters glassnet does not take, and why (passing one is a TypeError, never a
#: silently different result).
PYTORCH_ONLY = {
    "out": "no preallocated outputs: glassnet returns new tensors",
    "_stacklevel": "a PyTorch-internal warning depth",
    "implicit": "expand's TorchScript-internal flag",
    "sparse_grad": "no sparse gradients",
    "max": "the named out= tensors of max/min (max=, max_values=)",
    "max_values": "the named out= tensors of max",
    "values": "named out= tensors (values=, indices=)",
    "indices": "named out= tensors (values=, indices=)",
    "layout": "strided tensors only",
    "pin_memory": "no pinned host memory",
    "memory_format": "taken where it means something (clone, to), not on every op",
    "generator": "taken by the random ops that have it, not by every schema overload",
    "names": "no named tensors",
    "device": "taken by the factories, not by every schema overload",
    "requires_grad": "taken by the factories, not by every schema overload",
    "dtype": "taken by the reductions that have it, not by every schema overload",
}

#: Names whose PyTorch parameters glassnet cannot take, and why.
KNOWN = {
    "Tensor.polygamma": "the method's n is not the tensor (torch's schema is polygamma(n, self))",
    "Tensor.register_hook": "glassnet.tensor (autograd layer) calls it fn; not an op",
    "Tensor.uniform_": "PyTorch's `from` is a Python keyword; a Python function cannot take it",
    "Tensor.split": "one function serves torch.split (split_size_or_sections) and the method "
    "(split_size); it takes PyTorch's function name",
    "Tensor.resize_": "glassnet._tensor_extra (tensor internals) takes sizes positionally only",
    "Tensor.unique_consecutive": "dim= not supported yet",
    "torch.isin": "assume_unique= not taken (glassnet's isin has no fast path to switch on)",
    "torch.repeat_interleave": "the repeats-only overload (torch.repeat_interleave(repeats))",
}

SPACES = [
    ("torch", gn),
    ("nn.functional", F),
    ("linalg", glassnet.linalg),
    ("special", glassnet.special),
    ("Tensor", gn.Tensor),
]


def _public():
    for prefix, space in SPACES:
        for name in sorted(dir(space)):
            key = f"{prefix}.{name}"
            fn = getattr(space, name, None)
            if key in REFERENCE and callable(fn) and not isinstance(fn, type):
                yield key, fn


def _problems(fn, overload, method):
    """What stops ``fn`` taking this PyTorch overload's names ([] when nothing does)."""
    params = inspect.signature(fn).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]
    by_name = {p.name for p in params if p.kind != p.VAR_POSITIONAL}
    any_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    problems = []
    ordered = [n for n in overload if not n.endswith("*")]
    for i, name in enumerate(ordered):
        if method and i == 0 or name in PYTORCH_ONLY:
            continue
        if i < len(positional) and positional[i] != name:
            problems.append(f"positional {i} is {positional[i]!r}, PyTorch: {name!r}")
        elif name not in by_name and not any_kw:
            problems.append(f"no {name}=")
    for name in (n[:-1] for n in overload if n.endswith("*")):
        if name not in by_name and name not in PYTORCH_ONLY and not any_kw:
            problems.append(f"no keyword {name}=")
    return problems


def test_the_frozen_table_covers_the_common_ops():
    keys = dict(_public())
    assert len(keys) > 400
    for key in ["torch.add", "torch.sum", "Tensor.permute", "nn.functional.linear", "torch.cat"]:
        assert key in keys


def test_known_exceptions_are_still_needed():
    # a fixed entry must leave KNOWN (or the exception list would hide a regression)
    fns = dict(_public())
    for key in KNOWN:
        overloads = REFERENCE[key]
        method = key.startswith("Tensor.")
        assert all(_problems(fns[key], o, method) for o in overloads), key


_CASES = [kv for kv in _public() if kv[0] not in KNOWN]


# ids by name only: a function's repr holds its address, which differs between xdist workers
@pytest.mark.parametrize("key, fn", _CASES, ids=[key for key, _ in _CASES])
def test_pytorch_parameter_names(key, fn):
    method = key.startswith("Tensor.")
    try:
        inspect.signature(fn)
    except (TypeError, ValueError):
        pytest.skip("no Python signature")
    found = [_problems(fn, overload, method) for overload in REFERENCE[key]]
    assert any(not p for p in found), f"{key}: {min(found, key=len)}"


def test_pytorch_keyword_calls_compute_the_same_values():
    import numpy as np

    a = np.arange(6.0).reshape(2, 3)
    b = np.full((2, 3), 2.0)
    x, y = gn.tensor(a), gn.tensor(b)
    w, bias = gn.tensor(np.ones((4, 3))), gn.tensor(np.arange(4.0))
    idx = gn.tensor(np.array([[2, 0], [1, 1]]))
    np.testing.assert_allclose(gn.add(input=x, other=y).numpy(), a + b)
    np.testing.assert_allclose(gn.add(x, other=y, alpha=3).numpy(), a + 3 * b)
    np.testing.assert_allclose(gn.pow(x, exponent=2).numpy(), a**2)
    np.testing.assert_allclose(x.permute(dims=(1, 0)).numpy(), a.T)
    np.testing.assert_allclose(gn.permute(x, dims=(1, 0)).numpy(), a.T)
    np.testing.assert_allclose(gn.flip(x, dims=[0]).numpy(), a[::-1])
    np.testing.assert_allclose(x.reshape(shape=(3, 2)).numpy(), a.reshape(3, 2))
    np.testing.assert_allclose(x.view(size=(6,)).numpy(), a.reshape(6))
    np.testing.assert_allclose(x[:1].expand(size=(2, 3)).numpy(), np.repeat(a[:1], 2, 0))
    np.testing.assert_allclose(x.repeat(repeats=(1, 2)).numpy(), np.tile(a, (1, 2)))
    parts = gn.split(x, split_size_or_sections=2, dim=1)
    np.testing.assert_allclose(parts[1].numpy(), a[:, 2:])
    got = gn.gather(input=x, dim=1, index=idx)
    np.testing.assert_allclose(got.numpy(), np.take_along_axis(a, np.array([[2, 0], [1, 1]]), 1))
    np.testing.assert_allclose(F.relu(input=x - 2).numpy(), np.maximum(a - 2, 0))
    lin = F.linear(input=x, weight=w, bias=bias)
    np.testing.assert_allclose(lin.numpy(), a @ np.ones((3, 4)) + np.arange(4.0))
    np.testing.assert_allclose(gn.matmul(input=x, other=w.T).numpy(), a @ np.ones((3, 4)))
    np.testing.assert_allclose(gn.cat(tensors=[x, y], dim=0).numpy(), np.concatenate([a, b]))
    np.testing.assert_allclose(gn.sum(input=x, dim=1).numpy(), a.sum(1))
    np.testing.assert_allclose(x.sum(axis=1, keepdims=True).numpy(), a.sum(1, keepdims=True))
    np.testing.assert_allclose(gn.swapaxes(x, axis0=0, axis1=1).numpy(), a.T)
    np.testing.assert_allclose(glassnet.linalg.det(A=gn.tensor(np.eye(2) * 3)).item(), 9.0)
    got = gn.where(condition=x > 2, input=x, other=y)
    np.testing.assert_allclose(got.numpy(), np.where(a > 2, a, b))
    with pytest.raises(TypeError, match="not both"):
        x.reshape(3, 2, shape=(3, 2))
