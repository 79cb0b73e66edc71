"""Validation of everything a glassnet checkpoint header tells training to resume from.

The checksum proves that a file is the one glassnet wrote; these checks make sure that what
it says is usable (a v1 file, or one written by other code, has no checksum over its
metadata). Each field is checked for type, range and finiteness, and a wrong one raises one
``ValueError`` naming the field, never ``OverflowError``, ``KeyError`` or
``AttributeError`` from deep inside NumPy or the optimizer.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["OPTIMIZER_PREFIX", "checked_header", "checked_rng_state"]

OPTIMIZER_PREFIX = "optimizer.state."  # tensor names of optimizer arrays in a checkpoint

MAX_EPOCH = 10**9
MAX_STEP = 2**62
MAX_PARAMS = 10**7
MAX_RANKS = 10**6


def _int(value: Any, name: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r:.60}")
    return value


def _number(value: Any, name: str, finite: bool = True) -> float | int:
    if type(value) not in (int, float) or (finite and not math.isfinite(value)):
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"{name} must be {kind}, got {value!r:.60}")
    if type(value) is int and abs(value) > 2**63:
        raise ValueError(f"{name} is out of range: {value!r:.60}")
    return value


def _dict(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def checked_rng_state(state: Any, name: str = "rng_state") -> dict:
    """A generator snapshot (``get_rng_state()`` / ``DataLoader.state_dict()``) checked for
    the keys and ranges NumPy's ``PCG64`` accepts."""
    state = _dict(state, name)
    keys = {"bit_generator", "state", "has_uint32", "uinteger"}
    extra = {"seed", "devices"} if name == "rng_state" else set()  # the global generator's
    if not keys <= set(state) <= keys | extra:
        raise ValueError(f"{name} must have the keys bit_generator, state, has_uint32, uinteger")
    if state.get("seed") is not None:
        _int(state["seed"], f"{name}.seed", 0, 2**64 - 1)
    for device, sub in _dict(state.get("devices") or {}, f"{name}.devices").items():
        checked_rng_state(sub, f"{name}.devices.{device}")
    if state["bit_generator"] != "PCG64":
        raise ValueError(
            f"{name}.bit_generator must be 'PCG64', got {state['bit_generator']!r:.40}"
        )
    inner = _dict(state["state"], f"{name}.state")
    if set(inner) != {"state", "inc"}:
        raise ValueError(f"{name}.state must have the keys state and inc")
    for key, value in inner.items():
        if not isinstance(value, str) or not value.isdigit() or len(value) > 40:
            raise ValueError(f"{name}.state.{key} must be a decimal string, got {value!r:.60}")
        _int(int(value), f"{name}.state.{key}", 0, 2**128 - 1)
    _int(state["has_uint32"], f"{name}.has_uint32", 0, 1)
    _int(state["uinteger"], f"{name}.uinteger", 0, 2**32 - 1)
    return state


