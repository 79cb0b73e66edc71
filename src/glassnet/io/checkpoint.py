"""Checkpoints: ``gn.save`` / ``gn.load`` of weights, optimizer state and RNG state in one
safetensors file, with everything that is not a tensor in its JSON metadata. Never pickle.

Layout of a glassnet checkpoint:

- tensors named by the model's ``state_dict()`` keys (``0.weight``, ``encoder.norm.bias``),
  so the file is an ordinary safetensors weight file that other tools can read;
- optimizer arrays as ``optimizer.state.<param index>.<name>`` (``optimizer.state.0.exp_avg``);
- the metadata entry ``"glassnet"``: JSON with the format name, glassnet version, the global
  RNG state, the optimizer's numbers (step counts, param_groups: lr, betas, ...), and the
  caller's metadata (epoch, step, metrics, model config, data-loader state ...);
- the metadata entry ``"glassnet_sha256"``: a SHA-256 over the ``"glassnet"`` JSON and every
  tensor's name, dtype, shape and bytes, verified on load, so no byte glassnet trusts can
  change unnoticed (v1 files, whose ``"data_sha256"`` covered the tensor bytes only, still
  load; every field is validated either way).

Writes are atomic (a uniquely named temporary file, fsync, rename), so a crash during a
save leaves the previous checkpoint intact; the file gets the user's umask.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._fs import atomic_write_bytes
from glassnet._version import __version__
from glassnet.backend import get_rng_state, set_rng_state, to_device
from glassnet.io.safetensors_format import c_contiguous, encode, read_file, tensor_digest
from glassnet.io.validate import OPTIMIZER_PREFIX, checked_header

__all__ = ["FORMAT", "Checkpoint", "load", "read_checkpoint", "save"]

FORMAT = "glassnet.checkpoint.v2"
OLD_FORMATS = ("glassnet.checkpoint.v1",)  # checksum over the tensor bytes only


def _host_array(value: Any) -> np.ndarray | None:
    """A NumPy copy of a Tensor / NumPy / CuPy array, or None for anything else."""
    if hasattr(value, "_data") and hasattr(value, "numpy") and hasattr(value, "requires_grad"):
        return np.array(value.numpy())
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value.copy()
    if _on_device(value) and value.ndim > 0:
        return to_device(value, "cpu")
    return None


def _on_device(value: Any) -> bool:
    """A CuPy or sim array (anything whose array module is not NumPy)."""
    return type(value).__module__.startswith(("cupy", "glassnet.backend.sim"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"checkpoint metadata must be JSON-serialisable (numbers, strings, lists, dicts); got "
        f"{type(value).__name__}; convert it, e.g. to a list or a string"
    )


def _flatten_optimizer(optimizer, tensors: dict) -> dict:
    state_dict = optimizer.state_dict()
    arrays: dict[str, list[str]] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state_dict["state"].items():
        for name, value in per_param.items():
            array = _host_array(value)
            if array is not None:
                tensors[f"{OPTIMIZER_PREFIX}{idx}.{name}"] = array
                arrays.setdefault(str(idx), []).append(name)
            else:
                number = to_device(value, "cpu") if _on_device(value) else np.asarray(value)
                if number.ndim != 0 or number.dtype.kind not in "biuf":
                    raise TypeError(
                        f"gn.save: optimizer state {idx}.{name} is a {type(value).__name__}; "
                        "expected arrays or numbers"
                    )
                scalars.setdefault(str(idx), {})[name] = number.item()
    return {
        "class": type(optimizer).__name__,
        "param_groups": state_dict["param_groups"],
        "arrays": arrays,
        "scalars": scalars,
    }


def save(path: str | os.PathLike, model, optimizer=None, **metadata: Any) -> Path:
    """Save ``model`` (and ``optimizer``) to one ``.safetensors`` file, atomically.

    Saved: every parameter and persistent buffer by dotted name, the optimizer's state and
    hyperparameters, glassnet's global RNG state (so dropout and shuffles continue exactly
    after :func:`load`), the glassnet version, and ``metadata`` (any JSON-serialisable
    keywords: ``epoch=3``, ``metrics={...}``, ``config={...}``, ``loader_state=...``).

    Args:
        path: destination file; parent folders are created. ``.safetensors`` is conventional.
        model: an ``nn.Module``.
        optimizer: an optimizer with ``state_dict()``, or None.
        **metadata: extra JSON-serialisable values, returned by :func:`load`.

    Returns:
        The path written.

    Example:
        >>> import glassnet as gn, tempfile, os
        >>> layer = gn.nn.Module(); layer.w = gn.nn.Parameter(gn.ones(2))
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> _ = gn.save_checkpoint(path, layer, epoch=3)
        >>> gn.load_checkpoint(path, layer).metadata["epoch"]
        3
    """
    tensors = {name: np.array(t.numpy()) for name, t in model.state_dict().items()}
    clashes = [name for name in tensors if name.startswith(OPTIMIZER_PREFIX)]
    if clashes:
        raise ValueError(
            f"gn.save: model state names {clashes} start with {OPTIMIZER_PREFIX!r}, which is "
            "reserved for optimizer state; rename that sub-module"
        )
    header = {
        "format": FORMAT,
        "glassnet_version": __version__,
        "rng_state": get_rng_state(),
        "model_class": type(model).__name__,
        "optimizer": _flatten_optimizer(optimizer, tensors) if optimizer is not None else None,
        "metadata": metadata,
    }
    raw = json.dumps(header, default=_json_default, allow_nan=True)
    arrays = {name: c_contiguous(a) for name, a in tensors.items()}
    checksum = tensor_digest(arrays, _checksum_prefix(raw))
    blob = encode(arrays, {"glassnet": raw, "glassnet_sha256": checksum})
    atomic_write_bytes(path, blob, skip_unchanged=False)
    return Path(path)


@dataclass
class Checkpoint:
    """What :func:`load` read: model arrays, optimizer state, RNG state and metadata."""

    path: str
    state_dict: dict[str, np.ndarray]
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    metadata: dict = field(default_factory=dict)
    glassnet_version: str | None = None

    @property
    def epoch(self) -> int:
        """Epochs completed when saved (0 when the metadata has none)."""
        return int(self.metadata.get("epoch", 0))

    @property
    def step(self) -> int:
        """Optimizer steps taken when saved (0 when the metadata has none)."""
        return int(self.metadata.get("step", 0))


def _bad(path: str, why: str) -> ValueError:
    return ValueError(f"{path} has an invalid glassnet checkpoint header: {why}; re-save it")


def _checksum_prefix(raw: str) -> bytes:
    """What the checkpoint checksum covers besides the tensors: the whole glassnet JSON."""
    return b"glassnet.checkpoint\0" + raw.encode("utf-8") + b"\0"


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a glassnet checkpoint (or any safetensors weight file) without loading it into
    anything: its arrays and its validated metadata.

    The container is parsed by the ``safetensors`` library (memory-mapped, read one tensor
    at a time, every header claim checked against the file size first). The checksum
    ``glassnet_sha256`` covers glassnet's JSON metadata and every tensor's name, dtype,
    shape and bytes; then every field that training resumes from is checked for type, range
    and finiteness (:mod:`glassnet.io.validate`). Anything wrong raises one ``ValueError``.
    A missing file raises ``FileNotFoundError``.
    """
    path = os.fspath(path)
    tensors, file_metadata = read_file(path)
    raw = file_metadata.get("glassnet")
    if raw is None:  # a plain safetensors weight file (e.g. published weights)
        return Checkpoint(path=str(path), state_dict=tensors)
    expected = file_metadata.get("glassnet_sha256")
    if expected is not None:
        if tensor_digest(tensors, _checksum_prefix(raw)) != expected:
            raise ValueError(
                f"{path!r} is corrupt: the SHA-256 of its tensors and metadata does not match "
                "the stored checksum (the file was changed after it was saved); re-save it"
            )
    elif file_metadata.get("data_sha256") is None:
        raise _bad(path, "it has glassnet metadata but no checksum")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad(path, "its 'glassnet' metadata is not JSON") from None
    if not isinstance(header, dict) or header.get("format") not in (FORMAT, *OLD_FORMATS):
        raise _bad(path, f"format is not {FORMAT!r}")
    try:
        header = checked_header(header, tensors)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise _bad(path, " ".join(str(exc).split())) from None
    optimizer_state = None
    opt = header["optimizer"]
    if opt is not None:
        state: dict[int, dict] = {}
        for idx, names in opt["arrays"].items():
            for name in names:
                state.setdefault(int(idx), {})[name] = tensors.pop(
                    f"{OPTIMIZER_PREFIX}{idx}.{name}"
                )
        for idx, values in opt["scalars"].items():
            state.setdefault(int(idx), {}).update(dict(values))
        optimizer_state = {"state": state, "param_groups": opt["param_groups"]}
    return Checkpoint(
        path=str(path),
        state_dict=tensors,
        optimizer_state=optimizer_state,
        rng_state=header["rng_state"],
        metadata=header["metadata"],
        glassnet_version=header["glassnet_version"],
    )


