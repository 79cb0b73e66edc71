"""``glassnet.save(obj, f)`` / ``glassnet.load(f)``: PyTorch's argument order, never pickle.

``obj`` is what PyTorch programs save: a ``state_dict`` (names -> tensors), an optimizer's
``state_dict``, or any nesting of dicts, lists and tuples of tensors, NumPy arrays, numbers,
strings, bools and None. It is written as one safetensors file: every tensor (and array) is a
safetensors entry, and the structure around them is JSON in the file's metadata, so loading
parses data and never executes code. ``f`` is a path or a binary file object.

Any safetensors file (published weights, a glassnet checkpoint) loads too, as a dict of
tensors by name. Checkpoints of a model, an optimizer and the RNG (resume training) are
:func:`glassnet.save_checkpoint` / :func:`glassnet.load_checkpoint`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from glassnet.backend import Device, to_device
from glassnet.io.safetensors_format import atomic_write_bytes, decode, encode
from glassnet.tensor import Tensor

__all__ = ["load", "save"]

_KEY = "glassnet_object"  # metadata entry holding the JSON structure
_FORMAT = "glassnet.save/1"


def _encode_value(value: Any, tensors: dict, where: str):
    """The JSON form of ``value``; tensors and arrays go into ``tensors``."""
    if isinstance(value, Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = np.array(value.numpy())
        return {"__tensor__": name, "requires_grad": bool(value.requires_grad)}
    if isinstance(value, np.ndarray):
        name = f"t{len(tensors)}"
        tensors[name] = value
        return {"__ndarray__": name}
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic):
        # a device array (an optimizer's state on the GPU): saved, and loaded, as a tensor
        name = f"t{len(tensors)}"
        tensors[name] = np.asarray(to_device(value, "cpu"))
        return {"__tensor__": name, "requires_grad": False}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not (key is None or isinstance(key, (bool, int, float, str))):
                raise TypeError(
                    f"glassnet.save: dict key {key!r} at {where} is a {type(key).__name__}; "
                    "keys must be strings, numbers, bools or None"
                )
            items.append([key, _encode_value(item, tensors, f"{where}[{key!r}]")])
        return {"__dict__": items}
    if isinstance(value, tuple):
        return {
            "__tuple__": [_encode_value(v, tensors, f"{where}[{i}]") for i, v in enumerate(value)]
        }
    if isinstance(value, list):
        return [_encode_value(v, tensors, f"{where}[{i}]") for i, v in enumerate(value)]
    hint = ""
    if hasattr(value, "state_dict"):
        hint = f"; save its state_dict() instead: glassnet.save({where}.state_dict(), f)"
    raise TypeError(
        f"glassnet.save: cannot save {where} of type {type(value).__name__}: glassnet saves "
        "tensors, arrays, numbers, strings, bools, None and dicts/lists/tuples of them (never "
        f"pickle){hint}"
    )


def save(obj: Any, f, **kwargs) -> None:
    """Save ``obj`` to ``f`` (a path, written atomically, or a binary file object).

    Args:
        obj: a state_dict or any nesting of dicts, lists and tuples of tensors, arrays,
            numbers, strings, bools and None. A whole ``nn.Module`` cannot be saved (that
            needs pickle): save ``model.state_dict()``.
        f: a path (``str`` / ``os.PathLike``) or an object with ``write(bytes)``.
        **kwargs: PyTorch's ``pickle_module``/``pickle_protocol``/``_use_new_zipfile_
            serialization`` are accepted and ignored.

    >>> import glassnet as gn, io
    >>> buffer = io.BytesIO()
    >>> gn.save({"w": gn.ones(2), "step": 3}, buffer)
    >>> _ = buffer.seek(0)
    >>> gn.load(buffer)["step"]
    3
    """
    if isinstance(f, Tensor) or (isinstance(obj, (str, os.PathLike)) and hasattr(f, "state_dict")):
        raise TypeError(
            "glassnet.save(obj, f) takes the object first and the file second, as torch.save; "
            "for a checkpoint of a model (and optimizer) use "
            "glassnet.save_checkpoint(path, model, optimizer)"
        )
    tensors: dict = {}
    structure = _encode_value(obj, tensors, "obj")
    header = json.dumps({"format": _FORMAT, "object": structure}, allow_nan=True)
    blob = encode(tensors, {_KEY: header}, checksum=True)
    if isinstance(f, (str, os.PathLike)):
        atomic_write_bytes(f, blob)
    elif hasattr(f, "write"):
        f.write(blob)
    else:
        raise TypeError(
            f"glassnet.save: f must be a path or a binary file object, got {type(f).__name__}"
        )


def _decode_value(value: Any, tensors: dict, device, source: str):
    if isinstance(value, list):
        return [_decode_value(v, tensors, device, source) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        array = tensors[value["__tensor__"]]
        if device is not None:
            array = to_device(array, device)
        return Tensor(array, requires_grad=bool(value.get("requires_grad", False)))
    if "__ndarray__" in value:
        return tensors[value["__ndarray__"]]
    if "__tuple__" in value:
        return tuple(_decode_value(v, tensors, device, source) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode_value(v, tensors, device, source) for k, v in value["__dict__"]}
    raise ValueError(f"{source}: unexpected entry {sorted(value)!r} in the saved structure")


def _map_location(map_location):
    if map_location is None:
        return None
    if isinstance(map_location, dict):
        # {saved location: target}; glassnet saves every tensor from the host ("cpu"), so the
        # target of "cpu" applies, else tensors stay on the host, as PyTorch leaves unlisted ones
        target = map_location.get("cpu")
        return None if target is None else Device(str(target))
    if callable(map_location):
        raise ValueError(
            "glassnet.load: a map_location function (PyTorch's storage remapping) is not "
            "supported; pass a device such as map_location='cpu' or a dict {'cpu': device}"
        )
    return Device(str(map_location))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **kwargs):
    """Load what :func:`save` wrote (or any safetensors file) from a path or binary file object.

    Tensors come back as glassnet tensors (on ``map_location`` when it names a device), with
    ``requires_grad`` as saved; a plain safetensors file gives ``{name: tensor}``. Nothing is
    unpickled, so ``weights_only`` (PyTorch's safety switch) is always effectively True.

    Raises:
        ValueError: the file is not a valid safetensors file (truncated, corrupt, a pickle).
        TypeError: a second positional argument that is a model (the checkpoint API's order).
    """
    if hasattr(map_location, "state_dict"):
        raise TypeError(
            "glassnet.load(f) returns what was saved, as torch.load; to load a checkpoint into "
            "a model use model.load_state_dict(glassnet.load(f)) or "
            "glassnet.load_checkpoint(path, model, optimizer)"
        )
    if isinstance(f, (str, os.PathLike)):
        source = repr(os.fspath(f))
        with open(f, "rb") as stream:
            blob = stream.read()
    elif hasattr(f, "read"):
        source, blob = "the file object", f.read()
    else:
        raise TypeError(
            f"glassnet.load: f must be a path or a binary file object, got {type(f).__name__}"
        )
    tensors, metadata = decode(blob, source=source)
    device = _map_location(map_location)
    raw = metadata.get(_KEY)
    if raw is None:  # plain weights or a glassnet checkpoint: the tensors by name
        return {
            name: _decode_value({"__tensor__": name}, tensors, device, source) for name in tensors
        }
    try:
        header = json.loads(raw)
        if header.get("format") != _FORMAT:
            raise ValueError(f"format {header.get('format')!r}")
        return _decode_value(header["object"], tensors, device, source)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than Python's recursion limit (a crafted file)
        why = " ".join(str(exc).split())[:200]
        raise ValueError(
            f"{source} has an invalid glassnet.save structure ({type(exc).__name__}: {why}); "
            "re-save it"
        ) from None
