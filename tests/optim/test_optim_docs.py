"""The python examples of docs/optimizers.md and docs/regularization.md run and print what the
comments next to them claim."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"

CLAIMS = {
    "optimizers.md": [
        "[ 0.5 -0.5]",
        "[0.001, 0.01]",
        "['bias', 'weight']",
        "True",
        "1.00e-05 1.00e-03 3.05e-09",
        "[0.9, 0.081, 0.0729]",
        "[0.05]",
        "3.0 3",
        "50.0 [3. 4.]",
        "[1. 1.]",
    ],
    "regularization.md": [
        "['0.weight', '3.weight']",
        "Adam + L2: [1.7134 0.2244]",
        "AdamW:     [1.6781 0.9048]",
        "stopping at epoch 5, best val loss 0.6",
    ],
}


@pytest.mark.parametrize("name", list(CLAIMS))
def test_doc_examples_run_and_print_their_claims(name, capsys):
    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{name}[{i}]", "exec"), namespace)  # noqa: S102 - our own docs
    out = capsys.readouterr().out.splitlines()
    for claim in CLAIMS[name]:
        assert claim in out, f"{name}: expected a line {claim!r}, got {out}"
