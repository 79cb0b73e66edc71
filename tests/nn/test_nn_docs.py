"""The examples in docs/layers.md and docs/initializers.md run and print what they show."""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page", ["layers.md", "initializers.md"])
def test_doc_examples(page):
    result = doctest.testfile(
        str(DOCS / page), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 5
    assert result.failed == 0, f"{result.failed} example(s) in docs/{page} failed (see output)"
