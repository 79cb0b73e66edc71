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

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

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


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_trains_to_pytorchs_losses(path, monkeypatch, capsys, host_device):
    # CPU programs, as recorded: torch.from_numpy makes CPU tensors in PyTorch too, so under
    # a default device (GLASSNET_TEST_DEVICE=sim) they would mix devices there as well
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setattr(sys, "argv", [str(path)])
    losses = runpy.run_path(str(path), run_name="__main__")["losses"]
    expected = EXPECTED["programs"][path.stem]
    assert len(losses) == len(expected)
    np.testing.assert_allclose([float(v) for v in losses], expected, rtol=2e-4, atol=1e-5)
