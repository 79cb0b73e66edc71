"""Read and write safetensors files with the ``safetensors`` library, within fixed bounds.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian unsigned
header length ``N``, then ``N`` bytes of UTF-8 JSON mapping each tensor name to
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (an optional
``"__metadata__"`` maps strings to strings), then the raw little-endian tensor bytes.
Nothing in it is executable, which is why glassnet uses it instead of pickle.

Parsing the container is the ``safetensors`` library's job (written in Rust and fuzzed
upstream): it bounds the header at 100 MB, checks every offset against the file size
before any data is read, computes sizes with overflow checks and memory-maps the file, so
tensors are read one at a time. glassnet adds what is its own: a bound on the number of
dimensions (NumPy's 64), the dtypes NumPy can hold, and one ``ValueError`` for every way a
file can be wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from glassnet._fs import atomic_write_bytes

__all__ = ["atomic_write_bytes", "c_contiguous", "decode", "encode", "read_file", "tensor_digest"]

_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("<u1"),
    "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
MAX_DIMS = 64  # NumPy's limit; a header may claim 200,000 dimensions
MAX_TENSORS = 1_000_000


def _code_of(array: np.ndarray, name: str) -> str:
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    for code, candidate in _DTYPES.items():
        if dtype == candidate:
            return code
    raise TypeError(
        f"cannot save tensor {name!r} of dtype {array.dtype} to safetensors; supported: "
        "bool, (u)int8..64, float16/32/64"
    )


def c_contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` in C order, keeping its shape: ``np.ascontiguousarray`` makes a 0-d array 1-d,
    so a saved ``num_batches_tracked`` came back with shape (1,) and no longer loaded."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.array(array, order="C")


def _little_endian(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or not name:
            raise ValueError(f"invalid tensor name {name!r}")
        array = np.asarray(value)
        out[name] = c_contiguous(array.astype(_DTYPES[_code_of(array, name)], copy=False))
    return out


def tensor_digest(tensors: dict[str, np.ndarray], prefix: bytes = b"") -> str:
    """SHA-256 over ``prefix`` and, for each tensor in name order, its name, dtype, shape and
    bytes, so renaming, reshaping or retyping a tensor changes the digest as much as its
    values do."""
    digest = hashlib.sha256(prefix)
    for name in sorted(tensors):
        array = c_contiguous(tensors[name])
        header = f"{name}\0{_code_of(array, name)}\0{list(array.shape)}\0"
        digest.update(header.encode("utf-8"))
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def _data_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 of the tensor bytes concatenated in name order (the v1 ``data_sha256``)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(c_contiguous(tensors[name]).tobytes())
    return digest.hexdigest()


def encode(
    tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None, checksum: bool = False
) -> bytes:
    """Serialize NumPy arrays (and string metadata) to safetensors bytes.

    With ``checksum=True`` the SHA-256 of the tensor bytes (concatenated in name order) is
    stored in the metadata under ``"data_sha256"``; :func:`decode` and :func:`read_file`
    verify it, so flipped bits in the weights are caught.

    >>> blob = encode({"w": np.ones((2, 2), np.float32)}, {"epoch": "3"})
    >>> decode(blob)[0]["w"].sum(), decode(blob)[1]
    (np.float32(4.0), {'epoch': '3'})
    """
    from safetensors.numpy import save

    metadata = dict(metadata or {})
    bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise TypeError(f"safetensors metadata must map str to str; bad keys: {bad}")
    arrays = _little_endian(tensors)
    if checksum:
        metadata["data_sha256"] = _data_digest(arrays)
    return save(arrays, metadata or None)


def _fail(source: str, why: str) -> ValueError:
    return ValueError(
        f"{source} is not a valid safetensors checkpoint: {why}. The file may be truncated, "
        "corrupt or of another format (glassnet never loads pickle files such as .pt/.pkl); "
        "re-save it with gn.save_checkpoint() or gn.save()"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _check_entry(source: str, name: str, dtype: str, shape: list) -> None:
    if dtype not in _DTYPES:
        raise _fail(source, f"tensor {name!r:.60} has unsupported dtype {dtype!r:.20}")
    if len(shape) > MAX_DIMS:
        raise _fail(source, f"tensor {name!r:.60} has {len(shape)} dimensions (at most {MAX_DIMS})")


def _verify(source: str, tensors: dict, metadata: dict) -> None:
    expected = metadata.get("data_sha256")
    if expected is not None and _data_digest(tensors) != expected:
        raise _fail(source, "the SHA-256 of its tensor data does not match the stored checksum")


def decode(blob: bytes, source: str = "data") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors bytes into ``({name: array}, metadata)``; raise ``ValueError`` on any
    inconsistency (the arrays are fresh copies, writable, in the saved dtypes)."""
    import safetensors

    if len(blob) < 8:
        raise _fail(source, f"it holds {len(blob)} bytes, fewer than the 8-byte header length")
    try:
        entries = safetensors.deserialize(bytes(blob))
        size = int.from_bytes(blob[:8], "little")  # validated by deserialize
        header = json.loads(bytes(blob[8 : 8 + size]))
    except Exception as exc:  # the library's SafetensorError and friends: any corrupt file
        raise _fail(source, _one_line(exc)) from None
    metadata = header.get("__metadata__") or {}
    tensors = {}
    for name, info in entries:
        _check_entry(source, name, info["dtype"], info["shape"])
        array = np.frombuffer(info["data"], dtype=_DTYPES[info["dtype"]])
        tensors[name] = array.reshape(info["shape"]).copy()
    _verify(source, tensors, metadata)
    return tensors, metadata


def read_file(
    path: str | os.PathLike, names: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file into ``({name: array}, metadata)``, one tensor at a time.

    The library memory-maps the file and checks the header's claims (offsets, sizes, the
    data section's length) against the file size before anything is read, so a corrupt
    header costs microseconds whatever it claims and a large file is never read whole
    before it is validated. ``names`` limits the tensors read (default: all).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: anything wrong with the file, in one line.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    source = repr(str(path))
    tensors: dict[str, np.ndarray] = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = dict(f.metadata() or {})
            keys = list(f.keys())
            if len(keys) > MAX_TENSORS:
                raise _fail(source, f"it lists {len(keys)} tensors (at most {MAX_TENSORS})")
            for name in keys if names is None else [n for n in keys if n in set(names)]:
                view = f.get_slice(name)
                _check_entry(source, name, view.get_dtype(), view.get_shape())
                array = f.get_tensor(name)
                tensors[name] = array if array.flags.writeable else array.copy()
    except ValueError as exc:
        if str(exc).startswith(source):
            raise
        raise _fail(source, _one_line(exc)) from None
    except OSError:
        raise
    except Exception as exc:  # SafetensorError (not a ValueError), TypeError for odd dtypes
        raise _fail(source, _one_line(exc)) from None
    if names is None:
        _verify(source, tensors, metadata)
    return tensors, metadata
