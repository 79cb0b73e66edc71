"""Packaging basics: the MIT license and py.typed ship in the wheel, the metadata says MIT."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_license_and_py_typed_are_in_the_source_tree():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "src" / "glassnet" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    assert '"py.typed"' in pyproject  # package data, so the wheel carries it


@pytest.mark.slow
def test_the_wheel_carries_license_and_py_typed(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path), str(ROOT)], check=True, timeout=300)  # fmt: skip
    wheel = zipfile.ZipFile(next(tmp_path.glob("glassnet-*.whl")))
    names = wheel.namelist()
    assert "glassnet/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    metadata = wheel.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
