"""Reproducibility audit: a manifest of everything that shapes a run, per-step digests of
data, loss, gradients and weights, and a diff that finds where two runs part ways.

Two runs with the same seed on the same CPU build are bit-identical in glassnet. When they
are not, :func:`diff_runs` names the first step and the first tensor that differ, checking in
the order things happen within a step: the batch of data, the loss, each gradient, each
weight. A different data order shows up as a ``data`` divergence at the step where the
orders first differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import sys

import numpy as np

from glassnet.backend.device import to_numpy


def _digest(arr) -> str:
    a = np.ascontiguousarray(arr.get() if hasattr(arr, "get") else arr)
    return hashlib.blake2b(a.tobytes(), digest_size=8).hexdigest()


def manifest(seed: int | None = None, extra: dict | None = None) -> dict:
    """Versions, BLAS, threads, device and seed: what a rerun needs to match."""
    from glassnet._version import __version__
    from glassnet.backend import cuda_available

    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        pass
    threads = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if k in os.environ
    }
    out = {
        "glassnet": __version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "blas": blas,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "cuda": cuda_available(),
        "seed": seed,
    }
    out.update(extra or {})
    return out


class StepDigester:
    """Records digests of each training step; ``write(path)`` saves them as JSON lines.

    Call :meth:`record` after ``optimizer.step()`` with the step's input batch and loss.
    """

    def __init__(self, model, every: int = 1):
        self.model = model
        self.every = max(1, int(every))
        self.records: list[dict] = []
        self._grads: dict = {}

    def record(self, step: int, batch, loss: float, grads: dict | None = None) -> None:
        if step % self.every:
            return
        arrays = batch if isinstance(batch, (tuple, list)) else (batch,)
        data = hashlib.blake2b(digest_size=8)
        for a in arrays:
            data.update(np.ascontiguousarray(to_numpy(a)).tobytes())
        rec = {
            "step": step,
            "data": data.hexdigest(),
            "loss": float(loss),
            "grads": {},
            "weights": {},
        }
        for name, p in self.model.named_parameters():
            g = (grads or {}).get(name)
            if g is not None:
                rec["grads"][name] = _digest(g)
            rec["weights"][name] = _digest(p._data)
        self.records.append(rec)

    def write(self, path: str) -> str:
        with open(path, "w", encoding="utf-8") as f:
            for rec in self.records:
                f.write(json.dumps(rec) + "\n")
        return path


@dataclasses.dataclass
class Divergence:
    step: int
    kind: str  # "data", "loss", "grad" or "weight"
    tensor: str
    detail: str

    def __str__(self) -> str:
        where = f" in {self.tensor}" if self.tensor else ""
        return f"runs diverge at step {self.step}: {self.kind}{where} ({self.detail})"


def _read(path: str) -> list[dict]:
    if os.path.isdir(path):
        path = os.path.join(path, "digests.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no step digests at {path}; train with digests enabled")
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file; expected a glassnet digest file")
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise ValueError(
                    f"{path} is not a glassnet digest file: line {number}: {e}"
                ) from None
            if not _is_digest(record):
                raise ValueError(
                    f"{path} is not a glassnet digest file: line {number} is not a step record "
                    "(step, data, loss, grads, weights); was it edited or cut?"
                )
            records.append(record)
    return records


def _is_digest(record) -> bool:
    """A record as :meth:`StepDigester.record` writes it (what :func:`diff_runs` indexes)."""
    return (
        isinstance(record, dict)
        and {"step", "data", "loss", "grads", "weights"} <= set(record)
        and type(record["step"]) is int
        and isinstance(record["grads"], dict)
        and isinstance(record["weights"], dict)
    )


def diff_runs(a, b) -> Divergence | None:
    """The first divergence between two runs (folders or digest files), or None if the
    recorded steps are identical."""
    ra, rb = (_read(x) if isinstance(x, str) else x for x in (a, b))
    for x, y in zip(ra, rb):
        step = x["step"]
        if x["data"] != y["data"]:
            return Divergence(
                step,
                "data",
                "",
                "the input batches differ: data order or augmentation is not seeded the same",
            )
        if x["loss"] != y["loss"]:
            return Divergence(step, "loss", "", f"{x['loss']!r} vs {y['loss']!r}")
        for kind in ("grads", "weights"):
            for name in x[kind]:
                if x[kind][name] != y[kind].get(name):
                    return Divergence(step, kind[:-1], name, f"{kind[:-1]} digests differ")
    if len(ra) != len(rb):
        return Divergence(
            min(len(ra), len(rb)),
            "length",
            "",
            f"one run has {len(ra)} recorded steps, the other {len(rb)}",
        )
    return None
