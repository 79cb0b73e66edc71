"""Record the expected losses of the ported programs by running them under PyTorch.

Run once by hand (the tests never import torch), from the repository root:

    pip install torch==2.13.0
    python tests/porting/record_with_torch.py              # every program
    python tests/porting/record_with_torch.py NAME [NAME ...]   # only these (others kept)

Each program in programs/ is rewritten back to PyTorch by porting_rule.to_torch (only its
import lines change), run with runpy on the CPU in a temporary folder beside a copy of
_data.py, and the `losses` list it leaves is written to expected_losses.json together with
the torch version.
"""

from __future__ import annotations

import json
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from porting_rule import to_torch  # noqa: E402


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    out = HERE / "expected_losses.json"
    results = {"recorded_with": f"torch {torch.__version__}, CPU", "programs": {}}
    programs = sorted((HERE / "programs").glob("*.py"))
    if names:
        # Re-record only the named programs; every other entry keeps its recorded numbers
        # and its place, and the new ones are appended (a merge-friendly diff).
        results = json.loads(out.read_text(encoding="utf-8"))
        unknown = sorted(set(names) - {p.stem for p in programs})
        if unknown:
            raise SystemExit(f"no such program(s) in programs/: {', '.join(unknown)}")
        programs = [p for p in programs if p.stem in names]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(HERE / "_data.py", tmp)
        sys.path.insert(0, tmp)
        for program in programs:
            path = Path(tmp) / program.name
            path.write_text(to_torch(program.read_text(encoding="utf-8")), encoding="utf-8")
            losses = runpy.run_path(str(path), run_name="__main__")["losses"]
            results["programs"][program.stem] = [float(v) for v in losses]
            print(program.stem, losses[:3], "...")
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
