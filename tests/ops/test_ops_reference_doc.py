"""docs/ops-reference.md lists every function of the issue-16 op families (and stays true)."""

from pathlib import Path

import pytest

import glassnet.creation_extra as creation_extra
from glassnet.ops import (
    activation_extra,
    composite,
    conv_extra,
    distance,
    gamma,
    indexing,
    indexing_extra,
    joins,
    linalg_extra,
    linalg_solve,
    logical,
    loss_extra,
    math_extra,
    pool_extra,
    resize,
    rounding,
    scan,
    shape_extra,
    special,
    statistics,
    views,
)

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "ops-reference.md").read_text()
MODULES = [activation_extra, composite, conv_extra, distance, indexing, linalg_extra, logical,
           loss_extra, pool_extra, resize, rounding, scan, shape_extra, special,
           creation_extra, math_extra, statistics, linalg_solve, gamma, views, joins,
           indexing_extra]  # fmt: skip


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_function_is_on_the_reference_page(module):
    missing = [name for name in module.__all__ if f"`{name}`" not in PAGE]
    assert not missing, f"docs/ops-reference.md does not list {missing}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_function_documents_its_math(module):
    bare = [n for n in module.__all__ if not (getattr(module, n).__doc__ or "").strip()]
    assert not bare, f"functions without a docstring: {bare}"
