"""Checkpoints: ``gn.save`` / ``gn.load`` of weights, optimizer state and RNG state in one
safetensors file, with everything that is not a tensor in its JSON metadata. Never pickle.

Layout of a glassnet checkpoint:

- tensors named by the model's ``state_dict()`` keys (``0.weight``, ``encoder.norm.bias``),
  so the file is an ordinary safetensors weight file that other tools can read;
- optimizer arrays as ``optimizer.state.<param index>.<name>`` (``optimizer.state.0.exp_avg``);
- the metadata entry ``"glassnet"``: JSON with the format name, glassnet version, the global
  RNG state, the optimizer's numbers (step counts, param_groups: lr, betas, ...), and the
  caller's metadata (epoch, step, metrics, model config, data-loader state ...);
- the metadata entry ``"data_sha256"``: a checksum of the tensor bytes, verified on load.

Writes are atomic (temporary file, fsync, rename), so a crash during a save leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._version import __version__
from glassnet.backend import get_rng_state, set_rng_state, to_device
from glassnet.io.safetensors_format import atomic_write_bytes, encode, read_file

__all__ = ["FORMAT", "Checkpoint", "load", "save"]

FORMAT = "glassnet.checkpoint.v1"
OPTIMIZER_PREFIX = "optimizer.state."


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
    blob = encode(tensors, {"glassnet": json.dumps(header, default=_json_default)}, checksum=True)
    atomic_write_bytes(path, blob)
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


def _parse(path: str) -> Checkpoint:
    tensors, file_metadata = read_file(path)
    raw = file_metadata.get("glassnet")
    if raw is None:  # a plain safetensors weight file (e.g. published weights)
        return Checkpoint(path=str(path), state_dict=tensors)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad(path, "its 'glassnet' metadata is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _bad(path, f"format is not {FORMAT!r}")
    optimizer_state = None
    opt = header.get("optimizer")
    try:
        if opt is not None:
            state: dict[int, dict] = {}
            for idx, names in opt["arrays"].items():
                for name in names:
                    state.setdefault(int(idx), {})[name] = tensors.pop(
                        f"{OPTIMIZER_PREFIX}{idx}.{name}"
                    )
            for idx, values in opt["scalars"].items():
                state.setdefault(int(idx), {}).update(dict(values))
            if not isinstance(opt["param_groups"], list):
                raise TypeError("param_groups is not a list")
            optimizer_state = {"state": state, "param_groups": opt["param_groups"]}
        metadata = header.get("metadata") or {}
        rng_state = header.get("rng_state")
        if not isinstance(metadata, dict) or not (rng_state is None or isinstance(rng_state, dict)):
            raise TypeError("metadata and rng_state must be JSON objects")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
    return Checkpoint(
        path=str(path),
        state_dict=tensors,
        optimizer_state=optimizer_state,
        rng_state=rng_state,
        metadata=metadata,
        glassnet_version=header.get("glassnet_version"),
    )


def load(
    path: str | os.PathLike,
    model=None,
    optimizer=None,
    strict: bool = True,
    restore_rng: bool | None = None,
) -> Checkpoint:
    """Read a checkpoint written by :func:`save` (or any safetensors weight file) and load it.

    Loading never executes code: the file is parsed as a length, a JSON header and raw
    bytes, all validated first; a truncated, corrupt or foreign file raises ``ValueError``.

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
    ckpt = _parse(os.fspath(path))
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
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"the optimizer state in {os.fspath(path)} does not fit this optimizer "
                f"({type(exc).__name__}: {exc}); build the same optimizer over the same model"
            ) from None
    if restore_rng is None:
        restore_rng = optimizer is not None
    if restore_rng and ckpt.rng_state is not None:
        try:
            set_rng_state(ckpt.rng_state)
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(os.fspath(path), f"its RNG state is invalid ({exc})") from None
    return ckpt