def _json_option(value: Any, name: str) -> None:
    """Optimizer hyperparameters: None, bools, strings, finite numbers or lists of them."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, list):
        if len(value) > 16:
            raise ValueError(f"{name} has {len(value)} entries; expected a short list")
        for i, item in enumerate(value):
            _json_option(item, f"{name}[{i}]")
        return
    _number(value, name)


def _check_optimizer(opt: Any, tensors: dict) -> None:
    opt = _dict(opt, "optimizer")
    for key in ("class", "param_groups", "arrays", "scalars"):
        if key not in opt:
            raise ValueError(f"optimizer lacks {key!r}")
    if not isinstance(opt["class"], str):
        raise ValueError("optimizer.class must be a string")
    groups = opt["param_groups"]
    if not isinstance(groups, list) or not groups:
        raise ValueError("optimizer.param_groups must be a non-empty list")
    seen: set[int] = set()
    for g, group in enumerate(groups):
        group = _dict(group, f"optimizer.param_groups[{g}]")
        params = group.get("params")
        if not isinstance(params, list):
            raise ValueError(f"optimizer.param_groups[{g}].params must be a list")
        for i in params:
            _int(i, f"optimizer.param_groups[{g}].params[]", 0, MAX_PARAMS)
            if i in seen:
                raise ValueError(f"parameter index {i} appears twice in optimizer.param_groups")
            seen.add(i)
        for key, value in group.items():
            if key == "param_names":
                if not isinstance(value, list) or not all(
                    v is None or isinstance(v, str) for v in value
                ):
                    raise ValueError(f"optimizer.param_groups[{g}].param_names must be strings")
            elif key != "params":
                _json_option(value, f"optimizer.param_groups[{g}].{key}")
    for kind in ("arrays", "scalars"):
        for idx, entry in _dict(opt[kind], f"optimizer.{kind}").items():
            if not idx.isdigit() or int(idx) not in seen:
                raise ValueError(f"optimizer.{kind} names unknown parameter index {idx!r:.20}")
            if kind == "arrays":
                if not isinstance(entry, list) or not all(isinstance(n, str) for n in entry):
                    raise ValueError(f"optimizer.arrays.{idx} must be a list of names")
                for n in entry:
                    if f"{OPTIMIZER_PREFIX}{idx}.{n}" not in tensors:
                        raise ValueError(f"optimizer array {idx}.{n!r:.40} is missing")
            else:
                for n, value in _dict(entry, f"optimizer.scalars.{idx}").items():
                    if n == "step":
                        _int(value, f"optimizer.scalars.{idx}.step", 0, MAX_STEP)
                    else:
                        _number(value, f"optimizer.scalars.{idx}.{n}")


def _check_metadata(meta: dict) -> None:
    if "epoch" in meta:
        _int(meta["epoch"], "metadata.epoch", 0, MAX_EPOCH)
    if "step" in meta:
        _int(meta["step"], "metadata.step", 0, MAX_STEP)
    if meta.get("metrics") is not None:
        for key, value in _dict(meta["metrics"], "metadata.metrics").items():
            _number(value, f"metadata.metrics.{key}", finite=False)
    loader = meta.get("loader_state")
    if loader is not None:
        loader = _dict(loader, "metadata.loader_state")
        if set(loader) != {"epoch", "batches_done", "rng_state"}:
            raise ValueError("metadata.loader_state must have epoch, batches_done, rng_state")
        _int(loader["epoch"], "metadata.loader_state.epoch", 0, MAX_EPOCH)
        _int(loader["batches_done"], "metadata.loader_state.batches_done", 0, 2**40)
        checked_rng_state(loader["rng_state"], "metadata.loader_state.rng_state")
    if meta.get("callbacks") is not None:
        for key, value in _dict(meta["callbacks"], "metadata.callbacks").items():
            _dict(value, f"metadata.callbacks.{key}")
    info = meta.get("distributed")
    if info is not None:
        info = _dict(info, "metadata.distributed")
        _int(info.get("world_size", 1), "metadata.distributed.world_size", 1, MAX_RANKS)
        if info.get("batch_size") is not None:
            _int(info["batch_size"], "metadata.distributed.batch_size", 1, 2**40)
        if "sampler_seed" in info:
            _int(info["sampler_seed"], "metadata.distributed.sampler_seed", 0, 2**63)


def checked_header(header: dict, tensors: dict) -> dict:
    """``header`` (the parsed ``"glassnet"`` JSON) with every field checked; missing optional
    fields filled with None / {}. Raises ``ValueError`` naming the first bad field."""
    version = header.get("glassnet_version")
    if version is not None and not isinstance(version, str):
        raise ValueError("glassnet_version must be a string")
    rng = header.get("rng_state")
    if rng is not None:
        checked_rng_state(rng)
    if header.get("optimizer") is not None:
        _check_optimizer(header["optimizer"], tensors)
    meta = header.get("metadata")
    meta = {} if meta is None else _dict(meta, "metadata")
    _check_metadata(meta)
    return {
        "glassnet_version": version,
        "rng_state": rng,
        "optimizer": header.get("optimizer"),
        "metadata": meta,
    }
