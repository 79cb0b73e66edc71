"""Locate the data files shipped inside the package and check their integrity."""

from __future__ import annotations

from pathlib import Path

from glassnet.data.download import sha256_file

FILES_DIR = Path(__file__).resolve().parent / "files"

# sha256 of every bundled file; files/ATTRIBUTION.md says where each comes from.
BUNDLED_SHA256 = {
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
    "shakespeare.txt.gz": "88cb0ab7578ddb5051cee0b159d037d943bfea32bd2a04b028c2221adf335fb8",
}


def verified_path(name: str, path: str | Path | None = None) -> Path:
    """Return the path of bundled file ``name`` (or ``path``) after checking its sha256.

    Raises:
        FileNotFoundError: the file is missing (a broken install).
        ValueError: its checksum differs (a corrupt or modified file).
    """
    path = Path(path) if path is not None else FILES_DIR / name
    expected = BUNDLED_SHA256[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"bundled data file {name} is missing (looked for {path}); reinstall glassnet "
            "(pip install --force-reinstall glassnet)"
        )
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(
            f"bundled data file {path} is corrupt: sha256 {actual}, expected {expected}; "
            "reinstall glassnet (pip install --force-reinstall glassnet)"
        )
    return path