def load(
    path: str | os.PathLike,
    model=None,
    optimizer=None,
    strict: bool = True,
    restore_rng: bool | None = None,
) -> Checkpoint:
    """Read a checkpoint written by :func:`save` (or any safetensors weight file) and load it.

    Loading never executes code: :func:`read_checkpoint` parses the file with the
    ``safetensors`` library, verifies its checksum and validates every field; a truncated,
    corrupt or foreign file raises ``ValueError``.

    Args:
        path: the ``.safetensors`` file.
        model: an ``nn.Module`` to load the weights into (matched by dotted name), or None.
        optimizer: an optimizer (built over the same model) to restore, or None.
        strict: passed to ``model.load_state_dict`` (missing or unexpected names raise).
        restore_rng: restore glassnet's global RNG to its state at save time. ``None`` means
            "when an optimizer is given", i.e. when resuming training, which is what makes a
            resumed run bit-identical to an uninterrupted one.

    Returns:
        A :class:`Checkpoint` with ``state_dict`` (NumPy arrays), ``optimizer_state``,
        ``metadata`` (the keywords given to :func:`save`), ``epoch`` and ``step``.
    """
    ckpt = read_checkpoint(path)
    if model is not None:
        model.load_state_dict(ckpt.state_dict, strict=strict)
    if optimizer is not None:
        if ckpt.optimizer_state is None:
            raise ValueError(
                f"{os.fspath(path)} holds no optimizer state; save it with "
                "gn.save_checkpoint(path, model, optimizer), or load only the model"
            )
        try:
            optimizer.load_state_dict(ckpt.optimizer_state)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            why = " ".join(str(exc).split())[:300]
            raise ValueError(
                f"the optimizer state in {os.fspath(path)} does not fit this optimizer "
                f"({type(exc).__name__}: {why}); build the same optimizer over the same model"
            ) from None
    if restore_rng is None:
        restore_rng = optimizer is not None
    if restore_rng and ckpt.rng_state is not None:
        try:
            set_rng_state(ckpt.rng_state)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise _bad(os.fspath(path), f"its RNG state is invalid ({exc})") from None
    return ckpt
