"""The learning docs (docs/index.md, docs/concepts/*.md) run and print what they show.

Each page's ```python blocks run in order in one namespace, in a fresh Python process (so a
page cannot lean on another page's imports or state) with a temporary working folder. A
```text block that follows a python block directly (nothing but blank lines between) is that
block's printed output and must match it, compared as doctest compares (whitespace
normalized, ``...`` matches anything). Other text blocks (formulas, tables) are not output.

BLAS is limited to one thread in the child: the examples multiply small matrices, where
OpenBLAS threads gain nothing and, on a busy 2-core machine, cost 10x in spin-waiting.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
CONCEPTS = sorted((DOCS / "concepts").glob("*.md"))
PAGES = [DOCS / "index.md", *CONCEPTS, DOCS.parent / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples(text: str) -> list[tuple[str, str | None, int]]:
    """(code, expected output or None, line number) for each python block of a page."""
    blocks = list(FENCE.finditer(text))
    found = []
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        expected = None
        if i + 1 < len(blocks) and blocks[i + 1].group(1) == "text":
            between = text[block.end() : blocks[i + 1].start()]
            if not between.strip():
                expected = blocks[i + 1].group(2)
        found.append((block.group(2), expected, text.count("\n", 0, block.start()) + 2))
    return found


def run_page_here(path: Path) -> list[str]:
    """Run a page's examples in this process; what each block printed."""
    namespace: dict = {"__name__": "__doc_example__"}
    printed = []
    for code, _expected, line in examples(path.read_text(encoding="utf-8")):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            # our own documentation, compiled with its page and line for tracebacks
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)  # noqa: S102
        printed.append(buffer.getvalue())
    return printed


def run_page(path: Path, cwd: Path, timeout: float = 120) -> list[str]:
    """Run a page's examples in a fresh process; what each block printed."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, __file__, str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_print_what_they_show(page, tmp_path):
    found = examples(page.read_text(encoding="utf-8"))
    assert found, f"{page.name} has no python examples"
    printed = run_page(page, tmp_path)
    assert len(printed) == len(found)
    checked = 0
    for (_code, expected, line), got in zip(found, printed):
        if expected is None:
            continue
        checked += 1
        assert CHECKER.check_output(expected, got, FLAGS), (
            f"{page.name}, block at line {line}: the page shows\n{expected}\nbut it printed\n{got}"
        )
    assert checked >= 1, f"{page.name} shows no output to check"


def test_every_concept_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in CONCEPTS:
        assert f"concepts/{page.name}" in index, f"docs/index.md does not link {page.name}"


def test_relative_links_resolve():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


if __name__ == "__main__":  # the child process of run_page: print the outputs as JSON
    outputs = run_page_here(Path(sys.argv[1]))
    sys.stdout.write("\n" + json.dumps(outputs) + "\n")
