"""The measure of issue 13: PyTorch programs run on glassnet with only their imports changed
and train to PyTorch's losses from the same initial weights.

Each program in programs/ is a PyTorch program whose import lines were rewritten by the rule
torch -> glassnet (see README.md there for what each one mirrors and its source). The expected
losses in expected_losses.json were recorded once by running the same programs under PyTorch
2.13 on the CPU (record_with_torch.py, which undoes the import rule); these tests never
import torch. Initial weights come from NumPy through load_state_dict, data from the bundled
digits / Shakespeare files or NumPy, and dropout is off, so both frameworks compute the same
function; the tolerance is float32 rounding accumulated over a few training steps.
"""

import importlib
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

from .porting_rule import import_lines_only, to_torch

HERE = Path(__file__).resolve().parent
PROGRAMS = sorted((HERE / "programs").glob("*.py"))
EXPECTED = json.loads((HERE / "expected_losses.json").read_text(encoding="utf-8"))


def test_every_program_has_recorded_losses():
    assert len(PROGRAMS) >= 5
    assert sorted(p.stem for p in PROGRAMS) == sorted(EXPECTED["programs"])


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_differs_from_pytorch_only_in_imports(path):
    source = path.read_text(encoding="utf-8")
    assert import_lines_only(source) == []
    torch_source = to_torch(source)
    assert "glassnet" not in torch_source.split("# Only the import lines")[-1]
    changed = [(a, b) for a, b in zip(source.splitlines(), torch_source.splitlines()) if a != b]
    assert changed and all(a.startswith(("import ", "from ")) for a, _ in changed)


# PyTorch API the programs use that issue 13's Tensor-surface half (13a) provides: while one
# is absent the program cannot run, and the test says which (an expected failure naming
# them); once all are present the program must run and match PyTorch's losses.
PROBES = {
    "glassnet.nn.functional": lambda: importlib.import_module("glassnet.nn.functional"),
    "glassnet.utils.data": lambda: importlib.import_module("glassnet.utils.data").DataLoader,
    "dtype aliases (double, long, float)": lambda: (gn.double, gn.long, gn.float),
    "glassnet.device / cuda / backends.mps": lambda: (
        gn.device("cpu"),
        gn.cuda.is_available(),
        gn.backends.mps.is_available(),
    ),
    "Tensor.size()/numel()/dim()": lambda: (
        gn.zeros(2, 3).size(0) + gn.zeros(1).numel() + (gn.zeros(1).dim())
    ),
    "Tensor.view/view_as/t/contiguous/narrow": lambda: (
        gn.zeros(2, 3).view(3, 2).view_as(gn.zeros(6)).view(2, 3).t().contiguous().narrow(0, 0, 1)
    ),
    "Tensor.eq/pow/masked_fill/new_zeros/long/float/type": lambda: (
        gn.zeros(2).eq(gn.zeros(2)),
        gn.zeros(2).pow(2),
        gn.zeros(2).new_zeros(3),
        gn.zeros(2).masked_fill(gn.zeros(2) == 0, 1.0),
        gn.zeros(2).long().float(),
        gn.zeros(2).type(gn.bool),
    ),  # fmt: skip
    "p.data as a tensor (p.data.add_)": lambda: gn.zeros(2).data.add_(gn.ones(2), alpha=-1),
    "glassnet.tril/triu/multinomial": lambda: (
        gn.tril(gn.ones(2, 2)),
        gn.triu(gn.ones(2, 2)),
        gn.multinomial,
    ),
    "device= on creation ops": lambda: (
        gn.zeros(2, device="cpu"),
        gn.arange(3, device="cpu"),
        gn.linspace(0, 1, 3, device="cpu"),
        gn.full((), 0.0, device="cpu"),
    ),  # fmt: skip
    "glassnet.save(obj, f) / load(f, weights_only=)": lambda: _save_load(),
    "DataLoader(num_workers=, pin_memory=) yielding tensors": lambda: _loader(),
    "glassnet.nn.utils.clip_grad_norm_": lambda: gn.nn.utils.clip_grad_norm_,
    "format(0-d tensor)": lambda: f"{gn.tensor(1.5):.4f}",
    "0-d int tensor as an index": lambda: (1, 2)[gn.tensor(1)],
}


def _save_load():
    import io

    buffer = io.BytesIO()
    gn.save({"w": gn.ones(2)}, buffer)
    buffer.seek(0)
    assert gn.load(buffer, weights_only=True)["w"].shape == (2,)


def _loader():
    data = importlib.import_module("glassnet.utils.data")
    dataset = data.TensorDataset(gn.zeros(4, 1), gn.zeros(4))
    (x, y) = next(iter(data.DataLoader(dataset, batch_size=2, num_workers=0, pin_memory=False)))
    assert isinstance(x, gn.Tensor) and x.shape == (2, 1)


def _missing() -> list[str]:
    missing = []
    for name, probe in PROBES.items():
        try:
            probe()
        except Exception:  # noqa: BLE001 - any failure means the feature is not there yet
            missing.append(name)
    return missing


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_trains_to_pytorchs_losses(path, monkeypatch, capsys):
    missing = _missing()
    if missing:
        pytest.xfail(f"glassnet still lacks PyTorch API these programs use: {missing}")
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setattr(sys, "argv", [str(path)])
    losses = runpy.run_path(str(path), run_name="__main__")["losses"]
    expected = EXPECTED["programs"][path.stem]
    assert len(losses) == len(expected)
    np.testing.assert_allclose([float(v) for v in losses], expected, rtol=2e-4, atol=1e-5)
