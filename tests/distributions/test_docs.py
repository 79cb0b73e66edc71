"""docs/distributions.md runs and prints what it shows: its python blocks run in order in one
fresh Python process; a text block right after a python block is that block's output
(compared as doctest compares: whitespace normalized)."""

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "distributions.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)
SEP = "----- next block -----"


def test_distributions_page_runs_and_prints_what_it_shows():
    text = PAGE.read_text(encoding="utf-8")
    blocks = list(FENCE.finditer(text))
    code, expected = [], []
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        code.append(block.group(2))
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        follows = nxt is not None and not text[block.end() : nxt.start()].strip()
        expected.append(nxt.group(2) if follows and nxt.group(1) == "text" else None)
    script = f"\nprint({SEP!r})\n".join(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    printed = run.stdout.split(SEP + "\n")
    assert len(printed) == len(code)
    checker = doctest.OutputChecker()
    for want, got in zip(expected, printed):
        if want is not None:
            assert checker.check_output(want, got, doctest.NORMALIZE_WHITESPACE), (want, got)
