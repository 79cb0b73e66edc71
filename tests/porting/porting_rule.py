"""The one rewriting rule between a PyTorch program and its glassnet port: import lines only.

``to_torch`` undoes the rule (glassnet -> torch) so record_with_torch.py can run the very
same program under PyTorch; ``import_lines_only`` checks that nothing but import lines
mention glassnet.
"""

from __future__ import annotations

import re

_RULES = [
    (re.compile(r"^import glassnet as torch$"), "import torch"),
    (re.compile(r"^import glassnet(\.[\w.]+)?( as \w+)?$"), r"import torch\1\2"),
    (re.compile(r"^from glassnet(\.[\w.]+)? import (.+)$"), r"from torch\1 import \2"),
]


def to_torch(source: str) -> str:
    """The PyTorch program: every glassnet import line rewritten back to torch."""
    out = []
    for line in source.splitlines():
        for pattern, repl in _RULES:
            if pattern.match(line):
                line = pattern.sub(repl, line)
                break
        out.append(line)
    return "\n".join(out) + "\n"


def import_lines_only(source: str) -> list[str]:
    """Lines that mention glassnet outside an import line (must be none)."""
    bad = []
    for line in source.splitlines():
        code = line.split("#", 1)[0]
        if "glassnet" in code and not any(p.match(line) for p, _ in _RULES):
            bad.append(line)
    return bad
