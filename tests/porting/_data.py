"""Data and initial weights for the ported programs, identical under PyTorch and glassnet.

NumPy only: the programs call these with their own framework (``torch`` is glassnet when the
tests run them, PyTorch when record_with_torch.py records the expected losses).
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np


def _bundled(name: str) -> Path:
    spec = importlib.util.find_spec("glassnet")  # locates the package without importing it
    return Path(spec.submodule_search_locations[0]) / "data" / "datasets" / "files" / name


def digits(n: int = 512):
    """The first ``n`` bundled UCI digits: images (n, 1, 8, 8) float32 scaled to [0, 1] and
    labels (n,) int64."""
    with gzip.open(_bundled("digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",", max_rows=n)
    images = (table[:, :64] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return images, table[:, 64].astype(np.int64)


def shakespeare(chars: int = 20000) -> str:
    """The first ``chars`` characters of the bundled Shakespeare corpus."""
    with gzip.open(_bundled("shakespeare.txt.gz"), "rt", encoding="utf-8") as f:
        return f.read(chars)


def deterministic_state(model, torch, seed: int = 0) -> dict:
    """A state_dict for ``model`` drawn from NumPy: N(0, 1/fan_in) for matrices and
    kernels, 1 + N(0, 0.01) for 1-D weights (norms), N(0, 0.01) for biases."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, value in model.state_dict().items():
        shape = tuple(value.shape)
        draw = rng.standard_normal(shape)
        if len(shape) >= 2:
            draw = draw / np.sqrt(np.prod(shape[1:]))
        elif name.endswith("weight"):
            draw = 1.0 + 0.1 * draw
        else:
            draw = 0.1 * draw
        out[name] = torch.tensor(draw, dtype=value.dtype)
    return out
